"""Datasette plugins for the vexy catalog (browsing, health and config downloads).

This package is the plugin Datasette loads through the ``datasette`` entry point ``vexy``
(pyproject.toml), never through ``--plugins-dir``: loading it both ways would register its
hooks twice. Its ``templates/`` and ``static/`` are package data. Shared logic lives in
:mod:`vexy_catalog.serve`; the plugin modules here stay thin.
"""

from .mcp_tools import register_mcp_tools  # noqa: F401 - called by the datasette-mcp plugin, when installed
from .vexy import (  # noqa: F401 - pluggy finds the hooks as attributes of this package
    extra_body_script,
    extra_css_urls,
    extra_template_vars,
    menu_links,
    register_routes,
    render_cell,
    table_actions,
)
