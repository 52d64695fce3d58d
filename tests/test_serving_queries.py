"""The queries rewritten for speed on large catalogs answer what they answered before.

The reference is the earlier SQL, kept here as it was, run on the same catalog: a catalog with
a past (providers fetched on different days, models added, removed and listed again later), so
every branch of the queries has rows to find. What each query means is tested where the
feature is (test_serve.py, test_pages.py); this file only holds the rewrites to their originals.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from vexy_catalog.db import open_db, record_fetch
from vexy_catalog.fetch import FetchResult
from vexy_catalog.providers import ProviderConfig
from vexy_catalog.query import listed_per_provider, model_providers
from vexy_catalog.serve import load_metadata
from vexy_catalog.timeutil import format_time

OLD_CANNED = {
    "cheapest_with_context": """
        select provider, model_id, name, context_window, input_price, output_price,
          supports_tools, model_type
        from models
        where removed_at is null
          and input_price is not null
          and context_window >= cast(coalesce(nullif(:min_context, ''), '0') as integer)
          and (coalesce(:tools, '') in ('', '0', 'false', 'no') or supports_tools = 1)
          and (coalesce(:type, '') = '' or model_type = :type)
        order by input_price, output_price is null, output_price, provider, model_id
        limit 200""",
    "models_added_recently": """
        with first_fetch as (
          select provider, min(first_seen) as at from models group by provider
        )
        select m.provider, m.model_id, m.name, m.first_seen, m.model_type, m.context_window,
          m.input_price, m.output_price
        from models as m join first_fetch as f on f.provider = m.provider
        where m.removed_at is null
          and m.first_seen >= strftime('%Y-%m-%dT%H:%M:%fZ', 'now',
            '-' || cast(coalesce(nullif(:days, ''), '7') as integer) || ' days')
          and m.first_seen > f.at
        order by m.first_seen desc, m.provider, m.model_id""",
    "model_across_providers": """
        select provider, model_id, name, input_price, output_price, cache_read_price,
          context_window, max_output_tokens, supports_tools, supports_vision,
          json_extract(sources, '$.input_price') as price_source
        from models
        where removed_at is null
          and (
            model_id like :model
            or replace(model_id, rtrim(model_id, replace(model_id, '/', '')), '') like :model
          )
        order by input_price is null, input_price, output_price, provider, model_id""",
}

PARAMETERS = {
    "cheapest_with_context": [
        {"min_context": min_context, "tools": tools, "type": kind}
        for min_context in ("", "0", "32000", "128000", "2000000")
        for tools in ("", "1", "no")
        for kind in ("", "chat", "embedding")
    ],
    "models_added_recently": [{"days": days} for days in ("", "0", "1", "3", "7", "30", "365")],
    "model_across_providers": [
        {"model": model}
        for model in (
            "",
            "%",
            "%llama%",
            "LLAMA%",
            "llama-3-70b",
            "Llama-3-70B",
            "meta/llama-3-70b",
            "%/llama-3-70b",
            "meta%70b",
            "_lama-3-70b",
            "gpt-4o",
            "gpt-4o%",
            "%4o",
            "nothing-like-it",
            "a/b/c",
            "%c",
        )
    ],
}

FAMILIES = ("llama-3-70b", "gpt-4o", "qwen-2.5-7b", "mistral-large", "a/b/c", "embed-3")


def _records(provider: str, names: list[str]) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for i, name in enumerate(names):
        record: dict[str, Any] = {"id": name, "context_length": (8192, 32768, 131072, 1048576, None)[i % 5]}
        if i % 3:
            record["input_cost_per_token"] = ((i * 37) % 11) / 1e7
            record["output_cost_per_token"] = ((i * 53) % 7) / 1e6
        if i % 2:
            record["supports_function_calling"] = bool(i % 4 == 1)
        if "embed" in name:
            record["type"] = "embedding"
        out.append((name, record))
    return out


def _names(provider: str, n: int, offset: int = 0) -> list[str]:
    prefixes = ("", "meta/", "Meta-Llama/", "org/team/", f"{provider}/")
    return [f"{prefixes[i % 5]}{FAMILIES[i % 6]}{'' if i < 6 else f'-v{i}'}" for i in range(offset, offset + n)]


def _stamp(db: Any, since: str, moment: datetime) -> None:
    """Give the rows a fetch just wrote (first seen, changes, removals since ``since``) the
    time ``moment``: the catalog's past, as if fetched then."""
    at = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    with db.conn:
        db.conn.execute("update models set first_seen = ? where first_seen >= ?", [at, since])
        db.conn.execute("update models set removed_at = ? where removed_at >= ?", [at, since])
        db.conn.execute("update models set updated_at = ? where updated_at >= ?", [at, since])
        db.conn.execute("update model_changes set at = ? where at >= ?", [at, since])


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """Five providers first fetched 40, 20, 10, 3 and 0 days ago, each fetched again later
    with models added, and some removed (one of them listed again)."""
    path = tmp_path / "vexy.db"
    db = open_db(path)
    now = datetime.now(timezone.utc)
    plan = [("alpha", 40), ("beta", 20), ("gamma", 10), ("delta", 3), ("epsilon", 0)]
    lists = {name: _names(name, 30 + 7 * i) for i, (name, _) in enumerate(plan)}
    rounds: list[tuple[datetime, str, list[str]]] = []
    for i, (name, days_ago) in enumerate(plan):
        rounds.append((now - timedelta(days=days_ago), name, lists[name]))
        if days_ago:
            # Later: some added, a few dropped; for alpha, a dropped one comes back after.
            later = lists[name][3:] + _names(name, 4 + i, offset=100)
            rounds.append((now - timedelta(days=days_ago / 2, hours=1), name, later))
            if name == "alpha":
                rounds.append((now - timedelta(days=1), name, later + lists[name][:1]))
    for moment, name, names in sorted(rounds, key=lambda r: r[0]):
        since = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
        provider = ProviderConfig(name=name, base_url=f"https://{name}.example/v1")
        records = _records(name, names)
        # The fetch's own time is the round's: the rows take it (first seen, changes), and a
        # time of the fixture's start would fall before or after `since` by the clock's second.
        stamp = format_time(moment)
        result = FetchResult(
            provider=name,
            status="ok",
            url=provider.models_url,
            started_at=stamp,
            finished_at=stamp,
            duration_ms=1,
            payload={"data": [r for _, r in records]},
            records=records,
        )
        record_fetch(db, provider, result)
        _stamp(db, since, moment)
    db.close()
    return path


