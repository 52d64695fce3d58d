"""What the catalog keeps of each reference record's reading (``reference_readings``, issue 14):
a reference answer that changes a few records reads only those again, and a reference index
loads without reading every record. Stored either way, the rows are what reading every record
stores; an entry is written with the rows it describes, and rebuilt, never trusted, when it is
missing or was kept by another reader."""

from __future__ import annotations

import copy
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from conftest import answer
from ingest_scenario import answers
from test_ingest_golden import REFERENCES, _setup
from test_refetch_records import PRICED, _copy, _every_row, _fetch, _fetched, _store

from vexy_catalog.db import Ingest, canonical_json, content_hash, open_db
from vexy_catalog.facts import FACT_FIELDS, Reading, ReferenceIndex, read_record
from vexy_catalog.facts.kept import decode, encode, reader_version
from vexy_catalog.facts.reading import Unread
from vexy_catalog.facts.references import record_host
from vexy_catalog.facts.units import PriceClaim, Unit
from vexy_catalog.records import find_records

# A litellm record no fixture provider's model matches, and one anthropic's does.
UNMATCHED = "text-embedding-3-small"
MATCHED = "claude-3-5-haiku-20241022"


def _price_changed(litellm: dict) -> None:
    # groq's llama-3.3-70b-versatile matches it: its input price follows.
    litellm[PRICED]["input_cost_per_token"] = 4.9e-07


def _nothing_read_changed(litellm: dict) -> None:
    # A key no reader reads: the record's hash changes, its reading does not.
    litellm[UNMATCHED]["x_vexy_note"] = "changed upstream"


def _record_added(litellm: dict) -> None:
    litellm["groq/gemma2-9b-it"] = {
        "max_input_tokens": 8192,
        "input_cost_per_token": 2e-07,
        "output_cost_per_token": 2e-07,
        "litellm_provider": "groq",
        "mode": "chat",
    }


def _record_removed(litellm: dict) -> None:
    del litellm[MATCHED]


STEPS = [_price_changed, _nothing_read_changed, _record_added, _record_removed]


def _tables(db_path: Path) -> dict[str, list[tuple]]:
    rows = _every_row(db_path)
    del rows["reference_readings"]
    return rows


def _kept(db_path: Path, listed_only: bool = True) -> list[tuple]:
    """The kept entries (of listed reference models only, by default)."""
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(
            "select k.provider, k.model_id, k.content_hash, k.reader, k.reading, k.host from reference_readings k "
            + (
                "join models m on m.provider = k.provider and m.model_id = k.model_id and m.removed_at is null "
                if listed_only
                else ""
            )
            + "order by 1, 2"
        ).fetchall()
    finally:
        conn.close()


