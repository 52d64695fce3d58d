"""Compare and explore: ``/-/vexy/compare`` (2 to 6 models side by side, with their price
history) and ``/-/vexy/scatter`` (input price against context window for a models-table filter,
each point linking to its model)."""

from __future__ import annotations

import sqlite3
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from markupsafe import Markup

from vexy_catalog.serve import CATALOG_DB

from . import guard, queries
from .charts import COLORS, Line, Panel, Point, scatter, step_chart
from .render import FLAG_COLUMNS, FLAG_NAMES, day, mark, price, tokens
from .web import catalog_db, compare_href, model_href

__all__ = ["MAX_COMPARE", "parse_models", "routes"]

MIN_COMPARE, MAX_COMPARE = 2, 6
# Points on a scatter: Datasette answers at most 1,000 rows a page; five pages are plenty to see
# the shape of a market and still draw quickly.
MAX_POINTS = 5000


def parse_models(values: list[str]) -> tuple[list[tuple[str, str]], list[str]]:
    """``provider/model_id`` values, split at the first slash (model ids have slashes of
    their own: ``openrouter/openai/gpt-4o-mini``); problems, one line each."""
    models: list[tuple[str, str]] = []
    problems: list[str] = []
    for value in values:
        text = value.strip()
        if not text:
            continue
        provider, slash, model_id = text.partition("/")
        if not slash or not provider or not model_id:
            problems.append(f"{value!r} is not provider/model_id (for example groq/llama-3.3-70b-versatile)")
        elif (provider, model_id) not in models:
            models.append((provider, model_id))
    if len(models) > MAX_COMPARE:
        problems.append(f"{len(models)} models given: compare at most {MAX_COMPARE} at a time")
    return models, problems


# The rows of the compare table: (label, how to show a model's value, which value is best).
_ROWS: tuple[tuple[str, str, str | None], ...] = (
    ("context window", "context_window", "max"),
    ("max output", "max_output_tokens", "max"),
    ("input / 1M tokens", "input_price", "min"),
    ("output / 1M tokens", "output_price", "min"),
    ("cache read / 1M tokens", "cache_read_price", "min"),
    *((f"{FLAG_NAMES[f]}", f, None) for f in FLAG_COLUMNS),
    ("type", "model_type", None),
    ("input", "input_modalities", None),
    ("output", "output_modalities", None),
    ("created", "created", None),
    ("first seen", "first_seen", None),
    ("price from", "price_source", None),
)


def _show(column: str, value: Any) -> Any:
    if column in ("context_window", "max_output_tokens"):
        return tokens(value) or "?"
    if column.endswith("_price"):
        return price(value) or "?"
    if column in FLAG_COLUMNS:
        return mark(column, value)
    if column in ("created", "first_seen"):
        return day(value) or "?"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "?" if value is None else value


def _compare(conn: sqlite3.Connection, datasette: Any, models: list[tuple[str, str]]) -> dict[str, Any]:
    import json

    found, missing = [], []
    for index, (provider, model_id) in enumerate(models):
        row = queries.model_row(conn, provider, model_id)
        if row is None:
            missing.append(f"{provider}/{model_id}")
            continue
        for column in ("input_modalities", "output_modalities"):
            if isinstance(row.get(column), str):
                try:
                    row[column] = json.loads(row[column])
                except ValueError:
                    pass
        row["price_source"] = row["sources"].get("input_price")
        row["color"] = COLORS[index % len(COLORS)]
        row["href"] = model_href(datasette, provider, model_id)
        row["key"] = f"{provider}/{model_id}"
        row["history"] = {
            s.fact: s
            for s in queries.history(
                conn, provider, model_id, row["sources"], ["input_price", "output_price", "context_window"]
            )
        }
        found.append(row)
    table = []
    for label, column, best in _ROWS:
        values = [row.get(column) for row in found]
        numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        winner = (min(numbers) if best == "min" else max(numbers)) if best and len(numbers) > 1 else None
        if winner is not None and numbers.count(winner) == len(numbers):
            winner = None  # all the same: nobody is best
        table.append(
            {
                "label": label,
                "cells": [{"value": _show(column, v), "best": winner is not None and v == winner} for v in values],
            }
        )
    return {"found": found, "missing": missing, "table": table}


def _compare_chart(found: list[dict[str, Any]]) -> Markup | None:
    panels = []
    for title, fact, formatter in (
        ("Input price, USD per 1M tokens", "input_price", price),
        ("Output price, USD per 1M tokens", "output_price", price),
        ("Context window, tokens", "context_window", tokens),
    ):
        lines = [
            Line(
                row["provider"] if _unique_providers(found) else row["key"],
                fact,
                row["history"][fact].points,
                row["color"],
            )
            for row in found
            if row["history"][fact].known
        ]
        if lines:
            panels.append(Panel(title, lines, formatter))
    return step_chart(panels) if panels else None


def _unique_providers(found: list[dict[str, Any]]) -> bool:
    providers = [row["provider"] for row in found]
    return len(set(providers)) == len(providers)


