"""The benchmark script runs and reports every row; its timings are not asserted here (they
depend on the machine and on what else runs on it), only that each row was measured."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from numbers import Real
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_ROWS = {
    "fetch_full",
    "fetch_full_inprocess",
    "ingest",
    "ingest_with_facts",
    "refetch_rows_written",
    "refetch_fetches_rows",
    "refetch_db_time",
    "scale_small",
    "scale_main",
    "scale_main_rss",
    "scale_growth",
    "scale_large",
    "scale_large_rss",
    "startup_help",
    "serve_table",
    "serve_search",
    "serve_facet",
    "serve_config",
    "serve_canned_queries",
}


def test_quick_benchmark_reports_every_row(tmp_path: Path) -> None:
    # The autouse fixture has already removed keys and VEXY_ settings from os.environ.
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--quick", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env=dict(os.environ),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["machine"]["mode"] == "quick"
    assert report["machine"]["cores"] and report["machine"]["sqlite"]
    rows = {row["id"]: row for row in report["rows"]}
    assert set(rows) >= EXPECTED_ROWS, EXPECTED_ROWS - set(rows)
    for row_id in EXPECTED_ROWS:
        row = rows[row_id]
        assert row["target"], row
        assert row["measurement"], row
        # A row is measured (a number and a verdict) or, for a feature not built yet, n/a.
        if row["status"] == "n/a":
            assert row["notes"], row
            continue
        assert row["status"] in ("pass", "fail", "info"), row
        assert isinstance(row["value"], Real) and row["value"] >= 0, row
        if row["reference_value"] is not None:
            assert isinstance(row["reference_value"], Real), row
    # These rows always measure something in this version: only the config route may be pending.
    assert all(rows[r]["status"] != "n/a" for r in EXPECTED_ROWS - {"serve_config", "ingest_with_facts"})