def _forget_kept(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        with conn:
            conn.execute("delete from reference_readings")
    finally:
        conn.close()


def _assert_kept_describe_the_listed_records(db_path: Path, every: bool = True) -> None:
    """Every listed reference model has an entry (``every``; else: those that have one) of its
    current record, by this reader, holding what reading that record gives."""
    conn = sqlite3.connect(db_path)
    try:
        listed = conn.execute(
            f"select provider, model_id, content_hash, raw from models where removed_at is null "
            f"and provider in ({', '.join('?' for _ in REFERENCES)}) order by 1, 2",
            REFERENCES,
        ).fetchall()
    finally:
        conn.close()
    kept = {(p, m): (digest, reader, text, host) for p, m, digest, reader, text, host in _kept(db_path)}
    assert listed and (len(kept) == len(listed) or not every)
    for provider, model_id, digest, raw in listed:
        if (provider, model_id) not in kept and not every:
            continue
        kept_hash, reader, text, host = kept[(provider, model_id)]
        assert (kept_hash, reader) == (digest, reader_version())
        assert text == encode(read_record(provider, json.loads(raw), canonical=True))
        assert host == record_host(provider, model_id, json.loads(raw))


def _assert_indexes_load_the_listed_records(db_path: Path) -> None:
    """The reference indexes loaded from the catalog (kept readings) are those of its listed
    records read afresh."""
    db = open_db(db_path)
    try:
        loaded = {index.name: index for index in Ingest(db).indexes()}
        for name in REFERENCES:
            records = [
                (model_id, json.loads(raw))
                for model_id, raw in db.execute(
                    "select model_id, raw from models where provider = ? and removed_at is null", [name]
                )
            ]
            if not records:
                assert name not in loaded
                continue
            read = ReferenceIndex(name, records)
            assert sorted(loaded[name].keys()) == sorted(read.keys())
            for key in read.keys():
                assert (loaded[name].facts(key), loaded[name].host(key)) == (read.facts(key), read.host(key))
    finally:
        db.close()


def test_changed_reference_records_read_alone_store_what_reading_every_record_stores(server, tmp_path, no_internet):
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    _assert_kept_describe_the_listed_records(base)
    fast = _copy(base, tmp_path / "fast.db")
    full = _copy(base, tmp_path / "full.db")
    changed = copy.deepcopy(bodies)
    for step in STEPS:
        step(changed["litellm"])
        _setup(server, tmp_path, changed)
        results = _fetch(catalog, ["litellm"])
        assert [r.status for r in results] == ["ok"]
        before = _tables(fast)
        # The fast path: the kept readings as the last fetch left them, only the changed records
        # resolved. The full path: nothing kept (every record read), every model resolved.
        in_part = _store(fast, catalog, results, in_part=True)
        _forget_kept(full)
        assert _store(full, catalog, results, in_part=False) == set()
        assert _tables(fast) == _tables(full), step.__name__
        _assert_kept_describe_the_listed_records(fast)
        _assert_indexes_load_the_listed_records(fast)
        # Rebuilt as far as that store read them (litellm's, and the others its models match).
        _assert_kept_describe_the_listed_records(full, every=False)
        assert {r[:2] for r in _kept(full) if r[0] == "litellm"} == {r[:2] for r in _kept(fast) if r[0] == "litellm"}
        if step is _price_changed:
            # The change reached the other provider's model, through the changed records alone.
            assert in_part == {"litellm"}
            conn = sqlite3.connect(fast)
            (price,) = conn.execute(
                "select input_price from models where provider = 'groq' and model_id = 'llama-3.3-70b-versatile'"
            ).fetchone()
            conn.close()
            assert price == pytest.approx(0.49)
        if step is _nothing_read_changed:
            # Only litellm's record and its fetch: no other model's facts moved.
            after = _tables(fast)
            others = [r for r in after["models"] if r[0] != "litellm"]
            assert others == [r for r in before["models"] if r[0] != "litellm"]
        if step is _record_removed:
            conn = sqlite3.connect(fast)
            (removed,) = conn.execute(
                "select removed_at from models where provider = 'litellm' and model_id = ?", [MATCHED]
            ).fetchone()
            conn.close()
            assert removed is not None


def test_a_catalog_from_before_the_kept_readings_gets_them_rebuilt(server, tmp_path, no_internet):
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    kept = _kept(base, listed_only=False)
    older = _copy(base, tmp_path / "older.db")
    conn = sqlite3.connect(older)
    with conn:
        conn.execute("drop table reference_readings")
        conn.execute("delete from _sqlite_migrations where name = 'm010_reference_readings'")
    conn.close()
    open_db(older).close()  # the migration runs again
    assert _kept(older, listed_only=False) == kept

    # Entries gone (or kept by another version of the readers, with what that one read): the
    # next changed answer is stored as if nothing were kept, and its entries are written again.
    gone = _copy(base, tmp_path / "gone.db")
    _forget_kept(gone)
    stale = _copy(base, tmp_path / "stale.db")
    conn = sqlite3.connect(stale)
    with conn:
        (wrong,) = conn.execute(
            "select reading from reference_readings where provider = 'litellm' and model_id = 'gpt-4o'"
        ).fetchone()
        conn.execute("update reference_readings set reader = 'another-vexy', reading = ?", [wrong])
    conn.close()
    # And entries of other records than the stored ones (a hash that is not theirs).
    mismatched = _copy(base, tmp_path / "mismatched.db")
    conn = sqlite3.connect(mismatched)
    with conn:
        conn.execute("update reference_readings set content_hash = ?, reading = ?", ["0" * 64, wrong])
    conn.close()
    changed = copy.deepcopy(bodies)
    _price_changed(changed["litellm"])
    changed["openrouter"]["data"][0]["context_length"] = 4096
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, ["litellm", "openrouter"])
    whole = _copy(base, tmp_path / "whole.db")
    _store(whole, catalog, results, in_part=False)
    for db_path in (gone, stale, mismatched):
        _store(db_path, catalog, results, in_part=True)
        assert _tables(db_path) == _tables(whole)
        _assert_kept_describe_the_listed_records(db_path)


