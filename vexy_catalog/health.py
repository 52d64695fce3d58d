"""Health of the catalog and of each provider, for ``vexy health``, monitoring and Datasette.

A provider is monitored once a fetch of it has been attempted (providers never fetched, such
as those without a key, are not). It is healthy when its latest attempt did not fail, was not
suspect (an answer that would have emptied its list) and was not interrupted, and its data is
younger than the allowed age.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .timeutil import format_age, parse_time

__all__ = [
    "DEFAULT_MAX_AGE",
    "HealthStatus",
    "catalog_metrics",
    "check_provider_health",
    "check_system_health",
    "format_age",
    "health_problems",
    "provider_health",
]

DEFAULT_MAX_AGE = timedelta(days=1)
# Latest outcomes that leave a provider unhealthy whatever the age of its data.
NOT_DONE = ("failed", "suspect", "interrupted")

_PROVIDERS_SQL = """
select
  p.name,
  p.last_status,
  p.last_fetch_at,
  p.last_success_at,
  p.last_error,
  p.model_count,
  (
    select count(*) from fetches f
    where f.provider = p.name and f.status in ('failed', 'suspect')
      and f.id > coalesce(
        (
          select max(id) from fetches g
          where g.provider = p.name and g.status in ('ok', 'unchanged') and coalesce(g.source, '') != 'bundled'
        ), 0
      )
  ) as consecutive_failures,
  (
    select json_array(f.status, f.pid, f.host) from fetches f
    where f.provider = p.name and f.status != 'skipped' order by f.id desc limit 1
  ) as latest_fetch
from providers p
where p.last_status is not null
order by p.name
"""


def provider_health(
    db: Database, max_age: timedelta = DEFAULT_MAX_AGE, now: datetime | None = None
) -> list[dict[str, Any]]:
    """One row per monitored provider: last status and success, age, consecutive failures,
    ``interrupted`` (its latest fetch never finished), and ``data_source``: "bundled snapshot of
    <date>" while its models are a snapshot shipped with vexy (see :mod:`vexy_catalog.bundled`),
    else None."""
    import json

    from .bundled import current

    now = now or datetime.now(timezone.utc)
    snapshots = current(db)
    rows = []
    for row in db.query(_PROVIDERS_SQL):
        row["data_source"] = snapshots[row["name"]]["label"] if row["name"] in snapshots else None
        # A fetch that never finished (killed, or its catalog write failed on a full disk) leaves
        # its row "interrupted", or "running" with its process gone until a command marks it.
        status, pid, host = json.loads(row.pop("latest_fetch") or "[null, null, null]")
        row["interrupted"] = row["last_status"] == "interrupted" or (
            status == "interrupted" or (status == "running" and _abandoned(pid, host))
        )
        success = parse_time(row["last_success_at"]) if row["last_success_at"] else None
        age = (now - success).total_seconds() if success else None
        row["age_seconds"] = None if age is None else round(age)
        row["stale"] = age is None or age > max_age.total_seconds()
        row["healthy"] = row["last_status"] not in NOT_DONE and not row["stale"] and not row["interrupted"]
        rows.append(row)
    return rows


def _abandoned(pid: int | None, host: str | None) -> bool:
    """True for a "running" fetch of this machine whose process is gone."""
    import socket

    from .db import _pid_alive

    return host == socket.gethostname() and (pid is None or not _pid_alive(pid))


def quick_check(db: Database) -> str:
    """SQLite's ``PRAGMA quick_check``: "ok", or its first ten findings."""
    quick = [r[0] for r in db.execute("PRAGMA quick_check").fetchall()]
    return "ok" if quick == ["ok"] else "; ".join(quick[:10])


def catalog_metrics(
    db: Database, path: str | os.PathLike[str] | None = None, integrity: str | None = None
) -> dict[str, Any]:
    """Integrity quick check (``integrity``: a result already at hand), schema version, size and
    counts."""
    from .db import migrations, schema_version

    applied = schema_version(db)

    def count(sql: str) -> int:
        return db.execute(sql).fetchone()[0]

    size = None
    if path is not None and Path(path).exists():
        size = sum(p.stat().st_size for p in Path(path).parent.glob(Path(path).name + "*"))
    return {
        "quick_check": quick_check(db) if integrity is None else integrity,
        "schema_version": applied,
        "latest_schema_version": applied + len(migrations.pending(db)),
        "size_bytes": size,
        "providers": count("select count(*) from providers"),
        "models_listed": count("select count(*) from models where removed_at is null"),
        "models_removed": count("select count(*) from models where removed_at is not null"),
        "fetches": count("select count(*) from fetches"),
        "payloads": count("select count(*) from payloads"),
        "running_fetches": count("select count(*) from fetches where status = 'running'"),
    }


