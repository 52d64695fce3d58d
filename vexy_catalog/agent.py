"""What vexy's MCP tools answer: plain functions over an open catalog.

Each function takes a :class:`sqlite_utils.Database` and returns JSON-ready data for an agent:
models as compact dicts with only the facts the catalog knows (a missing key means unknown),
prices in USD per 1M tokens, times in ISO 8601 UTC. Bad input raises :class:`AgentError` with a
message that says what to send instead. The MCP layer (``datasette_plugins/mcp_tools.py``)
only wraps these.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from .query import MODEL_COLUMNS, MODEL_TYPES, SORTS, ModelFilter, count_models, get_model, query_models

__all__ = [
    "AgentError",
    "changes_since",
    "cheapest",
    "compare_models",
    "price_history",
    "search_models",
]

MAX_RESULTS = 500
# Facts of a model an agent gets, in the catalog's column order: all but free text and
# bookkeeping (description, created, owned_by, sources, updated_at).
FIELDS = tuple(c for c in MODEL_COLUMNS if c not in ("description", "created", "owned_by", "sources", "updated_at"))
HISTORY_FIELDS = ("input_price", "output_price", "cache_read_price", "context_window", "max_output_tokens")


class AgentError(ValueError):
    """A tool call that cannot be answered as asked; the message says what to send."""


def compact(row: dict[str, Any], sources: bool = False) -> dict[str, Any]:
    out = {k: row[k] for k in FIELDS if row.get(k) is not None}
    if sources and row.get("sources"):
        out["sources"] = row["sources"]
    return out


def _known_providers(db: Any) -> set[str]:
    return {r[0] for r in db.execute("select name from providers union select provider from models")}


def _check(db: Any, providers: list[str]) -> None:
    unknown = sorted(set(providers) - _known_providers(db))
    if unknown:
        known = ", ".join(sorted(_known_providers(db))) or "none yet"
        raise AgentError(f"Unknown provider {', '.join(map(repr, unknown))}: the catalog has {known}")


def _limit(limit: int) -> int:
    if not 1 <= limit <= MAX_RESULTS:
        raise AgentError(f"limit must be from 1 to {MAX_RESULTS}")
    return limit


def make_filter(
    db: Any,
    query: str | None = None,
    providers: list[str] | None = None,
    min_context: int | None = None,
    max_input_price: float | None = None,
    tools: bool = False,
    vision: bool = False,
    reasoning: bool = False,
    model_type: str | None = None,
    include_removed: bool = False,
) -> ModelFilter:
    providers = list(providers or [])
    _check(db, providers)
    if model_type is not None and model_type not in MODEL_TYPES:
        raise AgentError(f"type must be one of {', '.join(MODEL_TYPES)}")
    if min_context is not None and min_context < 0:
        raise AgentError("min_context is a number of tokens, 0 or more")
    if max_input_price is not None and max_input_price < 0:
        raise AgentError("max_input_price is USD per 1M input tokens, 0 or more")
    return ModelFilter(
        query=query or None,
        providers=providers,
        min_context=min_context,
        max_input_price=max_input_price,
        tools=tools,
        vision=vision,
        reasoning=reasoning,
        model_type=model_type,
        include_removed=include_removed,
    )


def _moment(value: str, what: str) -> str:
    from .history import parse_since

    try:
        moment = parse_since(value)
    except ValueError as e:
        raise AgentError(f"{what}: {e}") from None
    assert moment is not None
    return moment


def search_models(
    db: Any, model_filter: ModelFilter, sort: str = "name", limit: int = 50, as_of: str | None = None
) -> dict[str, Any]:
    """The models ``vexy models`` lists for these filters: ``{count, models}``."""
    if sort not in SORTS:
        raise AgentError(f"sort must be one of {', '.join(SORTS)}")
    limit = _limit(limit)
    if as_of:
        from .history import models_as_of

        moment = _moment(as_of, "as_of")
        rows = models_as_of(db, moment, model_filter, sort=sort)
        return {"as_of": moment, "count": len(rows), "models": [compact(r) for r in rows[:limit]]}
    rows = query_models(db, model_filter, sort=sort, limit=limit)
    return {"count": count_models(db, model_filter), "models": [compact(r) for r in rows]}


def split_ref(ref: str) -> tuple[str, str]:
    """``provider/model_id``, split at the first slash (``openrouter/openai/gpt-4o``)."""
    provider, sep, model_id = ref.partition("/")
    if not sep or not provider or not model_id:
        raise AgentError(f"{ref!r} is not provider/model_id (for example groq/llama-3.3-70b-versatile)")
    return provider, model_id


def compare_models(db: Any, refs: list[str]) -> dict[str, Any]:
    """The facts of 2 to 10 models side by side (``provider/model_id`` each), with each fact's
    source; ``missing`` lists the ones the catalog does not have."""
    if not 1 <= len(refs) <= 10:
        raise AgentError("compare 1 to 10 models, each as provider/model_id")
    found, missing = [], []
    for ref in refs:
        row = get_model(db, *split_ref(ref))
        if row is not None:
            found.append(compact(row, sources=True))
        else:
            missing.append(ref)
    return {"models": found, "missing": missing}


def price_history(db: Any, provider: str, model_id: str) -> dict[str, Any]:
    """How a model's prices and limits changed: one entry per logged change, oldest first,
    each with the provider's own facts after it."""
    _check(db, [provider])
    row = get_model(db, provider, model_id)
    if row is None:
        raise AgentError(f"{provider} has no model {model_id!r} (search_models finds ids)")
    history = []
    for change, fields, facts, at in db.execute(
        "select change, fields, facts, at from model_changes where provider = ? and model_id = ? order by at, id",
        [provider, model_id],
    ).fetchall():
        facts = json.loads(facts or "{}")
        entry: dict[str, Any] = {"at": at, "change": change}
        entry.update({f: facts[f] for f in HISTORY_FIELDS if facts.get(f) is not None})
        changed = [f for f in json.loads(fields or "{}") if f in HISTORY_FIELDS]
        if changed:
            entry["changed"] = changed
        history.append(entry)
    return {"provider": provider, "model_id": model_id, "current": compact(row, sources=True), "history": history}


