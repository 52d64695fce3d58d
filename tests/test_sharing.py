"""Commands that share the catalog file are safe together (issue 17): `prune` decides and deletes
in one write transaction, a fetch always stores its answer (an unchanged one too), `verify`
reads one snapshot, and `verify --repair` checks and repairs in one write transaction.

Real processes' worth of concurrency on one real file: threads with their own connections, the
loopback fake providers answering the fetches.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from fake_providers import Route

from vexy_catalog import ModelCatalog
from vexy_catalog.db import open_db, record_fetch, write_transaction
from vexy_catalog.fetch import FetchResult
from vexy_catalog.history import prune
from vexy_catalog.integrity import verify
from vexy_catalog.providers import ProviderConfig
from vexy_catalog.timeutil import utcnow

A = {"data": [{"id": "a1"}, {"id": "a2"}]}
B = {"data": [{"id": "b1"}, {"id": "b2"}, {"id": "b3"}]}


def answer_result(name: str, payload: dict) -> FetchResult:
    records = [(r["id"], r) for r in payload["data"]]
    now = utcnow()
    return FetchResult(name, "ok", "http://x", now, now, 1000, payload=payload, records=records)


def test_prune_decides_and_deletes_in_one_transaction(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    for body in (A, B):
        server.set("openrouter", Route(body=body))
        assert catalog.fetch(["openrouter"]).ok
    # With --keep 1, answer A is old and prunable... until a fetch makes it current again while
    # prune is about to run.
    writer = open_db(db_path)
    writer.execute("BEGIN IMMEDIATE")
    pruned: dict = {}

    def run_prune() -> None:
        db = open_db(db_path)
        try:
            pruned.update(prune(db, keep=1))
        finally:
            db.close()

    pruner = threading.Thread(target=run_prune)
    pruner.start()
    time.sleep(0.5)  # prune is under way, waiting for the write lock the "fetch" holds
    record_fetch(writer, ProviderConfig(name="openrouter", base_url="http://x"), answer_result("openrouter", A))
    writer.execute("COMMIT")
    pruner.join()
    writer.close()
    db = open_db(db_path)
    try:
        report = verify(db)
        assert report.ok, [str(p) for p in report.problems]
        assert (
            db.execute(
                "select count(*) from payloads "
                "where hash = (select payload_hash from providers where name = 'openrouter')"
            ).fetchone()[0]
            == 1
        )
    finally:
        db.close()
    assert pruned["deleted"] >= 1  # B, now old, went instead


def test_an_unchanged_answer_is_stored_again_when_its_copy_is_gone(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    server.set("openrouter", Route(body=A))
    assert catalog.fetch(["openrouter"]).ok
    db = open_db(db_path)
    with write_transaction(db):  # lost, as an older vexy's prune could lose it
        db.execute("delete from payloads where hash = (select payload_hash from providers where name = 'openrouter')")
    assert not verify(db).ok
    db.close()
    summary = catalog.fetch(["openrouter"])
    assert summary.fetches[0]["status"] == "unchanged"
    db = open_db(db_path)
    try:
        assert verify(db).ok
    finally:
        db.close()


def _meanwhile(db, when: str, action, wait: float = 3.0) -> list[threading.Thread]:
    """Run ``action`` in another thread (a command of its own, on its own connection) the first
    time ``db`` runs a statement containing ``when``: a commit lands in the middle of whatever
    ``db`` is doing. Returns the thread, started once that happens."""
    started: list[threading.Thread] = []

    def trace(statement: str) -> None:
        if when in statement and not started:
            thread = threading.Thread(target=action)
            started.append(thread)
            thread.start()
            thread.join(timeout=wait)  # committed by then, unless it waits for a lock db holds

    db.conn.set_trace_callback(trace)
    return started


def _fetch_and_prune(catalog: ModelCatalog, server) -> None:
    server.set("openrouter", Route(body=B))
    assert catalog.fetch(["openrouter"]).ok
    db = catalog.open_db()
    try:
        prune(db, keep=1)  # the answer verify is about to read is gone
    finally:
        db.close()


@contextmanager
def opened(db_path):
    db = open_db(db_path)
    try:
        yield db
    finally:
        db.close()


@pytest.fixture
def fetched_a(providers, server) -> tuple[ModelCatalog, Path]:
    """A catalog whose openrouter lists answer A."""
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    server.set("openrouter", Route(body=A))
    assert catalog.fetch().ok
    return catalog, db_path


def test_verify_reads_one_snapshot_while_a_fetch_and_a_prune_commit(fetched_a, server):
    catalog, db_path = fetched_a
    with opened(db_path) as db:
        started = _meanwhile(db, "from payloads where hash", lambda: _fetch_and_prune(catalog, server))
        report = verify(db)
        assert started, "the fetch never ran during verify"
        assert report.ok, [str(p) for p in report.problems]
    with opened(db_path) as db:
        assert verify(db).ok  # and the new state is sound too


def test_verify_repair_checks_and_repairs_in_one_transaction(fetched_a, server):
    catalog, db_path = fetched_a
    with opened(db_path) as db:
        started = _meanwhile(db, "from payloads where hash", lambda: _fetch_and_prune(catalog, server), wait=0.5)
        report = verify(db, repair=True)
        assert started
        assert report.problems == []  # nothing found, nothing "repaired"
    started[0].join()  # the fetch waited for the repair's lock, then stored its answer
    with opened(db_path) as db:
        assert verify(db).ok
        listed = db.execute("select model_id from models where provider = 'openrouter' and removed_at is null")
        assert {r[0] for r in listed} == {"b1", "b2", "b3"}
