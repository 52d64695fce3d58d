"""How catalog values are drawn: table cells, fact values, the plugin's stylesheet and the
script that folds Datasette's column descriptions away."""

from __future__ import annotations

import json
from typing import Any

from vexy_catalog.serve import CATALOG_DB

__all__ = ["FACT_LABELS", "body_script", "css_urls", "display_fact", "json_pretty", "render_cell"]


def json_pretty(value: str) -> str | None:
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


def render_cell(value: Any, column: str, table: str, database: str) -> Any:
    if database != CATALOG_DB or not isinstance(value, str):
        return None
    from markupsafe import Markup, escape

    if table == "models" and column == "raw":
        pretty = json_pretty(value)
        if pretty is None:
            return None
        size = f"{len(value.encode('utf-8')) / 1024:.1f} KB"
        return Markup('<details class="vexy-json"><summary>JSON, {}</summary><pre>{}</pre></details>').format(
            size, pretty
        )
    if table == "models" and column in ("input_modalities", "output_modalities"):
        try:
            items = json.loads(value)
        except ValueError:
            return None
        return ", ".join(str(i) for i in items) if isinstance(items, list) else None
    if table == "models" and column == "sources":
        try:
            sources = json.loads(value)
        except ValueError:
            return None
        if not isinstance(sources, dict):
            return None
        items = Markup("").join(Markup("<li><code>{}</code>: {}</li>").format(k, v) for k, v in sorted(sources.items()))
        return Markup('<ul class="vexy-sources">{}</ul>').format(items)
    if (table, column) in (("providers", "last_status"), ("fetches", "status")):
        return Markup('<span class="vexy-status vexy-status-{}">{}</span>').format(value, escape(value))
    return None


FACT_LABELS = {
    "name": "Name",
    "context_window": "Context window (tokens)",
    "max_output_tokens": "Max output (tokens)",
    "input_price": "Input price (USD / 1M tokens)",
    "output_price": "Output price (USD / 1M tokens)",
    "cache_read_price": "Cache read price (USD / 1M tokens)",
    "input_modalities": "Input modalities",
    "output_modalities": "Output modalities",
    "supports_tools": "Tool calling",
    "supports_vision": "Vision (image input)",
    "supports_reasoning": "Reasoning",
    "model_type": "Type",
    "created": "Created",
    "owned_by": "Owned by",
    "description": "Description",
    "deprecated_at": "Deprecated",
}


def display_fact(column: str, value: Any) -> str:
    if value is None:
        return "unknown"
    if column in ("supports_tools", "supports_vision", "supports_reasoning"):
        return "yes" if value else "no"
    if column in ("input_modalities", "output_modalities"):
        try:
            return ", ".join(json.loads(value))
        except (TypeError, ValueError):
            return str(value)
    if column in ("context_window", "max_output_tokens"):
        return f"{value:,}"
    if column.endswith("_price"):
        return f"{value:g}"
    return str(value)


def css_urls(datasette: Any) -> list[str]:
    return [datasette.urls.static_plugins("vexy", "vexy.css")]


# Datasette 0.65 lists every column's description above a table, pushing the rows off the
# screen: fold the list away, one click to open.
_FOLD_COLUMN_DESCRIPTIONS = """
document.querySelectorAll("dl.column-descriptions").forEach(function (list) {
  var details = document.createElement("details");
  details.className = "vexy-column-descriptions";
  var summary = document.createElement("summary");
  summary.textContent = "What the columns mean";
  list.parentNode.insertBefore(details, list);
  details.appendChild(summary);
  details.appendChild(list);
});
"""


def body_script(view_name: str, database: str | None) -> str:
    if view_name == "table" and database == CATALOG_DB:
        return _FOLD_COLUMN_DESCRIPTIONS
    return ""
