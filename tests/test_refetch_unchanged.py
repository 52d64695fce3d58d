"""An unchanged refetch is stored as its answers arrive (issue 14): a fetch that changes no model
row (the bytes of the stored answer, a 304, a failure) waits for no reference catalog, and those
that arrive while the writer is busy are stored in one transaction, each in a savepoint of its
own. What is stored is what storing them one at a time stores; the stored copy of each answer
is still checked against its hash and healed by the same answer arriving again."""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path

import anyio
from click.testing import CliRunner
from conftest import KEYS, answer
from fake_providers import Route
from test_refetch import _fetch, _stored

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.cli import cli
from vexy_catalog.conditional import read_stored
from vexy_catalog.db import Ingest, open_db
from vexy_catalog.fetch import ModelFetcher

NAMES = ["openai", "groq", "mistral", "litellm", "openrouter"]


def _copy(db_path: Path, to: Path) -> Path:
    source, target = sqlite3.connect(db_path), sqlite3.connect(to)
    source.backup(target)
    source.close()
    target.close()
    return to


def _gate(server, name: str) -> threading.Event:
    """Hold ``name``'s answer (its own stored bytes) until the event is set (10 s at most)."""
    release = threading.Event()
    body = server.routes[name].body

    def respond(seen):
        release.wait(10)
        return body

    server.set(name, Route(body=body, kind=server.routes[name].kind, respond=respond))
    return release


