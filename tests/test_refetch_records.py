"""A refetch that changes some records of a provider's models resolves only those records
(issue 14) when the provider-wide decisions (units, corrections, placeholders) are shown not to
change for the others, and the whole provider otherwise. Either way it stores exactly what
resolving every model stores."""

from __future__ import annotations

import contextlib
import copy
import sqlite3
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
from ingest_scenario import answers
from test_ingest_golden import REFERENCES, _setup

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.db import Ingest, open_db, refresh_facts, write_transaction
from vexy_catalog.fetch import FetchResult, ModelFetcher

PRICED = "groq/llama-3.3-70b-versatile"


def _fetched(server, tmp_path: Path, bodies: dict) -> tuple[ModelCatalog, Path]:
    """A catalog of one fetch of every answer in ``bodies``."""
    db_path = tmp_path / "base.db"
    catalog = ModelCatalog(db_path=db_path, providers_file=_setup(server, tmp_path, bodies))
    assert catalog.fetch().ok
    return catalog, db_path


def _fetch(catalog: ModelCatalog, names: list[str]) -> list[FetchResult]:
    fetcher = ModelFetcher(configured=catalog.providers.values())
    return anyio.run(lambda: fetcher.fetch_all(catalog.select(names)))


def _store(
    db_path: Path,
    catalog: ModelCatalog,
    results: list[FetchResult],
    in_part: bool,
    warm: bool = False,
    meanwhile: Callable[[], None] | None = None,
    warm_steps: int | None = None,
) -> set[str]:
    """Store the same answers as `vexy fetch` does (references prepared and stored first);
    ``in_part``: changed records alone may be resolved. Returns the providers that were.
    ``warm``: the references loaded first (Ingest.warm, as while the requests are out; told to
    stop after ``warm_steps`` steps, if given); ``meanwhile`` runs before the answers are
    stored (another process writing the catalog)."""
    by_name = {p.name: p for p in catalog.select([r.provider for r in results])}
    items = [(by_name[r.provider], copy.deepcopy(r)) for r in results]
    items.sort(key=lambda item: item[0].name not in REFERENCES)
    db = open_db(db_path)
    try:
        ingest = Ingest(db)
        ingest.reread = set() if in_part else None
        if warm:
            steps: list[None] = []

            def stop() -> bool:
                steps.append(None)
                return warm_steps is not None and len(steps) > warm_steps

            ingest.warm(REFERENCES, stop=stop)
        if meanwhile is not None:
            meanwhile()
        ingest.prepare(items)
        for provider, result in items:
            assert ingest.record(provider, result)["status"] == "ok"
        ingest.settle()
        return ingest.resolved_in_part
    finally:
        db.close()


def _every_row(db_path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db_path)
    try:
        tables = [t for (t,) in conn.execute("select name from sqlite_master where type = 'table' order by name")]
        return {t: sorted(conn.execute(f"select * from [{t}]").fetchall(), key=repr) for t in tables}
    finally:
        conn.close()


def _copy(source: Path, target: Path) -> Path:
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)
    return target


def _same_created(bodies: dict, but_one: bool) -> None:
    """Every openai model created at one moment (but the first, with ``but_one``): on all of
    them, that is a placeholder, not a creation date."""
    for i, model in enumerate(bodies["openai"]["data"]):
        model["created"] = 1692634615 + (1000 if but_one and i == 0 else 0)


def _with_acme(bodies: dict) -> dict:
    """A provider stating prices in a unit only their magnitude decides (the median of all)."""
    bodies["acme"] = {
        "object": "list",
        "data": [
            {"id": f"acme-{i}", "object": "model", "pricing": {"input": v, "output": 3 * v}}
            for i, v in enumerate([1e-6, 1.0, 2e-6])
        ],
    }
    return bodies


def _litellm_and_groq_changed(bodies: dict) -> None:
    # A reference record another provider's model matches (groq's llama-3.3-70b-versatile) ...
    bodies["litellm"][PRICED]["input_cost_per_token"] = 4.9e-07
    # ... and a record of that provider.
    bodies["groq"]["data"][0]["context_window"] = 65536


def _placeholder_decided(bodies: dict) -> None:
    _same_created(bodies, but_one=False)


def _unit_basis_changed(bodies: dict) -> None:
    # One model's prices move the median the unit of every acme price is decided by, from
    # USD per token to USD per 1M tokens.
    bodies["acme"]["data"][2]["pricing"] = {"input": 2.0, "output": 6.0}


def _groq_model_gone(bodies: dict) -> None:
    bodies["groq"]["data"].pop(0)


@pytest.mark.parametrize(
    "change, in_part",
    [
        # Only the changed records are resolved; the reference's change reaches groq's model.
        (_litellm_and_groq_changed, {"litellm", "groq"}),
        # One created date changes, and with it the placeholder decision on every model.
        (_placeholder_decided, set()),
        # One price changes the unit decision (its basis) of every model.
        (_unit_basis_changed, set()),
        # A model gone: the whole provider.
        (_groq_model_gone, set()),
    ],
)
def test_a_refetch_resolving_changed_records_alone_stores_what_resolving_all_stores(
    server, tmp_path, no_internet, change, in_part
):
    bodies = _with_acme(answers())
    _same_created(bodies, but_one=True)
    catalog, base = _fetched(server, tmp_path, bodies)
    changed = copy.deepcopy(bodies)
    change(changed)
    names = sorted(n for n in bodies if changed[n] != bodies[n])
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, names)
    assert {r.provider for r in results} == set(names) and all(r.status == "ok" for r in results)

    whole = _copy(base, tmp_path / "whole.db")
    part = _copy(base, tmp_path / "part.db")
    assert _store(whole, catalog, results, in_part=False) == set()
    assert _store(part, catalog, results, in_part=True) == in_part
    stored = _every_row(part)
    assert stored == _every_row(whole)
    assert stored != _every_row(base)

    # And deciding every fact again from the stored answers changes nothing.
    db = open_db(part)
    try:
        with write_transaction(db):
            assert refresh_facts(db) == 0
    finally:
        db.close()
    assert _every_row(part) == stored


def test_the_changed_reference_record_reaches_the_other_providers_model(server, tmp_path, no_internet):
    bodies = answers()
    catalog, db_path = _fetched(server, tmp_path, bodies)
    _litellm_and_groq_changed(bodies)
    _setup(server, tmp_path, bodies)
    assert _store(db_path, catalog, _fetch(catalog, ["groq", "litellm"]), in_part=True) == {"groq", "litellm"}
    conn = sqlite3.connect(db_path)
    try:
        price, window = conn.execute(
            "select input_price, context_window from models where provider = 'groq' and model_id = ?",
            [PRICED.split("/", 1)[1]],
        ).fetchone()
        first = bodies["groq"]["data"][0]["id"]
        (changed_window,) = conn.execute(
            "select context_window from models where provider = 'groq' and model_id = ?", [first]
        ).fetchone()
    finally:
        conn.close()
    assert price == pytest.approx(0.49)
    assert changed_window == 65536
