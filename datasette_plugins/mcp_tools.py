"""vexy's tools for agents, on the MCP server of the ``datasette-mcp`` plugin (``/-/mcp``).

``datasette-mcp`` calls the ``register_mcp_tools`` hook once, when it builds its server; the
tools here wrap :mod:`vexy_catalog.agent`: ``search_models`` (the filters of ``vexy models``),
``compare_models``, ``price_history``, ``changes_since`` and ``cheapest``. All are read-only.

When arbitrary SQL is off (``vexy serve --public``: Datasette's ``default_allow_sql`` false),
the server keeps only read-only canned tools: ours and the plugin's canned-query tools;
``execute_sql`` and ``execute_writable_canned_query`` are removed. This hook runs after the
plugin's own (``trylast``), so those tools exist when it removes them.

Nothing here imports ``mcp`` at module level: without the ``mcp`` extra this hook is simply
never called. (No ``from __future__ import annotations``: the MCP SDK reads the tools' type
hints, and ``Context`` is imported inside the hook.)
"""

import sqlite3
from typing import Any

from datasette import hookimpl

from vexy_catalog import agent
from vexy_catalog.serve import CATALOG_DB

from . import guard
from .web import catalog_db, sqlite_utils_db

# Tools of datasette-mcp that are not canned: arbitrary SQL, and writes.
NOT_CANNED = ("execute_sql", "execute_writable_canned_query")


def _actor(ctx: Any) -> dict[str, Any] | None:
    try:
        request = ctx.request_context.request
    except ValueError:  # called outside an MCP request (in-process, or stdio without one)
        return None
    scope = getattr(request, "scope", None)
    actor = scope.get("actor") if isinstance(scope, dict) else None
    return actor if isinstance(actor, dict) else None


async def _run(datasette: Any, ctx: Any, answer: Any) -> dict[str, Any]:
    """``answer(db)`` on the catalog, for an actor allowed to view it; errors as ToolError."""
    from mcp.server.mcpserver.exceptions import ToolError

    db = catalog_db(datasette)
    if db is None:
        raise ToolError("There is no catalog yet - run 'vexy fetch'")
    if not await datasette.permission_allowed(_actor(ctx), "view-database", CATALOG_DB, default=True):
        raise ToolError("The catalog is not available to you")

    def call(conn: sqlite3.Connection) -> dict[str, Any]:
        return answer(sqlite_utils_db(conn))

    try:
        return await guard.run(datasette, db, call)
    except agent.AgentError as e:
        raise ToolError(str(e)) from None
    except guard.RouteTooSlow:
        raise ToolError("This took longer than the server's time limit: narrow the request") from None


@hookimpl(trylast=True)
def register_mcp_tools(datasette: Any, mcp: Any) -> None:
    from mcp.server.mcpserver import Context
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations

    read_only = ToolAnnotations(read_only_hint=True, open_world_hint=False)

    if datasette.setting("default_allow_sql") is False:
        for name in NOT_CANNED:
            try:
                mcp.remove_tool(name)
            except ToolError:  # not registered (canned queries off): nothing to remove
                pass

    @mcp.tool(annotations=read_only)
    async def search_models(
        ctx: Context,
        query: str | None = None,
        provider: list[str] | None = None,
        min_context: int | None = None,
        max_input_price: float | None = None,
        tools: bool = False,
        vision: bool = False,
        reasoning: bool = False,
        type: str | None = None,
        include_removed: bool = False,
        as_of: str | None = None,
        sort: str = "name",
        limit: int = 50,
    ) -> dict[str, Any]:
        """Find models in the vexy catalog, as `vexy models` does. query matches a part of the
        model id or name; provider (repeatable) names providers; min_context is tokens;
        max_input_price is USD per 1M input tokens; tools/vision/reasoning keep models known to
        support them; type is chat, completion, embedding, image, audio, rerank or moderation;
        as_of (a date such as 2026-03-01, or an age such as 30d) gives the models listed then;
        sort is name, context, input_price, output_price, provider, first_seen or cheapest.
        Prices are USD per 1M tokens; a missing fact is unknown. Returns {count, models}."""

        def answer(db: Any) -> dict[str, Any]:
            model_filter = agent.make_filter(
                db, query, provider, min_context, max_input_price, tools, vision, reasoning, type, include_removed
            )
            return agent.search_models(db, model_filter, sort=sort, limit=limit, as_of=as_of)

        return await _run(datasette, ctx, answer)

    @mcp.tool(annotations=read_only)
    async def compare_models(ctx: Context, models: list[str]) -> dict[str, Any]:
        """Compare 1 to 10 models side by side. Each is provider/model_id, split at the first
        slash (openrouter/openai/gpt-4o is openrouter's openai/gpt-4o). Returns each model's
        facts with the source of each (provider, or the reference catalog it came from), and
        the ones not found under missing."""
        return await _run(datasette, ctx, lambda db: agent.compare_models(db, models))

    @mcp.tool(annotations=read_only)
    async def price_history(ctx: Context, provider: str, model: str) -> dict[str, Any]:
        """How one model's prices (USD per 1M tokens) and limits changed over time at one
        provider: every logged change, oldest first, with the provider's facts after it."""
        return await _run(datasette, ctx, lambda db: agent.price_history(db, provider, model))

    @mcp.tool(annotations=read_only)
    async def changes_since(
        ctx: Context, date: str, provider: list[str] | None = None, limit: int = 200
    ) -> dict[str, Any]:
        """Models added, removed, returned or changed since date (2026-03-01, or an age such
        as 7d), newest first, optionally for some providers only."""
        return await _run(datasette, ctx, lambda db: agent.changes_since(db, date, provider, limit))

    @mcp.tool(annotations=read_only)
    async def cheapest(
        ctx: Context,
        min_context: int | None = None,
        tools: bool = False,
        vision: bool = False,
        reasoning: bool = False,
        type: str | None = "chat",
        provider: list[str] | None = None,
        max_input_price: float | None = None,
        limit: int = 10,
    ) -> dict[str, Any]:
        """The cheapest models (lowest known input price, then output price) with at least
        min_context tokens of context and known support for tools / vision / reasoning when
        asked; type defaults to chat (pass null for any). Models with no known price are not
        ranked: unpriced_matches counts them."""

        def answer(db: Any) -> dict[str, Any]:
            model_filter = agent.make_filter(
                db, None, provider, min_context, max_input_price, tools, vision, reasoning, type
            )
            return agent.cheapest(db, model_filter, limit=limit)

        return await _run(datasette, ctx, answer)
