"""The catalog feeds ``vexy serve`` serves: the files AI clients read in place of their own list.

- ``/-/vexy/models.dev/api.json``: models.dev's ``api.json`` for OpenCode
  (``OPENCODE_MODELS_URL=http://127.0.0.1:8001/-/vexy/models.dev``; OpenCode adds ``/api.json``).
- ``/-/vexy/catwalk/v2/providers``: Catwalk's provider list for Crush
  (``CATWALK_URL=http://127.0.0.1:8001/-/vexy/catwalk``; Crush adds ``/v2/providers``).
- ``/-/vexy/litellm/model_prices_and_context_window.json``: LiteLLM's cost map with the
  catalog's models merged on top (``LITELLM_MODEL_COST_MAP_URL``).
- ``/-/vexy/aichat/models.yaml``: aichat's ``models.yaml`` (``sync_models_url``).

Every feed takes the parameters of the config downloads (``provider``, ``q``, ``min_context``,
``max_input_price``, ``tools``, ``vision``, ``reasoning``, ``type``, ``include_removed``) and
``as_of``, in the query string. OpenCode and Crush append a path to the base URL they are
given, so their two feeds also take the parameters as one path segment before it:
``/-/vexy/models.dev/provider=groq&tools=1/api.json``.

Each answer has an ``ETag`` (the first 16 bytes of the body's SHA-256, in hex, as Catwalk's
server sends it) and answers ``If-None-Match`` with 304; HEAD gets the headers only. A feed is
built within a time limit and up to a size (``FEED_TIME_LIMIT_MS``, ``FEED_MAX_BYTES``; the
plugin settings ``feed_time_limit_ms`` and ``feed_max_bytes`` in metadata change them): past
either, the answer is an error that says to narrow the selection.
"""

from __future__ import annotations

import hashlib
import sqlite3
import time
from typing import Any
from urllib.parse import parse_qsl, unquote

from vexy_catalog import serve

from .filters import BadParameters, parse_selection
from .guard import RouteTooSlow, heavy_slot, with_deadline
from .web import ascii_header, catalog_db, cors_headers, known_providers, sqlite_utils_db, text_response, with_charset

FEED_TIME_LIMIT_MS = 20_000
PUBLIC_FEED_TIME_LIMIT_MS = 5_000
FEED_MAX_BYTES = 32 * 1024 * 1024

# Route regex -> the export format it serves. ``params``: the filters as a path segment, for the
# clients that append their own path to the URL they are given.
FEEDS: dict[str, str] = {
    r"^/-/vexy/models\.dev(?:/(?P<params>[^/]*))?/api\.json$": "modelsdev",
    r"^/-/vexy/catwalk(?:/(?P<params>[^/]*))?/v2/providers$": "catwalk",
    r"^/-/vexy/litellm/model_prices_and_context_window\.json$": "litellm-costmap",
    r"^/-/vexy/aichat/models\.yaml$": "aichat-models",
}


def limits(datasette: Any) -> tuple[float, int]:
    """(seconds, bytes) a feed may take; ValueError naming the setting when one is not a number."""
    config = datasette.plugin_config("vexy") or {}
    options = serve.serve_options(datasette)
    public = bool(options and options.public)
    values = {
        "feed_time_limit_ms": config.get(
            "feed_time_limit_ms", PUBLIC_FEED_TIME_LIMIT_MS if public else FEED_TIME_LIMIT_MS
        ),
        "feed_max_bytes": config.get("feed_max_bytes", FEED_MAX_BYTES),
    }
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"plugins: vexy: {name} in the metadata must be a whole number (0 or more), not {value!r}")
    return values["feed_time_limit_ms"] / 1000, values["feed_max_bytes"]


def etag_of(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _matches(if_none_match: str, etag: str) -> bool:
    wanted = etag.strip('"')
    return any(tag.strip().removeprefix("W/").strip('"') in (wanted, "*") for tag in if_none_match.split(","))


async def feed(tool: str, request: Any, datasette: Any) -> Any:
    """One feed (``tool``: its export format) for the selection in the request."""
    from datasette.utils.asgi import Response

    db = catalog_db(datasette)
    cors = cors_headers(datasette)
    if db is None:
        return text_response("There is no catalog yet - run 'vexy fetch'\n", 503, datasette)
    # Clients may send the path segment percent-encoded (OpenCode sends provider%3Dgroq).
    pairs = parse_qsl(unquote(request.url_vars.get("params") or ""), keep_blank_values=True)
    pairs += parse_qsl(request.query_string, keep_blank_values=True)
    try:
        model_filter, as_of = parse_selection(pairs, await known_providers(db))
    except BadParameters as e:
        lines = "".join(f"- {p}\n" for p in e.problems)
        return text_response(f"Bad parameters for {request.path}:\n{lines}", 400, datasette)
    try:
        seconds, max_bytes = limits(datasette)
    except ValueError as e:
        return text_response(f"{e}\n", 500, datasette)

    def build(conn: sqlite3.Connection) -> Any:
        from vexy_catalog.export import build_export

        return build_export(sqlite_utils_db(conn), tool, model_filter, as_of=as_of)

    try:
        async with heavy_slot(datasette):
            export = await db.execute_fn(with_deadline(time.monotonic() + seconds, build))
    except RouteTooSlow:
        return text_response(
            f"Building this feed took longer than {seconds:g} s: narrow the selection (?provider=, ?q=, ...)\n",
            503,
            datasette,
        )
    ((_, text),) = export.files.items()
    body = text.encode("utf-8")
    if len(body) > max_bytes:
        return text_response(
            f"This feed would be {len(body):,} bytes, over the limit of {max_bytes:,}: narrow the selection "
            "(?provider=, ?q=, ...)\n",
            413,
            datasette,
        )
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": "no-cache", **cors}
    if export.hint:
        headers["X-Vexy-Hint"] = ascii_header(export.hint)
    media_type = with_charset(export.media_type)
    if _matches(request.headers.get("if-none-match", ""), etag):
        return Response("", status=304, headers=headers, content_type=media_type)
    if request.method == "HEAD":
        headers["Content-Length"] = str(len(body))
        return Response("", status=200, headers=headers, content_type=media_type)
    return Response(body, status=200, headers=headers, content_type=media_type)


def _view(tool: str) -> Any:
    # Datasette calls a view with the arguments its signature names, so each route gets a
    # function of its own rather than a partial.
    async def view(request: Any, datasette: Any) -> Any:
        return await feed(tool, request, datasette)

    return view


def routes() -> list[tuple[str, Any]]:
    return [(pattern, _view(tool)) for pattern, tool in FEEDS.items()]