def test_the_kept_reading_is_what_an_index_loads(server, tmp_path, no_internet):
    _, base = _fetched(server, tmp_path, answers())
    conn = sqlite3.connect(base)
    with conn:
        (other,) = conn.execute(
            "select reading from reference_readings where provider = 'litellm' and model_id = ?", [MATCHED]
        ).fetchone()
        conn.execute(
            "update reference_readings set reading = ? where provider = 'litellm' and model_id = 'gpt-4o'", [other]
        )
        # An entry of another record (its hash is not the stored record's) is not read.
        conn.execute(
            "update reference_readings set reading = ?, content_hash = ? where provider = 'litellm' and model_id = ?",
            [other.replace("claude", "gpt"), "0" * 64, PRICED],
        )
    conn.close()
    db = open_db(base)
    try:
        (litellm,) = [index for index in Ingest(db).indexes() if index.name == "litellm"]
        assert litellm.facts("gpt-4o") == decode(other).facts
        assert litellm.facts(MATCHED) == decode(other).facts
        # Its record says otherwise: the entry (of that record's hash, by this reader) was read.
        raw = db.execute("select raw from models where provider = 'litellm' and model_id = 'gpt-4o'").fetchone()[0]
        assert read_record("litellm", json.loads(raw), canonical=True).facts != decode(other).facts
        raw = db.execute("select raw from models where provider = 'litellm' and model_id = ?", [PRICED]).fetchone()[0]
        assert litellm.facts(PRICED) == {
            f: read_record("litellm", json.loads(raw), canonical=True).facts.get(f) for f in FACT_FIELDS
        }
    finally:
        db.close()


def test_an_entry_is_written_with_the_rows_it_describes(server, tmp_path, no_internet):
    bodies = answers()
    catalog, base = _fetched(server, tmp_path, bodies)
    changed = copy.deepcopy(bodies)
    _price_changed(changed["litellm"])
    _setup(server, tmp_path, changed)
    results = _fetch(catalog, ["litellm"])
    before = _every_row(base)
    conn = sqlite3.connect(base)
    with conn:
        # The fetch fails after its models are written (as a full disk or a kill would).
        conn.execute(
            "create trigger fail_litellm before update of status on fetches when new.provider = 'litellm' "
            "begin select raise(abort, 'disk full'); end"
        )
    conn.close()
    db = open_db(base)
    try:
        ingest = Ingest(db)
        (provider,) = catalog.select(["litellm"])
        ingest.prepare([(provider, results[0])])
        with pytest.raises(sqlite3.IntegrityError, match="disk full"):
            ingest.record(provider, results[0])
    finally:
        db.close()
    after = _every_row(base)
    assert after == before


def _claim(amount: str, raw: object) -> PriceClaim:
    return PriceClaim("input_price", "pricing.input", raw, Decimal(amount), Unit(per_tokens=Decimal(1), basis="test"))


