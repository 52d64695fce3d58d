"""The WAL is checkpointed beside a fetch's writer, not at its commits (db.BackgroundCheckpoints).

What a user relies on: every commit is in the catalog file once the fetch is over, no WAL is
left behind, a reader sees each provider's rows as soon as they are committed, and the WAL stays
bounded while a fetch runs, whatever the checkpoint thread does.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from conftest import answer

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.db import FETCH_AUTOCHECKPOINT, BackgroundCheckpoints, open_db, write_transaction


def _fill(db, rows: int, start: int = 0) -> None:
    with write_transaction(db):
        db.conn.executemany("insert into filler (n, text) values (?, ?)", [(start + i, "x" * 500) for i in range(rows)])


def test_commits_are_checkpointed_by_the_thread_and_the_writer_gets_its_setting_back(tmp_path):
    path = tmp_path / "cat.db"
    db = open_db(path)
    db.execute("create table filler (n integer, text text)")
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    checkpoints = BackgroundCheckpoints(db)
    try:
        # The writer no longer copies its pages into the file at a commit of > 1,000 pages...
        assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == FETCH_AUTOCHECKPOINT
        for i in range(3):
            _fill(db, 3_000, start=i * 3_000)  # ~1.5 MB, ~400 pages each
        # ... and a reader sees every commit meanwhile.
        reader = sqlite3.connect(path)
        assert reader.execute("select count(*) from filler").fetchone()[0] == 9_000
        reader.close()
    finally:
        checkpoints.stop()
    # Once stopped, whatever was committed was copied into the file by the thread (the writer
    # alone would have left it all in the WAL: 1,200 pages are under its bound), and the writer
    # checkpoints for itself again.
    assert path.stat().st_size > 9_000 * 500
    assert db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    checkpoints.stop()  # twice is harmless
    db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("select count(*), sum(n) from filler").fetchone() == (9_000, sum(range(9_000)))
    conn.close()


def test_the_wal_stays_bounded_when_the_thread_cannot_checkpoint(tmp_path, monkeypatch):
    from vexy_catalog import db as dbmod

    bound = 2_000  # pages (FETCH_AUTOCHECKPOINT, smaller here for a quick test)
    monkeypatch.setattr(dbmod, "FETCH_AUTOCHECKPOINT", bound)
    path = tmp_path / "cat.db"
    db = open_db(path)
    db.execute("create table filler (n integer, text text)")
    checkpoints = BackgroundCheckpoints(db)
    # The thread's connection fails (as a damaged or vanished file would make it): the writer's
    # own checkpoints past FETCH_AUTOCHECKPOINT pages still bound the WAL.
    assert checkpoints._conn is not None
    checkpoints._conn.close()
    try:
        page = db.execute("PRAGMA page_size").fetchone()[0]
        batch = 2_000  # ~1 MB, ~260 pages per commit
        for i in range(40):
            _fill(db, batch, start=i * batch)
        # 40 MB committed; past the bound the writer checkpointed itself, and the WAL started
        # again from its beginning.
        wal = path.with_name(path.name + "-wal")
        assert wal.stat().st_size < (bound + 400) * (page + 24)
        assert path.stat().st_size > 30 * batch * 500
    finally:
        checkpoints.stop()
    db.close()
    conn = sqlite3.connect(path)
    assert conn.execute("select count(*) from filler").fetchone()[0] == 40 * batch
    conn.close()


def test_an_in_memory_catalog_keeps_its_own_checkpoints():
    from sqlite_utils import Database

    db = Database(memory=True)
    checkpoints = BackgroundCheckpoints(db)
    assert checkpoints._thread is None
    checkpoints.stop()


def test_a_fetch_leaves_every_row_in_the_file_and_no_wal(providers):
    providers_file, db_path = providers
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch()
    assert summary.ok, summary.failed
    path = Path(db_path)
    assert not path.with_name(path.name + "-wal").exists()
    conn = sqlite3.connect(path)
    try:
        listed = dict(conn.execute("select provider, count(*) from models group by provider"))
        assert listed["groq"] == len(answer("groq")["data"])
        assert sum(listed.values()) == summary.totals()["models"]
    finally:
        conn.close()
