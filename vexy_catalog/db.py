"""The catalog database: schema, migrations, content hashes and the write of one fetch.

Tables and columns are a public interface (Datasette's JSON API and the exporters read them):

- ``providers``: one row per provider ever configured, with the outcome of its latest fetch.
- ``models``: one row per (provider, model_id) ever listed. ``raw`` is the record as the
  provider sent it, ``content_hash`` its hash; ``removed_at`` is set when a successful answer no
  longer lists the model and cleared when it is listed again. Rows are never deleted. The
  normalized facts (see :mod:`vexy_catalog.facts`) are columns too, with ``sources``;
  ``models_fts`` indexes ``model_id``, ``name`` and ``description`` for search.
- ``fact_sources``: what every source said of every fact of a listed model (the provider's
  record, each matching reference record), with its unit as given and whether it was chosen.
- ``disputes``: stated values not stored as facts (``unit``, ``implausible``, ``placeholder``)
  and facts whose sources disagree (``disagreement``).
- ``unread_keys``: per provider, fact-like keys of its records that vexy could not read.
- ``fetches``: one row per fetch attempt, whatever its outcome (``running`` while under way).
- ``payloads``: every distinct provider answer, stored once under its hash.
- ``model_changes``: what each fetch saw change, written here by :class:`ChangeLog` in the
  fetch's own transaction and read by :mod:`vexy_catalog.history`.

The hash contract: ``canonical_json(value)`` is ``json.dumps(value, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``; a hash is the sha256 hex digest of that text in
UTF-8. ``content_hash`` hashes a model's raw record, ``payload_hash`` the whole decoded answer
(for a paged answer, ``{"data": [every page's records in order]}``). Changing either function
changes every stored hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import socket
import sqlite3
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlite_utils import Database, Migrations

from .conditional import last_shape, reread
from .facts import FACT_FIELDS, FACT_SOURCE_COLUMNS, REFERENCE_NAMES
from .freemem import release_free_memory
from .gcpause import collect_while_waiting, paused_collection
from .timeutil import utcnow

if TYPE_CHECKING:
    from .fetch import FetchResult
    from .providers import ProviderConfig

__all__ = [
    "CatalogLocked",
    "canonical_json",
    "read_snapshot",
    "content_hash",
    "open_db",
    "record_fetch",
    "schema_version",
]

BATCH_SIZE = 1000
BUSY_TIMEOUT_MS = 30_000
# The page size of a new catalog (SQLite's default is 4 KiB). Every page a fetch changes is
# written to the WAL, then read back and written into the file at a checkpoint, a system call
# each time: the first fetch of ~10k models made 80k of those calls with 4 KiB pages, 19k with
# 16 KiB (the same bytes), and checkpointed half as often. Serving pages read no slower (a row
# is 150-400 bytes; the B-trees are shallower). A catalog keeps the page size it was created with.
PAGE_SIZE = 16384

migrations = Migrations("vexy")


def _null(value: None) -> None:
    return value


def register_null_adapter() -> None:
    """Bind None through an adapter that hands it back (the same NULL is bound).

    Python's sqlite3 looks for an adapter of every None it binds: a key tuple, a registry miss,
    then ``__adapt__`` and ``__conform__`` looked up, ~0.25 us a value. A fetch binds ~30 per
    new model (unknown facts, provenance columns); found at once, each costs a third of that.
    Adapters are process-wide: one already registered for None is left alone."""
    if (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters:
        sqlite3.register_adapter(type(None), _null)


register_null_adapter()


# json.dumps with these arguments builds a new encoder per call; a fetch calls it several times
# per model, so one encoder is kept. Same output as the json.dumps call of the contract.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
# What that encoder does with a str (ensure_ascii=False).
_encode_text = json.encoder.encode_basestring


# The C encoder behind it, made once (JSONEncoder.encode builds one per call). No circular
# check (what a provider's JSON decodes to cannot be circular): the same text.
_C_CANONICAL = (
    json.encoder.c_make_encoder(None, _CANONICAL.default, _encode_text, None, ":", ",", True, False, True)  # type: ignore[attr-defined]
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)


def canonical_json(value: Any) -> str:
    """The canonical JSON text of ``value``: ``json.dumps(value, sort_keys=True,
    separators=(",", ":"), ensure_ascii=False)``."""
    if _C_CANONICAL is None:
        return _CANONICAL.encode(value)
    return "".join(_C_CANONICAL(value, 0))


def _spliced_json(value: Any, texts: Mapping[int, str], depth: int = 0) -> str:
    """``canonical_json(value)``, with the canonical text of a part of it taken from ``texts``
    (by the part's id) where there: an answer's records are encoded once, for their own hashes
    and for the answer's. The same text as the encoder's: keys sorted, the same separators and
    escapes (the parts of an answer sit near its top: deeper, the encoder does it all)."""
    text = texts.get(id(value))
    if text is not None:
        return text
    kind = type(value)
    if depth < _SPLICE_DEPTH and kind is dict and value and all(type(k) is str for k in value):
        inner = (f"{_encode_text(k)}:{_spliced_json(value[k], texts, depth + 1)}" for k in sorted(value))
        return "{" + ",".join(inner) + "}"
    if depth < _SPLICE_DEPTH and kind is list and value:
        return "[" + ",".join(_spliced_json(v, texts, depth + 1) for v in value) + "]"
    return canonical_json(value)


_SPLICE_DEPTH = 3


def content_hash(value: Any) -> str:
    """sha256 hex of ``canonical_json(value)`` encoded as UTF-8."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def _sha256(text: str) -> str:
    if len(text) <= _HASH_PIECE:
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    # A long text (a whole answer) is encoded a piece at a time: the same bytes, hashed without
    # a second copy of the answer in memory.
    digest = hashlib.sha256()
    for start in range(0, len(text), _HASH_PIECE):
        digest.update(text[start : start + _HASH_PIECE].encode("utf-8"))
    return digest.hexdigest()


_HASH_PIECE = 1 << 20


@migrations()
def m001_initial(db: Database) -> None:
    db["providers"].create(
        {
            "name": str,
            "kind": str,
            "base_url": str,
            "api_key_env": str,
            "source": str,
            "last_fetch_at": str,
            "last_success_at": str,
            "last_status": str,
            "last_error": str,
            "model_count": int,
            # The answer the models table currently reflects, and its HTTP validators.
            "payload_hash": str,
            "http_etag": str,
            "http_last_modified": str,
        },
        pk="name",
    )
    db["models"].create(
        {
            "provider": str,
            "model_id": str,
            "name": str,
            "raw": str,
            "content_hash": str,
            "first_seen": str,
            "updated_at": str,
            "removed_at": str,
        },
        pk=("provider", "model_id"),
        foreign_keys=[("provider", "providers", "name")],
    )
    db["models"].create_index(["model_id"])
    db["models"].create_index(["removed_at"])
    db["payloads"].create({"hash": str, "body": str}, pk="hash")
    db["fetches"].create(
        {
            "id": int,
            "provider": str,
            "source": str,
            "started_at": str,
            "finished_at": str,
            "duration_ms": int,
            "status": str,
            "http_status": int,
            "error": str,
            "model_count": int,
            "added": int,
            "removed": int,
            "changed": int,
            "payload_hash": str,
            "bytes": int,
        },
        pk="id",
        foreign_keys=[("provider", "providers", "name"), ("payload_hash", "payloads", "hash")],
    )
    db["fetches"].create_index(["provider", "started_at"])


# The normalized facts of a model (see vexy_catalog.facts), with SQLite column types.
FACT_COLUMNS: dict[str, type] = {
    "context_window": int,
    "max_output_tokens": int,
    "input_price": float,
    "output_price": float,
    "cache_read_price": float,
    "input_modalities": str,
    "output_modalities": str,
    "supports_tools": int,
    "supports_vision": int,
    "supports_reasoning": int,
    "model_type": str,
    "created": str,
    "owned_by": str,
    "description": str,
    "deprecated_at": str,
    "sources": str,
}


@migrations()
def m002_normalized_facts(db: Database) -> None:
    models = db["models"]
    for column, column_type in FACT_COLUMNS.items():
        models.add_column(column, column_type)
    for column in ("context_window", "input_price", "model_type", "supports_tools"):
        models.create_index([column])
    # Enrichment is m007's: it needs the tables that hold every source's word.
    _normalize_all(db)


@migrations()
def m003_models_fts(db: Database) -> None:
    # Full-text search on models for Datasette's ?_search= (FTS5, kept current by triggers).
    # The columns are spelled out: this step must not change when FACT_COLUMNS does.
    db["models"].enable_fts(["model_id", "name", "description"], fts_version="FTS5", create_triggers=True)


@migrations()
def m004_fetch_runs(db: Database) -> None:
    # A fetch row is written as "running" before its request and finished afterwards, so a
    # process killed half way leaves a row that says so ("interrupted"), not a silent gap.
    db["fetches"].add_column("pid", int)
    db["fetches"].add_column("host", str)
    db["fetches"].create_index(["status"])


@migrations()
def m005_model_changes(db: Database) -> None:
    # One row per observed change of a model, written with the fetch that saw it. "facts" is
    # the provider's own facts after the change, so any past moment can be answered from here
    # even after old payloads are pruned.
    db["model_changes"].create(
        {
            "id": int,
            "fetch_id": int,
            "provider": str,
            "model_id": str,
            "change": str,
            "fields": str,
            "facts": str,
            "at": str,
        },
        pk="id",
        foreign_keys=[("fetch_id", "fetches", "id"), ("provider", "providers", "name")],
    )
    db["model_changes"].create_index(["provider", "model_id", "at"])
    db["model_changes"].create_index(["at"])
    # Pruned payloads leave their hash in history: the hash stays, the link does not.
    db["fetches"].transform(drop_foreign_keys=["payload_hash"])
    # Models already in the catalog start their history as added when first seen.
    rows = db.execute(f"select provider, model_id, first_seen, sources, name, {', '.join(FACT_COLUMNS)} from models")
    names = [d[0] for d in rows.description]
    events = []
    for values in rows.fetchall():
        row = dict(zip(names, values, strict=True))
        facts = tracked(_stored_facts(row))
        events.append((row["provider"], row["model_id"], "added", canonical_json(facts), row["first_seen"]))
    db.conn.executemany(
        "insert into model_changes (provider, model_id, change, fields, facts, at) values (?, ?, ?, '{}', ?, ?)",
        events,
    )


@migrations()
def m006_lighter_search_index(db: Database) -> None:
    # sqlite-utils' update trigger rewrote a model's search entry on every update: each removal
    # mark and every re-enrichment. The entry only changes when the text it indexes does.
    db.execute('DROP TRIGGER IF EXISTS "models_au"')
    # A per-row insert trigger took a third of a first fetch's write time: new rows are indexed
    # in bulk by index_new_models() instead.
    db.execute('DROP TRIGGER IF EXISTS "models_ai"')
    db.execute(
        'CREATE TRIGGER "models_au" AFTER UPDATE OF "model_id", "name", "description" ON "models" BEGIN\n'
        '  INSERT INTO "models_fts" ("models_fts", rowid, "model_id", "name", "description") '
        'VALUES(\'delete\', old.rowid, old."model_id", old."name", old."description");\n'
        '  INSERT INTO "models_fts" (rowid, "model_id", "name", "description") '
        'VALUES (new.rowid, new."model_id", new."name", new."description");\n'
        "END"
    )
    # Sorts and facets Datasette offers on the models table.
    for column in ("first_seen", "supports_vision", "supports_reasoning"):
        db["models"].create_index([column], if_not_exists=True)


@migrations()
def m007_fetch_shape(db: Database) -> None:
    # Which rule found the model list in the answer (data[].id, models[].name, {} for an object
    # keyed by id, ...) and over how many pages: see vexy_catalog.records.
    if "shape" not in db["fetches"].columns_dict:
        db["fetches"].add_column("shape", str)


def max_model_rowid(db: Database) -> int:
    return db.execute("select coalesce(max(rowid), 0) from models").fetchone()[0]


def index_new_models(db: Database, after_rowid: int, tokens: list[tuple[str, str, str]] | None = None) -> None:
    """Add the models inserted after ``after_rowid`` to the search index, in one statement, and
    their match tokens to ``match_tokens`` (``tokens``: ``(token, provider, model_id)`` rows
    already computed; else they are computed here).

    Every insert into ``models`` goes through a function that calls this (a plain trigger
    per row was several times slower)."""
    db.execute(
        "insert into models_fts (rowid, model_id, name, description) "
        "select rowid, model_id, name, description from models where rowid > ?",
        [after_rowid],
    )
    if tokens is None:
        _add_match_tokens(db, db.execute("select provider, model_id from models where rowid > ?", [after_rowid]))
    elif tokens:
        db.conn.executemany(_MATCH_TOKENS_INSERT, tokens)


def _connect(path: str | os.PathLike[str], readonly: bool = False) -> sqlite3.Connection:
    # check_same_thread=False: fetch results are written from a worker thread, one at a time.
    if readonly:
        # mode=ro: nothing this connection runs can write, create or migrate the file.
        target, uri = f"{Path(path).resolve().as_uri()}?mode=ro", True
    else:
        target, uri = str(path), False
    conn = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False, uri=uri)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def _use_wal(conn: sqlite3.Connection) -> None:
    """Put the catalog in WAL mode (a file keeps it once set).

    Switching a file to WAL needs it to itself, and SQLite gives up at once (no busy wait)
    when another connection is switching it too: two ``vexy fetch`` creating the same new
    catalog at the same moment failed one of them with "database is locked". Retried here,
    for as long as any write would wait for the lock; by then the other has switched it."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    pause = 0.002
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                # A file system without shared memory answers with the mode it kept: left so.
                conn.execute("PRAGMA journal_mode = wal").fetchone()
            return
        except sqlite3.OperationalError as e:
            if not _is_locked(e) or time.monotonic() >= deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.05)


def _check_catalog(db: Database, path: Path, readonly: bool, current: bool) -> bool:
    """Refuse a file that is not a vexy catalog (and, read-only, one that needs migrating).
    True for a new catalog (no table yet)."""
    from .files import CatalogFileError

    tables = sorted(name for (name,) in db.execute("select name from sqlite_master where type = 'table'"))
    if not tables:
        if readonly:
            raise CatalogFileError(
                f"{path} is an empty SQLite file, not a vexy catalog yet - run 'vexy fetch' to fill it"
            )
        return True
    if "_sqlite_migrations" not in tables or not migrations.applied(db):
        shown = ", ".join(t for t in tables if not t.startswith("sqlite_"))[:120]
        raise CatalogFileError(
            f"{path} is a SQLite database of another application (tables: {shown}), not a vexy catalog - "
            "vexy leaves it alone: point --db (or VEXY_DB) at a vexy catalog or a new file"
        )
    if readonly and current and migrations.pending(db):
        applied = len(migrations.applied(db))
        raise CatalogFileError(
            f"{path} has schema version {applied}; this vexy needs {applied + len(migrations.pending(db))}. "
            "This command only reads: run 'vexy fetch' (or 'vexy serve') once to upgrade the catalog"
        )
    return False


def open_db(
    path: str | os.PathLike[str], create: bool = True, readonly: bool = False, current: bool = True
) -> Database:
    """Open the catalog at ``path``.

    By default the file (and its folder) is created when missing and pending migrations are
    applied. ``create=False`` requires the file to exist. ``readonly`` never creates, writes or
    migrates anything: the file must be a vexy catalog with an up-to-date schema (or any
    schema, with ``current=False``). A file that is not a vexy catalog (another application's
    SQLite file, a damaged file) is refused with :class:`~vexy_catalog.files.CatalogFileError`.
    """
    from .files import CatalogFileError, describe_os_error, describe_sqlite_error, ensure_folder

    path = Path(path)
    if (readonly or not create) and not path.exists():
        if path.parent.exists() and not path.parent.is_dir():
            raise CatalogFileError(f"{path}: {path.parent} is a file, not a folder")
        raise FileNotFoundError(f"Database {path} does not exist - run 'vexy fetch' first")
    if path.is_dir():
        raise CatalogFileError(f"{path} is a folder, not a catalog file - point --db (or VEXY_DB) at a file")
    conn = None
    try:
        if not readonly and create:
            ensure_folder(path.parent)
        conn = _connect(path, readonly=readonly)
        # No sqlite-utils plugins: nothing of vexy's calls what they add, and finding them scans
        # every installed package's entry points (20-40 ms of every command's start).
        db = Database(conn, execute_plugins=False)
        if _check_catalog(db, path, readonly, current) and not readonly:
            # Only before the first write (ignored by a file that already has pages).
            db.conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        if not readonly:
            _use_wal(db.conn)
            db.execute("PRAGMA synchronous = NORMAL")
        db.execute("PRAGMA foreign_keys = ON")
        if not readonly and migrations.pending(db):
            # Two processes opening a new catalog at once: the second waits here, then finds
            # nothing pending.
            with write_transaction(db):
                migrations.apply(db)
    except CatalogFileError:
        if conn is not None:
            conn.close()
        raise
    except sqlite3.Error as e:
        if conn is not None:
            conn.close()
        raise CatalogFileError(describe_sqlite_error(e, path)) from None
    except OSError as e:
        if conn is not None:
            conn.close()
        raise CatalogFileError(describe_os_error(e, path)) from None
    return db


def schema_version(db: Database) -> int:
    """How many of vexy's migrations the catalog has applied."""
    return len(migrations.applied(db))


