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
from vexy_catalog.facts import Baseline, Reading, ReferenceIndex, baseline, read_record, resolve_changed

# litellm's records of the fixture that state a price (sample_spec is no model).
PRICED_RECORDS = ["gpt-4o", PRICED, "claude-3-5-haiku-20241022"]


def _price_changed(bodies: dict) -> None:
    bodies["litellm"][PRICED]["input_cost_per_token"] = 4.9e-07


def _added_and_removed(bodies: dict) -> None:
    _record_added(bodies["litellm"])
    _record_removed(bodies["litellm"])


def _llama_context_changed(bodies: dict) -> None:
    # The models.dev record litellm's PRICED one matches.
    llama = bodies["modelsdev"]["groq"]["models"]["llama-3.3-70b-versatile"]
    llama["limit"] = {**llama.get("limit", {}), "context": 65536}


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


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 4])
def test_a_warm_up_stopped_early_leaves_the_store_as_without_it(server, tmp_path, no_internet, steps):
    # Stopped as an answer waits for the writer: after some indexes, before some baselines.
    # Two references changed: litellm's baseline does not hold once models.dev's index moved.
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    changed = copy.deepcopy(bodies)
    _price_changed(changed)
    _llama_context_changed(changed)
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, ["litellm", "modelsdev"])

    cold = _copy(base, tmp_path / "cold.db")
    warm = _copy(base, tmp_path / "warm.db")
    _store(cold, catalog, results, in_part=True)
    _store(warm, catalog, results, in_part=True, warm=True, warm_steps=steps)
    assert _every_row(warm) == _every_row(cold)


def test_what_another_process_writes_after_the_warm_up_is_what_the_answer_meets(server, tmp_path, no_internet):
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    # Another process stores a models.dev answer whose record litellm's changed one matches ...
    other = copy.deepcopy(bodies)
    _llama_context_changed(other)
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


# --- resolve_changed from a baseline worked out ahead, against resolving without one --------

ACME_IDS = ["gpt-4o", "claude-3-5-haiku-20241022", "text-embedding-3-small"]
FETCHED = "2025-03-01T00:00:00Z"


def _acme(prices: list[float], created: list[str] | None = None) -> dict[str, Reading]:
    """Readings of a provider stating prices in a unit their magnitudes (or the references'
    prices of the same models) decide."""
    return {
        model_id: read_record(
            "acme",
            {"id": model_id, "created": created[i] if created else None, "pricing": {"input": v, "output": 3 * v}},
        )
        for i, (model_id, v) in enumerate(zip(ACME_IDS, prices, strict=True))
    }


def _litellm_index() -> ReferenceIndex:
    return ReferenceIndex("litellm", list(answers()["litellm"].items()))


def _resolved(
    old: dict[str, Reading],
    new: dict[str, Reading],
    references: list[ReferenceIndex],
    fetched_before: str,
    base: Baseline | None,
) -> tuple[list, list] | None:
    """resolve_changed of ``new`` (the unchanged models' very readings of ``old``)."""
    readings = {m: old[m] if new[m] is None else new[m] for m in old}
    before = {m: old[m] for m in old if new[m] is not None}
    refreshed = resolve_changed(
        "acme", readings, before, references, fetched_at=FETCHED, fetched_before=fetched_before, base=base
    )
    return None if refreshed is None else (refreshed.results, refreshed.unread)


def _changed_at(readings: dict[str, Reading], index: int, reading: Reading) -> dict[str, Reading | None]:
    return {m: reading if i == index else None for i, m in enumerate(readings)}


def test_a_baseline_that_holds_resolves_the_changed_records_as_without_it():
    references = [_litellm_index()]
    old = _acme([2.5e-6, 8e-7, 2e-8])
    new = _changed_at(old, 1, _acme([2.5e-6, 9e-7, 2e-8])[ACME_IDS[1]])
    base = baseline("acme", old, references, FETCHED)
    plain = _resolved(old, new, references, FETCHED, None)
    assert plain is not None and [r.model_id for r in plain[0]] == [ACME_IDS[1]]
    assert _resolved(old, new, references, FETCHED, base) == plain


