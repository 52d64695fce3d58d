"""The pages people read: the home page (``/``, or a page saying to run ``vexy fetch``), the
model and provider row pages' extra sections, the menu links, and ``/robots.txt`` under
``--public``."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import urlencode

from vexy_catalog.db import FACT_COLUMNS
from vexy_catalog.query import listed_per_provider
from vexy_catalog.serve import CATALOG_DB, CatalogError, attach_catalog, inspect_catalog, serve_options
from vexy_catalog.timeutil import format_age

from . import guard, queries
from .render import FACT_LABELS, FLAG_COLUMNS, display_fact, json_pretty, mark, price, tokens
from .web import catalog_db, compare_href, model_href, sqlite_utils_db, text_response, tilde

__all__ = ["extra_template_vars", "home_page", "menu_links", "missing_page", "routes"]

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
    """``/``: the home page once any fetch has happened (even a failed one); before that a page
    saying to run ``vexy fetch``. ``/.json`` stays Datasette's index. A Datasette serving other
    databases too keeps its own index page."""
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
        result = await db.execute("select exists(select 1 from models), exists(select 1 from fetches)")
        has_models, fetched = result.rows[0]
        others = [name for name in datasette.databases if name not in (CATALOG_DB, "_internal")]
        if has_models and (request.url_vars.get("format") or others):
            return await IndexView(datasette).dispatch_request(request)
        if fetched and not request.url_vars.get("format"):
            return await home_page(request, datasette, db)
    if request.url_vars.get("format"):
        from datasette.utils.asgi import Response

        return Response.json({"ok": False, "error": "The catalog has no models yet - run 'vexy fetch'"}, status=200)
    return await missing_page(request, datasette)


def _home(conn: sqlite3.Connection, datasette: Any, max_age: Any) -> dict[str, Any]:
    from datetime import datetime, timezone

    from vexy_catalog.health import provider_health

    providers = provider_health(sqlite_utils_db(conn), max_age, datetime.now(timezone.utc))
    listed = listed_per_provider(conn)
    for row in providers:
        row["models_listed"] = listed.get(row["name"], 0)
        row["age"] = format_age(row["age_seconds"])
        row["href"] = datasette.urls.row(CATALOG_DB, "providers", tilde(row["name"]))
        row["models_href"] = datasette.urls.table(CATALOG_DB, "models") + "?" + urlencode({"provider": row["name"]})
    # What needs a look comes first: failing, then stale, then the rest by name.
    providers.sort(key=lambda r: (r["last_status"] != "failed", not r["stale"], r["name"]))
    overview = queries.catalog_overview(conn)
    for change in overview["recent_changes"]:
        change["href"] = model_href(datasette, change["provider"], change["model_id"])
        change["text"] = _change_text(change)
    return {"providers": providers, "overview": overview}


async def home_page(request: Any, datasette: Any, db: Any) -> Any:
    """The catalog at a glance: counts, freshness per provider with failures inline, recent
    changes, and where to go next."""
    from datasette.utils.asgi import Response

    from vexy_catalog.health import DEFAULT_MAX_AGE

    data = await guard.run(datasette, db, lambda conn: _home(conn, datasette, DEFAULT_MAX_AGE))
    providers = data["providers"]
    context = {
        "title": datasette.metadata("title") or "vexy model catalog",
        "description_html": datasette.metadata("description_html"),
        "providers": providers,
        "failing": [p for p in providers if p["last_status"] == "failed"],
        "stale": [p for p in providers if p["stale"] and p["last_status"] != "failed"],
        "overview": data["overview"],
        "max_age": format_age(DEFAULT_MAX_AGE.total_seconds()),
        "links": {
            "models": datasette.urls.table(CATALOG_DB, "models"),
            "providers": datasette.urls.table(CATALOG_DB, "providers"),
            "changes": datasette.urls.table(CATALOG_DB, "model_changes"),
            "database": datasette.urls.database(CATALOG_DB),
            "health": datasette.urls.path("/-/vexy/health"),
            "config": datasette.urls.path("/-/vexy/config"),
            "feed": datasette.urls.path("/-/vexy/changes.atom"),
            "scatter": datasette.urls.path("/-/vexy/scatter"),
            "compare": datasette.urls.path("/-/vexy/compare"),
            "json": datasette.urls.table(CATALOG_DB, "models") + ".json?_shape=array",
        },
    }
    html = await datasette.render_template("vexy_home.html", context, request=request)
    return Response.html(html)


def _change_text(row: dict[str, Any]) -> str:
    """A change as the model page lists it: the change itself, without provider and model."""
    from vexy_catalog.history import describe_change

    head = f"{row['provider']} {row['model_id']}"
    return describe_change(row).split(" ", 1)[1].replace(head, "", 1).strip()


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


def _source_href(datasette: Any, source: str | None) -> str | None:
    # "litellm:groq/llama-3.3-70b-versatile" -> that reference model's row page.
    if not source or ":" not in source:
        return None
    provider, _, model_id = source.partition(":")
    return model_href(datasette, provider, model_id)


def _source_value(fact: str, value: Any) -> str:
    """A value as fact_sources stores it (JSON), shown as the facts table shows facts."""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return display_fact(fact, value)


def _facts(datasette: Any, row: dict[str, Any], others: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    sources = row["sources"]
    notes = sources.get("_notes") if isinstance(sources.get("_notes"), dict) else {}
    facts = []
    for column in ("name", *FACT_COLUMNS):
        if column == "sources" or column not in row:
            continue
        source = sources.get(column)
        alternatives = [
            {
                "source": o.get("source"),
                "href": _source_href(datasette, o.get("source")),
                "value": _source_value(column, o.get("value")),
                "unit": o.get("unit"),
            }
            for o in others.get(column, [])
            if o.get("source") != source or o.get("value") != row[column]
        ]
        facts.append(
            {
                "column": column,
                "label": FACT_LABELS.get(column, column),
                "value": display_fact(column, row[column]),
                "known": row[column] is not None,
                "source": source,
                "source_href": _source_href(datasette, source),
                # Why the fact is unknown (withheld: a placeholder, a dispute) or another host's.
                "note": notes.get(column),
                "others": alternatives,
            }
        )
    return facts


def _origin_note(series: Any, provider: str, model_id: str) -> str | None:
    """Where a line comes from when it is not the provider's own word."""
    if series.origin == (provider, model_id) or not series.known:
        return None
    return f"{series.fact.replace('_', ' ').capitalize()} from {series.origin[0]}'s record {series.origin[1]}"


