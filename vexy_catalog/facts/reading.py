"""Reading one raw model record by meaning: every fact wherever the provider states it.

The record is walked once into leaves (``path -> value``): nested objects are followed
(``limits``, ``specs``, ``config``, ``model_spec``...), name/value property lists
(``[{"property_id": "context_window", "value": "8192"}]``) become objects, and lists of price
entries (``[{"unit": "per M input tokens", "price": 0.28, "currency": "USD"}]``) become prices.
Keys are compared as words, so ``maxInputTokens``, ``max_input_tokens`` and ``max-input-tokens``
are one name. Each leaf is then offered to the facts, each with its own synonyms and parser:

- ``context_window``: ``CONTEXT_KEYS`` (``context_length``, ``context_window``,
  ``max_model_len``, ``max_input_tokens``, ``inputTokenLimit``, ``availableContextTokens``...), or
  ``context`` / ``input`` under a ``limit(s)`` object, or any key whose words name a context
  (``context``, ``ctx``) and nothing else (no price, rate or default);
- ``max_output_tokens``: ``OUTPUT_KEYS`` (``max_completion_tokens``, ``max_output_tokens``,
  ``outputTokenLimit``, ``max_new_tokens``, ``max_tokens``...), ``output`` under ``limit(s)``, or a
  key naming output/completion/generation together with tokens/length/limit;
- prices: any leaf under ``pricing`` / ``price`` / ``cost`` or whose key names a price or cost,
  with its direction from its words (input/prompt/in, output/completion/out, cache/cached + read
  or hit); units are decided in :mod:`.units` (never per-image/request/second/hour prices);
- ``supports_tools`` / ``supports_vision`` / ``supports_reasoning``: booleans whose key names
  tools or functions / vision or image input / reasoning or thinking (``supportsFunctionCalling``,
  ``capabilities.vision``, ``tool_call``), the strings ``"true"``/``"false"`` too; and feature
  lists (``features``, ``capabilities``, ``tags``, ``supported_features``, ``abilities``): a
  listed term is True; a list that names some capability but not this one leaves the flag
  unknown but *stated*, so no reference fills it. ``supported_parameters`` is a list of request
  parameters: without ``tools`` a non-empty one says False;
- modalities: lists (or ``"text+image->text"`` strings) under keys naming modalities with a
  direction; ``model_type`` from ``type``/``model_type``/``task``/``mode``/``kind`` values
  (``TYPE_WORDS``; an ambiguous one such as ``language`` is stated but unknown);
- ``name``, ``description``, ``owned_by``, ``created``, ``deprecated_at`` by their synonyms.

A fact stated twice is taken from the earliest synonym in its table, then the shallowest key.
A leaf whose words look like a fact (context, tokens, limit, price, cost, pricing, tool,
function, vision, feature, capabilit..., modal..., reasoning, deprecat...) that no parser could
read is *unread*: reported by ``vexy doctor`` with an example value, and the facts it may speak
to stay unknown rather than being filled by a reference. What happens to a leaf depends only on its
key path, the JSON type of its value and a unit stated beside it (``plan``, cached), so an
answer of thousands of records in a few shapes is planned a few times, not per record.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from . import values
from .schema import FACT_FIELDS, FLAG_FIELDS, LIMIT_FIELDS, LIST_FIELDS, PRICE_FIELDS, Facts
from .units import (
    NOT_TOKEN_WORDS,
    PriceClaim,
    Unit,
    key_words,
    price_direction,
    unit_from_text,
    unit_from_words,
)

__all__ = [
    "CONTEXT_KEYS",
    "OUTPUT_KEYS",
    "Reading",
    "TYPE_WORDS",
    "Unread",
    "canonical_order",
    "leaves",
    "read_generic",
]

MAX_DEPTH = 6

# ----------------------------------------------------------------------------- synonym tables
# Keys are compared as their words joined by "_": inputTokenLimit -> input_token_limit.

CONTEXT_KEYS: tuple[str, ...] = (
    "context_length",
    "context_window",
    "max_context_length",
    "context_size",
    "max_model_len",
    "max_input_tokens",
    "input_token_limit",
    "max_context_tokens",
    "max_context_window",
    "context_window_tokens",
    "available_context_tokens",
    "max_context",
    "context_tokens",
    "max_sequence_length",
    "max_seq_len",
    "max_total_tokens",
    "max_prompt_tokens",
    "max_prompt_length",
    "max_input_length",
    "context_limit",
    "token_limit",
    "n_ctx",
    "num_ctx",
    "context",
)
OUTPUT_KEYS: tuple[str, ...] = (
    "max_completion_tokens",
    "max_output_tokens",
    "output_token_limit",
    "max_output_length",
    "max_new_tokens",
    "max_generation_tokens",
    "max_response_tokens",
    "completion_token_limit",
    "output_tokens_limit",
    "max_output",
    "output_limit",
    "max_tokens",
)
# Under a limits object: {"limit": {"context": ..., "output": ...}} (models.dev), GitHub's limits.
LIMIT_PARENTS = frozenset({"limit", "limits", "token_limits", "token_limit", "max_tokens_limits"})
LIMIT_CHILD_CONTEXT = ("context", "context_window", "max_context", "input", "max_input", "prompt")
LIMIT_CHILD_OUTPUT = ("output", "max_output", "completion", "max_completion", "response")

NAME_KEYS = ("name", "display_name", "title", "model_name", "label")
DESCRIPTION_KEYS = ("description", "summary", "tagline", "desc", "short_description")
OWNER_KEYS = ("owned_by", "owner", "organization", "publisher", "author", "vendor", "developer", "creator")
CREATED_KEYS = ("created", "created_at", "creation_date", "released", "release_date", "published_at")
DEPRECATED_KEYS = (
    "deprecation_date",
    "deprecated_at",
    "deprecation",
    "deprecated_on",
    "sunset_date",
    "sunset_at",
    "retirement_date",
    "retires_at",
    "shutdown_date",
    "end_of_life",
    "eol_date",
    "expiration_date",
    "expires_at",
)
TYPE_KEYS = ("model_type", "type", "task", "mode", "kind", "model_kind", "category")
FEATURE_KEYS = frozenset(
    {
        "features",
        "capabilities",
        "tags",
        "supported_features",
        "abilities",
        "capability",
        "feature_flags",
        "supported_capabilities",
        "supported_generation_methods",
        "supported_endpoints",
        "endpoints",
        "traits",
    }
)
PARAMETER_LIST_KEYS = frozenset({"supported_parameters", "supported_params"})

TYPE_WORDS: dict[str, str | None] = {
    "chat": "chat",
    "chat_completion": "chat",
    "chat_completions": "chat",
    "chatcompletion": "chat",
    "text_generation": "chat",
    "conversational": "chat",
    "vlm": "chat",
    "instruct": "chat",
    "completion": "completion",
    "completions": "completion",
    "text_completion": "completion",
    "base": "completion",
    "pretrained": "completion",
    "embedding": "embedding",
    "embeddings": "embedding",
    "text_embedding": "embedding",
    "feature_extraction": "embedding",
    "embed": "embedding",
    "image": "image",
    "images": "image",
    "image_generation": "image",
    "text_to_image": "image",
    "text2image": "image",
    "image_to_image": "image",
    "audio": "audio",
    "tts": "audio",
    "text_to_speech": "audio",
    "speech": "audio",
    "stt": "audio",
    "transcription": "audio",
    "transcribe": "audio",
    "speech_to_text": "audio",
    "automatic_speech_recognition": "audio",
    "audio_transcription": "audio",
    "audio_speech": "audio",
    "rerank": "rerank",
    "reranker": "rerank",
    "reranking": "rerank",
    "text_ranking": "rerank",
    "moderation": "moderation",
    "moderations": "moderation",
    # Said, but not which: "language" is a base model at Together and a chat model at Vercel.
    "language": None,
    "llm": None,
    "text": None,
    "code": None,
    "video": None,
    "model": None,
}
# Values of a "type"-like key that say nothing about the model (OpenAI's object: "model").
_NOT_TYPES = frozenset({"model", "models", "list", "object", "text"})

# Feature-list terms (lowercased, "-" and " " as "_").
TOOL_TERMS = frozenset(
    {
        "tools",
        "tool",
        "tool_use",
        "tool_calling",
        "tool_calls",
        "tool_call",
        "function_calling",
        "functions",
        "function_call",
        "function",
        "tool_choice",
    }
)
VISION_TERMS = frozenset({"vision", "image_input", "images_input", "image_understanding", "multimodal_vision"})
REASONING_TERMS = frozenset(
    {"reasoning", "thinking", "reasoning_effort", "include_reasoning", "extended_thinking", "reasoning_content"}
)
# Other terms that make a list a capability list (so a missing tools term is meaningful).
_OTHER_FEATURE_TERMS = frozenset(
    {
        "json_mode",
        "structured_outputs",
        "structured_output",
        "response_format",
        "streaming",
        "chat",
        "completion",
        "embedding",
        "embeddings",
        "audio",
        "web_search",
        "implicit_caching",
        "prompt_caching",
        "caching",
        "file_input",
        "pdf",
        "generate_content",
        "logprobs",
    }
)
_GENERATION_METHODS = {"generatecontent": "chat", "embedcontent": "embedding", "embedtext": "embedding"}

# Words that make a key look like a fact (an unread one is reported and blocks enrichment).
_FACT_WORDS = frozenset(
    {
        "context",
        "ctx",
        "token",
        "tokens",
        "limit",
        "limits",
        "price",
        "prices",
        "pricing",
        "cost",
        "costs",
        "tool",
        "tools",
        "function",
        "functions",
        "vision",
        "reasoning",
    }
)
_FACT_STEMS = ("capabilit", "modal", "deprecat", "feature")
_PRICE_WORDS = frozenset({"price", "prices", "pricing", "cost", "costs", "usd", "cents", "fee", "fees"})
_PRICE_PARENTS = frozenset({"pricing", "price", "prices", "cost", "costs", "fees", "rates"})
# Words that make a count no context or output limit (rate limits, defaults, tiers).
_NOT_LIMIT_WORDS = frozenset(
    {
        "per",
        "rate",
        "minute",
        "second",
        "day",
        "hour",
        "rpm",
        "tpm",
        "default",
        "min",
        "minimum",
        "recommended",
        "threshold",
        "above",
        "over",
        "tier",
        "cache",
        "cached",
        "price",
        "pricing",
        "cost",
        "batch",
        "reasoning",
        "thinking",
        "budget",
        "embedding",
        "dimensions",
        "vocab",
        "chunk",
    }
)
_UNIT_KEYS = frozenset(
    {"unit", "units", "per", "price_unit", "pricing_unit", "billing_unit", "unit_name", "token_unit"}
)
_CURRENCY_KEYS = frozenset({"currency", "currency_code", "price_currency"})
_AMOUNT_KEYS = ("price", "amount", "value", "usd", "cost", "rate")
_PROPERTY_NAME_KEYS = ("property_id", "property", "name", "key", "id")


# ----------------------------------------------------------------------------- the walk


@dataclass(frozen=True, slots=True)
class Leaf:
    path: tuple[str, ...]  # keys as given
    words: tuple[tuple[str, ...], ...]  # each key's words
    value: Any
    unit: Unit | None = None  # a unit stated beside it (explicit unit/currency fields)


def _joined(words: tuple[str, ...]) -> str:
    return "_".join(words)


def _is_property_list(items: list[Any]) -> str | None:
    """The name key of a name/value property list (``[{"name": ..., "value": ...}]``), or None."""
    if not items or not all(isinstance(i, dict) and "value" in i for i in items):
        return None
    for key in _PROPERTY_NAME_KEYS:
        if all(isinstance(i.get(key), str) and i.get(key) for i in items):
            return key
    return None


def _entry_unit(entry: Mapping[str, Any], basis: str = "explicit") -> Unit | None:
    unit_text = next((entry[k] for k in entry if isinstance(k, str) and k.lower() in _UNIT_KEYS), None)
    currency = next((entry[k] for k in entry if isinstance(k, str) and k.lower() in _CURRENCY_KEYS), None)
    if not isinstance(unit_text, str) and not isinstance(currency, str):
        return None
    unit = unit_from_text(unit_text, basis) if isinstance(unit_text, str) else Unit(basis=basis)
    if isinstance(currency, str) and currency.strip():
        code = currency.strip().upper()
        unit = Unit(
            currency="USD" if code in ("$", "US$", "USD") else code,
            per_tokens=unit.per_tokens,
            scale=unit.scale,
            other=unit.other,
            basis=basis,
        )
    return unit


def _is_price_entry_list(items: list[Any]) -> bool:
    return bool(items) and all(
        isinstance(i, dict) and any(k in i for k in _AMOUNT_KEYS) and _entry_unit(i) is not None for i in items
    )


def leaves(raw: Mapping[str, Any]) -> Iterator[Leaf]:
    """Every leaf of a record: scalars, lists of scalars, property lists and price entries."""
    yield from _walk(raw, (), (), None, 0)


def _walk(
    obj: Mapping[str, Any],
    path: tuple[str, ...],
    words: tuple[tuple[str, ...], ...],
    inherited: Unit | None,
    depth: int,
) -> Iterator[Leaf]:
    if depth > MAX_DEPTH:
        return
    here = _entry_unit(obj) or inherited
    for key, value in obj.items():
        if not isinstance(key, str) or value is None:
            continue
        lowered = key.lower()
        if lowered in _UNIT_KEYS or lowered in _CURRENCY_KEYS:
            continue
        kpath = (*path, key)
        kwords = (*words, key_words(key))
        if isinstance(value, dict):
            yield from _walk(value, kpath, kwords, here, depth + 1)
        elif isinstance(value, list):
            name_key = _is_property_list(value)
            if name_key is not None:
                yield from _walk({i[name_key]: i["value"] for i in value}, kpath, kwords, here, depth + 1)
            elif _is_price_entry_list(value):
                for n, entry in enumerate(value):
                    amount_key = next(k for k in _AMOUNT_KEYS if k in entry)
                    unit = _entry_unit(entry)
                    unit_text = next((entry[k] for k in entry if k.lower() in _UNIT_KEYS), "")
                    extra = key_words(unit_text) if isinstance(unit_text, str) else ()
                    yield Leaf((*kpath, str(n), amount_key), (*kwords, (str(n),), extra), entry[amount_key], unit)
            elif all(not isinstance(v, dict | list) for v in value):
                yield Leaf(kpath, kwords, value, here)
            else:
                # Lists of objects (hosts, endpoints): ambiguous, left to dialects; still a leaf
                # so that a fact-like key is reported as unread.
                yield Leaf(kpath, kwords, value, here)
        else:
            yield Leaf(kpath, kwords, value, here)


# ----------------------------------------------------------------------------- the result


@dataclass(slots=True)
class Unread:
    path: str
    example: Any
    facts: tuple[str, ...]
    keys: tuple[str, ...] = ()


@dataclass(slots=True)
class Reading:
    """What one record states: facts (None when unknown), where each came from, prices with
    their units, the facts it speaks to, and the fact-like keys nothing could read."""

    facts: Facts = field(default_factory=lambda: dict.fromkeys(FACT_FIELDS))
    paths: dict[str, str] = field(default_factory=dict)
    raw_values: dict[str, Any] = field(default_factory=dict)
    prices: list[PriceClaim] = field(default_factory=list)
    other_prices: list[tuple[str, Any, str]] = field(default_factory=list)
    stated: set[str] = field(default_factory=set)
    unread: list[Unread] = field(default_factory=list)
    # Whether the facts are the same whatever order the record's keys come in.
    order_free: bool = field(default=True, repr=False, compare=False)

    def put(self, fact: str, value: Any, path: str, raw: Any) -> bool:
        """Set a fact unless known already; earlier finds win."""
        if value is None or self.facts.get(fact) is not None:
            return False
        self.facts[fact] = value
        self.paths[fact] = path
        self.raw_values[fact] = raw
        self.stated.add(fact)
        return True

    def price(self, claim: PriceClaim) -> None:
        self.prices.append(claim)
        self.stated.add(claim.field)

    def best_price(self, fact: str) -> PriceClaim | None:
        """The claim for a price fact: USD with a decided unit, else USD undecided, else any."""
        best: PriceClaim | None = None
        best_rank = (3, 0)
        for claim in self.prices:
            if claim.field != fact:
                continue
            unit = claim.unit
            usd = unit.currency == "USD"
            rank = (0 if usd and unit.decided else 1 if usd else 2, claim.path.count("."))
            if rank < best_rank:  # the first of the best wins
                best, best_rank = claim, rank
        return best

    def settle_prices(self) -> None:
        """Put each price whose unit is decided (and in USD) into ``facts``."""
        if not any(c.unit.currency == "USD" and c.unit.decided for c in self.prices):
            return  # no claim gives a USD amount: nothing to put
        for fact in PRICE_FIELDS:
            if self.facts.get(fact) is not None:
                continue
            claim = self.best_price(fact)
            if claim is not None:
                self.put(fact, claim.usd_per_million(), claim.path, claim.raw)


# ----------------------------------------------------------------------------- classification


def _limit_fact(words: tuple[tuple[str, ...], ...]) -> tuple[str, int] | None:
    """(fact, rank) for a token-limit key: rank orders synonyms (lower wins)."""
    key = _joined(words[-1])
    parent = _joined(words[-2]) if len(words) > 1 else ""
    flat = set(words[-1])
    if flat & _NOT_LIMIT_WORDS:
        return None
    if key in CONTEXT_KEYS:
        return "context_window", CONTEXT_KEYS.index(key)
    if key in OUTPUT_KEYS:
        return "max_output_tokens", OUTPUT_KEYS.index(key)
    if parent in LIMIT_PARENTS:
        if key in LIMIT_CHILD_CONTEXT:
            return "context_window", 50 + LIMIT_CHILD_CONTEXT.index(key)
        if key in LIMIT_CHILD_OUTPUT:
            return "max_output_tokens", 50 + LIMIT_CHILD_OUTPUT.index(key)
    if flat & {"output", "completion", "generation", "response", "new"} and flat & {
        "tokens",
        "token",
        "length",
        "limit",
        "max",
        "len",
    }:
        return "max_output_tokens", 100
    if flat & {"context", "ctx"}:
        return "context_window", 100
    return None


def _flag_fact(words: tuple[tuple[str, ...], ...]) -> tuple[str, bool] | None:
    """(fact, negative_ok) for a boolean key; negative_ok False: only True is evidence."""
    flat = set(words[-1])
    parent = set(words[-2]) if len(words) > 1 else set()
    positive_only = bool(flat & {"parallel", "choice", "strict", "streaming", "forced", "required"})
    if flat & {"tool", "tools", "function", "functions", "functioncalling"}:
        return "supports_tools", not positive_only
    if "vision" in flat or ("image" in flat and ("input" in flat or "input" in parent)) or flat == {"images"}:
        if "output" in flat or "generation" in flat:
            return None
        return "supports_vision", not positive_only
    if flat & {"reasoning", "thinking", "reason"}:
        if flat & {"effort", "budget", "content", "tokens", "default", "mandatory", "price", "cost"}:
            return None
        return "supports_reasoning", not positive_only
    return None


def _term(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    return _joined(key_words(value)) or None


def _modality_direction(words: tuple[tuple[str, ...], ...]) -> str | None:
    flat = set(words[-1])
    parent = set(words[-2]) if len(words) > 1 else set()
    if not any(w.startswith("modal") for w in flat | parent) and not flat & {"input_types", "output_types"}:
        return None
    both = flat | parent
    if "input" in both or "inputs" in both:
        return "input_modalities"
    if "output" in both or "outputs" in both:
        return "output_modalities"
    return "arrow"


_BOOLEAN_WORDS = frozenset({"true", "false", "yes", "no", "supported", "unsupported", "enabled", "disabled"})
_LONGEST_BOOLEAN_WORD = max(map(len, _BOOLEAN_WORDS))


def _looks_like_fact(words: tuple[tuple[str, ...], ...], value: Any) -> bool:
    """A key whose own words name a fact; anything under a pricing, limits or deprecation
    object; a yes/no under a capabilities or features object."""
    if any(word in _FACT_WORDS or word.startswith(_FACT_STEMS) for word in words[-1]):
        return True
    ancestors = {w for part in words[:-1] for w in part}
    if ancestors & (_PRICE_PARENTS | {"limit", "limits", "context"}) or any(
        w.startswith("deprecat") for w in ancestors
    ):
        return True
    if any(w.startswith(("capabilit", "feature")) for w in ancestors):
        return isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in _BOOLEAN_WORDS)
    return False


def _blocked_facts(words: tuple[tuple[str, ...], ...], value: Any = None) -> tuple[str, ...]:
    """The facts a fact-like key we could not read may speak to (the most specific first: a
    key about tools speaks to tool support, not to limits)."""
    flat = {w for part in words for w in part}
    facts: list[str] = []
    flags = [
        fact
        for fact, vocabulary in (
            ("supports_tools", {"tool", "tools", "function", "functions"}),
            ("supports_vision", {"vision"}),
            ("supports_reasoning", {"reasoning", "thinking"}),
        )
        if flat & vocabulary
    ]
    if flags or isinstance(value, bool):
        return tuple(flags)
    if flat & _PRICE_WORDS or flat & _PRICE_PARENTS:
        direction = price_direction(flat)
        if flat & NOT_TOKEN_WORDS and direction is None:
            return ()
        facts += [direction] if direction else list(PRICE_FIELDS)
        return tuple(facts)
    if flat & {"context", "ctx", "window"}:
        facts.append("context_window")
    if flat & {"output", "completion", "generation"}:
        facts.append("max_output_tokens")
    if (
        not facts
        and flat & {"token", "tokens", "limit", "limits"}
        and not flat & {"rate", "rpm", "tpm", "quota", "tier"}
    ):
        facts += list(LIMIT_FIELDS)
    if any(w.startswith("modal") for w in flat):
        facts += list(LIST_FIELDS)
    if any(w.startswith(("capabilit", "feature")) for w in flat) and not facts:
        facts += list(FLAG_FIELDS)
    if any(w.startswith("deprecat") for w in flat):
        facts.append("deprecated_at")
    return tuple(dict.fromkeys(facts))


def _meaningful(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return False
    return not (isinstance(value, str) and value.strip().lower() in ("null", "none", "n/a", "-"))


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _text_fact(key: str, table: tuple[str, ...], depth: int) -> int | None:
    return table.index(key) + 10 * depth if key in table else None


# ----------------------------------------------------------------------------- the reader


def _kind(value: Any) -> str:
    """The JSON type of a leaf's value, as far as the plan of a leaf depends on it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "num"
    if isinstance(value, str):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return "boolstr"
        return "boolish" if lowered in _BOOLEAN_WORDS else "str"
    if isinstance(value, list):
        return "strlist" if all(isinstance(v, str) for v in value) else "list"
    return "other"