@dataclass
class HealthStatus:
    """The seed's health report: overall, per provider, and the catalog's own metrics."""

    overall_health: bool
    provider_health: dict[str, bool]
    system_metrics: dict[str, Any]
    last_check: datetime
    providers: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "overall_health": self.overall_health,
            "last_check": self.last_check.isoformat().replace("+00:00", "Z"),
            "problems": self.problems,
            "system_metrics": self.system_metrics,
            "providers": self.providers,
        }


def health_problems(metrics: dict[str, Any], providers: list[dict[str, Any]], max_age: timedelta) -> list[str]:
    """What is wrong, one line each, from :func:`catalog_metrics` and :func:`provider_health`."""
    problems = []
    if metrics["quick_check"] != "ok":
        problems.append(f"integrity quick check failed: {metrics['quick_check']} - run 'vexy verify'")
    if metrics["schema_version"] < metrics["latest_schema_version"]:
        problems.append(
            f"schema version {metrics['schema_version']} is older than this vexy's "
            f"{metrics['latest_schema_version']} - run 'vexy fetch'"
        )
    for row in providers:
        if row["last_status"] == "failed":
            failures = row["consecutive_failures"]
            problems.append(
                f"{row['name']}: last {failures} fetch{'es' if failures != 1 else ''} failed: {row['last_error']}"
            )
        elif row["last_status"] == "suspect":
            problems.append(f"{row['name']}: {row['last_error']}")
        elif row["interrupted"]:
            # "interrupted" is its last status once a command has seen its process gone.
            again = "vexy fetch --failed" if row["last_status"] == "interrupted" else f"vexy fetch {row['name']}"
            problems.append(
                f"{row['name']}: the last fetch was interrupted (it never finished, nothing of it was stored) - "
                f"run '{again}'"
            )
        elif row["stale"]:
            problems.append(f"{row['name']}: no successful fetch within {format_age(max_age.total_seconds())}")
        if row.get("data_source"):
            problems.append(
                f"{row['name']}: source: {row['data_source']} (no fetch of it has succeeded yet; the first "
                "successful 'vexy fetch' replaces it)"
            )
    if not providers:
        problems.append("no provider has been fetched yet - run 'vexy fetch'")
    return problems


def _db_path(db_path: str | os.PathLike[str] | None) -> Path:
    return Path(db_path or os.environ.get("VEXY_DB") or "vexy.db")


def check_system_health(
    db_path: str | os.PathLike[str] | None = None, max_age: timedelta = DEFAULT_MAX_AGE
) -> HealthStatus:
    """Health of the catalog at ``db_path`` (default ``$VEXY_DB`` or ``./vexy.db``)."""
    from .db import open_db

    path = _db_path(db_path)
    now = datetime.now(timezone.utc)
    if not path.exists():
        return HealthStatus(False, {}, {}, now, problems=[f"Database {path} does not exist - run 'vexy fetch' first"])
    # Read-only (health never writes), and any schema: an old one is reported as a problem.
    db = open_db(path, readonly=True, current=False)
    try:
        providers = provider_health(db, max_age, now)
        metrics = catalog_metrics(db, path)
    finally:
        db.close()
    problems = health_problems(metrics, providers, max_age)
    return HealthStatus(
        overall_health=not problems,
        provider_health={row["name"]: row["healthy"] for row in providers},
        system_metrics=metrics,
        last_check=now,
        providers=providers,
        problems=problems,
    )


def check_provider_health(
    name: str, db_path: str | os.PathLike[str] | None = None, max_age: timedelta = DEFAULT_MAX_AGE
) -> bool:
    """True when the provider's latest fetch did not fail and its data is fresh enough."""
    return check_system_health(db_path, max_age).provider_health.get(name, False)