def history_chart(conn: sqlite3.Connection, provider: str, model_id: str, sources: dict[str, Any]) -> dict[str, Any]:
    """The model's price and limit history as a step chart, with what each line is read from."""
    from .charts import COLORS, Line, Panel, step_chart

    all_series = queries.history(
        conn, provider, model_id, sources, [f for facts in queries.CHART_FACTS.values() for f in facts]
    )
    by_fact = {s.fact: s for s in all_series}
    names = {"input_price": "in", "output_price": "out", "context_window": "context", "max_output_tokens": "max out"}
    panels = [
        Panel(
            title,
            [
                Line(names[f], f, by_fact[f].points, COLORS[i])
                for i, f in enumerate(queries.CHART_FACTS[kind])
                if by_fact[f].points
            ],
            formatter,
        )
        for kind, title, formatter in (
            ("price", "Price, USD per 1M tokens", price),
            ("limits", "Limits, tokens", tokens),
        )
    ]
    known = any(s.known for s in all_series)
    changes = sum(max(0, s.steps - 1) for s in all_series)
    return {
        "svg": step_chart(panels) if known else None,
        "changes": changes,
        "since": min((s.points[0][0] for s in all_series if s.points), default=None),
        "notes": [n for n in (_origin_note(s, provider, model_id) for s in all_series) if n],
        "origins": sorted({s.origin for s in all_series if s.known}),
    }