Plan = tuple[tuple[Any, ...], tuple[str, ...]]


@lru_cache(maxsize=1 << 14)
def plan(words: tuple[tuple[str, ...], ...], kind: str, unit: Unit | None) -> Plan:
    """What to do with a leaf: its action, and the facts it states when no parser reads it.

    Depends only on the leaf's key path (as words), the JSON type of its value and a unit
    stated beside it, so one answer's thousands of records of a few shapes are planned once.
    """
    unread: tuple[str, ...] = ()
    stand_in: Any = True if kind == "bool" else "yes" if kind in ("boolstr", "boolish") else None
    if _looks_like_fact(words, stand_in if stand_in is not None else 0 if kind == "num" else "x"):
        unread = _blocked_facts(words, True if kind == "bool" else None)
    return _action(words, kind, unit), unread


def _action(words: tuple[tuple[str, ...], ...], kind: str, unit: Unit | None) -> tuple[Any, ...]:
    key = _joined(words[-1])
    depth = len(words) - 1
    flat_path = {w for part in words for w in part}
    parents = {_joined(w) for w in words[:-1]}
    if (flat_path & _PRICE_WORDS or parents & _PRICE_PARENTS) and kind not in ("bool", "strlist", "list"):
        direction = price_direction(flat_path)
        named = unit_from_words([w for part in words for w in part], "name")
        chosen = unit if unit is not None else named
        if unit is not None and named.currency != "USD" and unit.currency == "USD":
            chosen = Unit(named.currency, chosen.per_tokens, chosen.scale, chosen.other, chosen.basis)
        if unit is not None and chosen.per_tokens is None and named.per_tokens is not None:
            chosen = Unit(chosen.currency, named.per_tokens, named.scale, chosen.other, "name")
        not_token = flat_path & NOT_TOKEN_WORDS
        other = None
        if chosen.other or (not_token and not (direction == "cache_read_price" and not_token <= {"write"})):
            other = chosen.other or sorted(not_token)[0]
        return ("price", direction, chosen, other)
    if kind in ("bool", "boolstr"):
        found = _flag_fact(words)
        if found is not None:
            return ("flag", *found, depth)
        if any(w.startswith("deprecat") for w in words[-1]):
            return ("handled",)  # "deprecated": true/false names no date
    limit = _limit_fact(words)
    if limit is not None and kind not in ("bool", "strlist", "list", "other"):
        return ("offer", limit[0], limit[1] + 0.01 * depth, values.tokens)
    direction = _modality_direction(words)
    if direction == "arrow":
        return ("arrow",)
    if direction is not None:
        return ("offer", direction, depth, values.modalities)
    if key in PARAMETER_LIST_KEYS and kind in ("strlist", "list"):
        return ("parameters",)
    if key in FEATURE_KEYS and kind == "strlist":
        return ("features",)
    if kind in ("num", "str", "boolstr", "boolish"):
        parent_key = _joined(words[-2]) if len(words) > 1 else ""
        if kind != "num" and (key in TYPE_KEYS or (parent_key in TYPE_KEYS and key in ("name", "id"))):
            return ("type", TYPE_KEYS.index(key if key in TYPE_KEYS else parent_key) + 10 * depth)
        for fact, table, parse in _TEXT_FACTS:
            rank = _text_fact(key, table, depth)
            if rank is not None:
                return ("offer", fact, rank, parse)
    return ("none",)


