"""Feeds of the catalog: ``/-/vexy/changes.atom``, the model changes as Atom."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from vexy_catalog.history import changes_atom, list_changes, parse_since

from . import guard
from .web import catalog_db, cors_headers, known_providers, sqlite_utils_db, text_response

__all__ = ["routes"]


async def changes_feed(request: Any, datasette: Any) -> Any:
    """``/-/vexy/changes.atom``: an Atom feed of model changes, ``?provider=`` (repeatable) to
    follow some providers only, ``?since=`` (7d, a date) and ``?limit=`` (default 200)."""
    from datasette.utils.asgi import Response

    db = catalog_db(datasette)
    if db is None:
        return text_response("There is no catalog yet - run 'vexy fetch'\n", 503, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    providers = [v for k, v in pairs if k == "provider" and v]
    problems = [f"unknown parameter {k!r}" for k, _ in pairs if k not in ("provider", "since", "limit")]
    known = await known_providers(db)
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
        return text_response("Bad parameters for /-/vexy/changes.atom:\n" + "".join(f"- {p}\n" for p in problems), 400)
    rows = await guard.run(
        datasette, db, lambda conn: list_changes(sqlite_utils_db(conn), moment, providers, int(limit_text)), heavy=True
    )
    title = "vexy: model changes" + (f" ({', '.join(providers)})" if providers else "")
    feed_url = datasette.absolute_url(
        request, request.path + (f"?{request.query_string}" if request.query_string else "")
    )
    body = changes_atom(rows, feed_url, title)
    headers = cors_headers(datasette)
    return Response(body, status=200, headers=headers, content_type="application/atom+xml; charset=utf-8")


def routes() -> list[tuple[str, Any]]:
    return [(r"^/-/vexy/changes\.atom$", changes_feed)]