def _rows(conn: sqlite3.Connection, sql: str, params: dict[str, str]) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()


def test_rewritten_canned_queries_answer_what_they_answered(history):
    queries = load_metadata()["databases"]["vexy"]["queries"]
    conn = sqlite3.connect(history)
    try:
        found = {}
        for name, old in OLD_CANNED.items():
            for params in PARAMETERS[name]:
                expected = _rows(conn, old, params)
                assert _rows(conn, queries[name]["sql"], params) == expected, (name, params)
                found[name] = found.get(name, 0) + len(expected)
        # The catalog gives every query rows to find.
        assert all(found.values()), found
        added = _rows(conn, queries["models_added_recently"]["sql"], {"days": "30"})
        assert {r[0] for r in added} == {"alpha", "beta", "gamma", "delta"}  # epsilon: only its first fetch
    finally:
        conn.close()


def test_provider_lists_and_counts_answer_what_the_scans_answered(history):
    conn = sqlite3.connect(history)
    try:
        removed = conn.execute("select count(*) from models where removed_at is not null").fetchone()[0]
        assert removed  # the catalog has removed models, so the counts differ from a plain count
        scan = "select provider, count(*) from models where removed_at is null group by provider"
        assert listed_per_provider(conn) == dict(conn.execute(scan).fetchall())
        assert model_providers(conn) == [r[0] for r in conn.execute("select distinct provider from models order by 1")]
        listed = "select distinct provider from models where removed_at is null order by 1"
        assert model_providers(conn, listed_only=True) == [r[0] for r in conn.execute(listed)]
        # A provider whose every model is removed has models, but lists none.
        conn.execute("update models set removed_at = '2000-01-01T00:00:00.000Z' where provider = 'beta'")
        assert "beta" in model_providers(conn) and "beta" not in model_providers(conn, listed_only=True)
        assert "beta" not in listed_per_provider(conn)
    finally:
        conn.close()


def test_home_page_changes_are_the_ones_the_earlier_query_chose(history):
    from datasette_plugins.queries import catalog_overview

    old = (
        "with firsts as (select provider, min(at) as at from model_changes group by provider) "
        "select c.id, c.provider, c.model_id, c.change, c.fields, c.facts, c.at, m.name "
        "from model_changes c join firsts f on f.provider = c.provider "
        "left join models m on m.provider = c.provider and m.model_id = c.model_id "
        "where not (c.change = 'added' and c.at = f.at) "
        "order by c.at desc, c.id desc limit ?"
    )
    conn = sqlite3.connect(history)
    try:
        for recent in (1, 12, 1000):
            expected = [row[0] for row in conn.execute(old, [recent])]
            assert expected
            assert [row["id"] for row in catalog_overview(conn, recent)["recent_changes"]] == expected
    finally:
        conn.close()