# A leaf as the reader acts on it: its key path, that path dotted, its plan and its facts.
Step = tuple[tuple[str, ...], str, tuple[Any, ...], tuple[str, ...]]


def _signature(obj: Mapping[str, Any], depth: int, parts: list[Any]) -> bool:
    """Append to ``parts`` everything :func:`leaves` and :func:`plan` read of a record except its
    values: key order, each value's :func:`_kind`, the text of unit and currency keys, and
    nesting. Two records with one signature walk into the same leaves with the same plans.
    False for a record holding a list of objects (property lists and price entries turn values
    into keys): read leaf by leaf.

    The signature is flat (one tuple of strings and markers, cheap to hash): after each key
    comes its kind, or ``_UNIT`` and the unit text, or ``_OPEN``, the object's entries and
    ``_CLOSE``; keys and kinds are text and the markers are not, so it reads back one way."""
    if depth > MAX_DEPTH:
        return True
    append = parts.append
    for key, value in obj.items():
        unitish = _UNITISH.get(key)
        if unitish is None:
            if not isinstance(key, str):
                continue
            lowered = key.lower()
            unitish = _UNITISH[key] = lowered in _UNIT_KEYS or lowered in _CURRENCY_KEYS
        if unitish:
            # Read for the unit of their object even when None; never leaves themselves.
            append(key)
            append(_UNIT)
            append(value if isinstance(value, str) else None)
            continue
        kind = _SCALAR_KINDS.get(type(value))
        if kind is not None:
            append(key)
            append(kind)
        elif type(value) is str:
            append(key)
            # No longer than the longest yes/no word, once stripped: a plain text (no lowering).
            long = len(value) > _LONGEST_BOOLEAN_WORD and not value[0].isspace() and not value[-1].isspace()
            append("str" if long else _kind(value))
        elif value is None:
            continue
        elif isinstance(value, dict):
            append(key)
            append(_OPEN)
            if not _signature(value, depth + 1, parts):
                return False
            append(_CLOSE)
        elif isinstance(value, list):
            if any(isinstance(v, dict) for v in value):
                return False
            append(key)
            append(_kind(value))
        else:
            append(key)
            append(_kind(value))
    return True


