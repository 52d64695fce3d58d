"""The catalog in Datasette: ``vexy serve`` and the logic behind the plugin in ``datasette_plugins``.

Decisions (the README's "vexy serve" section says the same to users):

- The catalog is always served as the database named ``vexy``, whatever its file is called,
  so URLs (``/vexy/models.json``) and ``metadata.yml`` (``databases: vexy:``) hold for any
  ``--db``. ``datasette FILE --metadata metadata.yml`` names a database after its file stem,
  so there the file has to be called ``vexy.db``.
- Serving never writes the catalog. Datasette reads through ``mode=ro`` connections (or
  ``immutable=1`` under ``--public``), so no route can write even by mistake. The one write
  is at start-up without ``--public``: a catalog whose schema is older than this vexy gets its
  pending migrations first, as every other vexy command does when it opens the catalog.
  ``--public`` serves the file as immutable and never migrates: an older schema, or changes
  still in the ``-wal`` file, stop it with a message saying what to run.
- A missing or empty catalog is served as a page saying to run ``vexy fetch``; the file is
  not created. Without ``--public``, a catalog that appears later is picked up by the next
  visit to ``/``.
- ``--public``: immutable database, arbitrary SQL off (canned queries stay), CSV streaming
  off, ``sql_time_limit_ms`` 1000, ``/robots.txt`` disallows everything, CORS only with
  ``--cors``.

Datasette is imported inside functions: this module is imported while ``datasette.app`` is
still loading (by the plugin's entry point), and by ``vexy --help``.
"""

from __future__ import annotations

import io
import json
import math
import sqlite3
import weakref
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlencode

from .health import format_age

__all__ = [
    "CATALOG_DB",
    "FILTER_PARAMS",
    "PUBLIC_SETTINGS",
    "BadParameters",
    "CatalogError",
    "CatalogState",
    "build_datasette",
    "config_params_from_table",
    "get",
    "inspect_catalog",
    "load_metadata",
    "package_export",
    "parse_model_filter",
    "run",
]

CATALOG_DB = "vexy"

# Datasette suggests facets by trying a query per column on every table page: on a catalog of
# 100k models that is ~60 full scans a page (1.8 s). The metadata names the useful facets.
SETTINGS: dict[str, Any] = {"suggest_facets": False}

PUBLIC_SETTINGS: dict[str, Any] = {
    **SETTINGS,
    "default_allow_sql": False,
    "allow_csv_stream": False,
    "sql_time_limit_ms": 1000,
}

ROBOTS_TXT = "User-agent: *\nDisallow: /\n"

# The query parameters of /-/vexy/config/<tool>: the filters of `vexy models`.
FILTER_PARAMS = (
    "provider",
    "q",
    "min_context",
    "max_input_price",
    "tools",
    "vision",
    "reasoning",
    "type",
    "include_removed",
)
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


class CatalogError(Exception):
    """The catalog cannot be served as asked; the message says what to do."""


class BadParameters(ValueError):
    """Query parameters that do not make a model filter; ``problems`` has one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass
class ServeOptions:
    path: Path
    public: bool = False
    cors: bool = False


# Options of the Datasette instances `vexy serve` built, by instance. A plain `datasette` run
# has none, and the plugin then only adds pages and links for a database named "vexy".
_SERVED: weakref.WeakKeyDictionary[Any, ServeOptions] = weakref.WeakKeyDictionary()


def serve_options(datasette: Any) -> ServeOptions | None:
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
    wal = path.with_name(path.name + "-wal")
    if public and path.exists() and wal.exists() and wal.stat().st_size > 0:
        raise CatalogError(
            f"{wal} holds changes not yet in {path} (a fetch, or another server, has it open): "
            "wait for them to finish, or serve without --public"
        )
    state = inspect_catalog(path, immutable=public)
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
    path: str | Path, *, public: bool = False, cors: bool = False, metadata: dict[str, Any] | None = None
) -> Any:  # -> datasette.app.Datasette
    """A Datasette serving the catalog at ``path`` as ``vexy``, with our metadata and plugin.

    Raises :class:`CatalogError` when the file cannot be served (see the module docstring).
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
    _SERVED[ds] = ServeOptions(Path(path), public=public, cors=cors)
    if state.is_catalog:
        _attach(ds, state)
    return ds


