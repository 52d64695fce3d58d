"""What a fetch needs from the catalog before its requests leave: each provider's stored HTTP
validators (ETag / Last-Modified, for conditional requests), its last success, and the raw
hashes of the answer it holds (an answer with those bytes is not decoded again).

Read on any connection (plain ``sqlite3`` or sqlite-utils), so ``vexy fetch`` reads them with
one read-only query before it opens, migrates and prepares the catalog, which then happens
while the requests are out. A provider now read another way (a new ``list_path`` or
``id_field``) gets no validators: a 304 would keep the rows of the old reading.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Protocol

from .records import configured_reading
from .text import header_value

__all__ = ["known_answers", "last_shape", "read_stored", "reread", "validators"]


class _Executes(Protocol):
    def execute(self, sql: str, parameters: Any = ..., /) -> Any: ...


class _Reading(Protocol):
    name: str
    list_path: str | None
    id_field: str | None


def last_shape(db: _Executes, provider: str, digest: str | None = None) -> str | None:
    """The shape of the last fetch that read the provider's answer (with this hash) into rows."""
    sql = "select shape from fetches where provider = ? and status = 'ok' and shape is not null"
    params: list[Any] = [provider]
    if digest is not None:
        sql += " and payload_hash = ?"
        params.append(digest)
    row = db.execute(sql + " order by id desc limit 1", params).fetchone()
    return row[0] if row else None


def reread(db: _Executes, provider: _Reading) -> bool:
    """Whether ``provider``'s list_path / id_field differ from those its stored rows were read with."""
    read_with = configured_reading(last_shape(db, provider.name))
    return read_with is not None and read_with != (provider.list_path, provider.id_field)


def validators(db: _Executes, providers: Iterable[_Reading] = ()) -> dict[str, dict[str, str | None]]:
    """Each provider's last HTTP validators, for conditional requests (only those that are
    visible ASCII: a catalog written before that rule may hold others, which are never sent).
    Of ``providers``, those now read another way get none."""
    rows = db.execute(
        "select name, http_etag, http_last_modified from providers "
        "where http_etag is not null or http_last_modified is not null"
    ).fetchall()
    found = {
        name: {"etag": header_value(etag), "last_modified": header_value(modified)} for name, etag, modified in rows
    }
    for provider in providers:
        if provider.name in found and reread(db, provider):
            del found[provider.name]
    return found


def known_answers(db: _Executes, providers: Iterable[_Reading] = ()) -> dict[str, dict[str, str]]:
    """Of ``providers``, each one's raw hashes (``answer_hashes``) of the answer its rows were
    read from, with the shape it was read in; none for a provider now read another way, or
    whose answer no fetch read into rows."""
    wanted = {p.name: p for p in providers}
    rows = db.execute(
        "select p.name, p.payload_hash, a.raw_hash from providers p join answer_hashes a "
        "on a.payload_hash = p.payload_hash"
    ).fetchall()
    found: dict[str, dict[str, str]] = {}
    shapes: dict[str, str | None] = {}
    for name, digest, raw_hash in rows:
        if name not in wanted:
            continue
        if name not in shapes:
            shapes[name] = None if reread(db, wanted[name]) else last_shape(db, name, digest)
        shape = shapes[name]
        if shape is not None:
            found.setdefault(name, {})[raw_hash] = shape
    return found


Stored = tuple[dict[str, Any], dict[str, str | None], dict[str, dict[str, str]]]


def read_stored(path: Path, providers: Iterable[_Reading]) -> Stored | None:
    """``(validators, last success by provider, known answers)`` from the catalog at ``path``,
    read-only; empty for a file that does not exist yet, None for one that cannot be read this
    way (not a catalog, an older schema): the caller opens it properly first."""
    providers = list(providers)
    if not path.exists():
        return {}, {}, {}
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
    except sqlite3.Error:
        return None
    try:
        # answer_hashes came with the last migration these queries need (m009): without it the
        # file is no vexy catalog, or one to migrate first.
        if not conn.execute("select 1 from sqlite_master where name = 'answer_hashes'").fetchone():
            return None
        success = dict(conn.execute("select name, last_success_at from providers").fetchall())
        return validators(conn, providers), success, known_answers(conn, providers)
    except sqlite3.Error:
        return None
    finally:
        conn.close()