# The markers of a signature (see _signature): never a key, a kind or a unit text.
_OPEN, _CLOSE, _UNIT = 0, 1, 2
# Whether a key names a unit or currency (see _entry_unit), by key: records repeat their keys.
_UNITISH: dict[Any, bool] = {}
# _kind of the values whose type alone decides it.
_SCALAR_KINDS: dict[type, str] = {bool: "bool", int: "num", float: "num"}


def _step(leaf: Leaf) -> Step:
    return (leaf.path, _dotted(leaf.path), *plan(leaf.words, _kind(leaf.value), leaf.unit))


def canonical_order(value: Any) -> Any:
    """``value`` with every object's keys in sorted order, as the catalog stores a record
    (canonical JSON): read this way, a record reads the same however its provider ordered it."""
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: canonical_order(value[k]) for k in sorted(value)}
        return {k: canonical_order(v) for k, v in value.items()}
    if isinstance(value, list):
        return [canonical_order(v) for v in value]
    return value


def _order_free(steps: list[Step]) -> bool:
    """Whether the facts these steps read are the same whatever order they run in. Where two
    of them may set one fact, the better rank wins (offers, flags, types, price claims), so only
    two of equal rank depend on the order; so do two arrows, feature lists or parameter lists
    (the first sets a fact, the others add to it or leave it)."""
    ranks: set[tuple[str, Any]] = set()
    for _, dotted, action, _ in steps:
        what = action[0]
        if what == "price":
            direction, unit, other = action[1], action[2], action[3]
            if direction is None or other is not None:
                continue
            usd = unit.currency == "USD"
            # Reading.best_price's rank of the claim this step makes.
            key: tuple[str, Any] = (
                "price:" + direction,
                (0 if usd and unit.decided else 1 if usd else 2, dotted.count(".")),
            )
        elif what in ("flag", "offer"):
            # _offer compares both kinds' ranks for one fact.
            key = (action[1], action[3] if what == "flag" else action[2])
        elif what == "type":
            key = ("model_type", action[1])
        elif what in ("arrow", "features", "parameters"):
            key = (what, None)
        else:
            continue
        if key in ranks:
            return False
        ranks.add(key)
    return True


