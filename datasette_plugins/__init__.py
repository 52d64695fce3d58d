"""The vexy plugin for Datasette: browsing, health, config downloads, feeds of the catalog, the
catalog feeds clients read (:mod:`.catalogs`) and MCP tools for agents (:mod:`.mcp_tools`).

Datasette loads this package through the ``datasette`` entry point ``vexy`` (pyproject.toml),
never through ``--plugins-dir``: loading it both ways would register its hooks twice. Its
``templates/`` and ``static/`` are package data.

This module holds only the hook implementations; each hands over to the module named for what
it serves. Routes follow one convention: a module that serves routes has ``routes()``, a list
of ``(regex, view)`` pairs, and :func:`register_routes` concatenates them, so a new module of
routes is one import and one entry in ``_ROUTE_MODULES``. Every route is served through
:func:`.guard.guarded` (its time and size limits), and every request through the Host check of
:func:`.guard.asgi_wrapper`.
"""

from __future__ import annotations

from datasette import hookimpl

from vexy_catalog.serve import CATALOG_DB

from . import catalogs, downloads, explore, facets, feeds, guard, health, models_table, pages, render, web
from .mcp_tools import register_mcp_tools  # noqa: F401 - called by the datasette-mcp plugin, when installed

# Datasette tries routes in order; ours never overlap, and the home page's pattern (``/``) goes
# last so a more specific route is always found first.
_ROUTE_MODULES = (guard, feeds, catalogs, health, downloads, explore, pages)


@hookimpl
def register_routes(datasette):
    return [(pattern, guard.guarded(view)) for module in _ROUTE_MODULES for pattern, view in module.routes()]


@hookimpl
def asgi_wrapper(datasette):
    return guard.asgi_wrapper(datasette)


@hookimpl
def prepare_connection(conn, database, datasette):
    if database == CATALOG_DB:
        web.tune_connection(conn)


@hookimpl
def menu_links(datasette, actor, request):
    return pages.menu_links(datasette)


@hookimpl
def table_actions(datasette, actor, database, table, request):
    return downloads.table_actions(datasette, database, table, request)


@hookimpl(hookwrapper=True)
def register_facet_classes():
    outcome = yield
    outcome.force_result(facets.replace_column_facet(outcome.get_result()))


@hookimpl
def render_cell(value, column, table, database, datasette):
    return render.render_cell(value, column, table, database)


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    page = pages.extra_template_vars(view_name, database, table, request, datasette)
    if view_name == "table" and database == CATALOG_DB and table == "models" and request is not None:
        table_vars = models_table.template_vars(columns or [], request, datasette)

        async def both():
            return {**(await page()), **(await table_vars())}

        return both
    return page


@hookimpl
def extra_css_urls(datasette):
    return render.css_urls(datasette)


@hookimpl
def extra_body_script(view_name, database):
    return render.body_script(view_name, database)
