"""LiteLLM's cost map (``model_prices_and_context_window.json``), for ``LITELLM_MODEL_COST_MAP_URL``.

LiteLLM replaces its whole bundled map with the one at that URL, but refuses a map of fewer than
50 models or under half its bundled count (then it logs a warning and keeps its own). So the map
served is LiteLLM's own, as the catalog stores it (the ``litellm`` provider's answer, as of
``as_of`` when given), with an entry per selected model merged on top: our facts replace
LiteLLM's, keys we do not know keep LiteLLM's value for that same key.

Keys follow LiteLLM's convention, so ``completion_cost(model=...)`` finds them:
``<litellm provider>/<model id>`` for a provider LiteLLM has a route for (``groq/...``,
``together_ai/...``; the openai and anthropic providers' models are bare ids, as LiteLLM keys
them), else ``<provider>/<model id>`` with ``litellm_provider: openai`` (LiteLLM's route for any
OpenAI-compatible API; a provider id LiteLLM does not know fails its cost lookup).

Units: USD per token (the catalog stores USD per 1M tokens). Unknown prices and flags are left
out: LiteLLM then prices the model at $0 (it has no "unknown" besides a missing entry), and a
reader of the map can tell. Modes: chat (and unknown type), completion, embedding,
image_generation, rerank, moderation; audio models are left out (transcription or speech
cannot be told apart).
"""

from __future__ import annotations

import json
from typing import Any

from . import litellm
from .common import ExportData, Provider, day, known, per_token
from .merge import dump_json

FILENAME = "model_prices_and_context_window.json"
MEDIA_TYPE = "application/json"
REFERENCE = "litellm"
# LiteLLM's own thresholds (litellm/constants.py): a fetched map smaller than this is refused.
MIN_MODELS = 50
MODES = {**litellm.MODES, "rerank": "rerank", "moderation": "moderation"}
PRICES = {
    "input_price": "input_cost_per_token",
    "output_price": "output_cost_per_token",
    "cache_read_price": "cache_read_input_token_cost",
}
FLAGS = {
    "supports_tools": "supports_function_calling",
    "supports_vision": "supports_vision",
    "supports_reasoning": "supports_reasoning",
}
# Keys of LiteLLM's map that are not models.
NOT_MODELS = ("sample_spec", "fallback_generalizations")


def base_map(db: Any, as_of: str | None = None) -> dict[str, Any] | None:
    """LiteLLM's own map as the catalog stores it: the ``litellm`` provider's current answer,
    or its latest good answer at ``as_of``; None when the catalog has none."""
    if as_of is None:
        row = db.execute(
            "select p.body from providers v join payloads p on p.hash = v.payload_hash where v.name = ?",
            [REFERENCE],
        ).fetchone()
    else:
        row = db.execute(
            "select p.body from fetches f join payloads p on p.hash = f.payload_hash "
            "where f.provider = ? and f.status in ('ok', 'unchanged') and f.finished_at <= ? "
            "order by f.finished_at desc, f.id desc limit 1",
            [REFERENCE, as_of],
        ).fetchone()
    if row is None:
        return None
    body = json.loads(row[0])
    return body if isinstance(body, dict) else None


def route(provider: Provider) -> str | None:
    """LiteLLM's provider id for ``provider``, when it has one."""
    from ..facts import LITELLM_PROVIDERS

    return LITELLM_PROVIDERS.get(provider.name)


def key_of(provider: Provider, model_id: str) -> tuple[str, str]:
    """(map key, litellm_provider) of a model."""
    litellm_provider = route(provider)
    if litellm_provider is None:
        return f"{provider.name}/{model_id}", "anthropic" if provider.kind == "anthropic" else "openai"
    if litellm_provider in ("openai", "anthropic") and provider.name == litellm_provider:
        return model_id, litellm_provider  # LiteLLM keys first-party OpenAI/Anthropic ids bare
    return f"{litellm_provider}/{model_id}", litellm_provider


def entry(row: dict[str, Any], litellm_provider: str) -> dict[str, Any]:
    mode = MODES[row["model_type"]]
    out: dict[str, Any] = {"litellm_provider": litellm_provider, "mode": mode}
    if row["context_window"] is not None:
        out["max_input_tokens"] = int(row["context_window"])
    if row["max_output_tokens"] is not None:
        out["max_output_tokens"] = out["max_tokens"] = int(row["max_output_tokens"])
    out.update(known(row, PRICES, per_token))
    if mode == "chat":
        out.update(known(row, FLAGS, bool))
    deprecated = day(row.get("deprecated_at"))
    if deprecated:
        out["deprecation_date"] = deprecated
    return out


def entries(data: ExportData) -> dict[str, dict[str, Any]]:
    """Our entries by key (the first provider to claim a key keeps it)."""
    out: dict[str, dict[str, Any]] = {}
    for provider, rows in data.by_provider():
        for row in rows:
            if row["model_type"] not in MODES:
                continue
            key, litellm_provider = key_of(provider, row["model_id"])
            out.setdefault(key, entry(row, litellm_provider))
    return out


def build(data: ExportData, base: dict[str, Any] | None) -> dict[str, Any]:
    """LiteLLM's map ``base`` with our entries merged on top (ours alone when there is none)."""
    merged: dict[str, Any] = dict(base or {})
    for key, ours in entries(data).items():
        theirs = merged.get(key)
        merged[key] = {**theirs, **ours} if isinstance(theirs, dict) else ours
    return merged


def render(data: ExportData, base: dict[str, Any] | None) -> str:
    return dump_json(build(data, base))


def adds_nothing(data: ExportData, base: dict[str, Any] | None) -> bool:
    """Whether :func:`render` of ``data`` is the text it is for no model: LiteLLM's own map (most
    of the file) with none of our entries changing a byte of it. Compared entry by entry, where
    rendering the whole map twice took most of a one-provider feed's time."""
    ours = entries(data)
    if base is None:
        return not ours
    for key, entry in ours.items():
        if key not in base:
            return False
        theirs = base[key]
        merged = {**theirs, **entry} if isinstance(theirs, dict) else entry
        if dump_json(merged) != dump_json(theirs):
            return False
    return True


def model_count(cost_map: dict[str, Any]) -> int:
    return sum(1 for k in cost_map if k not in NOT_MODELS)


def hint(data: ExportData, base: dict[str, Any] | None) -> str:
    ours = entries(data)
    lines = [f"{len(ours)} catalog models merged into LiteLLM's map; USD per token; unknown prices left out ($0)."]
    if base is None:
        lines.append(
            "The catalog holds no LiteLLM map (run 'vexy fetch litellm'): LiteLLM refuses a map of fewer than "
            f"{MIN_MODELS} models or under half its bundled count, and keeps its own. To take this one anyway, "
            "set MODEL_COST_MAP_MIN_MODEL_COUNT=1 and MODEL_COST_MAP_MAX_SHRINK_RATIO=0."
        )
    return "\n".join(lines)