# (canonical, signature) -> the steps of every record that has it, and whether they are order
# free: an answer of thousands of records in a few shapes is walked and planned a few times.
_STEPS: dict[tuple[bool, tuple[Any, ...]], tuple[list[Step], bool]] = {}
_MAX_SHAPES = 1 << 12


def _planned(raw: Mapping[str, Any], canonical: bool) -> tuple[list[Step], list[Any], bool]:
    """The record's steps, the value each one reads, and whether their order is free. With
    ``canonical`` the steps walk every object's keys in sorted order."""
    parts: list[Any] = []
    if not _signature(raw, 0, parts):
        walked = canonical_order(raw) if canonical else raw
        found = list(leaves(walked))
        steps = [_step(leaf) for leaf in found]
        return steps, [leaf.value for leaf in found], _order_free(steps)
    key = (canonical, tuple(parts))
    planned = _STEPS.get(key)
    if planned is None:
        if len(_STEPS) >= _MAX_SHAPES:
            _STEPS.clear()
        steps = [_step(leaf) for leaf in leaves(canonical_order(raw) if canonical else raw)]
        # A leaf no fact reads and none is stated by does nothing: not looked up at all.
        steps = [step for step in steps if step[2] != ("none",) or step[3]]
        planned = _STEPS[key] = (steps, _order_free(steps))
    steps, free = planned
    found: list[Any] = []
    for step in steps:
        value: Any = raw
        for key in step[0]:
            value = value[key]
        found.append(value)
    return steps, found, free


