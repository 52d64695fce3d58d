"""Config downloads: ``/-/vexy/config`` (the filters, the count, a link per format) and
``/-/vexy/config/<tool>`` (the export of the matching models), and the table action that
carries a table's filters there.

A download covers at most ``download_max_models`` models (2,000 under ``--public``, where
building one takes about a second; the plugin setting changes it): past that the answer is 413,
saying to narrow the selection. Downloads are built one at a time under ``--public`` (see
:mod:`.guard`).
"""

from __future__ import annotations

import io
import sqlite3
import zipfile
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import parse_qsl, urlencode

from vexy_catalog.serve import CATALOG_DB

from . import guard
from .filters import (
    BadParameters,
    config_params_from_table,
    describe_filter,
    filter_pairs,
    parse_selection,
)
from .pages import missing_page
from .web import (
    ascii_header,
    catalog_db,
    cors_headers,
    known_providers,
    sqlite_utils_db,
    text_response,
    with_charset,
)

__all__ = ["package_export", "routes", "table_actions"]


_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # a fixed time: the same rows give the same bytes


def package_export(export: Any) -> tuple[bytes, str, str]:
    """``(body, filename, media type)`` of an :class:`~vexy_catalog.export.Export` as a download.

    A single-file export is that file as is; one of several files is a zip of them, under
    their relative paths.
    """
    if export.single and len(export.files) == 1:
        relative, text = next(iter(export.files.items()))
        return _utf8(text), PurePosixPath(relative).name, with_charset(export.media_type)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for relative, text in sorted(export.files.items()):
            info = zipfile.ZipInfo(str(PurePosixPath(relative)), date_time=_ZIP_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, _utf8(text))
    return buffer.getvalue(), f"vexy-{export.tool}.zip", "application/zip"


def _utf8(text: Any) -> bytes:
    """A file of an export as bytes: a string, or :class:`~vexy_catalog.export.Spliced` pieces."""
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def _tools() -> tuple[str, ...]:
    from vexy_catalog.export import TOOLS

    return tuple(TOOLS)


async def config_page(request: Any, datasette: Any) -> Any:
    """``/-/vexy/config``: the filters in effect, how many models match, a link per format."""
    from datasette.utils.asgi import Response

    from vexy_catalog.history import models_as_of
    from vexy_catalog.query import MODEL_TYPES, count_models, model_providers

    db = catalog_db(datasette)
    if db is None:
        return await missing_page(request, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    dropped = [v for k, v in pairs if k == "_dropped"]
    pairs = [(k, v) for k, v in pairs if k != "_dropped"]
    known = await known_providers(db)
    listing = await db.execute_fn(lambda conn: model_providers(conn, listed_only=True))
    problems: list[str] = []
    count = None
    model_filter = None
    as_of = None
    try:
        model_filter, as_of = parse_selection(pairs, known)
        if as_of is None:
            count = await guard.run(datasette, db, lambda conn: count_models(sqlite_utils_db(conn), model_filter))
        else:
            # The models listed then, as the download will build them (from the stored answers).
            count = await guard.run(
                datasette, db, lambda conn: len(models_as_of(sqlite_utils_db(conn), as_of, model_filter))
            )
        # A link pins the moment it was resolved to: "30d" would move with the clock.
        query = urlencode(filter_pairs(model_filter) + ([("as_of", as_of)] if as_of else []))
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
            "criteria": (describe_filter(model_filter) if model_filter else [])
            + ([f"as listed at {as_of}"] if as_of else []),
            "as_of": next((v for k, v in pairs if k == "as_of"), ""),
            # No criterion but listed/removed: a download would be every model of the catalog.
            "whole_catalog": model_filter is not None and describe_filter(model_filter)[:-1] == [],
            "downloads": downloads,
            "filter": model_filter,
            "providers": listing,
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
        return text_response(f"Unknown config format {tool!r} - use one of: {', '.join(tools)}\n", 404, datasette)
    db = catalog_db(datasette)
    if db is None:
        return text_response("There is no catalog yet - run 'vexy fetch'\n", 503, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    try:
        model_filter, as_of = parse_selection(pairs, await known_providers(db))
    except BadParameters as e:
        lines = "\n".join(f"- {p}" for p in e.problems)
        return text_response(f"Bad parameters for /-/vexy/config/{tool}:\n{lines}\n", 400, datasette)

    def build(conn: sqlite3.Connection) -> Any:
        from vexy_catalog.export import build_export

        return build_export(sqlite_utils_db(conn), tool, model_filter, as_of=as_of, spliced=True)

    from vexy_catalog.query import count_models

    try:
        most = guard.limit(datasette, "download_max_models")
    except ValueError as e:
        return text_response(f"{e}\n", 500, datasette)
    count = await guard.run(datasette, db, lambda conn: count_models(sqlite_utils_db(conn), model_filter))
    if count > most:
        return text_response(
            f"This download would list {count:,} models, over the limit of {most:,} a download may list here: "
            "narrow the selection (?provider=, ?q=, ?tools=1, ...), or run 'vexy export' on a copy of the catalog\n",
            413,
            datasette,
        )
    export = await guard.run(datasette, db, build, heavy=True)
    body, filename, media_type = package_export(export)
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', **cors_headers(datasette)}
    if export.hint:
        headers["X-Vexy-Hint"] = ascii_header(export.hint)
    return Response(body, status=200, headers=headers, content_type=media_type)


def table_actions(datasette: Any, database: str, table: str, request: Any) -> list[dict[str, str]]:
    if database != CATALOG_DB or table not in ("models", "providers") or request is None:
        return []
    params, dropped = config_params_from_table(table, parse_qsl(request.query_string, keep_blank_values=True))
    query = urlencode(params + [("_dropped", d) for d in dropped])
    label = "Download a config for these rows" if table == "models" else "Download a config for these providers"
    actions = [{"href": datasette.urls.path("/-/vexy/config") + (f"?{query}" if query else ""), "label": label}]
    actions.append({"href": datasette.urls.path("/-/vexy/health"), "label": "Catalog health"})
    return actions


def routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/vexy/config$", config_page),
        (r"^/-/vexy/config/(?P<tool>[^/]+)$", config_download),
    ]
