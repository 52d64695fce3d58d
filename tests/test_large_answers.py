"""A provider listing more than ``STREAM_ABOVE`` models (issue 14: 100k models in under 400 MB)
is resolved with each record read once and its reading kept packed until its turn, instead of
every reading kept as read beside its settled facts. It must store exactly what the other path
stores, in every table, row for row."""

from __future__ import annotations

import copy
from dataclasses import fields

import pytest
from facts_quality import heldout, heldout_names
from ingest_scenario import TABLES, answers, read_golden, run
from test_ingest_golden import _differences, _setup
from test_refetch_records import _copy, _every_row, _fetch, _store

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.db import open_db
from vexy_catalog.facts import pipeline, read_record
from vexy_catalog.facts.reading import Reading
from vexy_catalog.facts.stated import reading_of_facts
from vexy_catalog.records import find_records


def test_the_scenario_resolved_as_large_answers_stores_what_was_recorded(tmp_path, monkeypatch):
    # Every answer of the recorded scenario (references, fresh and re-enrichment alike) takes
    # the large answers' path; the recording was made with every reading kept as read.
    monkeypatch.setattr(pipeline, "STREAM_ABOVE", 0)
    dump = run(tmp_path)
    golden = read_golden()
    for table in TABLES:
        assert dump[table] == golden[table], _differences(golden[table], dump[table])


def _bulk(base: list[dict], same_created: bool) -> dict:
    """A provider of many models: OpenRouter's records (models the references know) listed
    again under other ids, with the traits the provider-wide steps decide on mixed in."""
    data = []
    for i in range(360):
        record = copy.deepcopy(base[i % len(base)])
        round_ = i // len(base)
        if round_:
            record["id"] = f"{record['id']}-v{round_}"
        pricing = record.setdefault("pricing", {})
        if i % 7 == 3:
            # Zero token prices beside a paid image: priced otherwise, not free.
            pricing.update(prompt="0", completion="0", image="0.004")
        if i % 11 == 5:
            pricing["currency"] = "EUR"
        if i % 13 == 2:
            record["owned_by"] = "system"
        if i % 9 == 4:
            record["context_size_hint"] = "very large"
            record["max_tokens_note"] = {"value": "depends"}
        if i % 17 == 6:
            record["type"] = "image"
        if i % 5 == 1:
            # Prices per token without a unit named: the references (or the magnitude) decide it.
            record["cost"] = {"input": pricing.get("prompt"), "output": pricing.get("completion")}
            record.pop("pricing")
        elif i % 5 == 2:
            # Prices per token under a name that says per 1M: corrected against the references.
            record["price_per_million_tokens"] = {"input": pricing.get("prompt"), "output": pricing.get("completion")}
            record.pop("pricing")
        if same_created:
            record["created"] = 1700000000
        data.append(record)
    return {"object": "list", "data": data}


@pytest.fixture
def bodies():
    bodies = answers()
    records = [r for name in ("openrouter", "chutes", "deepinfra", "fireworks", "groq") for r in bodies[name]["data"]]
    bodies["bulk"] = _bulk(records, same_created=False)
    bodies["bulk-same"] = _bulk(records[::-1], same_created=True)
    return bodies


def test_a_large_answer_stores_what_a_small_one_stores(server, tmp_path, no_internet, monkeypatch, bodies):
    base = tmp_path / "base.db"
    open_db(base).close()  # an empty catalog both start from
    catalog = ModelCatalog(db_path=base, providers_file=_setup(server, tmp_path, bodies))
    results = _fetch(catalog, list(bodies))
    assert all(r.status == "ok" for r in results)
    stored = {}
    for label, limit in (("small", 10**9), ("large", 50)):
        monkeypatch.setattr(pipeline, "STREAM_ABOVE", limit)
        _copy(base, tmp_path / f"{label}.db")
        _store(tmp_path / f"{label}.db", catalog, results, in_part=False)
        stored[label] = _every_row(tmp_path / f"{label}.db")
    small, large = stored["small"], stored["large"]
    assert small.keys() == large.keys()
    for table in small:
        assert large[table] == small[table], table

    # The provider-wide steps had something to decide on the large answers.
    kinds = {(row[0], row[3]) for row in small["disputes"]}
    assert {("bulk", "placeholder"), ("bulk", "unit"), ("bulk-same", "placeholder")} <= kinds, kinds
    assert any(row[0] == "bulk" for row in small["unread_keys"])
    sources = {row[3].split(":")[0] for row in small["fact_sources"] if row[0] == "bulk"}
    assert {"litellm", "openrouter", "modelsdev"} <= sources, sources


def _fixture_records() -> list[tuple[str, str, object]]:
    bodies = {**answers(), **{f"heldout-{n}": heldout(n)["answer"] for n in heldout_names()}}
    return [(name, model_id, raw) for name, body in bodies.items() for model_id, raw in find_records(body).records]


def _exactly(reading: Reading) -> tuple:
    """Everything of a reading, with the types and the order of keys (== would ignore them)."""
    return tuple(
        (type(value), [(k, type(v), v) for k, v in value.items()] if isinstance(value, dict) else value)
        for value in (getattr(reading, f.name) for f in fields(reading))
    )


def test_a_packed_reading_unpacks_to_the_reading_it_was():
    packer = pipeline._Packer()
    readings = [read_record(name, raw, canonical=True) for name, _, raw in _fixture_records()]
    readings.append(reading_of_facts({"name": "x", "input_price": 1.5, "input_modalities": ["text", "image"]}))
    odd = Reading(facts={"name": "y", "not_a_fact": 1}, paths={"name": "name"}, raw_values={"name": "y"})
    odd.facts["input_modalities"] = ["text", 2]  # a list not of strings only
    readings.append(odd)
    assert len(readings) > 50
    for i, reading in enumerate(readings):
        expected = _exactly(reading)
        packed = packer.pack(f"m{i}", reading)
        for _ in range(2):  # unpacked twice: each reading's containers are its own
            again = pipeline._unpack(packed)
            assert _exactly(again) == expected
            assert again.order_free == reading.order_free
            for name in ("facts", "paths", "raw_values", "prices", "other_prices", "stated", "unread"):
                assert getattr(again, name) is not getattr(reading, name)
            again.facts["name"] = "changed"
            for value in again.facts.values():
                if isinstance(value, list):
                    value.append("changed")
        assert _exactly(reading) == expected
