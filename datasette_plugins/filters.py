"""Query parameters -> a model filter: the filters of ``vexy models`` as URL parameters.

Shared by every route that selects models (config downloads, feeds), and by the table action
that carries a models table's filters over to them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from typing import Any

__all__ = [
    "FILTER_PARAMS",
    "BadParameters",
    "config_params_from_table",
    "describe_filter",
    "filter_pairs",
    "parse_model_filter",
    "parse_selection",
]

# The query parameters of /-/vexy/config/<tool>: the filters of `vexy models`.
FILTER_PARAMS = (
    "provider",
    "q",
    "min_context",
    "max_input_price",
    "tools",
    "vision",
    "reasoning",
    "type",
    "include_removed",
)
_TRUE = ("1", "true", "yes", "on")
# SQLite's largest integer: a larger number in a parameter is refused, not sent to SQLite.
MAX_INTEGER = 2**63 - 1
_FALSE = ("", "0", "false", "no", "off")


class BadParameters(ValueError):
    """Query parameters that do not make a model filter; ``problems`` has one line each."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


def _flag(name: str, value: str, problems: list[str]) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v not in _FALSE:
        problems.append(f"{name} must be 1 or 0 (true/false), got {value!r}")
    return False


def parse_model_filter(pairs: Iterable[tuple[str, str]], known_providers: Iterable[str] | None = None) -> Any:
    """A :class:`~vexy_catalog.query.ModelFilter` from query pairs; :class:`BadParameters` otherwise.

    Parameters are those of ``vexy models``: ``provider`` (repeatable), ``q``, ``min_context``,
    ``max_input_price``, ``tools``, ``vision``, ``reasoning``, ``type``, ``include_removed``.
    """
    from vexy_catalog.query import MODEL_TYPES, ModelFilter, parse_tokens

    problems: list[str] = []
    model_filter = ModelFilter()
    seen: set[str] = set()
    known = set(known_providers) if known_providers is not None else None
    for name, value in pairs:
        if name not in FILTER_PARAMS:
            problems.append(f"unknown parameter {name!r} (use {', '.join((*FILTER_PARAMS, 'as_of'))})")
            continue
        if name != "provider" and name in seen:
            problems.append(f"{name} is given more than once")
            continue
        seen.add(name)
        if name == "provider":
            if not value:
                continue
            if known is not None and value not in known:
                hint = ", ".join(sorted(known)) or "none yet - run 'vexy fetch'"
                problems.append(f"unknown provider {value!r} (the catalog has: {hint})")
            elif value not in model_filter.providers:
                model_filter.providers.append(value)
        elif name == "q":
            model_filter.query = value or None
        elif name == "min_context":
            if value.strip():
                try:
                    model_filter.min_context = parse_tokens(value)  # 128000, 128k, 1m
                except ValueError:
                    problems.append(
                        f"min_context must be a number of tokens (0 or more, such as 128000 or 128k), got {value!r}"
                    )
        elif name == "max_input_price":
            if value.strip():
                try:
                    price = float(value)
                    if not math.isfinite(price) or price < 0:
                        raise ValueError
                    model_filter.max_input_price = price
                except ValueError:
                    problems.append(
                        f"max_input_price must be a number of USD per 1M input tokens (0 or more), got {value!r}"
                    )
        elif name == "type":
            if value:
                if value not in MODEL_TYPES:
                    problems.append(f"type must be one of {', '.join(MODEL_TYPES)}, got {value!r}")
                else:
                    model_filter.model_type = value
        elif name == "include_removed":
            model_filter.include_removed = _flag(name, value, problems)
        else:  # tools, vision, reasoning
            setattr(model_filter, name, _flag(name, value, problems))
    if problems:
        raise BadParameters(problems)
    return model_filter


def parse_selection(
    pairs: Iterable[tuple[str, str]], known_providers: Iterable[str] | None = None
) -> tuple[Any, str | None]:
    """``(model filter, as_of)`` from query pairs: the filters of :func:`parse_model_filter`
    plus ``as_of`` (a date or an age, as ``vexy models --as-of``), as an ISO 8601 UTC moment."""
    from vexy_catalog.history import parse_since

    pairs = list(pairs)
    problems: list[str] = []
    moments = [v for k, v in pairs if k == "as_of"]
    as_of = None
    if len(moments) > 1:
        problems.append("as_of is given more than once")
    elif moments and moments[0].strip():
        try:
            as_of = parse_since(moments[0])
        except ValueError as e:
            problems.append(f"as_of: {e}")
    try:
        model_filter = parse_model_filter([(k, v) for k, v in pairs if k != "as_of"], known_providers)
    except BadParameters as e:
        problems = [*e.problems, *problems]
    if problems:
        raise BadParameters(problems)
    return model_filter, as_of