@pytest.mark.parametrize("provider", ["litellm", "openrouter", "modelsdev", "groq", "featherless", "deepinfra"])
def test_a_kept_reading_is_the_reading_value_for_value(provider):
    records = find_records(answer(provider), None, None).records
    assert records
    for _, raw in records:
        reading = read_record(provider, raw, canonical=True)
        text = encode(reading)
        assert text is not None
        kept = decode(text)
        assert kept.facts == {f: reading.facts.get(f) for f in FACT_FIELDS}
        assert [type(v) for v in kept.facts.values()] == [type(reading.facts.get(f)) for f in FACT_FIELDS]
        for mine, theirs in zip(kept.prices, reading.prices, strict=True):
            assert mine == theirs and type(mine.raw) is type(theirs.raw)
            assert mine.amount.as_tuple() == theirs.amount.as_tuple()
        assert kept.other_prices == reading.other_prices
        assert all(type(o) is tuple for o in kept.other_prices)
        assert kept.unread == reading.unread


def test_what_json_cannot_keep_exactly_is_not_kept():
    assert decode(encode(Reading(prices=[_claim("0.5", Decimal("0.50"))]))).prices[0].raw == Decimal("0.50")
    for reading in (
        Reading(facts={**dict.fromkeys(FACT_FIELDS), "input_modalities": ("text",)}),
        Reading(facts={**dict.fromkeys(FACT_FIELDS), "context_window": float("inf")}),
        Reading(prices=[_claim("1", (1, 2))]),
        Reading(unread=[Unread("a.b", {1: "x"}, ("context_window",), ("a", "b"))]),
        Reading(other_prices=[["per_image", 1, "image"]]),
    ):
        assert encode(reading) is None


def test_claims_decoded_alike_are_one_value_but_keep_their_raw_exactly():
    # Decoded claims are shared between readings where they are the same value: equal keys
    # that are not the same raw value (1, 1.0, true; 0.0, -0.0) each stay what was kept.
    raws = [1, 1.0, True, 0.0, -0.0, "1", [1], {"usd": 1}]
    for _ in range(2):  # the second time, from what the first one made
        for raw in raws:
            claim = decode(encode(Reading(prices=[_claim("1", raw)]))).prices[0]
            assert claim == _claim("1", raw)
            assert type(claim.raw) is type(raw) and repr(claim.raw) == repr(raw)
    first, second = (decode(encode(Reading(prices=[_claim("1", [1])]))).prices[0] for _ in range(2))
    assert first.raw == second.raw and first.raw is not second.raw  # a list raw is never shared
    one, other = (
        decode(encode(Reading(prices=[_claim(amount, "x")]))).prices[0].amount.as_tuple() for amount in ("1", "1.0")
    )
    assert one != other


def test_a_reference_answer_stored_whole_is_its_canonical_text(server, tmp_path, no_internet):
    # Its records' canonical texts (encoded once for their hashes) make the answer's: the hash
    # contract holds whatever sits around them, however deep.
    bodies = answers()
    bodies["litellm"]["ünïcode/模型"] = {"input_cost_per_token": 1e-06, "note": '\u2028 "quoted" \\ é'}
    bodies["openrouter"]["meta"] = {"pages": [{"n": 1, "deep": {"deeper": {"deepest": [1.5, None, True]}}}], "": []}
    bodies["openrouter"]["data"][0]["nested"] = {"z": {"y": [{"x": -0.0}]}, "a": 1e300}
    catalog, db_path = _fetched(server, tmp_path, bodies)
    conn = sqlite3.connect(db_path)
    try:
        for name in ("litellm", "openrouter"):
            digest, body = conn.execute(
                "select p.hash, p.body from providers v join payloads p on p.hash = v.payload_hash where v.name = ?",
                [name],
            ).fetchone()
            assert body == canonical_json(bodies[name])
            assert digest == content_hash(bodies[name])
    finally:
        conn.close()
