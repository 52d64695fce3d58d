"""One instrumented ``ModelCatalog.fetch`` in its own process, for run.py's refetch and scale rows.

``python _fetch_child.py --db DB --providers-file FILE [--max-bytes N] [NAME ...]`` prints
``{"seconds", "db_seconds", "facts_seconds", "counts", "totals", "errors"}``: ``db_seconds`` is the
time spent inside ``vexy_catalog.db.Ingest.record`` (the storage of each answer, its facts decided
as it is stored), ``facts_seconds`` inside ``Ingest.settle`` (the re-enrichment of models a
changed reference record can match, after the last answer). Its own process gives the parent a
clean peak-RSS reading.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--providers-file", required=True)
    parser.add_argument("--max-bytes", type=int, default=0)
    parser.add_argument("--concurrency", type=int, default=0, help="0: vexy's default")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()

    from vexy_catalog import db as dbmod
    from vexy_catalog.catalog import ModelCatalog

    timers = {"record": 0.0, "settle": 0.0}

    # Methods are looked up on the class at call time, so wrapping them here times every store
    # (and the re-enrichment after the last answer, where there is one) without touching the
    # package.
    def timed(name: str) -> None:
        original = getattr(dbmod.Ingest, name, None)
        if original is None:
            return

        def wrapper(*a: Any, **kw: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return original(*a, **kw)
            finally:
                timers[name] += time.perf_counter() - t0

        setattr(dbmod.Ingest, name, wrapper)

    timed("record")
    timed("settle")
    options: dict[str, Any] = {"concurrency": args.concurrency} if args.concurrency else {}
    if args.max_bytes:
        options["max_bytes"] = args.max_bytes  # vexy's default cap is 50 MB; the large sizes send more
    t0 = time.perf_counter()
    summary = ModelCatalog(db_path=args.db, providers_file=args.providers_file).fetch(args.names or None, **options)
    seconds = time.perf_counter() - t0
    print(
        json.dumps(
            {
                "seconds": seconds,
                "db_seconds": timers["record"],
                "facts_seconds": timers["settle"],
                "counts": summary.as_dict()["counts"],
                "totals": summary.totals(),
                "errors": summary.failed,
            }
        )
    )


if __name__ == "__main__":
    main()
