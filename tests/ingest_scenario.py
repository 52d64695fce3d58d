"""A fixed run of fetches whose every stored row, hash and history line is recorded, to hold
the fetch path's speed work to what the catalog stored before it (issue 14: "rows, hashes
and history must stay byte-identical to today's on the same input").

The scenario: every answer in tests/fixtures/answers and tests/fixtures/heldout served on
loopback (the reference catalogs among them), fetched; fetched again (conditional requests,
unchanged answers); fetched again with ``force`` (whole answers, unchanged payloads); one
litellm record's price changed; then groq losing a model, changing one and gaining one while
an OpenRouter price changes. After it, the whole catalog is dumped with what differs between
runs taken out: each time becomes the step it was written in, each fetch id its provider and
step, row ids and durations are dropped.

``python tests/ingest_scenario.py --write`` records the dump to
tests/fixtures/ingest_golden.json.gz; it was recorded with the fetch path as it stood before
issue 14's rewrite of it (main at 9b6d0ea), and test_ingest_golden.py compares every run with it.
"""

from __future__ import annotations

import copy
import gzip
import json
import os
import re
import sqlite3
import sys
import time
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).parent))

from conftest import answer  # noqa: E402
from facts_quality import heldout, heldout_names  # noqa: E402
from fake_providers import FakeProviders, Route  # noqa: E402

GOLDEN = Path(__file__).parent / "fixtures" / "ingest_golden.json.gz"

# kind per answer fixture (anthropic's list is paged, litellm's and models.dev's are plain URLs).
ANSWERS = {
    "anthropic": "anthropic",
    "chutes": "openai",
    "deepinfra": "openai",
    "featherless": "openai",
    "fireworks": "openai",
    "groq": "openai",
    "litellm": "url",
    "llm7": "openai",
    "mistral": "openai",
    "modelsdev": "url",
    "openai": "openai",
    "openrouter": "openai",
}

TABLES = ("providers", "models", "fetches", "model_changes", "payloads", "fact_sources", "disputes", "unread_keys")
_TIME_COLUMNS = {
    "providers": ("last_fetch_at", "last_success_at"),
    "models": ("first_seen", "updated_at", "removed_at"),
    "fetches": ("started_at", "finished_at"),
    "model_changes": ("at",),
}
_DROP = {
    "fetches": ("id", "duration_ms", "pid", "host"),
    "model_changes": ("id",),
}


def answers() -> dict[str, Any]:
    """The answer fixtures, groq's with a model litellm's fixture prices (so a change to that
    record reaches a model of another provider)."""
    bodies: dict[str, Any] = {name: answer(name) for name in ANSWERS}
    bodies["groq"]["data"].append({"id": "llama-3.3-70b-versatile", "object": "model", "context_window": 131072})
    return bodies


def _serve(server: FakeProviders, bodies: dict[str, Any]) -> None:
    for name, body in bodies.items():
        kind = ANSWERS.get(name, "openai")
        served = body["data"] if kind == "anthropic" else body
        # groq answers with an ETag, mistral with Last-Modified: the conditional paths run too.
        server.set(name, Route(body=served, kind=kind, etag=name == "groq", last_modified=name == "mistral"))


def _providers_file(server: FakeProviders, names: list[str], path: Path) -> Path:
    from vexy_catalog.providers import builtin_providers

    entries: dict[str, Any] = {}
    for name in names:
        entries[name] = {"base_url": server.base_url(name), "kind": ANSWERS.get(name, "openai"), "api_key_env": None}
    for builtin in builtin_providers():
        entries.setdefault(builtin, {"enabled": False})
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    return path


