"""``vexy serve``: the catalog in Datasette, built and run.

This module builds the Datasette instance (settings, metadata, the catalog attached as ``vexy``)
and runs it; everything the plugin serves (pages, downloads, health, feeds, cell rendering) is
in the ``datasette_plugins`` package, which imports this module and never the reverse.

Decisions (the README's "vexy serve" section says the same to users):

- The catalog is always served as the database named ``vexy``, whatever its file is called,
  so URLs (``/vexy/models.json``) and ``metadata.yml`` (``databases: vexy:``) hold for any
  ``--db``. ``datasette FILE --metadata metadata.yml`` names a database after its file stem,
  so there the file has to be called ``vexy.db``.
- Serving never writes the catalog. Datasette reads through ``mode=ro`` connections, so no
  route can write even by mistake, and each read sees one committed state of the file (a
  read-only WAL snapshot): a ``vexy fetch`` (or ``prune``) writing the same file meanwhile, from
  cron say, is never seen half-done, and what it commits is served from the next request on.
  The one write is at start-up without ``--public``: a catalog whose schema is older than this
  vexy gets its pending migrations first, as every other vexy command does when it opens the
  catalog. ``--public`` never migrates: an older schema stops it with a message saying what to
  run.
- A missing or empty catalog is served as a page saying to run ``vexy fetch``; the file is
  not created. Without ``--public``, a catalog that appears later is picked up by the next
  visit to ``/``.
- ``--public``: arbitrary SQL off (canned queries stay), CSV streaming off, no download of the
  database file, ``sql_time_limit_ms`` 1000, ``/robots.txt`` disallows everything, CORS only
  with ``--cors``, and the limits of ``datasette_plugins.guard`` (time and size of every
  plugin route, heavy work one at a time, no file paths in any answer).
- The Host header of every request is checked against the address ``vexy serve`` listens on
  and ``--allow-host`` (see ``datasette_plugins.guard``), so a local server cannot be reached
  through DNS rebinding.

Datasette is imported inside functions: this module is imported while ``datasette.app`` is
still loading (by the plugin's entry point, which imports it), and by ``vexy --help``.
"""

from __future__ import annotations

import socket
import sqlite3
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CATALOG_DB",
    "PUBLIC_SETTINGS",
    "CatalogError",
    "CatalogState",
    "ServeOptions",
    "attach_catalog",
    "build_datasette",
    "get",
    "inspect_catalog",
    "listen",
    "load_metadata",
    "mcp_available",
    "run",
    "run_mcp_stdio",
    "settle_heap",
    "serve_options",
]

CATALOG_DB = "vexy"

# Datasette suggests facets by trying a query per column on every table page: on a catalog of
# 100k models that is ~60 full scans a page (1.8 s). The metadata names the useful facets.
SETTINGS: dict[str, Any] = {"suggest_facets": False}

PUBLIC_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    "default_allow_sql": False,
    "allow_csv_stream": False,
    "allow_download": False,
    "sql_time_limit_ms": 1000,
}


class CatalogError(Exception):
    """The catalog cannot be served as asked; the message says what to do."""


@dataclass
class ServeOptions:
    """How ``vexy serve`` was asked to serve: the plugin reads these per request."""

    path: Path
    public: bool = False
    cors: bool = False
    # The address the server listens on (None: no server, as for --get) and --allow-host.
    listen: str | None = None
    allowed_hosts: tuple[str, ...] = ()


# Options of the Datasette instances `vexy serve` built, by instance. A plain `datasette` run
# has none, and the plugin then only adds pages and links for a database named "vexy".
_SERVED: weakref.WeakKeyDictionary[Any, ServeOptions] = weakref.WeakKeyDictionary()


def serve_options(datasette: Any) -> ServeOptions | None:
    """The options ``vexy serve`` built ``datasette`` with; None for a plain ``datasette`` run."""
    return _SERVED.get(datasette)


def load_metadata() -> dict[str, Any]:
    """metadata.yml as packaged with vexy_catalog (the checkout's metadata.yml links to it)."""
    from importlib.resources import files

    import yaml

    return yaml.safe_load((files("vexy_catalog") / "metadata.yml").read_text(encoding="utf-8"))


