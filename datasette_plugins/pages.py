"""The pages people read: the home page (``/``, or a page saying to run ``vexy fetch``), the
model and provider row pages' extra sections, the menu links, and ``/robots.txt`` under
``--public``."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import urlencode

from vexy_catalog.db import FACT_COLUMNS
from vexy_catalog.serve import CATALOG_DB, CatalogError, attach_catalog, inspect_catalog, serve_options

from .render import FACT_LABELS, display_fact, json_pretty
from .web import catalog_db, text_response, tilde

__all__ = ["extra_template_vars", "menu_links", "missing_page", "routes"]

ROBOTS_TXT = "User-agent: *\nDisallow: /\n"


async def missing_page(request: Any, datasette: Any, status: int = 200) -> Any:
    from datasette.utils.asgi import Response

    options = serve_options(datasette)
    db = catalog_db(datasette)
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
    db = catalog_db(datasette)
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
            attach_catalog(datasette, state)
            db = catalog_db(datasette)
    if db is not None:
        result = await db.execute("select exists(select 1 from models)")
        if result.rows[0][0]:
            return await IndexView(datasette).dispatch_request(request)
    if request.url_vars.get("format"):
        from datasette.utils.asgi import Response

        return Response.json({"ok": False, "error": "The catalog has no models yet - run 'vexy fetch'"}, status=200)
    return await missing_page(request, datasette)


async def robots_txt(datasette: Any) -> Any:
    from datasette.utils.asgi import NotFound

    options = serve_options(datasette)
    if options is None or not options.public:
        raise NotFound("robots.txt is served with --public only")
    return text_response(ROBOTS_TXT)


def menu_links(datasette: Any) -> list[dict[str, str]]:
    if catalog_db(datasette) is None:
        return []
    return [
        {"href": datasette.urls.path("/-/vexy/health"), "label": "Catalog health"},
        {"href": datasette.urls.path("/-/vexy/config"), "label": "Download a config"},
        {"href": datasette.urls.path("/-/vexy/changes.atom"), "label": "Changes (Atom feed)"},
    ]


def _bare_id(model_id: str) -> str:
    return model_id.rsplit("/", 1)[-1].lower()


def _source_href(datasette: Any, source: str | None) -> str | None:
    # "litellm:groq/llama-3.3-70b-versatile" -> that reference model's row page.
    if not source or ":" not in source:
        return None
    provider, _, model_id = source.partition(":")
    return datasette.urls.row(CATALOG_DB, "models", f"{tilde(provider)},{tilde(model_id)}")


def _model_details(conn: sqlite3.Connection, datasette: Any, provider: str, model_id: str) -> dict[str, Any] | None:
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
                "label": FACT_LABELS.get(column, column),
                "value": display_fact(column, row[column]),
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
                "input_price": display_fact("input_price", other[2]),
                "output_price": display_fact("output_price", other[3]),
                "context_window": display_fact("context_window", other[4]),
                "href": datasette.urls.row(CATALOG_DB, "models", f"{tilde(other[0])},{tilde(other[1])}"),
            }
        )
    status = conn.execute(
        "select last_status, last_success_at, last_fetch_at from providers where name = ?", [provider]
    ).fetchone()
    return {
        "kind": "model",
        "facts": facts,
        "raw": json_pretty(row.get("raw") or "") or row.get("raw"),
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


def extra_template_vars(view_name: str, database: str, table: str, request: Any, datasette: Any) -> Any:
    if view_name != "row" or database != CATALOG_DB or table not in ("models", "providers") or request is None:
        return {}
    pks = request.url_vars.get("pks")
    if not pks:
        return {}

    async def inner() -> dict[str, Any]:
        from datasette.utils import urlsafe_components

        values = urlsafe_components(pks)
        db = catalog_db(datasette)
        if db is None:
            return {}
        if table == "models" and len(values) == 2:
            details = await db.execute_fn(lambda conn: _model_details(conn, datasette, values[0], values[1]))
        elif table == "providers" and len(values) == 1:
            details = await db.execute_fn(lambda conn: _provider_details(conn, datasette, values[0]))
        else:
            details = None
        return {"vexy_row": details}

    return inner


def routes() -> list[tuple[str, Any]]:
    # Datasette builds its routes when it is constructed, before `vexy serve` has recorded its
    # options: these two decide per request, and leave a plain `datasette` run as it was.
    return [
        (r"^/(\.(?P<format>jsono?))?$", index_view),
        (r"^/robots\.txt$", robots_txt),
    ]
