"""The benchmark script runs and reports every row of issue 14; its timings are not asserted here
(they depend on the machine and on what else runs on it), only that each row was measured, says
its limit, and lands in the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FETCH_ROWS = {
    "fetch_fresh",
    "fetch_unchanged",
    "fetch_reference_changed",
    "refetch_rows_written",
    "refetch_fetches_rows",
}
SCALE_ROWS = {"scale_small", "scale_main", "scale_main_rss", "scale_growth", "scale_large", "scale_large_rss"}
SERVE_ROUTES = {
    "serve_home",
    "serve_table",
    "serve_table_filter",
    "serve_table_filters",
    "serve_facet",
    "serve_search",
    "serve_row",
    "serve_health",
    "serve_health_json",
    "serve_config_page",
    "serve_config_aichat",
    "serve_config_litellm",
    "serve_config_codex",
    "serve_feed_modelsdev",
    "serve_feed_catwalk",
    "serve_feed_costmap",
    "serve_feed_aichat",
}


def expected_rows() -> set[str]:
    from vexy_catalog.export import TOOLS
    from vexy_catalog.serve import load_metadata

    queries = load_metadata()["databases"]["vexy"]["queries"]
    return (
        FETCH_ROWS
        | SCALE_ROWS
        | SERVE_ROUTES
        | {"ingest_per_model", "startup_help", "export_web_whole_catalog", "export_codex_again"}
        | {f"export_{tool.replace('-', '_')}" for tool in TOOLS}
        | {f"serve_query_{name}" for name in queries}
    )


def test_quick_benchmark_reports_every_row(tmp_path: Path) -> None:
    # A report with a hand-written part and an earlier result block: the run replaces the block only.
    docs = tmp_path / "benchmarks.md"
    docs.write_text(
        "# Benchmarks\n\nWritten by hand.\n\n<!-- benchmark results: written by benchmarks/run.py -->\n"
        "an earlier run\n<!-- end of benchmark results -->\n\n## After the results\n",
        encoding="utf-8",
    )
    # The autouse fixture has already removed keys and VEXY_ settings from os.environ. The timeout
    # only stops a hung run; it is not a speed limit.
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json", "--docs", str(docs)],
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["machine"]["mode"] == "quick"
    assert report["machine"]["cores"] and report["machine"]["sqlite"]
    rows = {row["id"]: row for row in report["rows"]}
    expected = expected_rows()
    assert set(rows) >= expected, expected - set(rows)
    for row_id in expected:
        row = rows[row_id]
        assert row["target"] and row["measurement"], row
        assert row["status"] in ("pass", "fail", "info"), row
        assert isinstance(row["value"], Real) and row["value"] >= 0, row
        if row["reference_value"] is not None:
            assert isinstance(row["reference_value"], Real), row
        if row["check_value"] is not None:
            # Each target row says how far it is from its limit.
            assert isinstance(row["of_limit"], Real), row
    # The fetch rows compare vexy with the bare GET + parse of the same answers.
    for row_id in ("fetch_fresh", "fetch_unchanged", "fetch_reference_changed"):
        assert rows[row_id]["check_on"] == "ratio" and rows[row_id]["reference_value"] > 0
    assert rows["refetch_fetches_rows"]["value"] == rows["refetch_fetches_rows"]["reference_value"]

    text = docs.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nWritten by hand.") and text.endswith("## After the results\n")
    assert "an earlier run" not in text
    for row_id in expected:
        assert rows[row_id]["measurement"].replace("|", "\\|") in text, row_id

    # Two runs side by side: every row of the later one, with its limit.
    saved = tmp_path / "run.json"
    saved.write_text(result.stdout, encoding="utf-8")
    compared = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--before", str(saved), "--after", str(saved)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert compared.returncode == 0, compared.stderr
    lines = compared.stdout.splitlines()
    assert lines[0].startswith("| measurement | limit | before | after")
    assert len(lines) == 2 + sum(1 for r in rows.values() if r["value"] is not None)
