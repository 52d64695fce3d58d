"""How catalog values are drawn: table cells, fact values, the plugin's stylesheet and the
script that folds Datasette's column descriptions away."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup, escape

from vexy_catalog.serve import CATALOG_DB

__all__ = [
    "FACT_LABELS",
    "FLAG_COLUMNS",
    "body_script",
    "css_urls",
    "day",
    "display_fact",
    "json_pretty",
    "mark",
    "price",
    "render_cell",
    "short_text",
    "source_notes",
    "tokens",
]

FLAG_COLUMNS = ("supports_tools", "supports_vision", "supports_reasoning")
# What a flag is called where space is short (table headers, marks, compare rows).
FLAG_NAMES = {"supports_tools": "tools", "supports_vision": "vision", "supports_reasoning": "reasoning"}


def json_pretty(value: str) -> str | None:
    try:
        return json.dumps(json.loads(value), indent=2, ensure_ascii=False)
    except (TypeError, ValueError):
        return None


class Deferred:
    """A cell's HTML, made when a template writes it. Datasette renders every column of a page
    of rows, and the models table shows a dozen of them: the record as indented JSON (pure
    Python, the most expensive cell) is then made only on the row page."""

    __slots__ = ("_html", "_make")

    def __init__(self, make: Any):
        self._make = make
        self._html: Any = None

    def __html__(self) -> str:
        if self._html is None:
            self._html = self._make()
        return self._html

    def __str__(self) -> str:
        return str(self.__html__())

    def __bool__(self) -> bool:
        return True


def _raw_html(value: str, parsed: Any) -> Any:
    size = f"{len(value.encode('utf-8')) / 1024:.1f} KB"
    pretty = json.dumps(parsed, indent=2, ensure_ascii=False)
    return Markup('<details class="vexy-json"><summary>JSON, {}</summary><pre>{}</pre></details>').format(size, pretty)


def source_notes(sources: dict[str, Any]) -> list[tuple[str, str | None, str | None]]:
    """``(fact, source, note)`` per fact of a ``sources`` object, by fact: ``_notes`` (why a fact
    is unknown, or that its value is another host's) joined to the fact it explains."""
    notes = sources.get("_notes")
    notes = notes if isinstance(notes, dict) else {} if notes is None else {"_notes": notes}
    facts = sorted({k for k in sources if k != "_notes"} | set(notes))
    return [
        (
            fact,
            None if sources.get(fact) is None or fact == "_notes" else str(sources[fact]),
            None if notes.get(fact) is None else str(notes[fact]),
        )
        for fact in facts
    ]


def _sources_html(sources: dict[str, Any]) -> Any:
    items = Markup("").join(
        Markup("<li><code>{}</code>: {}{}</li>").format(
            fact,
            source if source is not None else Markup("<em>unknown</em>"),
            Markup(' <span class="vexy-note">({})</span>').format(note) if note else "",
        )
        for fact, source, note in source_notes(sources)
    )
    return Markup('<ul class="vexy-sources">{}</ul>').format(items)


def render_cell(value: Any, column: str, table: str, database: str) -> Any:
    # Called for every cell of a page (2,400 on a models page, most of them not shown): the
    # JSON columns are parsed only when their cell is written.
    if database != CATALOG_DB or not isinstance(value, str):
        return None
    if table == "models":
        if column == "raw":
            return Deferred(lambda: _json_cell(value, _raw_html))
        if column == "sources":
            return Deferred(lambda: _json_cell(value, _sources_cell))
        if column in ("input_modalities", "output_modalities"):
            try:
                items = json.loads(value)
            except ValueError:
                return None
            return ", ".join(str(i) for i in items) if isinstance(items, list) else None
        return None
    if (table, column) in (("providers", "last_status"), ("fetches", "status")):
        return Markup('<span class="vexy-status vexy-status-{}">{}</span>').format(value, escape(value))
    return None


def _json_cell(value: str, draw: Any) -> Any:
    """``draw(value, parsed)``, or the text as Datasette draws text when it is not the JSON
    ``draw`` expects (``draw`` returns None)."""
    try:
        html = draw(value, json.loads(value))
    except ValueError:
        html = None
    return escape(value) if html is None else html


def _sources_cell(value: str, sources: Any) -> Any:
    return _sources_html(sources) if isinstance(sources, dict) else None


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


def tokens(value: Any) -> str:
    """A token count at a glance (131072 -> 128k); empty when unknown."""
    from vexy_catalog.query import format_tokens

    return format_tokens(int(value)) if isinstance(value, (int, float)) and not isinstance(value, bool) else ""


def price(value: Any) -> str:
    """USD per 1M tokens at a glance ($0.59, $2.50, free); empty when unknown."""
    from vexy_catalog.query import format_price

    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return ""
    return "free" if value == 0 else "$" + format_price(float(value))


def day(value: Any) -> str:
    """The date of a stored ISO 8601 time (2026-03-01T12:00:00.000Z -> 2026-03-01)."""
    return value[:10] if isinstance(value, str) else ""


# (column, state) -> its mark: a page of the models table draws hundreds of the same few.
_MARKS: dict[tuple[str, str], Any] = {}


def mark(column: str, value: Any) -> Any:
    """A capability flag as one readable character: yes, no, or unknown (never a guess)."""
    state = "unknown" if value is None else "yes" if value else "no"
    found = _MARKS.get((column, state))
    if found is None:
        name = FLAG_NAMES.get(column, column)
        symbol, word = {"unknown": ("?", "unknown"), "yes": ("\u2713", "yes"), "no": ("\u2715", "no")}[state]
        found = Markup('<abbr class="vexy-mark vexy-{}" title="{}: {}">{}</abbr>').format(state, name, word, symbol)
        if len(_MARKS) < 256:
            _MARKS[(column, state)] = found
    return found


def short_text(value: Any, limit: int = 80) -> str:
    """Text cut to ``limit`` characters on one line; the row page has the whole value."""
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "\u2026"


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