async def compare_page(request: Any, datasette: Any) -> Any:
    """``/-/vexy/compare?m=provider/model_id&m=...``: 2 to 6 models side by side."""
    from datasette.utils.asgi import Response

    from .pages import missing_page

    db = catalog_db(datasette)
    if db is None:
        return await missing_page(request, datasette)
    values = request.args.getlist("m")
    models, problems = parse_models(values)
    status = 400 if problems else 200
    data: dict[str, Any] = {"found": [], "missing": [], "table": []}
    if not problems and models:
        data = await guard.run(datasette, db, lambda conn: _compare(conn, datasette, models))
        if data["missing"]:
            status = 404
            problems = [f"{key} is not in the catalog" for key in data["missing"]]
    if not problems and 0 < len(models) < MIN_COMPARE:
        problems, status = [f"one model given: compare {MIN_COMPARE} to {MAX_COMPARE}"], 400
    found = data["found"]
    html = await datasette.render_template(
        "vexy_compare.html",
        {
            "problems": problems,
            "models": found,
            "table": data["table"],
            "chart": _compare_chart(found) if len(found) >= MIN_COMPARE else None,
            "inputs": [f"{p}/{m}" for p, m in models] + [""] * max(0, min(MAX_COMPARE - len(models), 2)),
            "remove_hrefs": {
                row["key"]: compare_href(datasette, [(r["provider"], r["model_id"]) for r in found if r is not row])
                for row in found
            },
            "max_models": MAX_COMPARE,
            "models_href": datasette.urls.table(CATALOG_DB, "models"),
        },
        request=request,
    )
    return Response.html(html, status=status)


# --- the scatter -----------------------------------------------------------------------------

# Parameters of the models table that do not select rows (paging, columns, facets, sorting).
_NOT_FILTERS = ("_col", "_nocol", "_next", "_size", "_facet", "_facet_size", "_sort", "_sort_desc", "_shape", "_labels")
_SCATTER_COLUMNS = ("provider", "model_id", "name", "input_price", "context_window")


async def _points(datasette: Any, pairs: list[tuple[str, str]]) -> tuple[list[dict[str, Any]], int | None, str | None]:
    """The models of the table filter ``pairs`` that have both values, through Datasette's own
    JSON API (so the filter means exactly what it means on the table page)."""
    query = [(k, v) for k, v in pairs if k not in _NOT_FILTERS]
    query += [("input_price__notnull", "1"), ("context_window__notnull", "1"), ("_shape", "objects")]
    # No sort: key order is the one Datasette pages without repeating or skipping a model.
    query += [("_col", c) for c in _SCATTER_COLUMNS] + [("_size", "max"), ("_nofacet", "1")]
    path = datasette.urls.table(CATALOG_DB, "models") + ".json?" + urlencode(query)
    rows: list[dict[str, Any]] = []
    total = None
    while path and len(rows) < MAX_POINTS:
        response = await datasette.client.get(path)
        data = response.json() if response.headers.get("content-type", "").startswith("application/json") else {}
        if response.status_code != 200:
            return [], None, str(data.get("error") or f"HTTP {response.status_code}")
        rows += data.get("rows", [])
        total = data.get("filtered_table_rows_count", total)
        next_url = urlsplit(data.get("next_url") or "")
        path = f"{next_url.path}?{next_url.query}" if next_url.path else None
    return rows[:MAX_POINTS], total, None


async def scatter_page(request: Any, datasette: Any) -> Any:
    """``/-/vexy/scatter?<models table filters>``: input price against context window."""
    from datasette.utils.asgi import Response

    from .pages import missing_page

    if catalog_db(datasette) is None:
        return await missing_page(request, datasette)
    pairs = parse_qsl(request.query_string, keep_blank_values=True)
    rows, total, error = await _points(datasette, pairs)
    providers = {row["provider"] for row in rows}
    points = [
        Point(
            float(row["context_window"]),
            float(row["input_price"]),
            f"{row['provider']} {row['model_id']}",
            model_href(datasette, row["provider"], row["model_id"]),
            row["provider"] if len(providers) <= len(COLORS) else "",
        )
        for row in rows
        if isinstance(row.get("context_window"), (int, float)) and isinstance(row.get("input_price"), (int, float))
    ]
    filters = [(k, v) for k, v in pairs if k not in _NOT_FILTERS]
    table_href = datasette.urls.table(CATALOG_DB, "models") + ("?" + urlencode(filters) if filters else "")
    chart = scatter(
        points, "context window, tokens (log scale)", "input USD / 1M (log scale)", _tick_tokens, _tick_price
    )
    html = await datasette.render_template(
        "vexy_scatter.html",
        {
            "error": error,
            "chart": chart if points else None,
            "count": len(points),
            "total": total,
            "capped": len(rows) >= MAX_POINTS,
            "filters": [f"{k}={v}" for k, v in filters],
            "table_href": table_href,
            "cheapest": sorted(points, key=lambda p: (p.y, -p.x))[:10],
        },
        request=request,
    )
    return Response.html(html, status=400 if error else 200)


def _tick_tokens(value: float) -> str:
    for size, unit in ((1_000_000, "M"), (1000, "k")):
        if value >= size:
            return f"{value / size:g}{unit}"
    return f"{value:g}"


def _tick_price(value: float) -> str:
    return "free" if value == 0 else f"${value:g}"


def routes() -> list[tuple[str, Any]]:
    return [
        (r"^/-/vexy/compare$", compare_page),
        (r"^/-/vexy/scatter$", scatter_page),
    ]