def _attach(datasette: Any, state: CatalogState) -> None:
    from datasette.database import Database

    options = _SERVED[datasette]
    if options.public:
        from datasette.inspect import inspect_hash

        # What `datasette inspect` would write: exact table counts for the immutable file.
        datasette.inspect_data = {
            CATALOG_DB: {
                "hash": inspect_hash(state.path),
                "file": state.path.name,
                "size": state.path.stat().st_size,
                "tables": {name: {"count": count} for name, count in state.counts.items()},
            }
        }
    datasette.add_database(Database(datasette, path=str(state.path), is_mutable=not options.public), name=CATALOG_DB)


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


def run(datasette: Any, host: str, port: int, open_browser: bool = False) -> None:
    """Serve until interrupted."""
    import uvicorn

    _run_sync(datasette.invoke_startup)
    if open_browser:
        import webbrowser

        where = "/vexy/models" if CATALOG_DB in datasette.databases else "/"
        webbrowser.open(f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}{where}")
    uvicorn.run(datasette.app(), host=host, port=port, log_level="info", lifespan="on", workers=1)


# --- model filters from query parameters ------------------------------------------------


def _flag(name: str, value: str, problems: list[str]) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v not in _FALSE:
        problems.append(f"{name} must be 1 or 0 (true/false), got {value!r}")
    return False


def parse_model_filter(pairs: Iterable[tuple[str, str]], known_providers: Iterable[str] | None = None) -> Any:
    """A :class:`~vexy_catalog.query.ModelFilter` from query pairs; :class:`BadParameters` otherwise.

    Parameters are those of ``vexy models``: ``provider`` (repeatable), ``q``, ``min_context``,
    ``max_input_price``, ``tools``, ``vision``, ``reasoning``, ``type``, ``include_removed``.
    """
    from .query import MODEL_TYPES, ModelFilter

    problems: list[str] = []
    model_filter = ModelFilter()
    seen: set[str] = set()
    known = set(known_providers) if known_providers is not None else None
    for name, value in pairs:
        if name not in FILTER_PARAMS:
            problems.append(f"unknown parameter {name!r} (use {', '.join(FILTER_PARAMS)})")
            continue
        if name != "provider" and name in seen:
            problems.append(f"{name} is given more than once")
            continue
        seen.add(name)
        if name == "provider":
            if not value:
                continue
            if known is not None and value not in known:
                hint = ", ".join(sorted(known)) or "none yet - run 'vexy fetch'"
                problems.append(f"unknown provider {value!r} (the catalog has: {hint})")
            elif value not in model_filter.providers:
                model_filter.providers.append(value)
        elif name == "q":
            model_filter.query = value or None
        elif name == "min_context":
            if value.strip():
                try:
                    model_filter.min_context = int(value)
                    if model_filter.min_context < 0:
                        raise ValueError
                except ValueError:
                    problems.append(f"min_context must be a whole number of tokens (0 or more), got {value!r}")
        elif name == "max_input_price":
            if value.strip():
                try:
                    price = float(value)
                    if not math.isfinite(price) or price < 0:
                        raise ValueError
                    model_filter.max_input_price = price
                except ValueError:
                    problems.append(
                        f"max_input_price must be a number of USD per 1M input tokens (0 or more), got {value!r}"
                    )
        elif name == "type":
            if value:
                if value not in MODEL_TYPES:
                    problems.append(f"type must be one of {', '.join(MODEL_TYPES)}, got {value!r}")
                else:
                    model_filter.model_type = value
        elif name == "include_removed":
            model_filter.include_removed = _flag(name, value, problems)
        else:  # tools, vision, reasoning
            setattr(model_filter, name, _flag(name, value, problems))
    if problems:
        raise BadParameters(problems)
    return model_filter


def filter_pairs(model_filter: Any) -> list[tuple[str, str]]:
    """The query pairs of a model filter (the inverse of :func:`parse_model_filter`)."""
    pairs: list[tuple[str, str]] = [("provider", p) for p in model_filter.providers]
    if model_filter.query:
        pairs.append(("q", model_filter.query))
    if model_filter.min_context is not None:
        pairs.append(("min_context", str(model_filter.min_context)))
    if model_filter.max_input_price is not None:
        pairs.append(("max_input_price", f"{model_filter.max_input_price:g}"))
    for flag in ("tools", "vision", "reasoning"):
        if getattr(model_filter, flag):
            pairs.append((flag, "1"))
    if model_filter.model_type:
        pairs.append(("type", model_filter.model_type))
    if model_filter.include_removed:
        pairs.append(("include_removed", "1"))
    return pairs