def filter_pairs(model_filter: Any) -> list[tuple[str, str]]:
    """The query pairs of a model filter (the inverse of :func:`parse_model_filter`)."""
    pairs: list[tuple[str, str]] = [("provider", p) for p in model_filter.providers]
    if model_filter.query:
        pairs.append(("q", model_filter.query))
    if model_filter.min_context is not None:
        pairs.append(("min_context", str(model_filter.min_context)))
    if model_filter.max_input_price is not None:
        pairs.append(("max_input_price", f"{model_filter.max_input_price:g}"))
    for flag in ("tools", "vision", "reasoning"):
        if getattr(model_filter, flag):
            pairs.append((flag, "1"))
    if model_filter.model_type:
        pairs.append(("type", model_filter.model_type))
    if model_filter.include_removed:
        pairs.append(("include_removed", "1"))
    return pairs


def describe_filter(model_filter: Any) -> list[str]:
    words = []
    if model_filter.providers:
        words.append("provider " + " or ".join(model_filter.providers))
    if model_filter.query:
        words.append(f"id or name contains {model_filter.query!r}")
    if model_filter.min_context is not None:
        words.append(f"at least {model_filter.min_context:,} tokens of context")
    if model_filter.max_input_price is not None:
        words.append(f"at most ${model_filter.max_input_price:g} per 1M input tokens")
    for flag, label in (("tools", "tool calling"), ("vision", "vision"), ("reasoning", "reasoning")):
        if getattr(model_filter, flag):
            words.append(f"known to support {label}")
    if model_filter.model_type:
        words.append(f"type {model_filter.model_type}")
    words.append("removed models included" if model_filter.include_removed else "listed models only")
    return words


def _split_in(value: str) -> list[str]:
    # Datasette's __in takes a comma-separated list or a JSON array.
    if value.startswith("["):
        try:
            items = json.loads(value)
            if isinstance(items, list):
                return [str(i) for i in items]
        except ValueError:
            pass
    return [v for v in value.split(",") if v]


_MODEL_FLAGS = {"supports_tools": "tools", "supports_vision": "vision", "supports_reasoning": "reasoning"}


def config_params_from_table(table: str, pairs: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], list[str]]:
    """Translate a table page's filters (models or providers) into /-/vexy/config parameters.

    Returns ``(params, dropped)``: ``dropped`` lists the filters a config cannot carry, as
    ``column__op=value``. Datasette's own ``_`` parameters (sort, page size, facets) are not
    filters and are ignored, except ``_search``, which becomes ``q``.
    """
    params: list[tuple[str, str]] = []
    dropped: list[str] = []
    for key, value in pairs:
        column, _, op = key.partition("__")
        op = op or "exact"
        if key.startswith("_"):
            if key == "_search" and table == "models" and value:
                params.append(("q", value))
            elif key == "_where" or key.startswith("_search"):
                dropped.append(f"{key}={value}")
            continue
        if table == "models":
            if column == "provider" and op in ("exact", "in"):
                params += [("provider", v) for v in (_split_in(value) if op == "in" else [value])]
                continue
            if column in _MODEL_FLAGS and op == "exact" and value == "1":
                params.append((_MODEL_FLAGS[column], "1"))
                continue
            if column == "model_type" and op == "exact":
                params.append(("type", value))
                continue
            if column == "context_window" and op in ("gte", "gt") and value.strip().lstrip("-").isdigit():
                params.append(("min_context", str(int(value) + (op == "gt"))))
                continue
            if column == "input_price" and op == "lte":
                params.append(("max_input_price", value))
                continue
            if column == "removed_at" and op == "isnull" and value == "1":
                continue  # a config leaves removed models out anyway
        elif table == "providers" and column == "name" and op in ("exact", "in"):
            params += [("provider", v) for v in (_split_in(value) if op == "in" else [value])]
            continue
        dropped.append(f"{key}={value}")
    return params, dropped