def read_generic(raw: Mapping[str, Any], skip: frozenset[str] = frozenset(), canonical: bool = False) -> Reading:
    """Read every fact of ``raw`` by meaning (``skip``: facts a dialect says this reader must
    leave alone, because a common name means something else there). ``canonical`` reads it as
    the catalog stores it, every object's keys in sorted order (where two keys state one fact
    at the same rank, the first one read wins)."""
    reading = Reading()
    # fact -> (rank, path, value) candidates; the best rank wins.
    best: dict[str, tuple[float, str, Any, Any]] = {}
    feature_lists: list[tuple[str, Any, list[str]]] = []
    parameter_lists: list[tuple[str, Any]] = []
    type_values: list[tuple[float, str, Any, str]] = []
    arrows: list[tuple[str, Any]] = []
    unread: list[tuple[tuple[str, ...], str, Any, tuple[str, ...]]] = []

    steps, values_of, reading.order_free = _planned(raw, canonical) if raw else ([], [], True)
    for (path, dotted, action, states), value in zip(steps, values_of, strict=True):
        handled = True
        what = action[0]
        if what == "price":
            _, direction, unit, other = action
            amount = values.decimal(value)
            if amount is None or (direction is None and other is None):
                handled = False  # not a number, or a price of what? reported as unread
            elif other is not None:
                reading.other_prices.append((dotted, value, other))
            elif direction not in skip:
                reading.price(PriceClaim(direction, dotted, value, amount, unit))
        elif what == "flag":
            _, fact, negative_ok, rank = action
            flag = values.flag(value)
            if (flag or negative_ok) and fact not in skip:
                _offer(best, fact, rank, dotted, value, flag)
        elif what == "offer":
            _, fact, rank, parse = action
            parsed = parse(value)
            # A value its parser cannot read ("128K") leaves the leaf unread: reported, and no
            # reference fills the fact it states.
            handled = parsed is not None
            if handled and fact not in skip:
                _offer(best, fact, rank, dotted, value, parsed)
        elif what == "arrow":
            arrows.append((dotted, value))
        elif what == "parameters":
            parameter_lists.append((dotted, value))
        elif what == "features":
            feature_lists.append((dotted, value, [t for t in map(_term, value) if t]))
        elif what == "type":
            type_values.append((action[1], dotted, value, _term(value) or ""))
        elif what == "none":
            handled = False
        if not handled and states and _meaningful(value):
            unread.append((path, dotted, value, states))
    for fact, (_rank, dotted, value, raw_value) in best.items():
        reading.put(fact, value, dotted, raw_value)
    _read_arrows(reading, arrows)
    _read_features(reading, feature_lists, parameter_lists, skip)
    _read_type(reading, type_values, skip)
    inputs = reading.facts["input_modalities"]
    if isinstance(inputs, list) and "image" in inputs and "supports_vision" not in skip:
        # Image input named: the model accepts images (a missing one proves nothing).
        reading.put("supports_vision", True, reading.paths["input_modalities"], reading.raw_values["input_modalities"])
    reading.settle_prices()
    for path, dotted, value, states in unread:
        reading.unread.append(Unread(dotted, value, states, path))
        reading.stated.update(states)
    return reading