def test_a_changed_model_keeps_what_all_the_models_show_together_with_a_baseline_too():
    # The same created on every model is a placeholder on each, the changed one's included: the
    # baseline's shared placeholders are the changed model's too, beside its own.
    created = ["2024-01-01T00:00:00Z"] * 3
    references = [_litellm_index()]
    old = _acme([2.5e-6, 8e-7, 2e-8], created)
    new = _changed_at(old, 1, _acme([2.5e-6, 9e-7, 2e-8], created)[ACME_IDS[1]])
    plain = _resolved(old, new, references, FETCHED, None)
    assert plain is not None
    (result,) = plain[0]
    assert [(d.fact, d.kind) for d in result.disputes if d.kind == "placeholder"] == [("created", "placeholder")]
    assert _resolved(old, new, references, FETCHED, baseline("acme", old, references, FETCHED)) == plain


def test_a_change_that_flips_the_unit_decision_is_resolved_whole_with_a_baseline_too():
    # Magnitudes decide the unit of every price (no reference prices these ids) ...
    old = {f"acme-{i}": r for i, r in enumerate(_acme([1e-6, 1.0, 2e-6]).values())}
    flipped = {f"acme-{i}": r for i, r in enumerate(_acme([1e-6, 1.0, 2.0]).values())}
    new = {m: flipped[m] if m == "acme-2" else None for m in old}
    base = baseline("acme", old, [], FETCHED)
    # ... and one price moves the median they are decided by: every model is resolved again.
    assert _resolved(old, new, [], FETCHED, None) is None
    assert _resolved(old, new, [], FETCHED, base) is None


def test_prices_that_move_the_unit_the_references_decide_are_resolved_whole_with_a_baseline_too():
    # litellm's prices of the same models decide acme's unit (per token). Two of the three now
    # state 1000x theirs: the references say another unit, and every model is resolved again.
    references = [_litellm_index()]
    old = _acme([2.5e-6, 8e-7, 2e-8])
    dearer = _acme([2.5e-3, 8e-4, 2e-8])
    new = {m: dearer[m] if i < 2 else None for i, m in enumerate(old)}
    assert _resolved(old, new, references, FETCHED, None) is None
    assert _resolved(old, new, references, FETCHED, baseline("acme", old, references, FETCHED)) is None


def test_a_baseline_of_another_fetch_or_of_other_reference_records_is_not_used():
    # Created within two days of the last fetch, not of this one: a placeholder then, not now.
    created = ["2025-02-26T18:00:00Z", "2025-02-27T12:00:00Z", "2025-02-28T06:00:00Z"]
    before = "2025-02-28T12:00:00Z"
    references = [_litellm_index()]
    old = _acme([2.5e-6, 8e-7, 2e-8], created)
    new = _changed_at(old, 1, _acme([2.5e-6, 9e-7, 2e-8], created)[ACME_IDS[1]])
    # Worked out as of a fetch at the time of this one: the placeholder rule holds on none.
    of_another_fetch = baseline("acme", old, references, FETCHED)
    assert _resolved(old, new, references, before, of_another_fetch) == _resolved(old, new, references, before, None)
    # The reference records the models match change after the baseline was worked out.
    base = baseline("acme", old, references, FETCHED)
    litellm = answers()["litellm"]
    dearer = [
        (
            key,
            {**litellm[key], **{k: litellm[key][k] * 1000 for k in ("input_cost_per_token", "output_cost_per_token")}},
        )
        for key in ACME_IDS
    ]
    references[0].update(dearer)
    plain = _resolved(old, new, references, FETCHED, None)
    assert _resolved(old, new, references, FETCHED, base) == plain
    # Worked out from other readings of the unchanged models than theirs now.
    old = {f"acme-{i}": r for i, r in enumerate(_acme([1e-6, 2e-6, 3e-6]).values())}
    other = {f"acme-{i}": r for i, r in enumerate(_acme([1.0, 2.0, 3e-6]).values())}
    dated = _acme([1e-6, 2e-6, 3e-6], [None, None, "2024-01-01T00:00:00Z"])[ACME_IDS[2]]
    new = {m: dated if m == "acme-2" else None for m in old}
    plain = _resolved(old, new, [], FETCHED, None)
    assert plain is not None
    assert _resolved(old, new, [], FETCHED, baseline("acme", other, [], FETCHED)) == plain