def describe_filter(model_filter: Any) -> list[str]:
    words = []
    if model_filter.providers:
        words.append("provider " + " or ".join(model_filter.providers))
    if model_filter.query:
        words.append(f"id or name contains {model_filter.query!r}")
    if model_filter.min_context is not None:
        words.append(f"at least {model_filter.min_context:,} tokens of context")
    if model_filter.max_input_price is not None:
        words.append(f"at most ${model_filter.max_input_price:g} per 1M input tokens")
    for flag, label in (("tools", "tool calling"), ("vision", "vision"), ("reasoning", "reasoning")):
        if getattr(model_filter, flag):
            words.append(f"known to support {label}")
    if model_filter.model_type:
        words.append(f"type {model_filter.model_type}")
    words.append("removed models included" if model_filter.include_removed else "listed models only")
    return words


def _split_in(value: str) -> list[str]:
    # Datasette's __in takes a comma-separated list or a JSON array.
    if value.startswith("["):
        try:
            items = json.loads(value)
            if isinstance(items, list):
                return [str(i) for i in items]
        except ValueError:
            pass
    return [v for v in value.split(",") if v]


_MODEL_FLAGS = {"supports_tools": "tools", "supports_vision": "vision", "supports_reasoning": "reasoning"}


def config_params_from_table(table: str, pairs: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Translate a table page's filters (models or providers) into /-/vexy/config parameters.

    Returns ``(params, dropped)``: ``dropped`` lists the filters a config cannot carry, as
    ``column__op=value``. Datasette's own ``_`` parameters (sort, page size, facets) are not
    filters and are ignored, except ``_search``, which becomes ``q``.
    """
    params: list[tuple[str, str]] = []
    dropped: list[str] = []
    for key, value in pairs:
        column, _, op = key.partition("__")
        op = op or "exact"
        if key.startswith("_"):
            if key == "_search" and table == "models" and value:
                params.append(("q", value))
            elif key == "_where" or key.startswith("_search"):
                dropped.append(f"{key}={value}")
            continue
        if table == "models":
            if column == "provider" and op in ("exact", "in"):
                params += [("provider", v) for v in (_split_in(value) if op == "in" else [value])]
                continue
            if column in _MODEL_FLAGS and op == "exact" and value == "1":
                params.append((_MODEL_FLAGS[column], "1"))
                continue
            if column == "model_type" and op == "exact":
                params.append(("type", value))
                continue
            if column == "context_window" and op in ("gte", "gt") and value.strip().lstrip("-").isdigit():
                params.append(("min_context", str(int(value) + (op == "gt"))))
                continue
            if column == "input_price" and op == "lte":
                params.append(("max_input_price", value))
                continue
            if column == "removed_at" and op == "isnull" and value == "1":
                continue  # a config leaves removed models out anyway
        elif table == "providers" and column == "name" and op in ("exact", "in"):
            params += [("provider", v) for v in (_split_in(value) if op == "in" else [value])]
            continue
        dropped.append(f"{key}={value}")
    return params, dropped


# --- exports ----------------------------------------------------------------------------


def _with_charset(media_type: str) -> str:
    base = media_type.split(";")[0].strip().lower()
    textual = base.startswith("text/") or base in ("application/json", "application/yaml", "application/toml")
    if textual and "charset" not in media_type.lower():
        return f"{media_type}; charset=utf-8"
    return media_type


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed time: the same rows give the same bytes


def package_export(export: Any) -> tuple[bytes, str, str]:
    """``(body, filename, media type)`` of an :class:`~vexy_catalog.export.Export` as a download.

    A single-file export is that file as is; one of several files is a zip of them, under
    their relative paths.
    """
    if export.single and len(export.files) == 1:
        relative, text = next(iter(export.files.items()))
        return text.encode("utf-8"), PurePosixPath(relative).name, _with_charset(export.media_type)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, text in sorted(export.files.items()):
            info = zipfile.ZipInfo(str(PurePosixPath(relative)), date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
    return buffer.getvalue(), f"vexy-{export.tool}.zip", "application/zip"


def _ascii_header(value: str) -> str:
    return " ".join(value.encode("ascii", "replace").decode("ascii").split())


# --- the plugin: routes -----------------------------------------------------------------


def _catalog_db(datasette: Any) -> Any:
    return datasette.databases.get(CATALOG_DB)


def _sqlite_utils(conn: sqlite3.Connection) -> Any:
    from sqlite_utils import Database

    return Database(conn, recursive_triggers=False, execute_plugins=False)


def _text(body: str, status: int = 200, datasette: Any = None) -> Any:
    from datasette.utils.asgi import Response

    return Response.text(body, status=status, headers=_cors(datasette))


def _cors(datasette: Any) -> dict[str, str]:
    headers: dict[str, str] = {}
    if datasette is not None and datasette.cors:
        from datasette.utils import add_cors_headers

        add_cors_headers(headers)
    return headers


async def _known_providers(db: Any) -> list[str]:
    result = await db.execute("select name from providers union select provider from models order by 1")
    return [row[0] for row in result.rows]


async def _missing_page(request: Any, datasette: Any, status: int = 200) -> Any:
    from datasette.utils.asgi import Response

    options = serve_options(datasette)
    db = _catalog_db(datasette)
    context = {
        "path": None if options is None or options.public else str(options.path),
        "public": bool(options and options.public),
        "attached": db is not None,
        "title": datasette.metadata("title") or "vexy model catalog",
    }
    html = await datasette.render_template("vexy_notice.html", context, request=request)
    return Response.html(html, status=status)


async def index_view(request: Any, datasette: Any) -> Any:
    """``/`` under ``vexy serve``: Datasette's index once the catalog has models, else a page
    that says to run ``vexy fetch``."""
    from datasette.views.index import IndexView

    options = serve_options(datasette)
    db = _catalog_db(datasette)
    if db is None and options is None:
        # A plain `datasette` run without a catalog: not ours to change.
        return await IndexView(datasette).dispatch_request(request)
    if db is None and options is not None and not options.public:
        # `vexy fetch` may have written the catalog since we started.
        try:
            state = inspect_catalog(options.path)
        except CatalogError:
            state = None
        if state is not None and state.is_catalog and not state.pending:
            _attach(datasette, state)
            db = _catalog_db(datasette)
    if db is not None:
        result = await db.execute("select exists(select 1 from models)")
        if result.rows[0][0]:
            return await IndexView(datasette).dispatch_request(request)
    if request.url_vars.get("format"):
        from datasette.utils.asgi import Response

        return Response.json({"ok": False, "error": "The catalog has no models yet - run 'vexy fetch'"}, status=200)
    return await _missing_page(request, datasette)


async def robots_txt(datasette: Any) -> Any:
    from datasette.utils.asgi import NotFound

    options = serve_options(datasette)
    if options is None or not options.public:
        raise NotFound("robots.txt is served with --public only")
    return _text(ROBOTS_TXT)


async def health_report(datasette: Any, max_age: timedelta) -> tuple[dict[str, Any], int]:
    """The health of the catalog and its providers, and the HTTP status to answer with."""
    now = datetime.now(timezone.utc)
    checked_at = now.isoformat(timespec="seconds").replace("+00:00", "Z")
    db = _catalog_db(datasette)
    options = serve_options(datasette)
    if db is None:
        return {
            "status": "missing",
            "checked_at": checked_at,
            "max_age_seconds": int(max_age.total_seconds()),
            "problems": ["There is no catalog yet - run 'vexy fetch'"],
            "catalog": {"exists": False},
            "providers": [],
        }, 503
    public = bool(options and options.public)

    def compute(conn: sqlite3.Connection) -> dict[str, Any]:
        from .health import catalog_metrics, provider_health

        sdb = _sqlite_utils(conn)
        providers = provider_health(sdb, max_age, now)
        listed = dict(
            conn.execute("select provider, count(*) from models where removed_at is null group by provider").fetchall()
        )
        for row in providers:
            row["models_listed"] = listed.get(row["name"], 0)
        metrics = catalog_metrics(sdb, db.path)
        metrics["mode"] = "immutable" if not db.is_mutable else "read-only"
        if not public:
            metrics["path"] = db.path
        return {"catalog": metrics, "providers": providers}

    from .health import health_problems

    data = await db.execute_fn(compute)
    catalog, providers = data["catalog"], data["providers"]
    problems = health_problems(catalog, providers, max_age)
    if catalog["quick_check"] != "ok":
        status, code = "corrupt", 503
    elif not providers:
        status, code = "empty", 200
    elif problems:
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    return {
        "status": status,
        "checked_at": checked_at,
        "max_age_seconds": int(max_age.total_seconds()),
        "problems": problems,
        "catalog": catalog,
        "providers": providers,
    }, code


def _max_age(request: Any) -> timedelta:
    from .catalog import parse_age
    from .health import DEFAULT_MAX_AGE

    value = request.args.get("max_age")
    if not value:
        return DEFAULT_MAX_AGE
    age = parse_age(value)  # ValueError with a clear message
    return age or DEFAULT_MAX_AGE


async def health_json(request: Any, datasette: Any) -> Any:
    from datasette.utils.asgi import Response

    try:
        max_age = _max_age(request)
    except ValueError as e:
        return Response.json({"ok": False, "error": f"max_age: {e}"}, status=400, headers=_cors(datasette))
    report, status = await health_report(datasette, max_age)
    return Response.json(report, status=status, headers=_cors(datasette))


async def health_page(request: Any, datasette: Any) -> Any:
    from datasette.utils.asgi import Response

    try:
        max_age = _max_age(request)
    except ValueError as e:
        return _text(f"max_age: {e}", 400)
    report, status = await health_report(datasette, max_age)
    for row in report["providers"]:
        row["age"] = format_age(row["age_seconds"])
        row["href"] = datasette.urls.row(CATALOG_DB, "providers", _tilde(row["name"]))
    html = await datasette.render_template(
        "vexy_health.html",
        {"report": report, "max_age": format_age(report["max_age_seconds"]), "json_url": "/-/vexy/health.json"},
        request=request,
    )
    return Response.html(html, status=status)


def _tools() -> tuple[str, ...]:
    from .export import TOOLS

    return tuple(TOOLS)


async def config_page(request: Any, datasette: Any) -> Any:
    """``/-/vexy/config``: the filters in effect, how many models match, a link per format."""
    from datasette.utils.asgi import Response

    from .query import MODEL_TYPES, count_models

    db = _catalog_db(datasette)
    if db is None:
        return await _missing_page(request, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    dropped = [v for k, v in pairs if k == "_dropped"]
    pairs = [(k, v) for k, v in pairs if k != "_dropped"]
    known = await _known_providers(db)
    listing = await db.execute("select distinct provider from models where removed_at is null order by 1")
    problems: list[str] = []
    count = None
    model_filter = None
    try:
        model_filter = parse_model_filter(pairs, known)
        count = await db.execute_fn(lambda conn: count_models(_sqlite_utils(conn), model_filter))
        query = urlencode(filter_pairs(model_filter))
    except BadParameters as e:
        problems = e.problems
        query = ""
    downloads = [{"tool": tool, "href": f"/-/vexy/config/{tool}" + (f"?{query}" if query else "")} for tool in _tools()]
    html = await datasette.render_template(
        "vexy_config.html",
        {
            "problems": problems,
            "dropped": dropped,
            "count": count,
            "criteria": describe_filter(model_filter) if model_filter else [],
            "downloads": downloads,
            "filter": model_filter,
            "providers": [row[0] for row in listing.rows],
            "model_types": MODEL_TYPES,
            "models_href": datasette.urls.table(CATALOG_DB, "models"),
        },
        request=request,
    )
    return Response.html(html, status=400 if problems else 200)


async def config_download(request: Any, datasette: Any) -> Any:
    """``/-/vexy/config/<tool>``: the export of the matching models, as a download."""
    from datasette.utils.asgi import Response

    tool = request.url_vars["tool"]
    tools = _tools()
    if tool not in tools:
        return _text(f"Unknown config format {tool!r} - use one of: {', '.join(tools)}\n", 404, datasette)
    db = _catalog_db(datasette)
    if db is None:
        return _text("There is no catalog yet - run 'vexy fetch'\n", 503, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    try:
        model_filter = parse_model_filter(pairs, await _known_providers(db))
    except BadParameters as e:
        lines = "\n".join(f"- {p}" for p in e.problems)
        return _text(f"Bad parameters for /-/vexy/config/{tool}:\n{lines}\n", 400, datasette)

    def build(conn: sqlite3.Connection) -> Any:
        from .export import build_export

        return build_export(_sqlite_utils(conn), tool, model_filter)

    export = await db.execute_fn(build)
    body, filename, media_type = package_export(export)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **_cors(datasette)}
    if export.hint:
        headers["X-Vexy-Hint"] = _ascii_header(export.hint)
    return Response(body, status=200, headers=headers, content_type=media_type)


async def changes_feed(request: Any, datasette: Any) -> Any:
    """``/-/vexy/changes.atom``: an Atom feed of model changes, ``?provider=`` (repeatable) to
    follow some providers only, ``?since=`` (7d, a date) and ``?limit=`` (default 200)."""
    from datasette.utils.asgi import Response

    from .history import changes_atom, list_changes, parse_since

    db = _catalog_db(datasette)
    if db is None:
        return _text("There is no catalog yet - run 'vexy fetch'\n", 503, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    providers = [v for k, v in pairs if k == "provider" and v]
    problems = [f"unknown parameter {k!r}" for k, _ in pairs if k not in ("provider", "since", "limit")]
    known = await _known_providers(db)
    problems += [f"unknown provider {p!r}" for p in providers if p not in known]
    since = dict(pairs).get("since") or None
    try:
        moment = parse_since(since)
    except ValueError as e:
        problems.append(str(e))
        moment = None
    limit_text = dict(pairs).get("limit") or "200"
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= 1000:
        problems.append("limit must be a whole number from 1 to 1000")
    if problems:
        return _text("Bad parameters for /-/vexy/changes.atom:\n" + "".join(f"- {p}\n" for p in problems), 400)
    rows = await db.execute_fn(lambda conn: list_changes(_sqlite_utils(conn), moment, providers, int(limit_text)))
    title = "vexy: model changes" + (f" ({', '.join(providers)})" if providers else "")
    feed_url = datasette.absolute_url(
        request, request.path + (f"?{request.query_string}" if request.query_string else "")
    )
    body = changes_atom(rows, feed_url, title)
    return Response(body, status=200, headers=_cors(datasette), content_type="application/atom+xml; charset=utf-8")


def routes(datasette: Any) -> list[tuple[str, Any]]:
    found = [
        (r"^/-/vexy/changes\.atom$", changes_feed),
        (r"^/-/vexy/health\.json$", health_json),
        (r"^/-/vexy/health$", health_page),
        (r"^/-/vexy/config$", config_page),
        (r"^/-/vexy/config/(?P<tool>[^/]+)$", config_download),
    ]
    # Datasette builds its routes when it is constructed, before `vexy serve` has recorded its
    # options: these two decide per request, and leave a plain `datasette` run as it was.
    found.append((r"^/(\.(?P<format>jsono?))?$", index_view))
    found.append((r"^/robots\.txt$", robots_txt))
    return found


# --- the plugin: links, cells and row pages ---------------------------------------------


def menu_links(datasette: Any) -> list[dict[str, str]]:
    if _catalog_db(datasette) is None:
        return []
    return [
        {"href": datasette.urls.path("/-/vexy/health"), "label": "Catalog health"},
        {"href": datasette.urls.path("/-/vexy/config"), "label": "Download a config"},
        {"href": datasette.urls.path("/-/vexy/changes.atom"), "label": "Changes (Atom feed)"},
    ]


def table_actions(datasette: Any, database: str, table: str, request: Any) -> list[dict[str, str]]:
    if database != CATALOG_DB or table not in ("models", "providers") or request is None:
        return []
    params, dropped = config_params_from_table(table, parse_qsl(request.query_string, keep_blank_values=True))
    query = urlencode(params + [("_dropped", d) for d in dropped])
    label = "Download a config for these rows" if table == "models" else "Download a config for these providers"
    actions = [{"href": datasette.urls.path("/-/vexy/config") + (f"?{query}" if query else ""), "label": label}]
    actions.append({"href": datasette.urls.path("/-/vexy/health"), "label": "Catalog health"})
    return actions


def _json_pretty(value: str) -> str | None:
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def render_cell(value: Any, column: str, table: str, database: str) -> Any:
    if database != CATALOG_DB or not isinstance(value, str):
        return None
    from markupsafe import Markup, escape

    if table == "models" and column == "raw":
        pretty = _json_pretty(value)
        if pretty is None:
            return None
        size = f"{len(value.encode('utf-8')) / 1024:.1f} KB"
        return Markup('<details class="vexy-json"><summary>JSON, {}</summary><pre>{}</pre></details>').format(
            size, pretty
        )
    if table == "models" and column in ("input_modalities", "output_modalities"):
        try:
            items = json.loads(value)
        except ValueError:
            return None
        return ", ".join(str(i) for i in items) if isinstance(items, list) else None
    if table == "models" and column == "sources":
        try:
            sources = json.loads(value)
        except ValueError:
            return None
        if not isinstance(sources, dict):
            return None
        items = Markup("").join(Markup("<li><code>{}</code>: {}</li>").format(k, v) for k, v in sorted(sources.items()))
        return Markup('<ul class="vexy-sources">{}</ul>').format(items)
    if (table, column) in (("providers", "last_status"), ("fetches", "status")):
        return Markup('<span class="vexy-status vexy-status-{}">{}</span>').format(value, escape(value))
    return None


def _tilde(value: str) -> str:
    from datasette.utils import tilde_encode

    return tilde_encode(value)


_FACT_LABELS = {
    "name": "Name",
    "context_window": "Context window (tokens)",
    "max_output_tokens": "Max output (tokens)",
    "input_price": "Input price (USD / 1M tokens)",
    "output_price": "Output price (USD / 1M tokens)",
    "cache_read_price": "Cache read price (USD / 1M tokens)",
    "input_modalities": "Input modalities",
    "output_modalities": "Output modalities",
    "supports_tools": "Tool calling",
    "supports_vision": "Vision (image input)",
    "supports_reasoning": "Reasoning",
    "model_type": "Type",
    "created": "Created",
    "owned_by": "Owned by",
    "description": "Description",
    "deprecated_at": "Deprecated",
}


def _display_fact(column: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if column in ("supports_tools", "supports_vision", "supports_reasoning"):
        return "yes" if value else "no"
    if column in ("input_modalities", "output_modalities"):
        try:
            return ", ".join(json.loads(value))
        except (TypeError, ValueError):
            return str(value)
    if column in ("context_window", "max_output_tokens"):
        return f"{value:,}"
    if column.endswith("_price"):
        return f"{value:g}"
    return str(value)


def _bare_id(model_id: str) -> str:
    return model_id.rsplit("/", 1)[-1].lower()


def _source_href(datasette: Any, source: str | None) -> str | None:
    # "litellm:groq/llama-3.3-70b-versatile" -> that reference model's row page.
    if not source or ":" not in source:
        return None
    provider, _, model_id = source.partition(":")
    return datasette.urls.row(CATALOG_DB, "models", f"{_tilde(provider)},{_tilde(model_id)}")


def _model_details(conn: sqlite3.Connection, datasette: Any, provider: str, model_id: str) -> dict[str, Any] | None:
    from .db import FACT_COLUMNS

    conn_rows = conn.execute("select * from models where provider = ? and model_id = ?", [provider, model_id])
    names = [d[0] for d in conn_rows.description]
    found = conn_rows.fetchone()
    if found is None:
        return None
    row = dict(zip(names, found, strict=True))
    try:
        sources = json.loads(row.get("sources") or "{}")
    except ValueError:
        sources = {}
    facts = []
    for column in ("name", *FACT_COLUMNS):
        if column == "sources" or column not in row:
            continue
        source = sources.get(column)
        facts.append(
            {
                "column": column,
                "label": _FACT_LABELS.get(column, column),
                "value": _display_fact(column, row[column]),
                "known": row[column] is not None,
                "source": source,
                "source_href": _source_href(datasette, source),
            }
        )
    bare = _bare_id(model_id)
    elsewhere = []
    for other in conn.execute(
        "select provider, model_id, input_price, output_price, context_window from models "
        "where removed_at is null and not (provider = ? and model_id = ?) and (lower(model_id) = ? "
        "or lower(model_id) like ?) order by input_price is null, input_price, provider limit 50",
        [provider, model_id, bare, f"%/{bare}"],
    ).fetchall():
        if _bare_id(other[1]) != bare:
            continue
        elsewhere.append(
            {
                "provider": other[0],
                "model_id": other[1],
                "input_price": _display_fact("input_price", other[2]),
                "output_price": _display_fact("output_price", other[3]),
                "context_window": _display_fact("context_window", other[4]),
                "href": datasette.urls.row(CATALOG_DB, "models", f"{_tilde(other[0])},{_tilde(other[1])}"),
            }
        )
    status = conn.execute(
        "select last_status, last_success_at, last_fetch_at from providers where name = ?", [provider]
    ).fetchone()
    return {
        "kind": "model",
        "facts": facts,
        "raw": _json_pretty(row.get("raw") or "") or row.get("raw"),
        "listed": row.get("removed_at") is None,
        "removed_at": row.get("removed_at"),
        "elsewhere": elsewhere,
        "provider_status": dict(zip(("last_status", "last_success_at", "last_fetch_at"), status, strict=True))
        if status
        else None,
        "config_href": "/-/vexy/config?" + urlencode([("provider", provider), ("q", model_id)]),
    }


def _provider_details(conn: sqlite3.Connection, datasette: Any, name: str) -> dict[str, Any] | None:
    if conn.execute("select 1 from providers where name = ?", [name]).fetchone() is None:
        return None
    cursor = conn.execute(
        "select id, started_at, finished_at, status, http_status, duration_ms, model_count, added, removed, "
        "changed, error from fetches where provider = ? order by id desc limit 50",
        [name],
    )
    names = [d[0] for d in cursor.description]
    fetches = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    total = conn.execute("select count(*) from fetches where provider = ?", [name]).fetchone()[0]
    listed, removed = conn.execute(
        "select sum(removed_at is null), sum(removed_at is not null) from models where provider = ?", [name]
    ).fetchone()
    return {
        "kind": "provider",
        "fetches": fetches,
        "fetch_count": total,
        "fetches_href": datasette.urls.table(CATALOG_DB, "fetches") + "?" + urlencode({"provider": name}),
        "listed": listed or 0,
        "removed": removed or 0,
        "models_href": datasette.urls.table(CATALOG_DB, "models")
        + "?"
        + urlencode({"provider": name, "removed_at__isnull": "1"}),
        "config_href": "/-/vexy/config?" + urlencode({"provider": name}),
    }


async def bundled_banner(datasette: Any) -> list[dict[str, Any]]:
    """The providers whose models are a snapshot shipped with vexy, for the banner every page
    shows while there are any (see :mod:`vexy_catalog.bundled`)."""
    from .bundled import CURRENT_SQL, current_rows

    db = _catalog_db(datasette)
    if db is None:
        return []
    try:
        rows = (await db.execute(CURRENT_SQL)).rows
    except Exception:  # a catalog being replaced under us: no banner rather than no page
        return []
    return [{"provider": name, **info} for name, info in current_rows([tuple(r) for r in rows]).items()]


def extra_template_vars(view_name: str, database: str, table: str, request: Any, datasette: Any) -> Any:
    row_view = view_name == "row" and database == CATALOG_DB and table in ("models", "providers") and request
    pks = request.url_vars.get("pks") if row_view else None

    async def inner() -> dict[str, Any]:
        out: dict[str, Any] = {"vexy_bundled": await bundled_banner(datasette)}
        if not pks:
            return out
        from datasette.utils import urlsafe_components

        values = urlsafe_components(pks)
        db = _catalog_db(datasette)
        if db is None:
            return out
        if table == "models" and len(values) == 2:
            details = await db.execute_fn(lambda conn: _model_details(conn, datasette, values[0], values[1]))
        elif table == "providers" and len(values) == 1:
            details = await db.execute_fn(lambda conn: _provider_details(conn, datasette, values[0]))
        else:
            details = None
        return {**out, "vexy_row": details}

    return inner


def css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.static_plugins("vexy", "vexy.css")]


# Datasette 0.65 lists every column's description above a table, pushing the rows off the
# screen: fold the list away, one click to open.
_FOLD_COLUMN_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach(function (list) {
  var details = document.createElement("details");
  details.className = "vexy-column-descriptions";
  var summary = document.createElement("summary");
  summary.textContent = "What the columns mean";
  list.parentNode.insertBefore(details, list);
  details.appendChild(summary);
  details.appendChild(list);
});
"""


def body_script(view_name: str, database: str | None) -> str:
    if view_name == "table" and database == CATALOG_DB:
        return _FOLD_COLUMN_DESCRIPTIONS
    return ""