def _offer(
    best: dict[str, tuple[float, str, Any, Any]], fact: str, rank: float, dotted: str, raw: Any, value: Any
) -> None:
    current = best.get(fact)
    if current is None or rank < current[0]:
        best[fact] = (rank, dotted, value, raw)


_TEXT_FACTS: tuple[tuple[str, tuple[str, ...], Callable[[object], object]], ...] = (
    ("name", NAME_KEYS, values.text),
    ("description", DESCRIPTION_KEYS, values.text),
    ("owned_by", OWNER_KEYS, values.text),
    ("created", CREATED_KEYS, values.timestamp),
    ("deprecated_at", DEPRECATED_KEYS, values.timestamp),
)


def _read_arrows(reading: Reading, arrows: list[tuple[str, Any]]) -> None:
    for dotted, value in arrows:
        inputs, outputs = values.modality_arrow(value)
        if reading.facts["input_modalities"] is None and inputs:
            reading.put("input_modalities", inputs, dotted, value)
        elif inputs:
            reading.facts["input_modalities"] = values.union(reading.facts["input_modalities"], inputs)  # type: ignore[arg-type]
        if reading.facts["output_modalities"] is None and outputs:
            reading.put("output_modalities", outputs, dotted, value)
        elif outputs:
            reading.facts["output_modalities"] = values.union(reading.facts["output_modalities"], outputs)  # type: ignore[arg-type]