class CatalogLocked(sqlite3.OperationalError):
    """Another process held the catalog's write lock for as long as this one would wait."""

    def __init__(self, path: str, waited: float):
        self.path = path
        self.waited = waited
        super().__init__(
            f"{path} is locked: another vexy command (a fetch, prune, import or verify --repair) held its "
            f"write lock for the {waited:.0f} s this one waited - try again when it finishes"
        )


# Who wants to hear that a write waits for the lock (vexy fetch tells the user), by database.
_LOCK_WATCHERS: weakref.WeakKeyDictionary[Database, Callable[[str], None]] = weakref.WeakKeyDictionary()
# A wait shorter than this is not worth a line: two fetches at once wait for each other briefly.
LOCK_NOTICE_MS = 1_000


def watch_lock(db: Database, report: Callable[[str], None]) -> None:
    """Call ``report`` with a line when a write on ``db`` has to wait for another process's
    write lock, and with another when it got it (or gave up), saying how long it waited."""
    _LOCK_WATCHERS[db] = report


def _is_locked(e: sqlite3.OperationalError) -> bool:
    return "locked" in str(e) or "busy" in str(e)


def db_file(db: Database) -> str:
    """The catalog's file name, for messages."""
    row = db.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else "the catalog"


def _begin_immediate(db: Database) -> None:
    """``BEGIN IMMEDIATE``, telling the watcher (if any) about a wait of more than a second."""
    conn = db.conn
    report = _LOCK_WATCHERS.get(db)
    started = time.monotonic()
    first = LOCK_NOTICE_MS if report is not None else BUSY_TIMEOUT_MS
    conn.execute(f"PRAGMA busy_timeout = {first}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as e:
        if not _is_locked(e):
            raise
        if report is None:
            raise CatalogLocked(db_file(db), time.monotonic() - started) from None
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    report(f"waiting for the write lock on {db_file(db)}: another vexy command is writing it")
    conn.execute(f"PRAGMA busy_timeout = {max(1, BUSY_TIMEOUT_MS - LOCK_NOTICE_MS)}")
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as e:
        if not _is_locked(e):
            raise
        waited = time.monotonic() - started
        report(f"gave up waiting for the write lock after {waited:.1f} s")
        raise CatalogLocked(db_file(db), waited) from None
    finally:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    report(f"got the write lock after waiting {time.monotonic() - started:.1f} s")


def is_catalog_failure(e: BaseException) -> bool:
    """True for an error of the catalog file itself (disk full, I/O error, a damaged file, a
    lock held too long), which ends a run; False for one caused by the data being written (too
    big, not encodable), which fails only the provider it came with."""
    if isinstance(e, (sqlite3.OperationalError, sqlite3.InternalError)):
        return True
    return type(e) is sqlite3.DatabaseError


@contextlib.contextmanager
def write_transaction(db: Database) -> Iterator[Database]:
    """``BEGIN IMMEDIATE``: take the write lock up front, so concurrent writers queue on the
    busy timeout instead of failing to upgrade a read lock half way. A lock held by another
    process for the whole busy timeout raises :class:`CatalogLocked`, saying how long.

    Inside a transaction already open (a caller that holds the lock for a whole check and
    repair), it is a savepoint of that transaction instead.
    """
    if db.conn.in_transaction:
        db.execute("SAVEPOINT vexy_nested")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK TO vexy_nested")
            db.execute("RELEASE vexy_nested")
            raise
        else:
            db.execute("RELEASE vexy_nested")
        return
    _begin_immediate(db)
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


@contextlib.contextmanager
def read_snapshot(db: Database) -> Iterator[Database]:
    """One read transaction: every query inside sees the same committed state of the file,
    whatever other processes commit meanwhile (WAL mode keeps their changes out of it)."""
    db.execute("BEGIN")
    try:
        db.execute("select count(*) from sqlite_master").fetchone()  # the snapshot starts here
        yield db
    finally:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")


def _provider_row(provider: ProviderConfig) -> dict[str, Any]:
    from .security import mask_sensitive_data

    return {
        "name": provider.name,
        "kind": provider.kind.value,
        "base_url": mask_sensitive_data(provider.base_url),
        "api_key_env": provider.api_key_env,
        "source": provider.source,
        # The providers file's fact paths (no secret: paths and units only).
        "facts_map": canonical_json(dict(provider.facts)) if getattr(provider, "facts", None) else None,
    }


_PROVIDER_COLUMNS = ("name", "kind", "base_url", "api_key_env", "source", "facts_map")
_PROVIDER_UPSERT = (
    f"insert into providers ({', '.join(_PROVIDER_COLUMNS)}) values ({', '.join('?' for _ in _PROVIDER_COLUMNS)}) "
    f"on conflict (name) do update set {', '.join(f'{c} = excluded.{c}' for c in _PROVIDER_COLUMNS[1:])}"
)


def _provider_values(provider: ProviderConfig) -> list[Any]:
    row = _provider_row(provider)
    return [row[c] for c in _PROVIDER_COLUMNS]


def _insert_fetch(db: Database, row: Mapping[str, Any]) -> int:
    columns = list(row)
    cursor = db.conn.execute(
        f"insert into fetches ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
        [row[c] for c in columns],
    )
    assert cursor.lastrowid is not None
    return cursor.lastrowid


def _update_row(db: Database, table: str, pk: str, key: Any, values: Mapping[str, Any]) -> None:
    if values:
        db.conn.execute(
            f"update {table} set {', '.join(f'[{c}] = ?' for c in values)} where {pk} = ?", [*values.values(), key]
        )


def sync_providers(db: Database, providers: list[ProviderConfig]) -> set[str]:
    """Record the configuration of ``providers``; providers no longer configured keep their rows.

    Returns the providers whose providers-file ``facts:`` map changed (their stored records are
    to be read again, even if their next answer is unchanged)."""
    rows = [_provider_row(p) for p in providers]
    # BEGIN IMMEDIATE, not atomic()'s deferred BEGIN: upsert_all reads the schema first, and a
    # read snapshot that another writer moves past cannot be upgraded to a write (SQLITE_BUSY
    # at once, no busy wait) - two `vexy fetch` at once hit exactly that.
    with write_transaction(db):
        before = dict(db.execute("select name, facts_map from providers").fetchall())
        db.conn.executemany(_PROVIDER_UPSERT, [[r[c] for c in _PROVIDER_COLUMNS] for r in rows])
        _forget_validators_of_rereads(db, providers)
    return {r["name"] for r in rows if r["name"] in before and before[r["name"]] != r["facts_map"]}


def _forget_validators_of_rereads(db: Database, providers: list[ProviderConfig]) -> None:
    """Drop the HTTP validators of providers whose list_path / id_field differ from those their
    stored rows were read with: a 304 would otherwise keep the rows of the old reading."""
    for provider in providers:
        if reread(db, provider):
            db.execute(
                "update providers set http_etag = null, http_last_modified = null where name = ?", [provider.name]
            )


def stored_reading(db: Database, provider: str, digest: str) -> tuple[str | None, str | None, bool]:
    """``(list_path, id_field, strict)`` to read a stored answer of ``provider`` the way its fetch
    read it (see :func:`vexy_catalog.records.parse_shape`); detection for older catalogs."""
    from .records import parse_shape

    try:
        shape = db.execute(
            "select shape from fetches where provider = ? and payload_hash = ? and shape is not null "
            "order by id desc limit 1",
            [provider, digest],
        ).fetchone()
    except sqlite3.OperationalError:  # a catalog from before fetches.shape
        shape = None
    return parse_shape(shape[0] if shape else None)


def stored_records(db: Database, provider: str, digest: str) -> list[tuple[str, Any]] | None:
    """The ``(model id, record)`` pairs of a stored answer, read as its fetch read them; None
    when the answer is gone (pruned) or no longer readable."""
    from .errors import AnswerShapeError
    from .records import find_records

    row = db.execute("select body from payloads where hash = ?", [digest]).fetchone()
    if row is None:
        return None
    list_path, id_field, strict = stored_reading(db, provider, digest)
    try:
        return find_records(json.loads(row[0]), list_path, id_field, fallback=not strict).records
    except (ValueError, AnswerShapeError):
        return None


REFERENCE_PROVIDERS = REFERENCE_NAMES
_BOOL_FACTS = ("supports_tools", "supports_vision", "supports_reasoning")
_LIST_FACTS = ("input_modalities", "output_modalities")


def fact_columns(facts: dict[str, Any]) -> dict[str, Any]:
    """Facts as stored: booleans as 1/0, lists and sources as canonical JSON, None as NULL."""
    return dict(zip(_STORED_FACT_COLUMNS, fact_values(facts, facts.get("sources")), strict=True))


def fact_values(facts: Mapping[str, Any], sources: Any) -> list[Any]:
    """:func:`fact_columns` of ``facts`` with ``sources``, as the values of ``name`` and
    ``FACT_COLUMNS`` in order (without the merged dict: a fetch stores 100k models)."""
    values: list[Any] = [facts.get("name")]
    for column, kind in _COLUMN_KINDS:
        value = sources if kind == _SOURCES else facts.get(column)
        if value is not None and kind:
            if kind == _BOOL:
                value = int(bool(value))
            else:
                value = canonical_json(value) if value else None
        values.append(value)
    return values


_BOOL, _LIST, _SOURCES = 1, 2, 3
# Each fact column and how it is stored (0: as it is).
_COLUMN_KINDS = tuple(
    (c, _BOOL if c in _BOOL_FACTS else _LIST if c in _LIST_FACTS else _SOURCES if c == "sources" else 0)
    for c in FACT_COLUMNS
)


def _stored_facts(row: dict[str, Any]) -> dict[str, Any]:
    """The provider's own facts of a stored row: the columns whose source is "provider"."""
    sources = json.loads(row["sources"]) if row["sources"] else {}
    facts: dict[str, Any] = {}
    for column in ("name", *FACT_COLUMNS):
        if column == "sources" or sources.get(column) != "provider":
            continue
        value = row[column]
        if column in _BOOL_FACTS and value is not None:
            value = bool(value)
        elif column in _LIST_FACTS and value is not None:
            value = json.loads(value)
        facts[column] = value
    facts["sources"] = {k: v for k, v in sources.items() if v == "provider"}
    return facts


@migrations()
def m007_fact_sources(db: Database) -> None:
    # What every source said of every fact, the disputes, and the keys nobody could read
    # (see vexy_catalog.facts.pipeline); the providers-file fact paths, so any later refresh
    # reads a provider's records the way its fetch did.
    # Written to be re-runnable: a catalog whose migration record was lost gets it again.
    if "facts_map" not in db["providers"].columns_dict:
        db["providers"].add_column("facts_map", str)
    db["fact_sources"].create(
        {
            "provider": str,
            "model_id": str,
            "fact": str,
            "source": str,
            "value": str,
            "unit": str,
            "raw_value": str,
            "path": str,
            "host": str,
            "level": str,
            "same_host": int,
            "chosen": int,
            "reason": str,
        },
        foreign_keys=[("provider", "providers", "name")],
        if_not_exists=True,
    )
    db["fact_sources"].create_index(["provider", "model_id"], if_not_exists=True)
    db["fact_sources"].create_index(["source"], if_not_exists=True)
    db["disputes"].create(
        {
            "provider": str,
            "model_id": str,
            "fact": str,
            "kind": str,
            "value": str,
            "unit": str,
            "converted": float,
            "source": str,
            "reference_value": str,
            "reference_source": str,
            "ratio": float,
            "detail": str,
        },
        foreign_keys=[("provider", "providers", "name")],
        if_not_exists=True,
    )
    db["disputes"].create_index(["provider", "model_id"], if_not_exists=True)
    db["disputes"].create_index(["kind"], if_not_exists=True)
    db["unread_keys"].create(
        {"provider": str, "path": str, "facts": str, "models": int, "example": str, "example_model": str},
        pk=("provider", "path"),
        foreign_keys=[("provider", "providers", "name")],
        if_not_exists=True,
    )
    refresh_facts(db)


@migrations()
def m008_serving_indexes(db: Database) -> None:
    # Each provider's first listing (the canned query models_added_recently leaves out a
    # provider's first fetch): one index seek per provider instead of a pass over every model,
    # and the models added since, read as a range of the same index; with removed_at, the
    # models each provider lists are counted in it too (health, the home page).
    db["models"].create_index(["provider", "first_seen", "removed_at"], if_not_exists=True)
    # The latest changes (the home page leaves out each provider's first fetch) are read newest
    # first off the index on at: with the provider and the kind of change in it too, the rows
    # left out are skipped in the index, without reading each one (100k on a new catalog).
    db.execute("DROP INDEX IF EXISTS idx_model_changes_at")
    db["model_changes"].create_index(["at", "provider", "change"], if_not_exists=True)


@migrations()
def m009_ingest_keys(db: Database) -> None:
    # An answer's hash as it arrived (its raw bytes) -> its payload hash (of the canonical JSON,
    # the contract): an answer seen before is known without encoding it again.
    db.execute("create table if not exists answer_hashes (raw_hash text primary key, payload_hash text not null)")
    # Every model's match tokens (vexy_catalog.facts.match_tokens): the models a changed
    # reference record can match are looked up instead of matched again. A change to
    # match_tokens() needs a migration that fills this table again.
    db.execute(
        "create table if not exists match_tokens (token text not null, provider text not null, "
        "model_id text not null, primary key (token, provider, model_id)) without rowid"
    )
    _add_match_tokens(db, db.execute("select provider, model_id from models").fetchall())


_MATCH_TOKENS_INSERT = "insert or ignore into match_tokens (token, provider, model_id) values (?, ?, ?)"


@migrations()
def m010_reference_readings(db: Database) -> None:
    # What reading each reference record gave (vexy_catalog.facts.kept), beside the content
    # hash of the record it describes: a reference answer that changes a few records reads only
    # those again, and a reference index loads without reading every record. An entry is a pure
    # function of its record and of the reader code (``reader``): one whose hash or reader is
    # not the record's is ignored, so a missing or stale entry is read again, never trusted.
    db.execute(
        "create table if not exists reference_readings (provider text not null, model_id text not null, "
        "content_hash text not null, reader text not null, reading text not null, host text not null, "
        "primary key (provider, model_id)) without rowid"
    )
    from .facts import read_record

    rows = db.execute(
        f"select provider, model_id, content_hash, raw from models where removed_at is null "
        f"and provider in ({', '.join('?' for _ in REFERENCE_PROVIDERS)})",
        list(REFERENCE_PROVIDERS),
    ).fetchall()
    kept = []
    for provider, model_id, digest, raw in rows:
        record = json.loads(raw)
        kept.append(_kept_row(provider, model_id, digest, read_record(provider, record, canonical=True), record))
    db.conn.executemany(_KEPT_UPSERT, [row for row in kept if row is not None])


def _kept_row(provider: str, model_id: str, digest: str, reading: Any, raw: Any) -> tuple[str, ...] | None:
    """The ``reference_readings`` row of one record's reading, with the host its index entry
    names (see :func:`vexy_catalog.facts.references.record_host`); None when it cannot be kept."""
    from .facts.kept import encode, reader_version
    from .facts.references import record_host

    reader = reader_version()
    text = encode(reading) if reader is not None else None
    if text is None:
        return None
    return (provider, model_id, digest, reader, text, record_host(provider, model_id, raw))  # type: ignore[return-value]


_KEPT_UPSERT = (
    "insert into reference_readings (provider, model_id, content_hash, reader, reading, host) "
    "values (?, ?, ?, ?, ?, ?) on conflict (provider, model_id) do update set content_hash = excluded.content_hash, "
    "reader = excluded.reader, reading = excluded.reading, host = excluded.host"
)


def _add_match_tokens(db: Database, models: Iterable[tuple[str, str]]) -> None:
    from .facts import match_tokens

    db.conn.executemany(
        _MATCH_TOKENS_INSERT,
        [(token, provider, model_id) for provider, model_id in models for token in match_tokens(model_id)],
    )


def reference_indexes(db: Database, references: tuple[str, ...] = REFERENCE_PROVIDERS) -> list[Any]:
    """The reference catalogs as the catalog holds them now (those with any listed model)."""
    return Ingest(db, references).indexes()


def _json_or_none(value: Any) -> str | None:
    if value is None:
        return None
    kind = type(value)
    # The canonical text of the common scalars without the encoder's call (same text).
    if kind is int:
        return int.__repr__(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is str:
        return _encode_text(value)
    if kind is float and math.isfinite(value):
        return float.__repr__(value)
    return canonical_json(value)


_FACT_SOURCE_COLUMNS = FACT_SOURCE_COLUMNS
_DISPUTE_COLUMNS = (
    "provider",
    "model_id",
    "fact",
    "kind",
    "value",
    "unit",
    "converted",
    "source",
    "reference_value",
    "reference_source",
    "ratio",
    "detail",
)


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"insert into {table} ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})"


_FACT_SOURCE_INSERT = _insert_sql("fact_sources", _FACT_SOURCE_COLUMNS)
_DISPUTE_INSERT = _insert_sql("disputes", _DISPUTE_COLUMNS)
_STORED_FACT_COLUMNS = ("name", *FACT_COLUMNS)


def refresh_facts(
    db: Database, providers: list[str] | None = None, references: tuple[str, ...] = REFERENCE_PROVIDERS
) -> int:
    """Decide the facts of the listed models (of ``providers``, or all) afresh from their raw
    records and the reference catalogs as they are now, and bring ``fact_sources``,
    ``disputes`` and ``unread_keys`` in line (see :mod:`vexy_catalog.facts.pipeline`).

    Only rows whose facts differ are written. Returns how many model rows were updated.
    A fetch does not need this: :func:`record_fetch` stores each answer's models with their
    final facts. It is for a changed ``facts:`` map, repairs and migrations.
    """
    ingest = Ingest(db, references)
    if providers is None:
        providers = [p for (p,) in db.execute("select distinct provider from models order by provider")]
    return sum(ingest.resolve_stored(provider) for provider in providers)


def refresh_changed(db: Database, changed: set[str]) -> int:
    """Refresh the facts of ``changed`` providers in one write transaction (see
    :func:`refresh_facts`)."""
    if not changed:
        return 0
    with write_transaction(db):
        return refresh_facts(db, sorted(changed))


def _stored_source_rows(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """``ModelFacts.source_rows`` as stored: each value and raw value as JSON."""
    as_json = _json_or_none
    # Unpacked by name rather than sliced: a fetch stores ~7 rows per model.
    return [
        (provider, model_id, fact, source, as_json(value), unit, as_json(raw), path, host, level, same, chosen, why)
        for provider, model_id, fact, source, value, unit, raw, path, host, level, same, chosen, why in rows
    ]


def _dispute_row(d: Any) -> tuple[Any, ...]:
    return (
        d.provider,
        d.model_id,
        d.fact,
        d.kind,
        _json_or_none(d.value),
        d.unit,
        d.converted if isinstance(d.converted, int | float) else None,
        d.source,
        _json_or_none(d.reference_value),
        d.reference_source,
        d.ratio,
        d.detail,
    )


def _unread_rows(provider: str, results: Iterable[Any]) -> list[list[Any]]:
    unread: dict[str, list[Any]] = {}
    for result in results:
        for u in result.unread:
            entry = unread.setdefault(u.path, [provider, u.path, canonical_json(list(u.facts)), 0, None, None])
            entry[3] += 1
            if entry[4] is None:
                entry[4], entry[5] = _json_or_none(u.example), result.model_id
    return list(unread.values())


def _normalize_all(db: Database) -> None:
    """Provider facts of every row from its raw record (a migration's backfill)."""
    from .facts import normalize_record

    columns = ["name", *FACT_COLUMNS]
    assignments = ", ".join(f"[{c}] = ?" for c in columns)
    updates = []
    for rowid, provider, model_id, raw in db.execute("select rowid, provider, model_id, raw from models").fetchall():
        facts = fact_columns(normalize_record(provider, model_id, json.loads(raw)))
        updates.append([*(facts[c] for c in columns), rowid])
    db.conn.executemany(f"update models set {assignments} where rowid = ?", updates)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def begin_fetches(db: Database, providers: list[str], started_at: str) -> dict[str, int]:
    """Write a "running" fetch row per provider; returns their ids by provider name."""
    host = socket.gethostname()
    ids = {}
    with write_transaction(db):
        for name in providers:
            row = {"provider": name, "source": "fetch", "started_at": started_at, "status": "running"}
            ids[name] = _insert_fetch(db, {**row, "pid": os.getpid(), "host": host})
    return ids


def mark_interrupted(db: Database, ids: list[int] | None = None) -> int:
    """Mark "running" fetches whose process is gone (or the given ids) as interrupted."""
    host = socket.gethostname()
    if ids is None:
        rows = db.execute("select id, pid, host from fetches where status = 'running'").fetchall()
        ids = [i for i, pid, h in rows if h == host and (pid is None or not _pid_alive(pid))]
    if not ids:
        return 0
    now = _now()
    error = "interrupted before it finished: nothing of this fetch was stored"
    with write_transaction(db):
        db.conn.executemany(
            "update fetches set status = 'interrupted', finished_at = coalesce(finished_at, ?), error = ? "
            "where id = ? and status = 'running'",
            [(now, error, i) for i in ids],
        )
        # The provider's latest outcome, unless a later fetch of it has finished since; so
        # `vexy fetch --failed` picks it up.
        db.conn.executemany(
            "update providers set last_status = 'interrupted', last_error = ?, last_fetch_at = ? "
            "where name = (select provider from fetches where id = ?) and not exists ("
            "select 1 from fetches as later where later.provider = providers.name and later.id > ? "
            "and later.status not in ('running', 'interrupted', 'skipped'))",
            [(error, now, i, i) for i in ids],
        )
    return len(ids)


def _now() -> str:
    return utcnow()


def fail_fetch(db: Database, provider: ProviderConfig, result: FetchResult, fetch_id: int | None, error: str) -> dict:
    """Record ``result`` as a failed fetch with ``error`` (its answer could not be stored)."""
    from dataclasses import replace

    failed = replace(result, status="failed", error=error, payload=None, records=[], etag=None, last_modified=None)
    return record_fetch(db, provider, failed, fetch_id)


def shrink_problem(listed: int, answered: int) -> str | None:
    """Why an answer of ``answered`` models from a provider that lists ``listed`` is suspect
    (none, or fewer than half), or None when it is not."""
    if listed and (answered == 0 or answered < listed / 2):
        return (
            f"suspect answer: {answered:,} models where {listed:,} were listed - kept the stored models "
            "(an outage or a changed endpoint looks like this); if the provider really dropped them, "
            "run 'vexy fetch --accept-shrink'"
        )
    return None


def record_fetch(
    db: Database,
    provider: ProviderConfig,
    result: FetchResult,
    fetch_id: int | None = None,
    source: str = "fetch",
    accept_shrink: bool = False,
) -> dict[str, Any]:
    """Store one provider's fetch and return its ``fetches`` row (see :meth:`Ingest.record`).

    The models are stored with their final facts; when the provider is a reference catalog,
    the other providers' models its changed records can match are re-enriched afterwards
    (:meth:`Ingest.settle`). To store several answers, one :class:`Ingest` is quicker."""
    ingest = Ingest(db)
    row = ingest.record(provider, result, fetch_id, source=source, accept_shrink=accept_shrink)
    ingest.settle()
    return row


def _intact(digest: str, body: Any) -> bool:
    """Whether a stored answer's text is the one its hash names."""
    return isinstance(body, str) and _sha256(body) == digest


class _Declined(Exception):
    """Rolls back the write of a fetch that :meth:`Ingest.record_unchanged` would not store."""


@dataclass
class _Plan:
    """What storing one ok answer will do, decided before its write (and checked again under the
    write lock): its payload hash, its canonical text if computed, and its outcome."""

    payload_hash: str
    body: str | None
    outcome: str  # unchanged, suspect or apply
    error: str | None = None
    # For a reference answer applied ahead of its write (Ingest.prepare): each record's canonical
    # text and hash, its readings, and the match tokens its change touches.
    rows: list[tuple[str, str]] | None = None
    readings: dict[str, Any] | None = None
    # reference_readings rows of the records read afresh (see _kept_row).
    kept: list[tuple[str, ...]] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)


class Ingest:
    """One writer storing answers: each provider's models get their final facts as they are
    inserted, against the reference catalogs (litellm, OpenRouter, models.dev) as the catalog
    holds them.

    The references are loaded only as far as the models being resolved need them: a model can
    only match reference records that share one of its match tokens
    (:func:`vexy_catalog.facts.match_tokens`, kept in ``match_tokens`` for every model). When a
    reference answer changes records, :meth:`settle` re-enriches just the listed models sharing
    a token with a changed record. Answers of references should be stored first, after
    :meth:`prepare` has applied them all, so every other answer is resolved once. A fetch calls
    :meth:`warm` while its requests are out, so a changed reference answer has only its changes
    left to work out once it is in.

    >>> ingest = Ingest(db)                                    # doctest: +SKIP
    >>> ingest.prepare([(litellm, result)])                    # doctest: +SKIP
    >>> ingest.record(litellm, result); ingest.settle()        # doctest: +SKIP
    """

    def __init__(self, db: Database, references: tuple[str, ...] = REFERENCE_PROVIDERS):
        self.db = db
        self.references = tuple(references)
        self._indexes: dict[str, Any] = {}
        self._complete: set[str] = set()
        # Per incomplete index, the tokens whose records it holds.
        self._loaded: dict[str, set[str]] = {}
        self._tokens_table: bool | None = None
        self._kept_table: bool | None = None
        # reference_readings rows of records read while loading an index, written with the next
        # write (see _write_kept): an entry holds whatever transaction writes it.
        self._kept_pending: list[tuple[str, ...]] = []
        # Each change of a reference index: (version, reference, tokens of its changed records).
        self._version = 0
        self._changes: list[tuple[int, str, set[str]]] = []
        # Provider -> the index version its models were all resolved against.
        self._resolved: dict[str, int] = {}
        self._plans: dict[int, _Plan] = {}
        # Each provider's row, masked once (masking is the costly part).
        self._provider_rows: dict[str, list[Any]] = {}
        # The providers whose stored facts may not be what their stored records resolve to now
        # (their facts: map changed, see sync_providers). Known (a set): an answer that changes
        # some records of the same models may resolve only those (see _apply_changed); None:
        # every changed answer is resolved whole.
        self.reread: set[str] | None = None
        # The providers of which only the changed records were resolved.
        self.resolved_in_part: set[str] = set()
        # Stored answers found intact by check_stored_answers, and the data_version then.
        self._intact: set[str] = set()
        self._intact_version: int | None = None
        # What warm() loaded while the requests were out: per reference fetched in this run, its
        # listed models' (content hash, reading); the indexes loaded then (until replaced); and
        # the data_version then, checked when an index is first used (None: checked).
        self._warm: dict[str, dict[str, tuple[str, Any]]] = {}
        self._warmed: set[str] = set()
        self._warm_version: int | None = None
        # Per reference fetched in this run, the Baseline of its stored models (see warm) and
        # the content hashes it is of.
        self._baselines: dict[str, tuple[dict[str, str], Any]] = {}

    # --- the references ---------------------------------------------------------------------

    def indexes(self, tokens: Collection[str] | None = None) -> list[Any]:
        """The reference indexes as the catalog holds them (those with a record): complete, or
        holding at least every record that shares one of ``tokens``."""
        if self._warm_version is not None:
            self._check_warm()
        wanted = None if tokens is None or not self._has_tokens() else set(tokens)
        for name in self.references:
            if name in self._complete:
                continue
            missing = None if wanted is None else wanted - self._loaded.setdefault(name, set())
            if missing is None or len(missing) > _LOAD_ALL_TOKENS:
                self._load_all(name)
            elif missing:
                self._load_tokens(name, missing)
        return [self._indexes[n] for n in self.references if n in self._indexes and len(self._indexes[n])]

    def _load_all(self, name: str, keep: bool = False) -> None:
        """Load reference ``name``'s index whole; with ``keep``, keep its listed models' content
        hashes and readings for :meth:`_prepare_one` too."""
        from .facts import ReferenceIndex

        rows = self._stored_rows(name, "m.provider = ?", [name], order="order by m.rowid")
        records, readings, hosts = self._read_stored(name, rows)
        self._indexes[name] = ReferenceIndex(name, records, readings, hosts)
        self._complete.add(name)
        self._loaded.pop(name, None)
        if keep:
            self._warm[name] = {row[0]: (row[1], readings[row[0]]) for row in rows}

    def warm(self, due: Collection[str], stop: Callable[[], bool] = lambda: False) -> None:
        """While the requests are out: load every reference index whole, and work out the
        :class:`~vexy_catalog.facts.Baseline` of each reference ``due`` in this run (its stored
        models' matches, provider-wide decisions, settled facts and last placeholders). A changed
        reference answer needs all of it, so its turn, once the last answer is in, has only its
        changes left to do: the readings of its unchanged records, their index and the baseline
        are used as they are (see :meth:`_prepare_one` and :meth:`_apply_changed`).

        Each step is a head start only: ``stop`` (asked before each step; a fetch says whether
        every reference has answered with nothing new) ends it, and what another connection
        writes meanwhile is checked for when an index is first used (:meth:`_check_warm`); the
        readings are of content hashes."""
        from .facts import baseline

        due = [name for name in self.references if name in due]
        if not due or not self._has_kept() or not self._has_tokens():
            return
        try:
            with paused_collection():
                self._warm_version = self._data_version()
                for name in self.references:
                    if name not in self._complete:
                        if stop():
                            return
                        self._warmed.add(name)
                        self._load_all(name, keep=name in due)
                indexes = [self._indexes[name] for name in self.references if len(self._indexes[name])]
                for name in due:
                    stored = self._warm.get(name)
                    if not stored:
                        continue
                    if stop():
                        return
                    row = self.db.execute("select last_success_at from providers where name = ?", [name]).fetchone()
                    readings = {model_id: reading for model_id, (_, reading) in stored.items()}
                    self._baselines[name] = (
                        {model_id: digest for model_id, (digest, _) in stored.items()},
                        baseline(name, readings, indexes, row[0] if row else None),
                    )
        except Exception:
            # Only a head start: what failed here is loaded again where it is needed, as
            # without it, and an error of the catalog is met (and reported) there.
            self._forget_warm()
            self._warm.clear()
        else:
            collect_while_waiting()

    def _check_warm(self) -> None:
        """Forget the indexes :meth:`warm` loaded if another connection wrote the catalog since
        (they are loaded again as needed); once checked, they are as if loaded now."""
        if self._data_version() != self._warm_version:
            self._forget_warm()
        self._warmed.clear()
        self._warm_version = None

    def _forget_warm(self) -> None:
        """Drop what :meth:`warm` loaded (the indexes it loaded are loaded again as needed)."""
        for name in self._warmed:
            self._indexes.pop(name, None)
            self._complete.discard(name)
            self._loaded.pop(name, None)
        self._warmed.clear()
        self._warm_version = None
        self._baselines.clear()

    def _load_tokens(self, name: str, tokens: set[str]) -> None:
        from .facts import ReferenceIndex

        index = self._indexes.get(name)
        found: dict[str, tuple[Any, ...]] = {}
        ordered_tokens = sorted(tokens)
        for start in range(0, len(ordered_tokens), _CHUNK):
            chunk = ordered_tokens[start : start + _CHUNK]
            for row in self._stored_rows(
                name,
                "m.provider = ? and (m.provider, m.model_id) in (select provider, model_id from match_tokens "
                f"where provider = ? and token in ({', '.join('?' for _ in chunk)}))",
                [name, name, *chunk],
            ):
                if index is None or row[0] not in index:
                    found.setdefault(row[0], row)
        records, readings, hosts = self._read_stored(name, list(found.values()))
        if index is None:
            self._indexes[name] = ReferenceIndex(name, records, readings, hosts)
        else:
            index.update(records, readings=readings, hosts=hosts)
        self._loaded[name] |= tokens

    def _stored_rows(self, name: str, where: str, parameters: list[Any], order: str = "") -> list[tuple[Any, ...]]:
        """``(model id, content hash, host, kept reading, raw)`` of the listed models of reference
        ``name`` that ``where`` selects: the kept reading and its host where kept for the stored
        record by this reader, else its raw record (the only time the record is needed)."""
        from .facts.kept import reader_version

        reader = reader_version()
        if reader is None or not self._has_kept():
            return [
                (model_id, digest, None, None, raw)
                for model_id, digest, raw in self.db.execute(
                    f"select m.model_id, m.content_hash, m.raw from models m where {where} and m.removed_at is null "
                    + order,
                    parameters,
                )
            ]
        return self.db.execute(
            "select m.model_id, m.content_hash, k.host, k.reading, case when k.reading is null then m.raw end "
            "from models m left join reference_readings k on k.provider = m.provider and k.model_id = m.model_id "
            f"and k.content_hash = m.content_hash and k.reader = ? where {where} and m.removed_at is null {order}",
            [reader, *parameters],
        ).fetchall()

    def _read_stored(
        self, name: str, rows: list[tuple[Any, ...]]
    ) -> tuple[list[tuple[str, Any]], dict[str, Any], dict[str, str]]:
        """The records, readings and hosts of :meth:`_stored_rows`' rows for an index: the kept
        readings, else the records read (and kept with the next write)."""
        from .facts import read_record
        from .facts.kept import decode

        records: list[tuple[str, Any]] = []
        readings: dict[str, Any] = {}
        hosts: dict[str, str] = {}
        for model_id, digest, host, text, raw in rows:
            if text is not None:
                records.append((model_id, None))
                readings[model_id] = decode(text)
                hosts[model_id] = host
                continue
            record = json.loads(raw)
            records.append((model_id, record))
            reading = readings[model_id] = read_record(name, record, canonical=True)
            row = _kept_row(name, model_id, digest, reading, record)
            if row is not None:
                self._kept_pending.append(row)
        return records, readings, hosts

    def _write_kept(self, rows: Sequence[tuple[str, ...]] = ()) -> None:
        """Write ``rows`` and the readings kept while loading an index (inside a write)."""
        if not self._has_kept():
            return
        pending, self._kept_pending = self._kept_pending, []
        if pending or rows:
            self.db.conn.executemany(_KEPT_UPSERT, [*pending, *rows])

    def _changed(self, name: str, tokens: set[str]) -> None:
        if tokens:
            self._version += 1
            self._changes.append((self._version, name, tokens))

    def _forget(self, name: str, tokens: set[str]) -> None:
        """The index of ``name`` no longer matches the catalog: load it again when needed, and
        re-enrich what the records of ``tokens`` can match."""
        self._indexes.pop(name, None)
        self._complete.discard(name)
        self._loaded.pop(name, None)
        self._warmed.discard(name)
        self._baselines.pop(name, None)
        self._changed(name, tokens)

    def prepare(
        self, items: Iterable[tuple[ProviderConfig, FetchResult]], source: str = "fetch", accept_shrink: bool = False
    ) -> None:
        """Apply the reference answers among ``items`` to the reference indexes before any of
        them is stored, so each is stored (:meth:`record`, with the same ``source`` and
        ``accept_shrink``) against the others' new records."""
        for provider, result in items:
            if provider.name in self.references and result.status == "ok":
                # Readings and index entries by the thousand, and no cycle among them.
                with paused_collection():
                    self._prepare_one(provider, result, source, accept_shrink)

    def _prepare_one(self, provider: ProviderConfig, result: FetchResult, source: str, accept_shrink: bool) -> None:
        from .facts import ReferenceIndex, match_tokens, read_record
        from .facts.kept import decode as decode_kept

        name = provider.name
        previous = self.db.execute(
            "select payload_hash, model_count from providers where name = ?", [name]
        ).fetchone() or (None, None)
        texts: list[tuple[str, str]] = []

        def encode() -> str:
            # Each record's canonical text and hash, then the answer's made of them.
            texts.extend((text, _sha256(text)) for text in map(canonical_json, (raw for _, raw in result.records)))
            spliced = {id(raw): text for (_, raw), (text, _) in zip(result.records, texts, strict=True)}
            return _spliced_json(result.payload, spliced)

        plan = self._plans[id(result)] = self._plan(provider, result, previous, source, accept_shrink, encode=encode)
        if plan.outcome != "apply":
            return
        stored = dict(
            self.db.execute(
                "select model_id, content_hash from models where provider = ? and removed_at is null", [name]
            )
        )
        records = result.records
        plan.rows = texts or [(text, _sha256(text)) for text in map(canonical_json, (raw for _, raw in records))]
        # The readings warm() kept, of the records listed when it ran; a kept reading for the others.
        warm = self._warm.pop(name, None)
        new: list[tuple[str, Any]] = []  # the records warm() did not find as they are
        if warm is None:
            kept = self._kept_entries(name)
        else:
            new = [rec for rec, row in zip(records, plan.rows, strict=True) if warm.get(rec[0], ("",))[0] != row[1]]
            kept = self._kept_entries(name, [model_id for model_id, _ in new])
        fact_map = getattr(provider, "facts", None) or None
        # Each record's reading (kept where the entry's hash is the record's): the index's,
        # and the provider's own when no facts: map reads it otherwise. Kept before the
        # steps below change the readings.
        readings: dict[str, Any] = {}
        changed: list[str] = []
        for i, (model_id, raw) in enumerate(records):
            digest = plan.rows[i][1]
            known = warm.get(model_id) if warm is not None else None
            entry = kept.get(model_id)
            if known is not None and known[0] == digest:
                readings[model_id] = known[1]
            elif entry is not None and entry[0] == digest:
                readings[model_id] = decode_kept(entry[1])
            else:
                reading = readings[model_id] = read_record(name, raw, canonical=True)
                row = _kept_row(name, model_id, digest, reading, raw)
                if row is not None:
                    plan.kept.append(row)
            old = stored.pop(model_id, None)
            if old != digest:
                changed.append(model_id)
        plan.readings = readings if fact_map is None else None
        index = self._indexes.get(name) if name in self._warmed and warm is not None else None
        if index is not None and len(readings) == len(records):
            # The index of the records warm() found, with this answer's changes: what one built
            # from the answer holds (an index is the same whatever order its records came in;
            # with an id listed twice, the first record counts, so that one is built afresh).
            index.update(new, removed=[model_id for model_id in warm if model_id not in readings], readings=readings)
        else:
            index = ReferenceIndex(name, records, readings)
        self._warmed.discard(name)
        tokens: set[str] = set()
        for model_id, old_raw in self._raws(name, changed):
            # A record whose reading did not change matches as before.
            if old_raw is not None and self._same_reading(name, index, model_id, old_raw):
                continue
            tokens.update(match_tokens(model_id))
        for model_id in stored:  # no longer listed
            tokens.update(match_tokens(model_id))
        plan.tokens = tokens
        self._indexes[name] = index
        self._complete.add(name)
        self._loaded.pop(name, None)
        self._changed(name, tokens)

    def _raws(self, name: str, model_ids: list[str]) -> list[tuple[str, str | None]]:
        """``(model id, stored raw record or None)`` of ``model_ids``, in their order."""
        found: dict[str, str] = {}
        for start in range(0, len(model_ids), _CHUNK):
            chunk = model_ids[start : start + _CHUNK]
            found.update(
                self.db.execute(
                    "select model_id, raw from models where provider = ? and removed_at is null "
                    f"and model_id in ({', '.join('?' for _ in chunk)})",
                    [name, *chunk],
                )
            )
        return [(model_id, found.get(model_id)) for model_id in model_ids]

    def _kept_entries(self, name: str, model_ids: list[str] | None = None) -> dict[str, tuple[str, str]]:
        """The kept readings of reference ``name``'s records (of ``model_ids`` only, if given)
        by this reader: model id -> (content hash of the record read, reading)."""
        from .facts.kept import reader_version

        reader = reader_version()
        if reader is None or not self._has_kept() or model_ids == []:
            return {}
        sql = "select model_id, content_hash, reading from reference_readings where provider = ? and reader = ?"
        if model_ids is None:
            return {model_id: (digest, text) for model_id, digest, text in self.db.execute(sql, [name, reader])}
        found: dict[str, tuple[str, str]] = {}
        for start in range(0, len(model_ids), _CHUNK):
            chunk = model_ids[start : start + _CHUNK]
            for model_id, digest, text in self.db.execute(
                f"{sql} and model_id in ({', '.join('?' for _ in chunk)})", [name, reader, *chunk]
            ):
                found[model_id] = (digest, text)
        return found

    def _has_tokens(self) -> bool:
        if self._tokens_table is None:
            # Inside migrations before m009 the table does not exist yet.
            self._tokens_table = _has_table(self.db, "match_tokens")
        return self._tokens_table

    def _has_kept(self) -> bool:
        if self._kept_table is None:
            # Inside migrations before m010 the table does not exist yet.
            self._kept_table = _has_table(self.db, "reference_readings")
        return self._kept_table

    @staticmethod
    def _same_reading(name: str, index: Any, key: str, old_raw: str) -> bool:
        from .facts import ReferenceIndex

        old = ReferenceIndex(name, [(key, json.loads(old_raw))])
        return old.facts(key) == index.facts(key) and old.host(key) == index.host(key)

    # --- storing one answer -------------------------------------------------------------------

    def _plan(
        self,
        provider: ProviderConfig,
        result: FetchResult,
        previous: tuple[str | None, int | None],
        source: str,
        accept_shrink: bool,
        body: str | None = None,
        payload_hash: str | None = None,
        encode: Callable[[], str] | None = None,
    ) -> _Plan:
        """Whether an ok answer is unchanged, suspect or to be applied, by its payload hash.
        ``encode`` gives the decoded answer's canonical text, when it is needed."""
        from . import bundled

        db = self.db
        if payload_hash is None and result.raw_hash:
            row = db.execute("select payload_hash from answer_hashes where raw_hash = ?", [result.raw_hash]).fetchone()
            payload_hash = row[0] if row else None
        if payload_hash is None:
            result.decode()  # an answer kept undecoded whose raw hash is gone (pruned meanwhile)
            body = encode() if encode is not None else canonical_json(result.payload)
            payload_hash = _sha256(body)
        if payload_hash == previous[0] and _read_alike(last_shape(db, provider.name, payload_hash), result.shape):
            # The same answer as last time, read the same way: the model rows already say all it
            # says. (Read another way - a new list_path or id_field - it is applied.)
            return _Plan(payload_hash, body, "unchanged")
        if result.undecoded is not None:
            # Kept as the bytes of the stored answer, but the catalog changed meanwhile (another
            # process stored another answer): read it now, and decide from what it holds.
            result.decode()
            return self._plan(provider, result, previous, source, accept_shrink)
        replaces_snapshot = source != bundled.SOURCE and bundled.is_current(db, provider.name)
        if not (accept_shrink or replaces_snapshot):
            listed = db.execute(
                "select count(*) from models where provider = ? and removed_at is null", [provider.name]
            ).fetchone()[0]
            suspect = shrink_problem(listed, len(result.records))
            if suspect is not None:
                return _Plan(payload_hash, body, "suspect", suspect)
        return _Plan(payload_hash, body, "apply")

    def record(
        self,
        provider: ProviderConfig,
        result: FetchResult,
        fetch_id: int | None = None,
        source: str = "fetch",
        accept_shrink: bool = False,
    ) -> dict[str, Any]:
        """Store one provider's fetch in one transaction and return its ``fetches`` row.

        A successful answer upserts the models it lists with their facts, marks the ones it no
        longer lists as removed and clears ``removed_at`` of the ones that came back; model
        rows whose record and facts did not change are not written. A failed or skipped fetch
        changes no model row. With ``fetch_id``, the "running" row :func:`begin_fetches` wrote
        is completed.

        An answer that would empty a provider that lists models (0 models, or fewer than half
        of those listed) is ``suspect`` unless ``accept_shrink``: its payload is kept as
        evidence, but no model row changes and the provider's last success, validators and
        count stay as they were.

        ``source="bundled"`` (a snapshot shipped with vexy, see :mod:`vexy_catalog.bundled`)
        changes the provider's models and count only: not its last status, success or
        validators. The first successful fetch after it replaces the snapshot's models.

        An answer whose raw bytes were seen before (``answer_hashes``) is known by its payload
        hash without being encoded again: an unchanged answer costs two lookups and a check of
        the stored copy.
        """
        prepared = self._plans.pop(id(result), None)
        try:
            return self._record(provider, result, fetch_id, source, accept_shrink, prepared)
        except BaseException:
            if prepared is not None and prepared.outcome == "apply":
                # Rolled back: the index applied ahead of the write is not what the catalog holds.
                self._forget(provider.name, prepared.tokens)
            raise

    def record_unchanged(
        self, provider: ProviderConfig, result: FetchResult, fetch_id: int | None = None
    ) -> dict[str, Any] | None:
        """Store a fetch that changes no model row (a failure, a 304, the answer the catalog
        holds, read the same way) as :meth:`record` does, and return its ``fetches`` row; None,
        with nothing written, when it would change some after all (another process stored
        another answer meanwhile): :meth:`record` stores it then. Such a fetch needs nothing of
        the reference catalogs, so it can be stored as soon as it arrives."""
        try:
            return self._record(provider, result, fetch_id, "fetch", False, None, only_unchanged=True)
        except _Declined:
            return None  # rolled back: nothing of it was written

    def _record(
        self,
        provider: ProviderConfig,
        result: FetchResult,
        fetch_id: int | None,
        source: str,
        accept_shrink: bool,
        prepared: _Plan | None,
        only_unchanged: bool = False,
    ) -> dict[str, Any]:
        from . import bundled
        from .facts import match_tokens

        db = self.db
        name = provider.name
        fetch: dict[str, Any] = {
            "provider": name,
            "source": source,
            "started_at": result.started_at,
            "finished_at": result.finished_at,
            "duration_ms": result.duration_ms,
            "status": result.status,
            "http_status": result.http_status,
            "error": result.error,
            "model_count": None,
            "added": None,
            "removed": None,
            "changed": None,
            "payload_hash": None,
            "bytes": result.bytes or None,
            "shape": result.shape,
        }
        with write_transaction(db):
            row = self._provider_rows.get(name)
            if row is None:
                row = self._provider_rows[name] = _provider_values(provider)
            db.conn.execute(_PROVIDER_UPSERT, row)
            if fetch_id is None:
                fetch_id = _insert_fetch(db, {**fetch, "status": "running"})
            previous = db.execute(
                "select payload_hash, model_count, last_success_at from providers where name = ?", [name]
            ).fetchone()
            update: dict[str, Any] = {}
            if result.status in ("ok", "unchanged", "failed") and source != bundled.SOURCE:
                update["last_fetch_at"] = result.finished_at
                update["last_status"] = result.status
                update["last_error"] = result.error
            if result.status == "ok":
                plan = self._plan(
                    provider,
                    result,
                    previous,
                    source,
                    accept_shrink,
                    body=prepared.body if prepared else None,
                    payload_hash=prepared.payload_hash if prepared else None,
                )
                if only_unchanged and plan.outcome != "unchanged":
                    raise _Declined
                if prepared is not None:
                    prepared.body = None  # handed on to plan (see _store_payload)
                if prepared is not None and prepared.outcome == "apply" and plan.outcome != "apply":
                    # Another process stored this answer meanwhile: the index applied ahead of
                    # the write is not what the catalog holds.
                    self._forget(name, prepared.tokens)
                if prepared is not None and prepared.outcome != "apply":
                    prepared = None
                fetch["payload_hash"] = plan.payload_hash
                if result.raw_hash:
                    db.execute(
                        "insert into answer_hashes (raw_hash, payload_hash) values (?, ?) on conflict do nothing",
                        [result.raw_hash, plan.payload_hash],
                    )
                self._store_payload(result, plan)
                if plan.outcome == "unchanged":
                    fetch["status"] = update["last_status"] = "unchanged"
                    fetch.update(model_count=previous[1], added=0, removed=0, changed=0)
                elif plan.outcome == "suspect":
                    fetch.update(status="suspect", error=plan.error, model_count=len(result.records))
                    update.update(last_status="suspect", last_error=plan.error)
                else:
                    # Only the changed records may be resolved when the stored facts of the
                    # others are what they resolve to: not after a snapshot or a new facts: map.
                    replaces_snapshot = source != bundled.SOURCE and bundled.is_current(db, name)
                    if replaces_snapshot:
                        bundled.forget(db, name)
                    fetched_at = result.finished_at if source != bundled.SOURCE else previous[2]
                    some = (
                        self.reread is not None
                        and name not in self.reread
                        and source != bundled.SOURCE
                        and not replaces_snapshot
                    )
                    with paused_collection():
                        counts, touched = self._apply(
                            provider, result, fetch_id, fetched_at, prepared, some, fetched_before=previous[2]
                        )
                    # The readings of the records read afresh, with the rows they describe.
                    self._write_kept(prepared.kept if prepared is not None else ())
                    if name in self.references and prepared is None:
                        # Stored without prepare(): its index (if loaded) is stale now.
                        self._forget(name, {t for model_id in touched for t in match_tokens(model_id)})
                    fetch.update(counts)
                    update["payload_hash"] = plan.payload_hash
            elif result.status == "unchanged":
                fetch.update(payload_hash=previous[0], model_count=previous[1], added=0, removed=0, changed=0)
            if fetch["status"] in ("ok", "unchanged"):
                update["model_count"] = fetch["model_count"]
            if fetch["status"] in ("ok", "unchanged") and source != bundled.SOURCE:
                # A suspect answer's validators are not kept: the next fetch must see it in full.
                update["http_etag"] = result.etag
                update["http_last_modified"] = result.last_modified
                update["last_success_at"] = result.finished_at
            _update_row(db, "providers", "name", name, update)
            _update_row(db, "fetches", "id", fetch_id, fetch)
            if result.status == "skipped":
                # A run that ended early (Ctrl-C, a full disk) marks every provider it had not
                # stored "interrupted", the ones it would have skipped too; once one is skipped,
                # its last outcome is again that of its latest finished fetch (none: not monitored).
                db.execute(
                    "update providers set (last_status, last_error) = (select status, error from fetches "
                    "where provider = :name and status in ('ok', 'unchanged', 'failed', 'suspect') "
                    "order by id desc limit 1) where name = :name and last_status = 'interrupted'",
                    {"name": name},
                )
            fetch["id"] = fetch_id
        return fetch

    def check_stored_answers(self, providers: Collection[str]) -> None:
        """Check the stored copy of these providers' answers against its hash now (a fetch does
        it while its requests are out), so that storing the same answer again need not read the
        copy: one found intact stays known so until another connection writes the catalog
        (``PRAGMA data_version``). A damaged copy is healed when the answer arrives, as always."""
        names = sorted(providers)
        self._intact = set()
        try:
            self._intact_version = self._data_version()
            for start in range(0, len(names), _CHUNK):
                chunk = names[start : start + _CHUNK]
                for digest, body in self.db.execute(
                    "select y.hash, y.body from providers p join payloads y on y.hash = p.payload_hash "
                    f"where p.name in ({', '.join('?' for _ in chunk)})",
                    chunk,
                ):
                    if _intact(digest, body):
                        self._intact.add(digest)
        except sqlite3.DatabaseError:
            # Only a head start: each answer's copy is read when it is stored, as without it,
            # and an error of the file is met (and reported) there.
            self._intact = set()

    def _data_version(self) -> int:
        return self.db.execute("PRAGMA data_version").fetchone()[0]

    def _store_payload(self, result: FetchResult, plan: _Plan) -> None:
        """Every answer is kept once per hash, and even when unchanged (the stored copy may have
        been pruned meanwhile); a stored copy that no longer matches its hash (damaged) is
        healed by the same answer arriving again."""
        db = self.db
        if plan.body is None:
            if plan.payload_hash in self._intact and self._data_version() == self._intact_version:
                return  # checked while the requests were out, and no other connection wrote since
            stored = db.execute("select body from payloads where hash = ?", [plan.payload_hash]).fetchone()
            if stored is not None and _intact(plan.payload_hash, stored[0]):
                return
            result.decode()
            plan.body = canonical_json(result.payload)
            if result.raw_hash is None and _sha256(plan.body) != plan.payload_hash:
                return  # read now with a key masked: not the answer of that hash
        db.execute(
            "insert into payloads (hash, body) values (?, ?) on conflict (hash) do update "
            "set body = excluded.body where payloads.body != excluded.body",
            [plan.payload_hash, plan.body],
        )
        # Stored: the answer's text (32 MB for 100k models) need not stay while its models are
        # written; with what encoding it freed, it goes back to the system before they are read.
        plan.body = None
        if result.bytes >= _RELEASE_AFTER_BYTES:
            release_free_memory()

    def _apply(
        self,
        provider: ProviderConfig,
        result: FetchResult,
        fetch_id: int | None,
        fetched_at: str | None,
        prepared: _Plan | None,
        some: bool = False,
        fetched_before: str | None = None,
    ) -> tuple[dict[str, int], set[str]]:
        """Write the models of an answer that changed, with their facts (inside the transaction).
        Returns the counts, and the ids of the models added, changed or removed. ``some``: the
        stored facts are what the stored records resolve to, so only the changed records may
        be resolved (:meth:`_apply_changed`; ``fetched_before`` is the provider's previous
        success, when its stored facts were decided)."""
        from .facts import iter_resolved, match_tokens

        db = self.db
        name = provider.name
        now = result.finished_at
        records = result.records
        # The references this answer's models can match (all of them, for a long answer).
        tokens = (
            {token for model_id, _ in records for token in match_tokens(model_id)}
            if 2 * len(records) <= _LOAD_ALL_TOKENS
            else None
        )
        fact_map = getattr(provider, "facts", None) or None
        readings = prepared.readings if prepared is not None else None
        if some:
            done, readings = self._apply_changed(provider, result, fetch_id, prepared, tokens, readings, fetched_before)
            if done is not None:
                return done
        existing = {row[1]: row for row in self._model_rows(name)}
        if readings is not None:
            # Every model is decided afresh: each needs its whole reading.
            readings = _whole_readings(name, records, readings)
        results = iter_resolved(
            name,
            [] if readings is not None else records,
            self.indexes(tokens),
            fact_map=fact_map,
            fetched_at=fetched_at,
            read=readings,
        )
        writer = _FactsWriter(db, name, full=True, stored=existing)
        log = ChangeLog(db, name, fetch_id, now)
        last = max_model_rowid(db)
        added = changed = came_back = 0
        # What a reference's change touches (to re-enrich what it can match elsewhere).
        touched: set[str] = set()
        track = name in self.references
        new_rows: list[list[Any]] = []
        new_tokens: list[tuple[str, str, str]] = []
        changed_rows: list[list[Any]] = []
        returned: list[tuple[str, str]] = []

        def flush() -> None:
            # Written in batches as the answer is read, so a 100k-model answer never holds all
            # its rows (and change records) in memory at once.
            log.write()
            if new_rows:
                db.conn.executemany(_MODEL_INSERT, new_rows)
                db.conn.executemany(_MATCH_TOKENS_INSERT, new_tokens)
                new_rows.clear()
                new_tokens.clear()
            if changed_rows:
                db.conn.executemany(_MODEL_UPDATE, changed_rows)
                changed_rows.clear()
            writer.flush()

        pre_rows = prepared.rows if prepared is not None else None
        for i, ((model_id, raw), facts) in enumerate(zip(records, results, strict=True)):
            if pre_rows is not None:
                raw_json, digest = pre_rows[i]
            else:
                raw_json = canonical_json(raw)
                digest = _sha256(raw_json)
            values = fact_values(facts.facts, facts.sources)
            old = existing.get(model_id)
            if old is None:
                log.added(model_id, _stated(name, raw, fact_map, facts))
                new_rows.append([name, model_id, raw_json, digest, now, now, None, *values])
                new_tokens.extend((token, name, model_id) for token in match_tokens(model_id))
                added += 1
                if track:
                    touched.add(model_id)
                writer.add(facts, written=True)
            elif old[2] != digest:
                log.changed(model_id, _stated(name, raw, fact_map, facts), returned=old[3] is not None)
                changed_rows.append([raw_json, digest, now, *values, old[0]])
                if old[3] is not None:
                    came_back += 1
                else:
                    changed += 1
                if track:
                    touched.add(model_id)
                writer.add(facts, written=True)
            else:
                if old[3] is not None:
                    log.returned(model_id)
                    returned.append((name, model_id))
                    if track:
                        touched.add(model_id)
                writer.add(facts, values=values)
            if len(new_rows) + len(changed_rows) + writer.pending >= BATCH_SIZE:
                flush()
        listed = {model_id for model_id, _ in records}
        gone = [
            (now, name, model_id) for model_id, row in existing.items() if row[3] is None and model_id not in listed
        ]
        for _, _, model_id in gone:
            log.removed(model_id)
            if track:
                touched.add(model_id)
        flush()
        writer.finish(listed)
        index_new_models(db, last, [])
        if returned:
            db.conn.executemany("update models set removed_at = null where provider = ? and model_id = ?", returned)
        if gone:
            db.conn.executemany("update models set removed_at = ? where provider = ? and model_id = ?", gone)
        self._resolved[name] = self._version
        counts = {
            "model_count": len(records),
            # A model listed again after its removal counts as added back.
            "added": added + len(returned) + came_back,
            "removed": len(gone),
            "changed": changed,
        }
        return counts, touched

    def _apply_changed(
        self,
        provider: ProviderConfig,
        result: FetchResult,
        fetch_id: int | None,
        prepared: _Plan | None,
        tokens: set[str] | None,
        readings: dict[str, Any] | None,
        fetched_before: str | None,
    ) -> tuple[tuple[dict[str, int], set[str]] | None, dict[str, Any] | None]:
        """:meth:`_apply` of an answer listing the same models as the catalog, resolving only the
        ones whose record changed (:func:`vexy_catalog.facts.resolve_changed`): the rows of the
        others stand. Returns the counts and touched models, or None (and the readings made,
        for the whole path) when it cannot be shown to store what resolving them all would."""
        from .facts import read_record, resolve_changed
        from .facts.pipeline import STREAM_ABOVE

        db = self.db
        name = provider.name
        records = result.records
        if len(records) > STREAM_ABOVE:
            return None, readings
        # (rowid, model_id, content_hash, removed_at) of each: a model's facts are read only if
        # its record changed.
        existing = {
            row[1]: row
            for row in db.execute(
                "select rowid, model_id, content_hash, removed_at from models where provider = ?", [name]
            )
        }
        listed = sum(1 for row in existing.values() if row[3] is None)
        if len(records) != listed:
            return None, readings
        rows = prepared.rows if prepared is not None and prepared.rows is not None else None
        if rows is None:
            rows = [(raw_json, _sha256(raw_json)) for raw_json in (canonical_json(raw) for _, raw in records)]
        changed: dict[str, int] = {}
        for i, (model_id, _) in enumerate(records):
            old = existing.get(model_id)
            if old is None or old[3] is not None or model_id in changed:
                return None, readings  # added, back, or listed twice: resolve them all
            if old[2] != rows[i][1]:
                changed[model_id] = i
        if prepared is not None and prepared.rows is None:
            prepared.rows = rows  # the whole path need not encode them again
        fact_map = getattr(provider, "facts", None) or None
        if readings is None:
            readings = {model_id: read_record(name, raw, fact_map, canonical=True) for model_id, raw in records}
        else:
            # A changed model is decided afresh: it needs its whole reading (a kept one may be
            # of this very record, kept by a fetch whose rows were replaced since).
            readings = _whole_readings(name, [records[i] for i in changed.values()], readings)
        before: dict[str, Any] = {}
        ids = list(changed)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for model_id, raw in db.execute(
                "select model_id, raw from models where provider = ? "
                f"and model_id in ({', '.join('?' for _ in chunk)})",
                [name, *chunk],
            ):
                before[model_id] = read_record(name, json.loads(raw), fact_map, canonical=True)
        indexes = self.indexes(tokens)
        # The baseline warm() worked out, if of these very stored records (resolve_changed
        # checks the rest).
        hashes, base = self._baselines.pop(name, ({}, None))
        if any(hashes.get(model_id) != existing[model_id][2] for model_id in changed):
            base = None
        refreshed = resolve_changed(
            name,
            readings,
            before,
            indexes,
            fetched_at=result.finished_at,
            fetched_before=fetched_before,
            base=base,
        )
        if refreshed is None:
            return None, readings
        now = result.finished_at
        stored = {row[1]: row for row in self._model_rows(name, list(changed))}
        writer = _FactsWriter(db, name, full=False, stored=stored)
        log = ChangeLog(db, name, fetch_id, now)
        updates = []
        for facts in refreshed.results:
            model_id = facts.model_id
            raw_json, digest = rows[changed[model_id]]
            log.changed(model_id, _stated(name, records[changed[model_id]][1], fact_map, facts))
            updates.append([raw_json, digest, now, *fact_values(facts.facts, facts.sources), existing[model_id][0]])
            writer.add(facts, written=True)
        log.write()
        db.conn.executemany(_MODEL_UPDATE, updates)
        writer.flush()
        for model_id, unread in refreshed.unread:
            writer.count_unread(model_id, unread)
        writer.write_unread()
        self.resolved_in_part.add(name)
        if all(other == name for _, other, _ in self._changes):
            self._resolved[name] = self._version
        # Else another reference changed in this run: the models here that its changed records
        # can match are as stored, resolved against its previous records; settle() resolves them
        # again (the whole provider, if it states prices), as it does after any such change.
        counts = {"model_count": len(records), "added": 0, "removed": 0, "changed": len(changed)}
        return (counts, set(changed) if name in self.references else set()), readings

    # --- facts of models already stored ------------------------------------------------------

    def resolve_stored(self, provider: str) -> int:
        """Decide the facts of every listed model of ``provider`` afresh from its stored records
        and write what differs (inside the caller's transaction). Returns the rows updated."""
        from .facts import iter_resolved, match_tokens

        db = self.db
        rows = db.execute(
            f"select rowid, model_id, content_hash, removed_at, {', '.join(_STORED_FACT_COLUMNS)}, raw "
            "from models where provider = ? and removed_at is null order by rowid",
            [provider],
        ).fetchall()
        fact_map, fetched_at = self._provider_settings(provider)
        records = [(row[1], json.loads(row[-1])) for row in rows]
        tokens = {token for model_id, _ in records for token in match_tokens(model_id)}
        results = iter_resolved(provider, records, self.indexes(tokens), fact_map=fact_map, fetched_at=fetched_at)
        writer = _FactsWriter(db, provider, full=True, stored={row[1]: row[:-1] for row in rows})
        for result in results:
            writer.add(result)
            if writer.pending >= BATCH_SIZE:
                writer.flush()
        writer.finish({model_id for model_id, _ in records})
        self._resolved[provider] = self._version
        return writer.updated

    def _provider_settings(self, provider: str) -> tuple[Any, str | None]:
        row = self.db.execute("select facts_map, last_success_at from providers where name = ?", [provider]).fetchone()
        if row is None:
            return None, None
        return (json.loads(row[0]) if row[0] else None), row[1]

    def settle(self) -> int:
        """Re-enrich the listed models that share a match token with a reference record changed
        since they were resolved, in one write transaction. Returns the model rows updated."""
        if not self._changes:
            return 0
        with write_transaction(self.db):
            updated = self._reenrich()
            self._write_kept()
        self._changes.clear()
        return updated

    def _reenrich(self) -> int:
        from .facts import iter_resolved, match_tokens, read_record
        from .facts.schema import PRICE_FIELDS

        db = self.db
        everything = sorted({t for _, _, tokens in self._changes for t in tokens})
        affected: dict[str, dict[str, tuple[Any, ...]]] = {}
        for start in range(0, len(everything), _CHUNK):
            chunk = everything[start : start + _CHUNK]
            for row in db.execute(
                f"select m.provider, t.token, m.rowid, m.model_id, m.content_hash, m.removed_at, "
                f"{', '.join('m.' + c for c in _STORED_FACT_COLUMNS)}, m.raw from match_tokens t join models m "
                "on m.provider = t.provider and m.model_id = t.model_id "
                f"where t.token in ({', '.join('?' for _ in chunk)}) and m.removed_at is null",
                chunk,
            ):
                provider, token = row[0], row[1]
                resolved = self._resolved.get(provider, -1)
                # A change reaches a model its reference can match (never that reference's own)
                # unless the model was resolved after it.
                if any(
                    version > resolved and name != provider and token in tokens
                    for version, name, tokens in self._changes
                ):
                    affected.setdefault(provider, {})[row[3]] = row[2:]
        updated = 0
        for provider in sorted(affected):
            models = affected[provider]
            fact_map, fetched_at = self._provider_settings(provider)
            readings = {
                model_id: read_record(provider, json.loads(row[-1]), fact_map, canonical=True)
                for model_id, row in models.items()
            }
            if any(
                any(c.unit.currency == "USD" for c in r.prices) or any(r.facts.get(f) is not None for f in PRICE_FIELDS)
                for r in readings.values()
            ):
                # Unit decisions weigh every priced model against the references: the whole
                # provider is decided again.
                updated += self.resolve_stored(provider)
                continue
            found = self._placeholders(provider, list(models))
            tokens = {token for model_id in models for token in match_tokens(model_id)}
            results = iter_resolved(
                provider,
                [],
                self.indexes(tokens),
                fact_map=fact_map,
                fetched_at=fetched_at,
                read=readings,
                placeholders_found=found,
            )
            writer = _FactsWriter(db, provider, full=False, stored={m: row[:-1] for m, row in models.items()})
            for result in results:
                writer.add(result)
            writer.flush()
            updated += writer.updated
        return updated

    def _model_rows(self, provider: str, model_ids: list[str] | None = None) -> list[tuple[Any, ...]]:
        """``(rowid, model_id, content_hash, removed_at, *_STORED_FACT_COLUMNS)`` of every model
        row of ``provider`` (listed or not), or of ``model_ids``."""
        select = (
            f"select rowid, model_id, content_hash, removed_at, {', '.join(_STORED_FACT_COLUMNS)} "
            "from models where provider = ?"
        )
        if model_ids is None:
            return self.db.execute(select, [provider]).fetchall()
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(model_ids), _CHUNK):
            chunk = model_ids[start : start + _CHUNK]
            rows += self.db.execute(f"{select} and model_id in ({', '.join('?' for _ in chunk)})", [provider, *chunk])
        return rows

    def _placeholders(self, provider: str, model_ids: list[str]) -> dict[str, dict[str, str]]:
        """The placeholder disputes stored for these models: model id -> fact -> why."""
        found: dict[str, dict[str, str]] = {}
        for start in range(0, len(model_ids), _CHUNK):
            chunk = model_ids[start : start + _CHUNK]
            for model_id, fact, detail in self.db.execute(
                "select model_id, fact, detail from disputes where provider = ? and kind = 'placeholder' "
                f"and model_id in ({', '.join('?' for _ in chunk)}) order by rowid",
                [provider, *chunk],
            ):
                found.setdefault(model_id, {})[fact] = detail
        return found


# Past this many match tokens not yet loaded, a reference is loaded whole (cheaper than a
# lookup per token); statements carry at most _CHUNK parameters.
_LOAD_ALL_TOKENS = 2_000
_CHUNK = 500
# An answer this large frees enough memory once stored to hand it back (see freemem).
_RELEASE_AFTER_BYTES = 4 << 20


def _whole_readings(name: str, records: Iterable[tuple[str, Any]], readings: dict[str, Any]) -> dict[str, Any]:
    """``readings`` (of reference ``name``'s answer, without a facts: map) with the kept ones of
    ``records`` replaced by their whole readings (see :mod:`vexy_catalog.facts.kept`)."""
    from .facts import Reading, read_record

    missing = [(model_id, raw) for model_id, raw in records if type(readings.get(model_id)) is not Reading]
    if not missing:
        return readings
    readings = dict(readings)
    for model_id, raw in missing:
        readings[model_id] = read_record(name, raw, canonical=True)
    return readings


def _has_table(db: Database, name: str) -> bool:
    return db.execute("select 1 from sqlite_master where type = 'table' and name = ?", [name]).fetchone() is not None


def _stated(provider: str, raw: Any, fact_map: Any, resolved: Any) -> dict[str, Any]:
    """The tracked facts one record states (for the change log: :func:`tracked` of
    :func:`vexy_catalog.facts.normalize_record`'s facts), read in the record's own key order."""
    from .facts import read_record

    read_facts = resolved.read_facts
    if read_facts is None:
        read_facts = read_record(provider, raw, fact_map).facts
    # Every fact the record states has the source "provider": tracked() keeps the known ones.
    return {f: value for f in TRACKED_FIELDS if (value := read_facts.get(f)) is not None}


class _FactsWriter:
    """Brings a provider's stored facts in line with resolved ones (inside a transaction): model
    columns that differ, and per model its ``fact_sources`` and ``disputes`` rows where they
    differ. ``full``: the results are every listed model, so rows of other models go and
    ``unread_keys`` is rewritten; else only the given models are touched."""

    def __init__(self, db: Database, provider: str, full: bool, stored: Mapping[str, tuple[Any, ...]]):
        self.db = db
        self.provider = provider
        self.full = full
        # model id -> (rowid, model_id, content_hash, removed_at, name, *FACT_COLUMNS)
        self.stored = stored
        self.updated = 0
        self.pending = 0
        self._updates: list[list[Any]] = []
        self._text_updates: list[list[Any]] = []
        self._sources: list[tuple[Any, ...]] = []
        self._disputes: list[tuple[Any, ...]] = []
        self._stale: list[tuple[str, str]] = []
        self._unread: dict[str, list[Any]] = {}
        self._old_sources, self._old_disputes = self._load(list(stored) if not full else None)

    def _load(
        self, model_ids: list[str] | None
    ) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]]:
        db = self.db
        out: tuple[dict[str, list[tuple[Any, ...]]], dict[str, list[tuple[Any, ...]]]] = ({}, {})
        for table, columns, target in (
            ("fact_sources", _FACT_SOURCE_COLUMNS, out[0]),
            ("disputes", _DISPUTE_COLUMNS, out[1]),
        ):
            select = f"select {', '.join(columns)} from {table} where provider = ?"
            if model_ids is None:
                if not db.execute(
                    f"select exists(select 1 from {table} where provider = ?)", [self.provider]
                ).fetchone()[0]:
                    continue
                batches: list[list[Any]] = [[]]
            else:
                batches = [model_ids[i : i + _CHUNK] for i in range(0, len(model_ids), _CHUNK)]
            for chunk in batches:
                sql = select + (f" and model_id in ({', '.join('?' for _ in chunk)})" if chunk else "")
                for row in db.execute(sql + " order by rowid", [self.provider, *chunk]):
                    target.setdefault(row[1], []).append(row)
        return out

    def add(self, result: Any, written: bool = False, values: list[Any] | None = None) -> None:
        """One model's resolved facts. ``written``: its row is inserted or updated with them
        elsewhere; ``values``: its columns' new values, if already computed."""
        model_id = result.model_id
        old = self.stored.get(model_id)
        if not written and old is not None:
            if values is None:
                values = fact_values(result.facts, result.sources)
            if list(old[4:]) != values:
                # name and description are in the search index: their trigger fires when they
                # are set, so they are set only when they changed.
                if old[4] != values[0] or old[4 + _DESCRIPTION] != values[_DESCRIPTION]:
                    self._text_updates.append([*values, old[0]])
                else:
                    self._updates.append([*(values[i] for i in _PLAIN), old[0]])
                self.updated += 1
        sources = _stored_source_rows(result.source_rows)
        disputes = [_dispute_row(d) for d in result.disputes]
        old_sources = self._old_sources.pop(model_id, [])
        old_disputes = self._old_disputes.pop(model_id, [])
        if old_sources != sources or old_disputes != disputes:
            if old_sources or old_disputes:
                self._stale.append((self.provider, model_id))
            self._sources.extend(sources)
            self._disputes.extend(disputes)
        if self.full:
            self.count_unread(model_id, result.unread)
        self.pending += 1

    def count_unread(self, model_id: str, unread: Iterable[Any]) -> None:
        """One listed model's unread keys, in answer order (the first model is the example)."""
        for u in unread:
            entry = self._unread.setdefault(
                u.path, [self.provider, u.path, canonical_json(list(u.facts)), 0, None, None]
            )
            entry[3] += 1
            if entry[4] is None:
                entry[4], entry[5] = _json_or_none(u.example), model_id

    def flush(self) -> None:
        conn = self.db.conn
        if self._updates:
            conn.executemany(_FACTS_UPDATE, self._updates)
        if self._text_updates:
            conn.executemany(_FACTS_TEXT_UPDATE, self._text_updates)
        if self._stale:
            conn.executemany("delete from fact_sources where provider = ? and model_id = ?", self._stale)
            conn.executemany("delete from disputes where provider = ? and model_id = ?", self._stale)
        if self._sources:
            conn.executemany(_FACT_SOURCE_INSERT, self._sources)
        if self._disputes:
            conn.executemany(_DISPUTE_INSERT, self._disputes)
        for batch in (self._updates, self._text_updates, self._stale, self._sources, self._disputes):
            batch.clear()
        self.pending = 0

    def finish(self, listed: set[str]) -> None:
        """After every listed model of a full set: rows of models no longer listed go, and the
        provider's unread keys are rewritten if they changed."""
        self.flush()
        if not self.full:
            return
        conn = self.db.conn
        gone = sorted(set(self._old_sources) | set(self._old_disputes))
        if gone:
            stale = [(self.provider, model_id) for model_id in gone]
            conn.executemany("delete from fact_sources where provider = ? and model_id = ?", stale)
            conn.executemany("delete from disputes where provider = ? and model_id = ?", stale)
        self.write_unread()

    def write_unread(self) -> None:
        """Rewrite the provider's ``unread_keys`` rows if the counted ones differ."""
        conn = self.db.conn
        unread = list(self._unread.values())
        stored = conn.execute(
            "select provider, path, facts, models, example, example_model from unread_keys where provider = ?",
            [self.provider],
        ).fetchall()
        if set(map(tuple, unread)) != set(stored):
            conn.execute("delete from unread_keys where provider = ?", [self.provider])
            conn.executemany(
                "insert into unread_keys (provider, path, facts, models, example, example_model) "
                "values (?, ?, ?, ?, ?, ?)",
                unread,
            )


