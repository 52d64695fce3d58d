"""The vexy plugin's hooks: each one hands over to :mod:`vexy_catalog.serve`."""

from __future__ import annotations

from datasette import hookimpl

from vexy_catalog import serve

from . import catalogs


@hookimpl
def register_routes(datasette):
    return serve.routes(datasette) + catalogs.routes()


@hookimpl
def menu_links(datasette, actor, request):
    return serve.menu_links(datasette)


@hookimpl
def table_actions(datasette, actor, database, table, request):
    return serve.table_actions(datasette, database, table, request)


@hookimpl
def render_cell(value, column, table, database, datasette):
    return serve.render_cell(value, column, table, database)


@hookimpl
def extra_template_vars(template, database, table, columns, view_name, request, datasette):
    return serve.extra_template_vars(view_name, database, table, request, datasette)


@hookimpl
def extra_css_urls(datasette):
    return serve.css_urls(datasette)


@hookimpl
def extra_body_script(view_name, database):
    return serve.body_script(view_name, database)
