"""The facts every model row carries, their kinds, and the names shared by every step.

A *fact* is one of ``FACT_FIELDS``; its unit is fixed here once for the whole package:
tokens for limits, USD per 1M tokens for prices, ISO 8601 UTC for times, booleans for flags,
lists drawn from ``MODALITIES`` for modalities, one of ``MODEL_TYPES`` for the type.
"""

from __future__ import annotations

__all__ = [
    "ENRICHABLE_FIELDS",
    "FACT_FIELDS",
    "FLAG_FIELDS",
    "LIMIT_FIELDS",
    "LIST_FIELDS",
    "MODALITIES",
    "MODEL_TYPES",
    "PRICE_FIELDS",
    "Facts",
]

FACT_FIELDS: tuple[str, ...] = (
    "name",
    "context_window",
    "max_output_tokens",
    "input_price",
    "output_price",
    "cache_read_price",
    "input_modalities",
    "output_modalities",
    "supports_tools",
    "supports_vision",
    "supports_reasoning",
    "model_type",
    "created",
    "owned_by",
    "description",
    "deprecated_at",
)

LIMIT_FIELDS: tuple[str, ...] = ("context_window", "max_output_tokens")
PRICE_FIELDS: tuple[str, ...] = ("input_price", "output_price", "cache_read_price")
FLAG_FIELDS: tuple[str, ...] = ("supports_tools", "supports_vision", "supports_reasoning")
LIST_FIELDS: tuple[str, ...] = ("input_modalities", "output_modalities")

# Facts that describe the model (and so may come from a reference catalog). ``name`` is the
# provider's label for its listing, ``created``/``owned_by`` describe the listing: never enriched.
ENRICHABLE_FIELDS: tuple[str, ...] = tuple(f for f in FACT_FIELDS if f not in ("name", "created", "owned_by"))

MODEL_TYPES: tuple[str, ...] = ("chat", "completion", "embedding", "image", "audio", "rerank", "moderation")

MODALITIES: tuple[str, ...] = ("text", "image", "audio", "video", "file")

Facts = dict[str, object]
