"""How the catalog file is written (issue 14): a new catalog's page size, and None bound as
NULL through vexy's own adapter. Neither may change a stored row."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from fake_providers import Route
from ingest_scenario import answers
from test_ingest_golden import _catalog_rows, _setup

from vexy_catalog import db as dbmod
from vexy_catalog.catalog import ModelCatalog


def _rows(db_path: Path) -> dict[str, list[tuple]]:
    """What the catalog holds of its models and facts; of removed_at, whether it is set."""
    rows = _catalog_rows(db_path)
    removed = 5  # models.removed_at, once first_seen and updated_at are left out
    rows["models"] = [(*m[:removed], m[removed] is not None, *m[removed + 1 :]) for m in rows["models"]]
    return rows


def _page_size(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return conn.execute("pragma page_size").fetchone()[0]


def test_a_new_catalog_has_large_pages_an_older_one_keeps_its_own_and_both_store_the_same(
    server, tmp_path, no_internet, monkeypatch
):
    bodies = answers()
    providers_file = _setup(server, tmp_path, bodies)
    older, new = tmp_path / "older.db", tmp_path / "new.db"
    # A catalog created by a vexy of SQLite's default page size.
    with monkeypatch.context() as m:
        m.setattr(dbmod, "PAGE_SIZE", 4096)
        assert ModelCatalog(db_path=older, providers_file=providers_file).fetch().ok
    assert ModelCatalog(db_path=new, providers_file=providers_file).fetch().ok
    # Then the same change reaches both: models go, one changes, rows are updated and deleted.
    groq = bodies["groq"]
    groq["data"] = groq["data"][2:]
    groq["data"][0]["context_window"] = 4096
    server.set("groq", Route(body=groq))
    for path in (older, new):
        assert ModelCatalog(db_path=path, providers_file=providers_file).fetch(["groq"]).ok
    assert _page_size(older) == 4096
    assert _page_size(new) == dbmod.PAGE_SIZE > 4096
    assert _rows(new) == _rows(older)
    assert any(m[5] for m in _rows(new)["models"])
    for path in (older, new):
        with contextlib.closing(sqlite3.connect(path)) as conn:
            assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"


def test_none_is_bound_as_null(tmp_path):
    db = dbmod.open_db(tmp_path / "vexy.db")
    try:
        assert (type(None), sqlite3.PrepareProtocol) in sqlite3.adapters
        db.execute("create table t (x)")
        db.conn.executemany("insert into t values (?)", [(None,), (0,), ("",)])
        assert db.execute("select typeof(x) from t order by rowid").fetchall() == [("null",), ("integer",), ("text",)]
    finally:
        db.close()


def test_an_adapter_for_none_registered_before_is_left_alone(monkeypatch):
    def mine(value: None) -> str:
        return "mine"

    monkeypatch.setitem(sqlite3.adapters, (type(None), sqlite3.PrepareProtocol), mine)
    dbmod.register_null_adapter()
    assert sqlite3.adapters[(type(None), sqlite3.PrepareProtocol)] is mine