def _side_by_side(datasette: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            **row,
            "href": model_href(datasette, row["provider"], row["model_id"]),
            "input": price(row["input_price"]),
            "output": price(row["output_price"]),
            "context": tokens(row["context_window"]),
            "max_output": tokens(row["max_output_tokens"]),
            "marks": [mark(flag, row[flag]) for flag in FLAG_COLUMNS],
            "price_source": row["sources"].get("input_price"),
        }
        for row in rows
    ]


def _change_lines(
    conn: sqlite3.Connection, provider: str, model_id: str, origins: list[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The model's change log, and that of the reference records its chart reads, newest first."""
    lines = []
    for origin in [(provider, model_id), *[o for o in origins if o != (provider, model_id)]]:
        for change, fields, facts, at in conn.execute(
            "select change, fields, facts, at from model_changes where provider = ? and model_id = ? "
            "order by at desc, id desc limit 50",
            list(origin),
        ).fetchall():
            row = {
                "change": change,
                "fields": json.loads(fields or "{}"),
                "facts": json.loads(facts or "{}"),
                "provider": origin[0],
                "model_id": origin[1],
            }
            text = _change_text(row)
            lines.append(
                {"at": at, "change": change, "text": text, "origin": None if origin == (provider, model_id) else origin}
            )
    lines.sort(key=lambda line: line["at"], reverse=True)
    return lines


def _model_details(conn: sqlite3.Connection, datasette: Any, provider: str, model_id: str) -> dict[str, Any] | None:
    row = queries.model_row(conn, provider, model_id)
    if row is None:
        return None
    sources = row["sources"]
    elsewhere = _side_by_side(datasette, queries.same_model(conn, datasette, provider, model_id))
    status = conn.execute(
        "select last_status, last_success_at, last_fetch_at from providers where name = ?", [provider]
    ).fetchone()
    chart = history_chart(conn, provider, model_id, sources)
    changes = _change_lines(conn, provider, model_id, chart["origins"])
    compare = [(provider, model_id)] + [(o["provider"], o["model_id"]) for o in elsewhere if not o["reference"]][:5]
    return {
        "kind": "model",
        "title": row.get("name") or model_id,
        "provider": provider,
        "model_id": model_id,
        "summary": _side_by_side(datasette, [{**row, "reference": False}])[0],
        "facts": _facts(datasette, row, queries.fact_sources(conn, provider, model_id)),
        "disputes": queries.disputes(conn, provider, model_id),
        "raw": json_pretty(row.get("raw") or "") or row.get("raw"),
        "listed": row.get("removed_at") is None,
        "removed_at": row.get("removed_at"),
        "first_seen": row.get("first_seen"),
        "elsewhere": elsewhere,
        "chart": chart,
        "changes": changes,
        "provider_status": dict(zip(("last_status", "last_success_at", "last_fetch_at"), status, strict=True))
        if status
        else None,
        "config_href": "/-/vexy/config?" + urlencode([("provider", provider), ("q", model_id)]),
        "compare_href": compare_href(datasette, compare) if len(compare) > 1 else None,
        "provider_href": datasette.urls.row(CATALOG_DB, "providers", tilde(provider)),
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
    shows while there are any (``templates/base.html``; see :mod:`vexy_catalog.bundled`)."""
    from vexy_catalog.bundled import CURRENT_SQL, current_rows

    db = catalog_db(datasette)
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
        db = catalog_db(datasette)
        if db is None:
            return out
        if table == "models" and len(values) == 2:
            details = await guard.run(datasette, db, lambda conn: _model_details(conn, datasette, values[0], values[1]))
        elif table == "providers" and len(values) == 1:
            details = await guard.run(datasette, db, lambda conn: _provider_details(conn, datasette, values[0]))
        else:
            details = None
        return {**out, "vexy_row": details}

    return inner


def routes() -> list[tuple[str, Any]]:
    # Datasette builds its routes when it is constructed, before `vexy serve` has recorded its
    # options: these two decide per request, and leave a plain `datasette` run as it was.
    return [
        (r"^/(\.(?P<format>jsono?))?$", index_view),
        (r"^/robots\.txt$", robots_txt),
    ]