# --- the catalog file -------------------------------------------------------------------


@dataclass
class CatalogState:
    """What a catalog file holds, read without writing (and without creating the file)."""

    path: Path
    exists: bool = False
    applied: int = 0  # vexy migrations applied
    pending: tuple[str, ...] = ()
    models: int = 0
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def is_catalog(self) -> bool:
        return self.applied > 0

    @property
    def latest(self) -> int:
        return self.applied + len(self.pending)


def _ro_uri(path: Path, immutable: bool) -> str:
    return path.resolve().as_uri() + ("?immutable=1" if immutable else "?mode=ro")


def inspect_catalog(path: str | Path, immutable: bool = False) -> CatalogState:
    """Read ``path`` read-only: schema steps applied and pending, table counts."""
    from sqlite_utils import Database

    from .db import migrations

    path = Path(path)
    if not path.exists():
        return CatalogState(path)
    if path.is_dir():
        raise CatalogError(f"{path} is a directory, not a catalog - point --db (or VEXY_DB) at a file")
    state = CatalogState(path, exists=True)
    try:
        conn = sqlite3.connect(_ro_uri(path, immutable), uri=True)
        try:
            tables = [r[0] for r in conn.execute("select name from sqlite_master where type = 'table'")]
            if tables:
                db = Database(conn, recursive_triggers=False, execute_plugins=False)
                state.applied = len(migrations.applied(db))
                state.pending = tuple(m.name for m in migrations.pending(db))
                for table in tables:
                    state.counts[table] = conn.execute(f"select count(*) from [{table}]").fetchone()[0]
                state.models = state.counts.get("models", 0)
        finally:
            conn.close()
    except sqlite3.DatabaseError as e:
        raise CatalogError(
            f"Cannot read {path} as a catalog: {e} - check --db / VEXY_DB points at a vexy catalog"
        ) from None
    if tables and not state.is_catalog:
        raise CatalogError(
            f"{path} is a SQLite database but not a vexy catalog - check --db / VEXY_DB, or run 'vexy fetch' "
            "with a new file"
        )
    return state


def prepare_catalog(path: str | Path, public: bool = False) -> CatalogState:
    """The state of the catalog to serve; without ``public``, pending migrations are applied."""
    path = Path(path)
    state = inspect_catalog(path)
    if state.is_catalog and state.pending:
        if public:
            raise CatalogError(
                f"Catalog {path} has schema version {state.applied}; this vexy needs {state.latest}. "
                "--public never writes: run 'vexy fetch' (or 'vexy serve' without --public) once to upgrade it"
            )
        from .db import open_db

        open_db(path, create=False).close()
        state = inspect_catalog(path)
    return state


# --- building and running Datasette ---------------------------------------------------


def build_datasette(
    path: str | Path,
    *,
    public: bool = False,
    cors: bool = False,
    metadata: dict[str, Any] | None = None,
    host: str | None = None,
    allow_hosts: tuple[str, ...] = (),
) -> Any:  # -> datasette.app.Datasette
    """A Datasette serving the catalog at ``path`` as ``vexy``, with our metadata and plugin.

    ``host`` is the address the server will listen on: requests for another Host name than it,
    this machine's loopback names and ``allow_hosts`` are refused (None: no check, for a
    server that only answers in-process requests). Raises :class:`CatalogError` when the file
    cannot be served (see the module docstring).
    """
    from datasette.app import Datasette

    state = prepare_catalog(path, public)
    ds = Datasette(
        files=[],
        metadata=metadata if metadata is not None else load_metadata(),
        settings=dict(PUBLIC_SETTINGS if public else SETTINGS),
        cors=cors,
    )
    # Datasette adds an in-memory database when given no files; it has no place here.
    if "_memory" in ds.databases:
        ds.remove_database("_memory")
    _SERVED[ds] = ServeOptions(Path(path), public=public, cors=cors, listen=host, allowed_hosts=tuple(allow_hosts))
    if state.is_catalog:
        attach_catalog(ds, state)
    return ds


