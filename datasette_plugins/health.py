"""Catalog health: ``/-/vexy/health`` (a page) and ``/-/vexy/health.json`` (for monitors).

The integrity check (SQLite's ``quick_check``, seconds on a large catalog) runs at most once
every :data:`INTEGRITY_EVERY` seconds per server, as heavy work (see :mod:`.guard`); answers
in between report the last result and when it was found (``quick_check_at``).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any

from vexy_catalog.health import DEFAULT_MAX_AGE, catalog_metrics, health_problems, provider_health, quick_check
from vexy_catalog.query import listed_per_provider
from vexy_catalog.serve import CATALOG_DB, serve_options
from vexy_catalog.timeutil import format_age, parse_age

from . import guard
from .web import catalog_db, cors_headers, sqlite_utils_db, text_response, tilde

__all__ = ["INTEGRITY_EVERY", "health_report", "routes"]

INTEGRITY_EVERY = 60.0
# The last integrity check of each server: (monotonic time, ISO time, result).
_INTEGRITY: weakref.WeakKeyDictionary[Any, tuple[float, str, str]] = weakref.WeakKeyDictionary()
_INTEGRITY_LOCKS: weakref.WeakKeyDictionary[Any, dict[Any, asyncio.Lock]] = weakref.WeakKeyDictionary()


async def integrity(datasette: Any, db: Any) -> tuple[str, str]:
    """``(result, checked at)`` of the catalog's quick check, run at most once per
    :data:`INTEGRITY_EVERY` seconds (concurrent requests wait for the one check)."""
    locks = _INTEGRITY_LOCKS.setdefault(datasette, {})
    lock = locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with lock:
        cached = _INTEGRITY.get(datasette)
        if cached is not None and time.monotonic() - cached[0] < INTEGRITY_EVERY:
            return cached[2], cached[1]
        result = await guard.run(datasette, db, lambda conn: quick_check(sqlite_utils_db(conn)), heavy=True)
        at = datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
        _INTEGRITY[datasette] = (time.monotonic(), at, result)
        return result, at


async def health_report(datasette: Any, max_age: timedelta) -> tuple[dict[str, Any], int]:
    """The health of the catalog and its providers, and the HTTP status to answer with."""
    now = datetime.now(timezone.utc)
    checked_at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    db = catalog_db(datasette)
    options = serve_options(datasette)
    if db is None:
        return {
            "status": "missing",
            "checked_at": checked_at,
            "max_age_seconds": int(max_age.total_seconds()),
            "problems": ["There is no catalog yet - run 'vexy fetch'"],
            "catalog": {"exists": False},
            "providers": [],
        }, 503
    public = bool(options and options.public)
    checked, checked_at_integrity = await integrity(datasette, db)

    def compute(conn: sqlite3.Connection) -> dict[str, Any]:

        sdb = sqlite_utils_db(conn)
        providers = provider_health(sdb, max_age, now)
        listed = listed_per_provider(conn)
        for row in providers:
            row["models_listed"] = listed.get(row["name"], 0)
        metrics = catalog_metrics(sdb, db.path, integrity=checked)
        metrics["quick_check_at"] = checked_at_integrity
        metrics["mode"] = "immutable" if not db.is_mutable else "read-only"
        if not public:
            metrics["path"] = db.path
        return {"catalog": metrics, "providers": providers}

    data = await guard.run(datasette, db, compute)
    catalog, providers = data["catalog"], data["providers"]
    problems = health_problems(catalog, providers, max_age)
    if catalog["quick_check"] != "ok":
        status, code = "corrupt", 503
    elif not providers:
        status, code = "empty", 200
    elif problems:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return {
        "status": status,
        "checked_at": checked_at,
        "max_age_seconds": int(max_age.total_seconds()),
        "problems": problems,
        "catalog": catalog,
        "providers": providers,
    }, code


def _max_age(request: Any) -> timedelta:
    value = request.args.get("max_age")
    if not value:
        return DEFAULT_MAX_AGE
    age = parse_age(value)  # ValueError with a clear message
    return age or DEFAULT_MAX_AGE


async def health_json(request: Any, datasette: Any) -> Any:
    from datasette.utils.asgi import Response

    try:
        max_age = _max_age(request)
    except ValueError as e:
        return Response.json({"ok": False, "error": f"max_age: {e}"}, status=400, headers=cors_headers(datasette))
    report, status = await health_report(datasette, max_age)
    return Response.json(report, status=status, headers=cors_headers(datasette))


async def health_page(request: Any, datasette: Any) -> Any:
    from datasette.utils.asgi import Response

    try:
        max_age = _max_age(request)
    except ValueError as e:
        return text_response(f"max_age: {e}", 400)
    report, status = await health_report(datasette, max_age)
    for row in report["providers"]:
        row["age"] = format_age(row["age_seconds"])
        row["href"] = datasette.urls.row(CATALOG_DB, "providers", tilde(row["name"]))
    # Failures first, then stale, then the rest; many stale providers make one line, not many.
    report["providers"].sort(key=lambda r: (r["last_status"] != "failed", not r["stale"], r["name"]))
    stale = [r["name"] for r in report["providers"] if r["stale"] and r["last_status"] != "failed"]
    grouped = len(stale) > 3
    prefixes = tuple(f"{name}: " for name in stale) if grouped else ()
    problems = [p for p in report["problems"] if not (prefixes and p.startswith(prefixes))]
    html = await datasette.render_template(
        "vexy_health.html",
        {
            "report": report,
            "problems": problems,
            "stale": stale if grouped else [],
            "max_age": format_age(report["max_age_seconds"]),
            "json_url": "/-/vexy/health.json",
        },
        request=request,
    )
    return Response.html(html, status=status)


def routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/vexy/health\.json$", health_json),
        (r"^/-/vexy/health$", health_page),
    ]