def _steps(bodies: dict[str, Any]) -> list[tuple[str, list[str] | None, bool, dict[str, Any]]]:
    """(label, providers to fetch (None: all), force, the answers served from then on)."""
    litellm = copy.deepcopy(bodies["litellm"])
    litellm["groq/llama-3.3-70b-versatile"]["input_cost_per_token"] = 4.9e-07
    groq = copy.deepcopy(bodies["groq"])
    dropped = groq["data"].pop(0)
    groq["data"][0]["context_window"] = 65536
    groq["data"].append({**dropped, "id": "llama-4-scout-17b-16e-instruct", "context_window": 131072})
    openrouter = copy.deepcopy(bodies["openrouter"])
    openrouter["data"][0]["pricing"]["prompt"] = "0.000002"
    return [
        ("fresh", None, False, bodies),
        ("again", None, False, bodies),
        ("forced", None, True, bodies),
        ("reference record", ["litellm"], False, {**bodies, "litellm": litellm}),
        (
            "provider and reference",
            ["groq", "openrouter"],
            False,
            {**bodies, "litellm": litellm, "groq": groq, "openrouter": openrouter},
        ),
    ]


def run(tmp_path: Path) -> dict[str, list[list[Any]]]:
    """Run the scenario in ``tmp_path`` and return the catalog's dump."""
    from vexy_catalog.catalog import ModelCatalog

    bodies = answers()
    bodies.update({f"heldout-{name}": heldout(name)["answer"] for name in heldout_names()})
    db_path = tmp_path / "vexy.db"
    bounds: list[str] = []
    with FakeProviders() as server:
        _serve(server, bodies)
        providers_file = _providers_file(server, list(bodies), tmp_path / "providers.yaml")
        catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
        for _label, names, force, served in _steps(bodies):
            _serve(server, served)
            catalog.fetch(names, force=force)
            # Times are kept to the millisecond: a step's end is after everything it wrote.
            time.sleep(0.01)
            bounds.append(_now())
            time.sleep(0.01)
    return dump(db_path, bounds)


def _now() -> str:
    from vexy_catalog.timeutil import utcnow

    return utcnow()


def dump(db_path: Path, bounds: list[str]) -> dict[str, list[list[Any]]]:
    def step(value: str | None) -> int | None:
        if value is None:
            return None
        return next(i for i, bound in enumerate(bounds) if value <= bound)

    conn = sqlite3.connect(db_path)
    try:
        fetch_key = {
            fid: [provider, step(started)]
            for fid, provider, started in conn.execute("select id, provider, started_at from fetches")
        }
        out: dict[str, list[list[Any]]] = {}
        for table in TABLES:
            cursor = conn.execute(f"select * from [{table}]")
            columns = [d[0] for d in cursor.description]
            rows = []
            for values in cursor:
                row = dict(zip(columns, values, strict=True))
                for column in _TIME_COLUMNS.get(table, ()):
                    row[column] = step(row[column])
                if "fetch_id" in row:
                    row["fetch_id"] = fetch_key.get(row["fetch_id"])
                for column in _DROP.get(table, ()):
                    row.pop(column)
                rows.append([_loopback(row[c]) for c in sorted(row)])
            out[table] = [sorted(c for c in columns if c not in _DROP.get(table, ()))] + sorted(
                rows, key=lambda r: json.dumps(r, sort_keys=True)
            )
        return out
    finally:
        conn.close()


def _loopback(value: Any) -> Any:
    # The fake server's port differs run to run.
    return _PORT.sub("http://127.0.0.1:PORT", value) if isinstance(value, str) else value


_PORT = re.compile(r"http://127\.0\.0\.1:\d+")


def read_golden() -> dict[str, list[list[Any]]]:
    return json.loads(gzip.decompress(GOLDEN.read_bytes()))


if __name__ == "__main__":
    import tempfile

    for name in list(os.environ):
        if name.startswith("VEXY_") or name.endswith(("_API_KEY", "_TOKEN", "_KEY")):
            del os.environ[name]
    with tempfile.TemporaryDirectory() as first, tempfile.TemporaryDirectory() as second:
        recorded = run(Path(first))
        # The scenario must be the same twice before it is worth recording.
        assert run(Path(second)) == recorded, "the scenario is not deterministic"
    counts = {table: len(rows) - 1 for table, rows in recorded.items()}
    print(counts)
    if "--write" in sys.argv:
        GOLDEN.write_bytes(gzip.compress(json.dumps(recorded, sort_keys=True).encode(), mtime=0))
        print(f"wrote {GOLDEN} ({GOLDEN.stat().st_size:,} bytes)")