def test_unchanged_answers_are_stored_while_a_reference_is_still_out(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    release = _gate(server, "litellm")
    seen: list[str] = []

    def on_fetch(row: dict) -> None:
        seen.append(row["provider"])
        if {"openai", "groq", "mistral", "openrouter"} <= set(seen):
            release.set()  # litellm answers only once the others are stored

    summary = catalog.fetch(NAMES, on_fetch=on_fetch, timeout=30)
    assert seen[-1] == "litellm", seen
    # openai and openrouter: their stored bytes; groq (ETag) and mistral (Last-Modified): 304.
    assert {f["provider"]: f["status"] for f in summary.fetches} == dict.fromkeys(NAMES, "unchanged")
    statuses = sqlite3.connect(db_path).execute(
        "select provider, status, http_status from fetches order by id desc limit 5"
    )
    assert sorted(statuses) == sorted(
        [("groq", "unchanged", 304), ("litellm", "unchanged", 200), ("mistral", "unchanged", 304)]
        + [("openai", "unchanged", 200), ("openrouter", "unchanged", 200)]
    )


def test_an_unchanged_refetch_stores_what_storing_each_answer_alone_stores(providers, server, tmp_path):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    twin = _copy(db_path, tmp_path / "twin.db")
    validators, _, known = read_stored(db_path, catalog.select(NAMES))

    together = catalog.fetch(NAMES)
    # The twin: the same answers, each stored alone in a transaction of its own.
    fetcher = ModelFetcher(configured=catalog.providers.values())
    results = anyio.run(lambda: fetcher.fetch_all(catalog.select(NAMES), validators=validators, known=known))
    # openai, litellm and openrouter: the stored bytes; groq (ETag) and mistral (Last-Modified): 304.
    assert {r.provider for r in results if r.undecoded is not None} == {"openai", "litellm", "openrouter"}
    assert {r.provider for r in results if r.status == "unchanged"} == {"groq", "mistral"}
    db = open_db(twin)
    try:
        ingest = Ingest(db)
        alone = [ingest.record(catalog.get_provider(r.provider), r) for r in results]
    finally:
        db.close()
    assert {f["status"] for f in together.fetches} == {"unchanged"} == {row["status"] for row in alone}
    timing = ("fetches", "providers")
    assert {k: v for k, v in _stored(db_path).items() if k not in timing} == {
        k: v for k, v in _stored(twin).items() if k not in timing
    }
    shown = "select provider, status, model_count, added, removed, changed, payload_hash, shape from fetches"
    last = {
        path: sorted(sqlite3.connect(path).execute(f"{shown} order by id desc limit {len(NAMES)}"))
        for path in (db_path, twin)
    }
    assert last[db_path] == last[twin]
    providers_rows = "select name, payload_hash, model_count, last_status, last_error from providers order by name"
    assert list(sqlite3.connect(db_path).execute(providers_rows)) == list(sqlite3.connect(twin).execute(providers_rows))


def _damage(db_path: Path, provider: str, how: str) -> str:
    conn = sqlite3.connect(db_path)
    (digest,) = conn.execute("select payload_hash from providers where name = ?", [provider]).fetchone()
    with conn:
        if how == "damaged":
            conn.execute("update payloads set body = substr(body, 1, length(body) - 7) where hash = ?", [digest])
        elif how == "tampered":
            conn.execute("update payloads set body = '{\"data\": []}' where hash = ?", [digest])
        else:  # pruned
            conn.execute("delete from payloads where hash = ?", [digest])
    conn.close()
    return digest


def test_a_damaged_tampered_or_missing_stored_answer_is_healed_by_an_unchanged_refetch(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    before = _stored(db_path)["payloads"]
    digests = {
        "openai": _damage(db_path, "openai", "damaged"),
        "litellm": _damage(db_path, "litellm", "tampered"),
        "openrouter": _damage(db_path, "openrouter", "pruned"),
    }
    verify = CliRunner().invoke(cli, ["--db", str(db_path), "verify"])
    assert verify.exit_code == 1 and "payload_hash: openai:" in verify.stdout

    summary = catalog.fetch(NAMES)
    assert {f["status"] for f in summary.fetches} == {"unchanged"}
    conn = sqlite3.connect(db_path)
    for name, digest in digests.items():
        (body,) = conn.execute("select body from payloads where hash = ?", [digest]).fetchone()
        assert hashlib.sha256(body.encode()).hexdigest() == digest, name
    conn.close()
    assert _stored(db_path)["payloads"] == before
    assert CliRunner().invoke(cli, ["--db", str(db_path), "verify"]).exit_code == 0


def test_an_answer_stored_by_another_fetch_meanwhile_is_stored_the_usual_way(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["openai", "litellm"])
    first = answer("openai")
    asked, release = threading.Event(), threading.Event()

    def respond(seen):
        if not asked.is_set():  # this fetch's request: the stored bytes, once the other is stored
            asked.set()
            release.wait(10)
            return first
        return {**first, "data": first["data"][1:]}  # the other fetch's: one model fewer

    server.set("openai", Route(body=first, key=KEYS["openai"], respond=respond))
    outcome: dict = {}
    slow = threading.Thread(target=lambda: outcome.update(summary=catalog.fetch(["openai", "litellm"])))
    slow.start()
    assert asked.wait(30)
    other = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["openai"])
    assert other.fetches[0]["status"] == "ok" and other.fetches[0]["removed"] == 1
    release.set()
    slow.join(60)
    # The answer was that of the catalog when this fetch started, not any more when it arrived:
    # it is read and applied, and the model the other fetch removed is back.
    row = next(f for f in outcome["summary"].fetches if f["provider"] == "openai")
    assert (row["status"], row["added"], row["removed"]) == ("ok", 1, 0)
    listed = sqlite3.connect(db_path).execute(
        "select count(*) from models where provider = 'openai' and removed_at is null"
    )
    assert listed.fetchone()[0] == len(first["data"])


def test_record_unchanged_writes_nothing_when_the_answer_would_change_rows(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["openai"])
    known = read_stored(db_path, catalog.select(["openai"]))[2]
    kept = _fetch(catalog, ["openai"], known)["openai"]
    other = answer("openai")
    other["data"] = other["data"][1:]
    server.set("openai", Route(body=other, key=KEYS["openai"]))
    catalog.fetch(["openai"])
    before = _stored(db_path)
    db = open_db(db_path)
    try:
        assert Ingest(db).record_unchanged(catalog.get_provider("openai"), kept) is None
        assert not db.conn.in_transaction
    finally:
        db.close()
    assert _stored(db_path) == before


def test_a_stored_answer_damaged_after_it_was_checked_is_still_healed(providers, server):
    """A fetch checks the stored copies while its requests are out: one another process damages
    after that is found and healed all the same when the answer arrives."""
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["openai", "openrouter"])
    known = read_stored(db_path, catalog.select(["openai", "openrouter"]))[2]
    kept = _fetch(catalog, ["openai", "openrouter"], known)
    db = open_db(db_path)
    try:
        ingest = Ingest(db)
        ingest.check_stored_answers(["openai", "openrouter"])
        digest = _damage(db_path, "openai", "tampered")  # another connection, after the check
        rows = [ingest.record_unchanged(catalog.get_provider(name), kept[name]) for name in ("openai", "openrouter")]
    finally:
        db.close()
    assert [row["status"] for row in rows] == ["unchanged", "unchanged"]
    (body,) = sqlite3.connect(db_path).execute("select body from payloads where hash = ?", [digest]).fetchone()
    assert hashlib.sha256(body.encode()).hexdigest() == digest
    assert CliRunner().invoke(cli, ["--db", str(db_path), "verify"]).exit_code == 0
