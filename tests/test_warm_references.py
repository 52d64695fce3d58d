"""What a fetch loads of the reference catalogs while its requests are out (``Ingest.warm``,
issue 14): every reference index, the readings of the references' stored records and their
matches against the others, so a changed reference answer, once in, has only its changes left
to do. Stored with or without it, every table holds the same rows, row for row: with records
changed, added and removed, with a change that flips a provider-wide decision (every model is
resolved again then), and when another process writes the catalog between the warm-up and the
answer."""

from __future__ import annotations

import copy
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from ingest_scenario import answers
from test_ingest_golden import _setup
from test_reference_readings import _record_added, _record_removed
from test_refetch_records import PRICED, _copy, _every_row, _fetch, _fetched, _store

from vexy_catalog.db import Ingest, open_db

# litellm's records of the fixture that state a price (sample_spec is no model).
PRICED_RECORDS = ["gpt-4o", PRICED, "claude-3-5-haiku-20241022"]


def _price_changed(bodies: dict) -> None:
    bodies["litellm"][PRICED]["input_cost_per_token"] = 4.9e-07


def _added_and_removed(bodies: dict) -> None:
    _record_added(bodies["litellm"])
    _record_removed(bodies["litellm"])


def _same_cache_price(bodies: dict, but_one: bool) -> None:
    """One cache price on every priced litellm record (but the last, with ``but_one``): on all
    of them, with their inputs differing, that is a placeholder, not a price."""
    for i, key in enumerate(PRICED_RECORDS):
        bodies["litellm"][key]["cache_read_input_token_cost"] = 2e-07 if but_one and i == 2 else 1e-07


def _placeholder_decided(bodies: dict) -> None:
    _same_cache_price(bodies, but_one=False)


@pytest.mark.parametrize(
    "change, in_part",
    [
        # One price changed: only that record is resolved (the benchmark's case).
        (_price_changed, {"litellm"}),
        # A record gone and another new: litellm's models are all resolved again.
        (_added_and_removed, set()),
        # The last cache price made like the others: the placeholder rule now holds on every
        # priced model, so every model is resolved again.
        (_placeholder_decided, set()),
    ],
)
def test_a_warmed_up_store_stores_what_a_cold_one_stores(server, tmp_path, no_internet, change, in_part):
    bodies = answers()
    _same_cache_price(bodies, but_one=True)
    catalog, base = _fetched(server, tmp_path, bodies)
    changed = copy.deepcopy(bodies)
    change(changed)
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, ["litellm"])
    assert [r.status for r in results] == ["ok"]

    cold = _copy(base, tmp_path / "cold.db")
    warm = _copy(base, tmp_path / "warm.db")
    assert _store(cold, catalog, results, in_part=True) == in_part
    assert _store(warm, catalog, results, in_part=True, warm=True) == in_part
    stored = _every_row(warm)
    assert stored == _every_row(cold)
    assert stored != _every_row(base)
    if change is _placeholder_decided:
        conn = sqlite3.connect(warm)
        found = conn.execute(
            "select count(*) from disputes where provider = 'litellm' and fact = 'cache_read_price' "
            "and kind = 'placeholder'"
        ).fetchone()[0]
        conn.close()
        assert found == len(PRICED_RECORDS)


def test_what_another_process_writes_after_the_warm_up_is_what_the_answer_meets(server, tmp_path, no_internet):
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    # Another process stores a models.dev answer whose record litellm's changed one matches ...
    other = copy.deepcopy(bodies)
    llama = other["modelsdev"]["groq"]["models"]["llama-3.3-70b-versatile"]
    llama["limit"] = {**llama.get("limit", {}), "context": 65536}
    _setup(server, tmp_path, other)
    (modelsdev,) = _fetch(catalog, ["modelsdev"])
    # ... after this process loaded the references, before litellm's answer is stored.
    changed = copy.deepcopy(bodies)
    _price_changed(changed)
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, ["litellm"])

    def another_process(db_path: Path) -> Callable[[], None]:
        def store() -> None:
            db = open_db(db_path)
            try:
                ingest = Ingest(db)
                (provider,) = catalog.select(["modelsdev"])
                ingest.prepare([(provider, copy.deepcopy(modelsdev))])
                assert ingest.record(provider, copy.deepcopy(modelsdev))["status"] == "ok"
                ingest.settle()
            finally:
                db.close()

        return store

    cold = _copy(base, tmp_path / "cold.db")
    warm = _copy(base, tmp_path / "warm.db")
    _store(cold, catalog, results, in_part=True, meanwhile=another_process(cold))
    _store(warm, catalog, results, in_part=True, warm=True, meanwhile=another_process(warm))
    stored = _every_row(warm)
    assert stored == _every_row(cold)
    # The litellm model's row names the models.dev value the other process stored.
    source = ("litellm", PRICED, "context_window", "modelsdev:groq/llama-3.3-70b-versatile")
    assert any(row[:4] == source and str(row[4]) == "65536" for row in stored["fact_sources"])


def test_a_stored_record_the_warm_up_cannot_read_leaves_the_store_as_without_it(server, tmp_path, no_internet):
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    # A litellm record damaged in the catalog, with no kept reading: loading litellm's index
    # from the catalog fails. The answer brings the record again, so storing it does not.
    conn = sqlite3.connect(base)
    with conn:
        conn.execute("update models set raw = '{' where provider = 'litellm' and model_id = 'gpt-4o'")
        conn.execute("delete from reference_readings where provider = 'litellm' and model_id = 'gpt-4o'")
    conn.close()
    changed = copy.deepcopy(bodies)
    _price_changed(changed)
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, ["litellm"])

    cold = _copy(base, tmp_path / "cold.db")
    warm = _copy(base, tmp_path / "warm.db")
    assert _store(cold, catalog, results, in_part=True) == {"litellm"}
    assert _store(warm, catalog, results, in_part=True, warm=True) == {"litellm"}
    assert _every_row(warm) == _every_row(cold)
