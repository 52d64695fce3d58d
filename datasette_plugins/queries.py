"""The reads behind the pages: a model's facts with their sources and disputes, its history
from ``model_changes``, the same model at other providers, and the catalog at a glance.

Every function takes a plain ``sqlite3.Connection`` (Datasette's read-only one, through
``db.execute_fn``) and returns plain data; the pages draw it. ``fact_sources`` and ``disputes``
are read when the catalog has them and skipped when it does not (older catalogs).
"""

from __future__ import annotations

import json
import sqlite3
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from vexy_catalog.db import FACT_COLUMNS, REFERENCE_PROVIDERS
from vexy_catalog.facts import normalize_id

__all__ = [
    "CHART_FACTS",
    "Series",
    "catalog_overview",
    "disputes",
    "fact_sources",
    "history",
    "model_row",
    "same_model",
]

# The facts a history chart draws, by panel.
CHART_FACTS = {
    "price": ("input_price", "output_price"),
    "limits": ("context_window", "max_output_tokens"),
}


def _rows(conn: sqlite3.Connection, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
    cursor = conn.execute(sql, list(params))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _has(conn: sqlite3.Connection, name: str) -> bool:
    sql = "select 1 from sqlite_master where name = ? and type in ('table', 'view')"
    return conn.execute(sql, [name]).fetchone() is not None


def _json(text: Any, default: Any = None) -> Any:
    if not isinstance(text, str):
        return default if text is None else text
    try:
        return json.loads(text)
    except ValueError:
        return text


def model_row(conn: sqlite3.Connection, provider: str, model_id: str) -> dict[str, Any] | None:
    found = _rows(conn, "select * from models where provider = ? and model_id = ?", [provider, model_id])
    if not found:
        return None
    row = found[0]
    sources = _json(row.get("sources"), {})
    row["sources"] = sources if isinstance(sources, dict) else {}
    return row


def fact_sources(conn: sqlite3.Connection, provider: str, model_id: str) -> dict[str, list[dict[str, Any]]]:
    """Every source's value of each fact (``fact_sources``), by fact; empty without the table."""
    if not _has(conn, "fact_sources"):
        return {}
    try:
        rows = _rows(conn, "select * from fact_sources where provider = ? and model_id = ?", [provider, model_id])
    except sqlite3.Error:
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row.get("fact") is None:
            continue
        row["value"] = _json(row.get("value"))
        found.setdefault(str(row["fact"]), []).append(row)
    return found


def disputes(conn: sqlite3.Connection, provider: str, model_id: str) -> list[dict[str, Any]]:
    """The model's rows of the ``disputes`` view; empty without it."""
    if not _has(conn, "disputes"):
        return []
    try:
        rows = _rows(conn, "select * from disputes where provider = ? and model_id = ? limit 100", [provider, model_id])
    except sqlite3.Error:
        return []
    for row in rows:
        for key in ("value", "reference_value"):
            row[key] = _json(row.get(key))
    return rows


# --- history ---------------------------------------------------------------------------------


@dataclass
class Series:
    """One fact over time: ``points`` are (at, value) where the value changed; None is a gap
    (the model was not listed, or the fact unknown)."""

    fact: str
    origin: tuple[str, str]  # (provider, model_id) whose log it is
    points: list[tuple[str, Any]] = field(default_factory=list)

    @property
    def steps(self) -> int:
        """How many stretches of one known value the line has."""
        return sum(1 for _, value in self.points if value is not None)

    @property
    def known(self) -> bool:
        return self.steps > 0


def _log(conn: sqlite3.Connection, provider: str, model_id: str) -> list[dict[str, Any]]:
    rows = _rows(
        conn,
        "select change, facts, at from model_changes where provider = ? and model_id = ? order by at, id",
        [provider, model_id],
    )
    for row in rows:
        row["facts"] = _json(row["facts"], {}) or {}
    return rows


def history(
    conn: sqlite3.Connection, provider: str, model_id: str, sources: dict[str, Any], facts: Iterable[str]
) -> list[Series]:
    """Each fact's history: from the provider's own log when it states the fact, else from the
    log of the reference record today's value comes from (``sources``: ``litellm:KEY``)."""
    own = _log(conn, provider, model_id)
    logs: dict[tuple[str, str], list[dict[str, Any]]] = {(provider, model_id): own}
    found = []
    for fact in facts:
        origin = (provider, model_id)
        stated = any(row["facts"].get(fact) is not None for row in own)
        source = sources.get(fact)
        if not stated and isinstance(source, str) and ":" in source:
            origin = tuple(source.split(":", 1))  # type: ignore[assignment]
            if origin not in logs:
                logs[origin] = _log(conn, *origin)
        series = Series(fact, origin)
        for row in logs[origin]:
            value = None if row["change"] == "removed" else row["facts"].get(fact)
            if not series.points or series.points[-1][1] != value:
                series.points.append((row["at"], value))
        found.append(series)
    return found


# --- identity --------------------------------------------------------------------------------


@dataclass
class _Identity:
    version: tuple[Any, ...]
    groups: dict[str, tuple[tuple[str, str], ...]]


# The normalized-id index of a catalog, per Datasette: building it reads every model id once
# (about 0.1 s for 10,000 models), so it is rebuilt only when a fetch changed the catalog.
_IDENTITIES: weakref.WeakKeyDictionary[Any, _Identity] = weakref.WeakKeyDictionary()


def _version(conn: sqlite3.Connection) -> tuple[Any, ...]:
    return conn.execute(
        "select (select max(id) from fetches), (select max(rowid) from models), (select count(*) from models)"
    ).fetchone()


def identity_groups(conn: sqlite3.Connection, owner: Any) -> dict[str, tuple[tuple[str, str], ...]]:
    """normalized id -> ((provider, model_id), ...) of listed models, cached per ``owner``."""
    version = _version(conn)
    cached = _IDENTITIES.get(owner)
    if cached is not None and cached.version == version:
        return cached.groups
    building: dict[str, list[tuple[str, str]]] = {}
    for provider, model_id in conn.execute("select provider, model_id from models where removed_at is null"):
        key = normalize_id(model_id)
        if key:
            building.setdefault(key, []).append((provider, model_id))
    # Tuples of strings, which the garbage collector stops tracking: as lists, the 100k groups
    # of a large catalog were walked by every full collection of the server, ~80 ms each.
    groups = {key: tuple(found) for key, found in building.items()}
    _IDENTITIES[owner] = _Identity(version, groups)
    return groups


_SIDE_BY_SIDE = (
    "provider",
    "model_id",
    "name",
    "input_price",
    "output_price",
    "context_window",
    "max_output_tokens",
    "supports_tools",
    "supports_vision",
    "supports_reasoning",
    "sources",
)


def reference_lists(conn: sqlite3.Connection) -> set[str]:
    """Providers that are price lists rather than APIs to call (fetched as a plain JSON file,
    ``kind = 'url'``, as litellm's is)."""
    try:
        return {r[0] for r in conn.execute("select name from providers where kind = 'url'")}
    except sqlite3.Error:
        return {p for p in REFERENCE_PROVIDERS if p == "litellm"}


def same_model(conn: sqlite3.Connection, owner: Any, provider: str, model_id: str, limit: int = 50) -> list[dict]:
    """The model at other providers: listed models with the same normalized id (the key the
    enrichment matches reference records by), providers before reference catalogs, cheapest
    first."""
    key = normalize_id(model_id)
    others = [p for p in identity_groups(conn, owner).get(key, []) if p != (provider, model_id)] if key else []
    lists = reference_lists(conn)
    rows: list[dict[str, Any]] = []
    for other_provider, other_id in others[: limit * 4]:
        found = _rows(
            conn,
            f"select {', '.join(_SIDE_BY_SIDE)} from models where provider = ? and model_id = ?",
            [other_provider, other_id],
        )
        if found:
            found[0]["reference"] = other_provider in lists
            found[0]["sources"] = _json(found[0]["sources"], {}) or {}
            rows.append(found[0])
    rows.sort(key=lambda r: (r["reference"], r["input_price"] is None, r["input_price"] or 0, r["provider"]))
    return rows[:limit]


# --- the catalog at a glance -----------------------------------------------------------------


def catalog_overview(conn: sqlite3.Connection, recent: int = 12) -> dict[str, Any]:
    """Counts, the latest changes and the fetch count, for the home page."""
    counts = conn.execute(
        "select (select count(*) from providers where last_fetch_at is not null), "
        "(select count(*) from models where removed_at is null), "
        "(select count(*) from models where removed_at is not null), "
        "(select count(*) from fetches), "
        "(select count(*) from model_changes)"
    ).fetchone()
    # A provider's first fetch is the catalog learning what it lists, not news: left out.
    # "cross join" reads the changes newest first (through the index on at, provider and
    # change) and stops at the last one shown; a plain join sorted every change of every
    # provider first (0.2 s on 100k models).
    changes = _rows(
        conn,
        "with firsts as (select provider, min(at) as at from model_changes group by provider) "
        "select c.id, c.provider, c.model_id, c.change, c.fields, c.facts, c.at, m.name "
        "from model_changes c cross join firsts f on f.provider = c.provider "
        "left join models m on m.provider = c.provider and m.model_id = c.model_id "
        "where not (c.change = 'added' and c.at = f.at) "
        "order by c.at desc, c.id desc limit ?",
        [recent],
    )
    for row in changes:
        row["fields"] = _json(row["fields"], {}) or {}
        row["facts"] = _json(row["facts"], {}) or {}
    return {
        "providers": counts[0],
        "models_listed": counts[1],
        "models_removed": counts[2],
        "fetches": counts[3],
        "changes": counts[4],
        "recent_changes": changes,
        "fact_columns": list(FACT_COLUMNS),
    }
