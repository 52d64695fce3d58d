"""A refetch that finds what the catalog holds costs almost nothing (issue 14): an answer whose
bytes are those of the provider's stored answer is not decoded on arrival, and is read after
all only when storing it needs it (the catalog changed meanwhile). What is stored is the same
either way."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import anyio
import yaml
from conftest import KEYS, answer
from fake_providers import Route

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.conditional import known_answers, read_stored
from vexy_catalog.db import Ingest, open_db
from vexy_catalog.fetch import FetchResult, ModelFetcher

NAMES = ["openai", "anthropic", "litellm", "groq"]
READ = ("status", "payload", "records", "shape", "raw_hash", "unidentified", "duplicates", "bytes", "http_status")


def _fetch(catalog: ModelCatalog, names: list[str], known: dict | None = None) -> dict[str, FetchResult]:
    fetcher = ModelFetcher(configured=catalog.providers.values())
    results = anyio.run(lambda: fetcher.fetch_all(catalog.select(names), known=known))
    return {r.provider: r for r in results}


def _read(result: FetchResult) -> dict:
    return {name: getattr(result, name) for name in READ}


def test_known_answers_are_the_stored_answers_of_providers_read_the_same_way(providers, tmp_path):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    assert read_stored(db_path, catalog.select(NAMES)) == ({}, {}, {})  # no catalog yet
    catalog.fetch(NAMES)
    known = read_stored(db_path, catalog.select(NAMES))[2]
    assert set(known) == set(NAMES)
    shapes = dict(
        sqlite3.connect(db_path).execute("select provider, shape from fetches where status = 'ok' order by id")
    )
    assert {name: set(hashes.values()) for name, hashes in known.items()} == {n: {shapes[n]} for n in NAMES}

    # Read another way (a list_path now configured): its stored answer is no help.
    entries = yaml.safe_load(providers_file.read_text(encoding="utf-8"))
    entries["openai"]["list_path"] = "data"
    moved = tmp_path / "moved.yaml"
    moved.write_text(yaml.safe_dump(entries), encoding="utf-8")
    again = ModelCatalog(db_path=db_path, providers_file=moved)
    db = open_db(db_path)
    try:
        assert set(known_answers(db, again.select(NAMES))) == set(NAMES) - {"openai"}
    finally:
        db.close()


def test_an_answer_with_the_stored_bytes_is_read_only_when_asked_and_then_as_on_arrival(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    changed = answer("groq")
    changed["data"][0]["context_window"] = 8192
    server.set("groq", Route(body=changed, key=KEYS["groq"]))
    known = read_stored(db_path, catalog.select(NAMES))[2]

    full = _fetch(catalog, NAMES)
    kept = _fetch(catalog, NAMES, known)
    # Same bytes, one request: kept undecoded. A paged answer (anthropic) and a changed one
    # (groq) are read on arrival.
    assert {name for name, r in kept.items() if r.undecoded is not None} == {"openai", "litellm"}
    for name in ("openai", "litellm"):
        assert kept[name].payload is None and kept[name].records == []
        assert kept[name].shape == full[name].shape and kept[name].raw_hash == full[name].raw_hash
        kept[name].decode()
        assert kept[name].undecoded is None
    assert {name: _read(r) for name, r in kept.items()} == {name: _read(r) for name, r in full.items()}
    assert kept["groq"].records != [] and full["groq"].records[0][1]["context_window"] == 8192


def _stored(db_path: Path) -> dict[str, list[tuple]]:
    conn = sqlite3.connect(db_path)
    try:
        return {
            "models": conn.execute(
                "select provider, model_id, raw, content_hash, removed_at is null, context_window, input_price "
                "from models order by provider, model_id"
            ).fetchall(),
            "fact_sources": conn.execute("select * from fact_sources order by 1, 2, 3").fetchall(),
            "disputes": conn.execute("select * from disputes order by 1, 2, 3, 4").fetchall(),
            "payloads": conn.execute("select hash, body from payloads order by 1").fetchall(),
            "providers": conn.execute("select name, payload_hash, model_count, last_status from providers").fetchall(),
            "fetches": conn.execute(
                "select provider, status, model_count, added, removed, changed, payload_hash, bytes, shape "
                "from fetches order by id"
            ).fetchall(),
        }
    finally:
        conn.close()


def test_a_kept_answer_is_read_and_applied_when_the_catalog_changed_meanwhile(providers, server, tmp_path):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["openai"])
    known = read_stored(db_path, catalog.select(["openai"]))[2]
    kept = _fetch(catalog, ["openai"], known)["openai"]
    full = _fetch(catalog, ["openai"])["openai"]
    assert kept.undecoded is not None

    # Another process stores another answer of openai before this one is stored.
    other = answer("openai")
    other["data"] = other["data"][1:]
    server.set("openai", Route(body=other, key=KEYS["openai"]))
    catalog.fetch(["openai"])
    twin = tmp_path / "twin.db"
    source, target = sqlite3.connect(db_path), sqlite3.connect(twin)
    source.backup(target)
    source.close()
    target.close()

    rows = {}
    for path, result in ((db_path, kept), (twin, full)):
        db = open_db(path)
        try:
            ingest = Ingest(db)
            rows[path] = ingest.record(catalog.get_provider("openai"), result)
            ingest.settle()
        finally:
            db.close()
    assert rows[db_path]["status"] == "ok" and rows[db_path]["added"] == 1
    timing = ("id", "started_at", "finished_at", "duration_ms")
    assert {k: v for k, v in rows[db_path].items() if k not in timing} == {
        k: v for k, v in rows[twin].items() if k not in timing
    }
    assert _stored(db_path) == _stored(twin)


def test_an_unchanged_refetch_stores_what_a_forced_read_of_the_same_bytes_stores(providers, server, tmp_path):
    """The whole path: a refetch of a catalog, with and without the stored answers known."""
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    twin = tmp_path / "twin.db"
    source, target = sqlite3.connect(db_path), sqlite3.connect(twin)
    source.backup(target)
    source.close()
    target.close()
    fast = catalog.fetch(NAMES)
    # The twin forgets the raw hashes of its answers: each is decoded, read and encoded again.
    conn = sqlite3.connect(twin)
    with conn:
        conn.execute("delete from answer_hashes")
    conn.close()
    slow = ModelCatalog(db_path=twin, providers_file=providers_file).fetch(NAMES)
    assert [f["status"] for f in fast.fetches] == [f["status"] for f in slow.fetches]
    assert {f["status"] for f in fast.fetches} == {"unchanged"}
    assert _stored(db_path) == _stored(twin)


def test_a_kept_answer_whose_raw_hash_is_forgotten_meanwhile_is_read_to_know_it(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["openai"])
    before = _stored(db_path)
    known = read_stored(db_path, catalog.select(["openai"]))[2]
    kept = _fetch(catalog, ["openai"], known)["openai"]
    assert kept.undecoded is not None
    conn = sqlite3.connect(db_path)
    with conn:
        conn.execute("delete from answer_hashes")
    conn.close()
    db = open_db(db_path)
    try:
        row = Ingest(db).record(catalog.get_provider("openai"), kept)
    finally:
        db.close()
    assert row["status"] == "unchanged" and kept.records  # read to learn its payload hash
    after = _stored(db_path)
    assert after["fetches"][:-1] == before["fetches"] and after["fetches"][-1][:2] == ("openai", "unchanged")
    assert {k: v for k, v in after.items() if k not in ("fetches", "providers")} == {
        k: v for k, v in before.items() if k not in ("fetches", "providers")
    }