def changes_since(db: Any, since: str, providers: list[str] | None = None, limit: int = 200) -> dict[str, Any]:
    """Models added, removed, returned or changed since ``since`` (a date or an age: 7d),
    newest first, each with a one-line summary."""
    from .history import describe_change, list_changes

    providers = list(providers or [])
    _check(db, providers)
    moment = _moment(since, "since")
    rows = list_changes(db, moment, providers, _limit(limit))
    changes = []
    for row in rows:
        entry = {"at": row["at"], "provider": row["provider"], "model_id": row["model_id"], "change": row["change"]}
        if row["fields"]:
            entry["fields"] = row["fields"]
        entry["summary"] = describe_change(row)
        changes.append(entry)
    return {"since": moment, "changes": changes}


def cheapest(db: Any, model_filter: ModelFilter, limit: int = 10) -> dict[str, Any]:
    """The models with the lowest known input price that meet the filter (ties: output price,
    then larger context). Models whose input price is unknown are not ranked."""
    limit = _limit(limit)
    where, params = model_filter.where()
    rows = query_models(db, _priced(model_filter), sort="cheapest", limit=limit)
    unpriced = db.execute(f"select count(*) from models where {where} and input_price is null", params).fetchone()[0]
    return {"models": [compact(r) for r in rows], "unpriced_matches": unpriced}


def _priced(model_filter: ModelFilter) -> ModelFilter:
    # A price of at most infinity is any known price: unknown ones never pass a criterion.
    if model_filter.max_input_price is not None:
        return model_filter
    return replace(model_filter, max_input_price=float("inf"))