def attach_catalog(datasette: Any, state: CatalogState) -> None:
    """Serve the catalog file of ``state`` as the database ``vexy``, read-only (``mode=ro``:
    Datasette's "mutable", which only means the file may change while it is served)."""
    from datasette.database import Database

    datasette.add_database(Database(datasette, path=str(state.path), is_mutable=True), name=CATALOG_DB)


def _run_sync(coro_func: Any) -> Any:
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(coro_func())
    finally:
        asyncio.set_event_loop(None)
        loop.close()


@dataclass
class GetResponse:
    status: int
    content_type: str
    body: bytes

    @property
    def is_text(self) -> bool:
        ct = self.content_type.split(";")[0].strip().lower()
        return (
            ct.startswith("text/")
            or ct in ("application/json", "application/yaml", "application/toml")
            or (ct.endswith(("+json", "+xml")))
        )


def get(datasette: Any, path: str) -> GetResponse:
    """One request to ``path`` without a server (as ``datasette --get`` does)."""
    from datasette.utils.testing import TestClient

    _run_sync(datasette.invoke_startup)
    response = TestClient(datasette).get(path)
    return GetResponse(response.status, response.headers.get("content-type", ""), response.body)


def listen(host: str, port: int) -> socket.socket:
    """The server's socket, bound before anything starts: a port in use (or not ours to take)
    is a :class:`CatalogError` of one line, not a failure buried in the server's log."""
    import errno

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as e:
        raise CatalogError(f"Cannot listen on {host}: {e.strerror} - check --host") from None
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
    try:
        sock.bind((host, port))
        # Listening from here on: a request that comes before the server is up waits in the
        # queue instead of being refused.
        sock.listen(2048)
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            message = f"Port {port} on {host} is already in use (another 'vexy serve'?) - choose another with --port"
        elif e.errno in (errno.EACCES, errno.EPERM):
            message = f"Port {port} on {host} needs special privileges - choose one above 1023 with --port"
        else:
            message = f"Cannot listen on {host}:{port}: {e.strerror or e} - check --host and --port"
        raise CatalogError(message) from None
    return sock


def run(datasette: Any, host: str, port: int, open_browser: bool = False, sock: socket.socket | None = None) -> None:
    """Serve until interrupted, on ``sock`` (from :func:`listen`) or a socket bound here. Raises
    :class:`CatalogError` when the port cannot be had."""
    import uvicorn

    if sock is None:
        sock = listen(host, port)
    _run_sync(datasette.invoke_startup)
    settle_heap()
    if open_browser:
        import webbrowser

        where = "/vexy/models" if CATALOG_DB in datasette.databases else "/"
        webbrowser.open(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}{where}")
    config = uvicorn.Config(datasette.app(), host=host, port=port, log_level="info", lifespan="on", workers=1)
    uvicorn.Server(config).run(sockets=[sock])


def settle_heap() -> None:
    """Take what start-up allocated (Datasette, its plugins, templates and modules: ~115k
    objects) out of the garbage collector's reach, for a server that lives long. Otherwise a
    full collection walks them all, every ~20 pages, and the page it lands on waits for it:
    ~65 ms on a 2-core machine, the p95 of most pages on a 100k-model catalog."""
    import gc

    gc.collect()
    gc.freeze()


MCP_MISSING = (
    "MCP needs the mcp extra (Python 3.11 or later): pip install 'vexy[mcp]' - it adds the "
    "datasette-mcp plugin that serves /-/mcp"
)


def mcp_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("datasette_mcp") is not None


def run_mcp_stdio(datasette: Any) -> None:
    """Serve the MCP tools (datasette-mcp's and vexy's) over stdin/stdout until EOF."""
    import anyio

    # datasette_mcp is imported after Datasette has loaded its plugins (build_datasette did):
    # imported earlier, its module would be registered half-initialized, without its hooks.
    from datasette_mcp import create_mcp_server

    server = create_mcp_server(datasette)

    async def main() -> None:
        await datasette.invoke_startup()
        await server.run_stdio_async()

    anyio.run(main)
