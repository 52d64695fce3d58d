"""The models table at a glance (``/vexy/models``): the columns people compare by default, the
rest one click away, and cells that fit a screen.

Datasette still runs the query, the filters, facets, sorting and paging, and the JSON and CSV
answers are untouched: this module only decides, for the HTML table, which columns to draw and
how. The default columns are ``plugins: vexy: default_columns`` of the ``models`` table in
metadata.yml; a URL with ``_col=`` shows exactly the columns it names (Datasette's own
parameter), and ``_nocol=`` hides a column from whatever is shown. Long text is cut to one
line here; the row page shows every value whole.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode

from markupsafe import Markup, escape

from vexy_catalog.serve import CATALOG_DB

from .render import FLAG_COLUMNS, FLAG_NAMES, day, mark, price, short_text, source_notes, tokens
from .web import tilde

__all__ = ["COLUMN_LABELS", "default_columns", "template_vars"]

# What vexy shows when metadata.yml does not say (a plain `datasette` run with other metadata).
_FALLBACK_COLUMNS = (
    "provider",
    "model_id",
    "context_window",
    "max_output_tokens",
    "input_price",
    "output_price",
    "supports_tools",
    "supports_vision",
    "supports_reasoning",
    "model_type",
    "first_seen",
)

# Short headers, so a screen holds the columns; the full name stays in data-column (Datasette's
# column menu) and the description in the header's title.
COLUMN_LABELS = {
    "model_id": "model",
    "context_window": "context",
    "max_output_tokens": "max out",
    "input_price": "in $/M",
    "output_price": "out $/M",
    "cache_read_price": "cache $/M",
    "model_type": "type",
    "first_seen": "first seen",
    "updated_at": "updated",
    "removed_at": "removed",
    "deprecated_at": "deprecated",
    "input_modalities": "input",
    "output_modalities": "output",
    "content_hash": "hash",
    "owned_by": "owner",
    **{column: name for column, name in FLAG_NAMES.items()},
}
_TOKEN_COLUMNS = ("context_window", "max_output_tokens")
_PRICE_COLUMNS = ("input_price", "output_price", "cache_read_price")
_TIME_COLUMNS = ("first_seen", "updated_at", "removed_at", "created", "deprecated_at")


def default_columns(datasette: Any) -> list[str]:
    config = datasette.plugin_config("vexy", database=CATALOG_DB, table="models") or {}
    configured = config.get("default_columns")
    return [str(c) for c in configured] if isinstance(configured, list) and configured else list(_FALLBACK_COLUMNS)


def label(column: str) -> str:
    return COLUMN_LABELS.get(column, column.replace("_", " "))


def _shown_columns(selected: list[str], args: Any, defaults: list[str]) -> list[str]:
    """The columns to draw, in order: those of ``_col`` as Datasette selected them, else the
    defaults without any ``_nocol``."""
    if "_col" in args:
        return list(dict.fromkeys(c for c in selected if c != "Link"))
    hidden = set(args.getlist("_nocol"))
    return [c for c in defaults if c in selected and c not in hidden]


def _url(path: str, pairs: list[tuple[str, str]]) -> str:
    return path + ("?" + urlencode(pairs) if pairs else "")


def cell_html(cell: dict[str, Any], row: Any, table_url: str) -> Any:
    """One cell of the models table, compact: the raw value formatted for reading. (Markup is
    built with escape() and f-strings: Markup.format goes through string.Formatter in Python,
    a tenth of a table page's time.)"""
    column, raw = cell["column"], cell.get("raw")
    if column == "model_id":
        try:
            name = row["name"]
        except KeyError:
            name = None
        href = escape(f"{table_url}/{tilde(str(row['provider']))},{tilde(str(raw))}")
        if name and name != raw:
            return Markup(f'<a href="{href}" title="{escape(name)}">{escape(raw)}</a>')
        return Markup(f'<a href="{href}">{escape(raw)}</a>')
    if column in FLAG_COLUMNS:
        return mark(column, raw)
    if raw is None:
        return ""
    if column == "provider":
        return cell["value"]
    if column in _TOKEN_COLUMNS:
        short = tokens(raw)
        if short == f"{raw:,}":
            return short
        return Markup(f'<span title="{escape(format(raw, ","))} tokens">{escape(short)}</span>')
    if column in _PRICE_COLUMNS:
        return price(raw) or raw
    if column in _TIME_COLUMNS:
        return Markup(f'<time title="{escape(raw)}">{escape(day(raw) or raw)}</time>')
    if column == "raw":
        size = len(str(raw).encode("utf-8")) / 1024
        return Markup('<code class="vexy-json-preview">{}</code> <small>{:.1f} KB</small>').format(
            short_text(raw, 48), size
        )
    if column in ("input_modalities", "output_modalities", "sources"):
        try:
            decoded = json.loads(raw)
        except (TypeError, ValueError):
            decoded = None
        if isinstance(decoded, list):
            return ", ".join(str(i) for i in decoded)
        if isinstance(decoded, dict):
            # "provider 5, litellm 2", and how many facts a note explains (withheld, another
            # host's): the notes themselves in the tooltip, in full on the row page.
            by_source: dict[str, int] = {}
            noted = []
            for fact, source, note in source_notes(decoded):
                if source is not None:
                    name = source.partition(":")[0]
                    by_source[name] = by_source.get(name, 0) + 1
                if note is not None:
                    noted.append(f"{fact}: {note}")
            text = ", ".join(f"{source} {n}" for source, n in sorted(by_source.items()))
            if not noted:
                return text
            count = f"{len(noted)} note{'s' if len(noted) != 1 else ''}"
            return Markup('{}{}<abbr class="vexy-notes" title="{}">{}</abbr>').format(
                text, "; " if text else "", "\n".join(noted), count
            )
    if column == "content_hash":
        return Markup('<code title="{}">{}</code>').format(raw, str(raw)[:12] + "\u2026")
    return short_text(raw) if isinstance(raw, str) else raw


def template_vars(columns: list[str], request: Any, datasette: Any) -> Any:
    """``vexy_table`` for table-vexy-models.html and _table-table-vexy-models.html."""

    async def inner() -> dict[str, Any]:
        db = datasette.databases.get(CATALOG_DB)
        all_columns = await db.table_columns("models") if db is not None else list(columns)
        # Datasette always shows the primary key; naming it in _col as well would show it twice.
        keys = await db.primary_keys("models") if db is not None else []
        defaults = [c for c in default_columns(datasette) if c in all_columns]
        args = request.args
        shown = _shown_columns(list(columns), args, defaults)
        path = datasette.urls.table(CATALOG_DB, "models")
        keep = [(k, v) for k, v in _pairs(request) if k not in ("_col", "_nocol", "_next")]
        table_url = path
        return {
            "vexy_table": {
                "shown": shown,
                "defaults": defaults,
                "is_default": "_col" not in args and "_nocol" not in args,
                "choices": [
                    {"name": c, "label": label(c), "shown": c in shown, "key": c in keys} for c in all_columns
                ],
                "keep_args": keep,
                "default_url": _url(path, keep),
                "all_url": _url(path, keep + [("_col", c) for c in all_columns if c not in keys]),
                "header": label,
                "row_html": _row_html(shown, table_url),
                "shown_columns": lambda display_columns: _in_order(display_columns, shown),
                "scatter_url": _url(datasette.urls.path("/-/vexy/scatter"), [p for p in keep if p[0] != "_facet"]),
            }
        }

    return inner


def _in_order(display_columns: list[dict[str, Any]], shown: list[str]) -> list[dict[str, Any]]:
    """Datasette's columns of the page, those of ``shown`` in its order."""
    by_name = {column["name"]: column for column in display_columns}
    return [by_name[name] for name in shown if name in by_name]


def _row_html(shown: list[str], table_url: str) -> Any:
    """A function drawing one row's cells of ``shown``: one Markup string per row, built in
    Python (the template loop over its 1,100 cells was about a sixth of the page's time, profiled)."""
    from datasette.utils import to_css_class

    classes = {column: f"col-{to_css_class(column)}" for column in shown}

    def draw(row: Any) -> Markup:
        by_column = {cell["column"]: cell for cell in row.cells}
        parts = []
        for column in shown:
            cell = by_column.get(column)
            if cell is None:
                continue
            # Unknown values take no room on a phone's card (the desktop table marks them).
            empty = " vexy-empty" if cell.get("raw") is None else ""
            parts.append(f'<td class="{classes[column]}{empty}">{escape(cell_html(cell, row, table_url))}</td>')
        return Markup("".join(parts))

    return draw


def _pairs(request: Any) -> list[tuple[str, str]]:
    return parse_qsl(request.query_string, keep_blank_values=True)
