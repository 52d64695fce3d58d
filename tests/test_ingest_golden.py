"""The fetch path stores what it stored before it was made fast (issue 14).

tests/ingest_scenario.py runs a fixed sequence of fetches (fresh, conditional, forced, a
reference record changed, a provider and a reference changed together) and dumps every row,
hash and history line. Its recorded dump was taken with the earlier fetch path; the fast one
must store the same, byte for byte, once times and ids are replaced by the step that wrote them.

The incremental work the fast path does (facts decided as each answer is stored, references
first; re-enrichment only of models a changed reference record can match) is also held to
deciding everything again from the stored answers, and to another order of arrival.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
import yaml
from conftest import answer
from fake_providers import FakeProviders, Route
from ingest_scenario import ANSWERS, TABLES, answers, read_golden, run

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.db import open_db, refresh_facts, write_transaction
from vexy_catalog.providers import builtin_providers


def _differences(golden: list[list], now: list[list]) -> str:
    columns = golden[0]
    before = {json.dumps(r) for r in golden[1:]}
    after = {json.dumps(r) for r in now[1:]}
    lines = [f"columns {columns} / {now[0]}"]
    lines += [f"- {r[:300]}" for r in sorted(before - after)[:5]]
    lines += [f"+ {r[:300]}" for r in sorted(after - before)[:5]]
    return "\n".join(lines)


@pytest.mark.parametrize("table", TABLES)
def test_the_scenario_stores_what_the_earlier_fetch_path_stored(scenario_dump, table):
    golden = read_golden()
    assert len(golden[table]) > 1, f"the recorded {table} is empty: nothing would be compared"
    assert scenario_dump[table] == golden[table], _differences(golden[table], scenario_dump[table])


@pytest.fixture(scope="module")
def scenario_dump(tmp_path_factory):
    return run(tmp_path_factory.mktemp("scenario"))


def _catalog_rows(db_path: Path) -> dict[str, list[tuple]]:
    """What a catalog holds of its models and their facts (not when or in which fetch)."""
    conn = sqlite3.connect(db_path)
    try:
        models = conn.execute(
            "select * from models order by provider, model_id",
        ).fetchall()
        columns = [d[0] for d in conn.execute("select * from models limit 0").description]
        keep = [i for i, c in enumerate(columns) if c not in ("first_seen", "updated_at")]
        return {
            "models": [tuple(row[i] for i in keep) for row in models],
            "fact_sources": conn.execute("select * from fact_sources order by 1, 2, 3").fetchall(),
            "disputes": conn.execute("select * from disputes order by 1, 2, 3, 4").fetchall(),
            "unread_keys": conn.execute("select * from unread_keys order by 1, 2").fetchall(),
            "payloads": conn.execute("select hash from payloads order by 1").fetchall(),
        }
    finally:
        conn.close()


def _setup(server: FakeProviders, tmp_path: Path, bodies: dict) -> Path:
    entries: dict = {}
    for name, body in bodies.items():
        kind = ANSWERS.get(name, "openai")
        server.set(name, Route(body=body["data"] if kind == "anthropic" else body, kind=kind))
        entries[name] = {"base_url": server.base_url(name), "kind": kind, "api_key_env": None}
    for builtin in builtin_providers():
        entries.setdefault(builtin, {"enabled": False})
    path = tmp_path / "providers.yaml"
    path.write_text(yaml.safe_dump(entries), encoding="utf-8")
    return path


REFERENCES = ["litellm", "openrouter", "modelsdev"]


def test_references_arriving_last_give_the_catalog_of_one_fetch(server, tmp_path, no_internet):
    bodies = answers()
    providers_file = _setup(server, tmp_path, bodies)
    others = [name for name in bodies if name not in REFERENCES]

    together = tmp_path / "together.db"
    assert ModelCatalog(db_path=together, providers_file=providers_file).fetch().ok
    # The references change after the other providers' models are stored: the facts they give
    # reach those models through re-enrichment alone.
    apart = tmp_path / "apart.db"
    apart_catalog = ModelCatalog(db_path=apart, providers_file=providers_file)
    assert apart_catalog.fetch(others).ok
    def enriched() -> list[tuple]:
        return [row for row in _catalog_rows(apart)["fact_sources"] if row[0] not in REFERENCES]

    before = enriched()
    assert apart_catalog.fetch(REFERENCES).ok
    # The references did give the other providers' models facts.
    assert len(enriched()) > len(before)
    assert _catalog_rows(apart) == _catalog_rows(together)


def test_incremental_facts_equal_facts_decided_again_from_the_stored_answers(server, tmp_path, no_internet):
    bodies = answers()
    providers_file = _setup(server, tmp_path, bodies)
    db_path = tmp_path / "vexy.db"
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    assert catalog.fetch().ok
    # One litellm record changes price and one groq model leaves: the fast path re-enriches only
    # what those can reach.
    litellm = answer("litellm")
    litellm["groq/llama-3.3-70b-versatile"]["input_cost_per_token"] = 4.9e-07
    groq = answers()["groq"]
    groq["data"].pop(0)
    server.set("litellm", Route(body=litellm, kind="url"))
    server.set("groq", Route(body=groq))
    summary = catalog.fetch(["litellm", "groq"])
    assert summary.ok
    incremental = _catalog_rows(db_path)

    copy = tmp_path / "again.db"
    source, target = sqlite3.connect(db_path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    db = open_db(copy)
    try:
        with write_transaction(db):
            updated = refresh_facts(db)
    finally:
        db.close()
    assert updated == 0
    assert _catalog_rows(copy) == incremental

    stored = sqlite3.connect(db_path)
    try:
        (input_price,) = stored.execute(
            "select input_price from models where provider = 'groq' and model_id = 'llama-3.3-70b-versatile'"
        ).fetchone()
    finally:
        stored.close()
    assert input_price == pytest.approx(0.49)