_DESCRIPTION = _STORED_FACT_COLUMNS.index("description")
# The stored fact columns other than name and description, by position.
_PLAIN = [i for i, c in enumerate(_STORED_FACT_COLUMNS) if c not in ("name", "description")]
_FACTS_UPDATE = f"update models set {', '.join(f'[{_STORED_FACT_COLUMNS[i]}] = ?' for i in _PLAIN)} where rowid = ?"
_FACTS_TEXT_UPDATE = f"update models set {', '.join(f'[{c}] = ?' for c in _STORED_FACT_COLUMNS)} where rowid = ?"


def _read_alike(before: str | None, now: str | None) -> bool:
    """Whether two fetches' shapes read an answer into the same rows (unknown counts as alike)."""
    from .records import parse_shape, shape_rule

    if before is None or now is None:
        return True
    return (shape_rule(before), parse_shape(before)[2]) == (shape_rule(now), parse_shape(now)[2])


# --- the change log: one fetch's rows of model_changes (vexy_catalog.history reads them) -----

# The facts whose changes are logged: everything but what describes the listing rather than
# the model (when it was created, who owns it) and free text that is rewritten at will.
TRACKED_FIELDS = tuple(f for f in FACT_FIELDS if f not in ("created", "owned_by", "description"))


def tracked(facts: Mapping[str, Any]) -> dict[str, Any]:
    """The provider-stated tracked facts of ``facts`` (unknown ones left out)."""
    sources = facts.get("sources") or {}
    return {
        f: facts[f]
        for f in TRACKED_FIELDS
        if facts.get(f) is not None and (not sources or sources.get(f, "provider") == "provider")
    }


