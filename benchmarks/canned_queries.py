"""How fast the canned queries of metadata.yml answer on a catalog of 10k models.

    python benchmarks/canned_queries.py              # 10,000 models, median of 20 runs each
    python benchmarks/canned_queries.py --models 100000 --json

The catalog is built through vexy's own write path (``record_fetch``): 20 providers, each
fetched twice a day apart (the second fetch adds a few models and changes some prices), so
every query has rows to find and history to read. Each query runs with its default parameters
(and ``min_context=128000``, ``model=%llama%``, a provider/model/date that exist) in plain
``sqlite3`` and through Datasette's own query path (``Database.execute``, as a page would,
with Datasette's 1 s limit). The target is 100 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_MS = 100
PROVIDERS = 20


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _records(provider: int, count: int, generation: int) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i in range(count):
        family = ("llama", "qwen", "mistral", "gemma", "deepseek")[i % 5]
        model_id = f"{family}-{i}-p{provider}" if i % 3 else f"{family}-{i}"
        price = ((i * 7919) % 1000) / 1e8 * (1.1 if generation and i % 10 == 0 else 1)
        out.append(
            (
                model_id,
                {
                    "id": model_id,
                    "context_length": (8192, 32768, 131072, 1048576)[i % 4],
                    "input_cost_per_token": price,
                    "output_cost_per_token": price * 3,
                    "supports_function_calling": bool(i % 2),
                },
            )
        )
    return out


def build_catalog(path: Path, models: int) -> None:
    from vexy_catalog.db import open_db, record_fetch
    from vexy_catalog.fetch import FetchResult
    from vexy_catalog.providers import ProviderConfig

    db = open_db(path)
    per = models // PROVIDERS
    first = datetime.now(timezone.utc) - timedelta(days=1)
    for generation, moment in enumerate((first, first + timedelta(hours=23))):
        for p in range(PROVIDERS):
            provider = ProviderConfig(name=f"provider{p}", base_url=f"https://p{p}.example/v1")
            # The second fetch adds 2% more models and changes a tenth of the prices.
            records = _records(p, per if generation == 0 else per + per // 50, generation)
            result = FetchResult(
                provider=provider.name,
                status="ok",
                url=provider.models_url,
                started_at=_iso(moment),
                finished_at=_iso(moment),
                duration_ms=1,
                payload={"data": [r for _, r in records]},
                records=records,
            )
            record_fetch(db, provider, result)
    db.close()


def parameters() -> dict[str, dict[str, str]]:
    return {
        "cheapest_with_context": {"min_context": "128000", "tools": "1", "type": ""},
        "models_added_recently": {"days": "7"},
        "model_across_providers": {"model": "%llama%"},
        "model_price_on_date": {
            "provider": "provider3",
            "model": "llama-0",
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d"),
        },
        "stale_providers": {"hours": "24"},
        "recent_failed_fetches": {"days": "7", "provider": ""},
    }


def measure(path: Path, runs: int) -> list[dict[str, Any]]:
    from datasette.app import Datasette

    from vexy_catalog.serve import load_metadata

    queries = load_metadata()["databases"]["vexy"]["queries"]
    params = parameters()
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    ds = Datasette(files=[str(path)], settings={"sql_time_limit_ms": 1000})
    name = Path(path).stem
    rows = []
    for query, spec in queries.items():
        args = params.get(query, {})
        times, count = [], 0
        for _ in range(runs):
            started = time.perf_counter()
            count = len(conn.execute(spec["sql"], args).fetchall())
            times.append((time.perf_counter() - started) * 1000)

        async def through_datasette(sql: str = spec["sql"], args: dict[str, str] = args) -> list[float] | None:
            from datasette.database import QueryInterrupted

            db = ds.databases[name]
            out = []
            for _ in range(runs):
                started = time.perf_counter()
                try:
                    await db.execute(sql, args)
                except QueryInterrupted:
                    return None  # over Datasette's 1 s limit: the page says "SQL Interrupted"
                out.append((time.perf_counter() - started) * 1000)
            return out

        served = asyncio.run(through_datasette())
        median = statistics.median(served) if served else None
        rows.append(
            {
                "query": query,
                "rows": count,
                "sqlite_ms": round(statistics.median(times), 2),
                "datasette_ms": None if median is None else round(median, 2),
                "ok": median is not None and median < TARGET_MS,
            }
        )
    conn.close()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", type=int, default=10_000, help="Models in the catalog.")
    parser.add_argument("--runs", type=int, default=20, help="Runs of each query (the median is reported).")
    parser.add_argument("--json", action="store_true", help="Print the rows as JSON.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "vexy.db"
        build_catalog(path, args.models)
        (listed,) = sqlite3.connect(path).execute("select count(*) from models").fetchone()
        rows = measure(path, args.runs)
    if args.json:
        print(json.dumps({"models": listed, "target_ms": TARGET_MS, "queries": rows}, indent=2))
    else:
        print(f"{listed:,} models; median of {args.runs} runs; target {TARGET_MS} ms")
        for row in rows:
            print(
                f"  {row['query']:<24} {row['rows']:>5} rows  sqlite {row['sqlite_ms']:>8.2f} ms  "
                + (
                    f"datasette {row['datasette_ms']:>8.2f} ms  "
                    if row["datasette_ms"] is not None
                    else "datasette  interrupted (over 1 s)  "
                )
                + ("ok" if row["ok"] else "MISSES")
            )
    return 0 if all(r["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