def _read_features(
    reading: Reading,
    feature_lists: list[tuple[str, Any, list[str]]],
    parameter_lists: list[tuple[str, Any]],
    skip: frozenset[str],
) -> None:
    for path, value, terms in feature_lists:
        found = set(terms)
        recognized = found & (TOOL_TERMS | VISION_TERMS | REASONING_TERMS | _OTHER_FEATURE_TERMS)
        methods = {_GENERATION_METHODS[t.replace("_", "")] for t in found if t.replace("_", "") in _GENERATION_METHODS}
        if methods and "model_type" not in skip:
            kind = "chat" if "chat" in methods else methods.pop()
            reading.put("model_type", kind, path, value)
        if not recognized:
            continue
        for fact, vocabulary in (
            ("supports_tools", TOOL_TERMS),
            ("supports_vision", VISION_TERMS),
            ("supports_reasoning", REASONING_TERMS),
        ):
            if fact in skip:
                continue
            if found & vocabulary:
                reading.put(fact, True, path, value)
            else:
                # A capability list that does not name this one: stated, not known.
                reading.stated.add(fact)
    for path, value in parameter_lists:
        names = {t for t in map(_term, value) if t}
        if not names:
            continue
        if "supports_tools" not in skip:
            reading.put("supports_tools", bool(names & {"tools", "tool_choice", "functions"}), path, value)
        if "supports_reasoning" not in skip and names & {"reasoning", "include_reasoning"}:
            reading.put("supports_reasoning", True, path, value)


def _read_type(reading: Reading, type_values: list[tuple[float, str, Any, str]], skip: frozenset[str]) -> None:
    if "model_type" in skip:
        return
    for _rank, path, value, term in sorted(type_values, key=lambda t: t[0]):
        if term in _NOT_TYPES:
            continue
        if term in TYPE_WORDS:
            kind = TYPE_WORDS[term]
            if kind is None:
                reading.stated.add("model_type")
                continue
            reading.put("model_type", kind, path, value)
            return