class ChangeLog:
    """Collects one fetch's model changes; :meth:`write` inserts them (inside its transaction)."""

    def __init__(self, db: Database, provider: str, fetch_id: int | None, at: str):
        self.db = db
        self.provider = provider
        self.fetch_id = fetch_id
        self.at = at
        self.events: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = []

    def _last_facts(self, model_id: str) -> dict[str, Any]:
        row = self.db.execute(
            "select facts from model_changes where provider = ? and model_id = ? order by at desc, id desc limit 1",
            [self.provider, model_id],
        ).fetchone()
        return json.loads(row[0]) if row and row[0] else {}

    def added(self, model_id: str, new: dict[str, Any]) -> None:
        """A model listed for the first time, with its :func:`tracked` facts."""
        self.events.append(("added", model_id, {}, new))

    def changed(self, model_id: str, new: dict[str, Any], returned: bool = False) -> None:
        """A model whose record changed, with its :func:`tracked` facts now."""
        old = self._last_facts(model_id)
        diff = {f: [old.get(f), new.get(f)] for f in TRACKED_FIELDS if old.get(f) != new.get(f)}
        if returned:
            self.events.append(("returned", model_id, diff, new))
        elif diff:
            self.events.append(("changed", model_id, diff, new))

    def returned(self, model_id: str) -> None:
        self.events.append(("returned", model_id, {}, self._last_facts(model_id)))

    def removed(self, model_id: str) -> None:
        self.events.append(("removed", model_id, {}, self._last_facts(model_id)))

    def write(self) -> None:
        self.db.conn.executemany(
            "insert into model_changes (fetch_id, provider, model_id, change, fields, facts, at) "
            "values (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    self.fetch_id,
                    self.provider,
                    model_id,
                    change,
                    canonical_json(fields) if fields else "{}",
                    canonical_json(facts),
                    self.at,
                )
                for change, model_id, fields, facts in self.events
            ],
        )
        self.events.clear()


_MODEL_INSERT_COLUMNS = (
    "provider",
    "model_id",
    "raw",
    "content_hash",
    "first_seen",
    "updated_at",
    "removed_at",
    "name",
    *FACT_COLUMNS,
)

# The bulk of a first fetch: a plain executemany is several times quicker than insert_all's
# per-value conversion, and every value here is already a SQL type.
_MODEL_INSERT = (
    f"insert into models ({', '.join(f'[{c}]' for c in _MODEL_INSERT_COLUMNS)}) "
    f"values ({', '.join('?' for _ in _MODEL_INSERT_COLUMNS)})"
)
# A listed model whose record changed: its record, hash, time and facts (removed_at cleared).
_MODEL_UPDATE = (
    "update models set raw = ?, content_hash = ?, updated_at = ?, removed_at = null, "
    f"{', '.join(f'[{c}] = ?' for c in _STORED_FACT_COLUMNS)} where rowid = ?"
)
