"""Turn providers' raw model records into one set of facts, and fill gaps from reference catalogs.

Every provider answers its model-list endpoint in its own dialect. This module reads
one raw record and returns the same 16 facts for every provider (``FACT_FIELDS``),
plus a ``sources`` dict saying where each known fact came from.

Facts and units
---------------
- ``name``, ``description``, ``owned_by``: strings as the provider gave them.
- ``context_window``, ``max_output_tokens``: positive int tokens. Zero, negative,
  fractional, boolean or absurd (> 1e9) values are treated as not given.
- ``input_price``, ``output_price``, ``cache_read_price``: float USD per 1 MILLION tokens,
  rounded to 10 significant digits to drop float noise (0.22999999999999998 -> 0.23).
  An explicit ``0``/``"0"`` is a real price of 0; a missing, negative (OpenRouter's
  ``"-1"`` for routers) or unparsable price is None.
- ``input_modalities``, ``output_modalities``: lists drawn from ``text, image, audio,
  video, file`` (``file`` covers pdf/documents), always in that order, never empty
  (an empty or unrecognised list is None).
- ``supports_tools``, ``supports_vision``, ``supports_reasoning``: True, False or None.
  ``supports_vision`` means "accepts image input" (so an image-to-image model has it).
- ``model_type``: chat, completion, embedding, image, audio, rerank, moderation or None.
  Never guessed from the model id.
- ``created``, ``deprecated_at``: ISO 8601 UTC ``"YYYY-MM-DDTHH:MM:SSZ"``. Unix seconds,
  milliseconds (>= 1e11, e.g. pollinations, poe) and microseconds (>= 1e14) are all
  accepted; ISO strings are converted to UTC (naive ones are taken as UTC); a bare date
  (litellm ``deprecation_date: "2025-06-01"``) becomes midnight UTC. ``0`` (deepinfra,
  cerebras) and years outside 1990-2199 are placeholders, so None.

Dialects and price units (``DIALECTS``; unknown providers use the generic reader only)
--------------------------------------------------------------------------------------
- openrouter, redpill: ``pricing.prompt/completion/input_cache_read`` per-token
  STRINGS; ``context_length`` then ``top_provider.context_length``;
  ``top_provider.max_completion_tokens``; modalities are the union of
  ``architecture.input/output_modalities`` and the ``modality`` string "text+image->text"
  (OpenRouter's string omits "file", redpill's lists omit "image"); ``supported_parameters``:
  "tools" -> tools, "reasoning"/"include_reasoning" -> reasoning. That list is OpenRouter's
  union over its hosts, so a list without "tools" means no host accepts tools: False (an
  empty list, as for openrouter/auto, is no evidence: None). Vision: OpenRouter's inputs
  are curated, so vision = "image" in inputs; redpill's are not, so only True when named.
  model_type from output modalities (text -> chat, only image -> image, only audio ->
  audio), since these endpoints only serve chat completions.
- baseten, atlascloud, sambanova: per-token STRING ``pricing.prompt/completion``,
  ``context_length``, ``max_completion_tokens``; baseten's ``supported_features`` is an
  explicit feature list, so "tools"/"reasoning" absent from a non-empty list -> False.
- chutes: ``pricing.prompt/completion`` per-MILLION NUMBERS (= ``price.input.usd``),
  ``max_model_len``, ``tagline`` as description.
- deepinfra: ``metadata.pricing.input_tokens/output_tokens/cache_read_tokens``
  per-MILLION NUMBERS, ``metadata.context_length``, ``metadata.max_tokens`` (output),
  ``metadata.tags``: "vision" -> vision True, "reasoning_effort" -> reasoning True; the
  tags are sparse, so a missing tag stays None rather than False.
- litellm: ``input_cost_per_token``, ``output_cost_per_token``,
  ``cache_read_input_token_cost`` per-token NUMBERS; ``max_input_tokens`` (context),
  ``max_output_tokens``; its legacy ``max_tokens`` is ignored because it means the output
  OR the input limit. ``supports_function_calling/vision/reasoning`` (absent -> None),
  ``supported_modalities``/``supported_output_modalities``, ``deprecation_date``,
  ``mode``: chat/responses -> chat, completion, embedding, image_generation -> image,
  audio_transcription/audio_speech -> audio, rerank, moderation (video_generation -> None).
- mistral: ``max_context_length``, ``capabilities.function_calling`` (tools),
  ``.vision``; ``.completion_chat`` -> chat (with input text[+image][+audio], output
  text), ``.moderation`` -> moderation; ``deprecation``. ``type`` ("base") is not a
  model type.
- fireworks, hyperbolic: ``supports_tools``, ``supports_image_input`` (vision),
  ``context_length``; ``kind: FLUMINA_BASE_MODEL`` (Fireworks' image serving) -> image,
  else ``supports_chat: true`` -> chat (false -> None: it may be an image or a base model).
- groq: ``context_window``, ``max_completion_tokens``.
- featherless: ``context_length``, ``max_completion_tokens``, ``features.tool_use``
  (absent -> None). ``model_class`` ("llama31-8b-16k") is an architecture family, ignored.
- huggingface (router): ``providers`` lists several hosts, each with its own
  ``context_length``, ``pricing.input/output`` (per-MILLION numbers) and ``supports_tools``.
  We take one host's numbers together - the first live host, in the router's order, that
  reports a context length or a price (else the first live one reporting tools) - so the
  facts describe one real route, instead of mixing hosts or taking a min/max.
- anthropic: ``display_name``, ``created_at`` (ISO). llm7: ``modalities.input`` (curated:
  vision = "image" in it). poe: ``architecture`` modalities (model_type from outputs as
  for OpenRouter; inputs are ["text"] for every bot, so no vision verdict), ``created`` in
  milliseconds.
- ids only (openai, gemini, cerebras, deepseek, moonshot, nebius, ...): ``created`` and
  ``owned_by`` at most; everything else has to come from enrichment.

The generic reader runs after the specific one (or alone for an unknown provider) and only
fills gaps. It knows the common names: context from ``context_length``, ``context_window``,
``max_context_length``, ``max_model_len``, ``max_input_tokens``,
``metadata.context_length``, ``top_provider.context_length``, ``inputTokenLimit``; output
from ``max_completion_tokens``, ``max_output_tokens``, ``top_provider.max_completion_tokens``,
``metadata.max_tokens``, ``outputTokenLimit``, ``max_tokens``. It reads a price only when
the key name states the unit (``*_cost_per_token``, ``*_per_million``/``*_per_1m``), because
a bare ``pricing.prompt`` is per token at OpenRouter and per million at Chutes.
To support a new provider, add ``DIALECTS["name"] = <existing reader>`` or a small reader.

Enrichment
----------
``ReferenceIndex`` wraps a reference catalog (litellm's keyed records, OpenRouter's list);
``enrich`` fills facts that are None from it. Match levels, strongest first:

1. qualified (litellm only): ``<litellm prefix>/<model id>`` (``LITELLM_PROVIDERS`` maps
   our provider names to litellm's; openai's and anthropic's records are bare ids), also
   tried without a listing path that names no vendor (gemini's ``models/gemini-2.0-flash``
   -> ``gemini/gemini-2.0-flash``; fireworks' ``accounts/fireworks/models/``);
2. bare: the id, then the id without its listing path, equal case-insensitively to a
   reference key; and, for a vendor-less id, equal to the part after the slash of a
   "vendor/model" key (all catalogs but litellm, whose prefixes are hosts): cerebras'
   ``gpt-oss-120b`` -> openrouter's ``openai/gpt-oss-120b``. An id in another vendor's
   namespace (``someone/Llama-3.2-1B-Instruct``) is not a bare match: it goes to level 3;
3. normalized: ``normalize_id`` of both sides are equal.

Each reference contributes at most one record, its best match. Candidates are applied
level first, then in the order of ``references`` (pass litellm before openrouter): an
exact id in any catalog is stronger evidence than a fuzzy match in the first. When several
records share a level, the one from the provider's own host wins, then the shortest key,
then alphabetical order (so "gpt-4o" beats "azure/gpt-4o" and "x" beats "x:free").

Only facts that describe the model are enriched: limits, prices, modalities, capability
flags, model_type, description and deprecated_at. ``name`` is the provider's label for its
listing, and ``created``/``owned_by`` describe the listing, so they are never filled.
``deprecated_at`` is taken only from exact (qualified or bare) matches: dated snapshots
that normalize alike retire on different days. Prices are what a host charges, not a
property of the weights, so by default they are taken only from a reference record of the
same host (litellm's ``litellm_provider`` equal to the provider's litellm name, e.g.
``groq/...`` for groq, bare ``gpt-4o`` for openai); ``prices_from_any_host=True`` lifts
that. A value the provider gave is never replaced, and a reference never enriches its own
provider. ``sources`` records, per field, "provider" or "<reference>:<reference key>".

``normalize_id`` (a matching key, not a display form): lowercase; drop OpenRouter routing
tags (``:free``, ``:beta``, ``:nitro``, ``:extended``, ``:floor``, ``:online``); drop
trailing quantisation path segments (``/fp-8``) and keep the last path segment (strips
``meta-llama/``, ``accounts/fireworks/models/``, ``models/``, ``@cf/meta/``); Fireworks'
``3p1`` -> ``3.1``; ``_ . : @`` and spaces -> ``-``; drop trailing full dates
(``-2024-08-06``, ``-20240806``), ``-latest`` and quantisation tags (``-fp8``, ``-bf16``,
``-awq`` ...); split letters from digits (``llama3.1`` and ``llama-3.1`` agree); drop a
``v`` before a version number and a leading ``meta-`` before ``llama``. Kept on purpose:
sizes (8b vs 70b), every version digit (3.1 -> 3-1 differs from 3.3 -> 3-3), suffixes like
mini/turbo/instruct/it, and 4-digit release tags (``-0125``, ``-2507``, ``-0528``), which
at Mistral, Qwen and DeepSeek name different releases with different limits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple

__all__ = [
    "DIALECTS",
    "ENRICHABLE_FIELDS",
    "FACT_FIELDS",
    "LITELLM_PROVIDERS",
    "ReferenceIndex",
    "ReferenceMatch",
    "enrich",
    "normalize_id",
    "normalize_record",
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

PRICE_FIELDS: tuple[str, ...] = ("input_price", "output_price", "cache_read_price")

ENRICHABLE_FIELDS: tuple[str, ...] = (
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
    "description",
    "deprecated_at",
)

# Fields whose value differs between dated snapshots that normalize to the same id.
_EXACT_ONLY_FIELDS: frozenset[str] = frozenset({"deprecated_at"})

MODEL_TYPES: tuple[str, ...] = (
    "chat",
    "completion",
    "embedding",
    "image",
    "audio",
    "rerank",
    "moderation",
)

MODALITIES: tuple[str, ...] = ("text", "image", "audio", "video", "file")

Facts = dict[str, object]
Reader = Callable[[dict[str, object]], Facts]

# --------------------------------------------------------------------------- values

# datetime.UTC is 3.11+, and the package still supports 3.10.
_UTC = timezone(timedelta(0))
_PER_TOKEN = Decimal(1_000_000)
_PER_MILLION = Decimal(1)
_MAX_TOKENS = 1_000_000_000
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _dig(obj: object, *path: str) -> object:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _tokens(value: object) -> int | None:
    # bool is an int subclass: True must not become a context window of 1.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        number = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()) and len(value.strip()) <= 12:
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= _MAX_TOKENS else None


def _price(value: object, unit: Decimal) -> float | None:
    """USD per million tokens from a value in ``unit`` (per token: 1e6, per million: 1)."""
    if isinstance(value, bool):
        return None
    if not isinstance(value, float | int | str):
        return None
    try:
        # repr() is the shortest round-trip text, so 5.9e-07 * 1e6 gives 0.59, not 0.59000001.
        amount = Decimal(value.strip() if isinstance(value, str) else repr(value))
        if not amount.is_finite() or amount < 0:
            return None
        result = float(f"{float(amount * unit):.10g}")
    except (ArithmeticError, ValueError):
        return None
    return result if math.isfinite(result) else None


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def _iso(moment: datetime) -> str | None:
    try:
        moment = moment.astimezone(_UTC)
    except (OverflowError, ValueError):
        return None
    if not 1990 <= moment.year < 2200:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _timestamp(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        text = value.strip()
        if _NUMBER.fullmatch(text):
            value = float(text)
        else:
            try:
                # Python 3.10's fromisoformat does not accept the "Z" that most APIs send.
                moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=_UTC)
            return _iso(moment)
    if not isinstance(value, int | float):
        return None
    try:
        if not math.isfinite(value) or value <= 0:
            return None
        seconds = float(value)
        # No model was made after year 5138 (1e11 s), so bigger numbers are finer units.
        if seconds >= 1e14:
            seconds /= 1e6
        elif seconds >= 1e11:
            seconds /= 1e3
        return _iso(datetime.fromtimestamp(int(seconds), tz=_UTC))
    except (OverflowError, OSError, ValueError):
        return None


_MODALITY_ALIASES: dict[str, str] = {
    "text": "text",
    "code": "text",
    "image": "image",
    "images": "image",
    "vision": "image",
    "audio": "audio",
    "speech": "audio",
    "video": "video",
    "file": "file",
    "files": "file",
    "pdf": "file",
    "document": "file",
}


def _modalities(value: object) -> list[str] | None:
    if isinstance(value, str):
        items: Iterable[object] = re.split(r"[+,\s]+", value)
    elif isinstance(value, list | tuple):
        items = value
    else:
        return None
    found = {_MODALITY_ALIASES.get(item.strip().lower()) for item in items if isinstance(item, str)}
    ordered = [m for m in MODALITIES if m in found]
    return ordered or None


def _modality_arrow(value: object) -> tuple[list[str] | None, list[str] | None]:
    """Split OpenRouter's "text+image->text" into input and output lists."""
    if not isinstance(value, str) or "->" not in value:
        return None, None
    inputs, _, outputs = value.partition("->")
    return _modalities(inputs), _modalities(outputs)


def _type_from_outputs(outputs: object) -> str | None:
    if not isinstance(outputs, list) or not outputs:
        return None
    if "text" in outputs:
        return "chat"
    if outputs == ["image"]:
        return "image"
    if outputs == ["audio"]:
        return "audio"
    return None


def _first(raw: dict[str, object], paths: Iterable[tuple[str, ...]], convert: Callable[[object], object]) -> object:
    # Hot: runs for every path of every field of every record, so the walk is inlined and
    # converters only see values that exist.
    for path in paths:
        obj: object = raw
        for key in path:
            if not isinstance(obj, dict):
                obj = None
                break
            obj = obj.get(key)
        if obj is not None:
            value = convert(obj)
            if value is not None:
                return value
    return None


def _put(facts: Facts, field: str, value: object) -> None:
    """Set a fact unless the value is unknown; readers never overwrite an earlier find."""
    if value is not None and facts.get(field) is None:
        facts[field] = value


# --------------------------------------------------------------------------- readers


def _union(*lists: list[str] | None) -> list[str] | None:
    found = {m for items in lists if items for m in items}
    return [m for m in MODALITIES if m in found] or None


def _architecture_modalities(raw: dict[str, object]) -> tuple[list[str] | None, list[str] | None]:
    # The lists and the "text+image->text" string are both the provider's words, and each
    # misses things: OpenRouter's string omits "file", redpill's lists omit "image" that its
    # string names. An input named in either one is accepted, so take the union.
    arrow_in, arrow_out = _modality_arrow(_dig(raw, "architecture", "modality"))
    inputs = _union(_modalities(_dig(raw, "architecture", "input_modalities")), arrow_in)
    outputs = _union(_modalities(_dig(raw, "architecture", "output_modalities")), arrow_out)
    return inputs, outputs


def _read_openrouter_shape(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _first(raw, [("context_length",), ("top_provider", "context_length")], _tokens))
    _put(facts, "max_output_tokens", _tokens(_dig(raw, "top_provider", "max_completion_tokens")))
    _put(facts, "input_price", _price(_dig(raw, "pricing", "prompt"), _PER_TOKEN))
    _put(facts, "output_price", _price(_dig(raw, "pricing", "completion"), _PER_TOKEN))
    _put(facts, "cache_read_price", _price(_dig(raw, "pricing", "input_cache_read"), _PER_TOKEN))
    inputs, outputs = _architecture_modalities(raw)
    _put(facts, "input_modalities", inputs)
    _put(facts, "output_modalities", outputs)
    _put(facts, "model_type", _type_from_outputs(outputs))
    params = raw.get("supported_parameters")
    # An empty list (openrouter/auto) is no evidence either way.
    if isinstance(params, list) and params:
        names = {p for p in params if isinstance(p, str)}
        _put(facts, "supports_tools", "tools" in names)
        _put(facts, "supports_reasoning", bool(names & {"reasoning", "include_reasoning"}))
    return facts


def _read_openrouter(raw: dict[str, object]) -> Facts:
    facts = _read_openrouter_shape(raw)
    # OpenRouter's input lists vary per model (text, image, file, audio): they are curated,
    # so no "image" means no image input.
    inputs = facts.get("input_modalities")
    if isinstance(inputs, list):
        _put(facts, "supports_vision", "image" in inputs)
    return facts


def _read_redpill(raw: dict[str, object]) -> Facts:
    facts = _read_openrouter_shape(raw)
    # Redpill's lists say ["text"] for vision models whose modality string says
    # "text+image", so a named image is evidence but a missing one is not.
    inputs = facts.get("input_modalities")
    if isinstance(inputs, list) and "image" in inputs:
        _put(facts, "supports_vision", True)
    return facts


def _read_per_token_strings(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("context_length")))
    _put(facts, "max_output_tokens", _tokens(raw.get("max_completion_tokens")))
    _put(facts, "input_price", _price(_dig(raw, "pricing", "prompt"), _PER_TOKEN))
    _put(facts, "output_price", _price(_dig(raw, "pricing", "completion"), _PER_TOKEN))
    _put(facts, "cache_read_price", _price(_dig(raw, "pricing", "input_cache_read"), _PER_TOKEN))
    return facts


def _read_baseten(raw: dict[str, object]) -> Facts:
    facts = _read_per_token_strings(raw)
    features = raw.get("supported_features")
    if isinstance(features, list) and features:
        names = {f for f in features if isinstance(f, str)}
        _put(facts, "supports_tools", "tools" in names)
        _put(facts, "supports_reasoning", "reasoning" in names)
    return facts


def _read_chutes(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("max_model_len")))
    _put(
        facts,
        "input_price",
        _first(raw, [("pricing", "prompt"), ("price", "input", "usd")], lambda v: _price(v, _PER_MILLION)),
    )
    _put(
        facts,
        "output_price",
        _first(raw, [("pricing", "completion"), ("price", "output", "usd")], lambda v: _price(v, _PER_MILLION)),
    )
    _put(facts, "description", _text(raw.get("tagline")))
    return facts


def _read_deepinfra(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(_dig(raw, "metadata", "context_length")))
    _put(facts, "max_output_tokens", _tokens(_dig(raw, "metadata", "max_tokens")))
    _put(facts, "description", _text(_dig(raw, "metadata", "description")))
    _put(facts, "input_price", _price(_dig(raw, "metadata", "pricing", "input_tokens"), _PER_MILLION))
    _put(facts, "output_price", _price(_dig(raw, "metadata", "pricing", "output_tokens"), _PER_MILLION))
    _put(facts, "cache_read_price", _price(_dig(raw, "metadata", "pricing", "cache_read_tokens"), _PER_MILLION))
    tags = _dig(raw, "metadata", "tags")
    if isinstance(tags, list):
        if "vision" in tags:
            _put(facts, "supports_vision", True)
        if "reasoning_effort" in tags:
            _put(facts, "supports_reasoning", True)
    return facts


_LITELLM_MODES: dict[str, str] = {
    "chat": "chat",
    "responses": "chat",
    "completion": "completion",
    "embedding": "embedding",
    "image_generation": "image",
    "audio_transcription": "audio",
    "audio_speech": "audio",
    "rerank": "rerank",
    "moderation": "moderation",
}


def _read_litellm(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("max_input_tokens")))
    _put(facts, "max_output_tokens", _tokens(raw.get("max_output_tokens")))
    _put(facts, "input_price", _price(raw.get("input_cost_per_token"), _PER_TOKEN))
    _put(facts, "output_price", _price(raw.get("output_cost_per_token"), _PER_TOKEN))
    _put(facts, "cache_read_price", _price(raw.get("cache_read_input_token_cost"), _PER_TOKEN))
    _put(facts, "supports_tools", _flag(raw.get("supports_function_calling")))
    _put(facts, "supports_vision", _flag(raw.get("supports_vision")))
    _put(facts, "supports_reasoning", _flag(raw.get("supports_reasoning")))
    _put(facts, "input_modalities", _modalities(raw.get("supported_modalities")))
    _put(facts, "output_modalities", _modalities(raw.get("supported_output_modalities")))
    mode = raw.get("mode")
    _put(facts, "model_type", _LITELLM_MODES.get(mode) if isinstance(mode, str) else None)
    _put(facts, "deprecated_at", _timestamp(raw.get("deprecation_date")))
    return facts


def _read_mistral(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("max_context_length")))
    _put(facts, "deprecated_at", _timestamp(raw.get("deprecation")))
    caps = raw.get("capabilities")
    if isinstance(caps, dict):
        _put(facts, "supports_tools", _flag(caps.get("function_calling")))
        _put(facts, "supports_vision", _flag(caps.get("vision")))
        if caps.get("moderation") is True:
            _put(facts, "model_type", "moderation")
        elif caps.get("completion_chat") is True:
            _put(facts, "model_type", "chat")
            inputs = ["text"]
            if caps.get("vision") is True:
                inputs.append("image")
            if caps.get("audio") is True:
                inputs.append("audio")
            _put(facts, "input_modalities", inputs)
            _put(facts, "output_modalities", ["text"])
    return facts


def _read_fireworks(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("context_length")))
    _put(facts, "supports_tools", _flag(raw.get("supports_tools")))
    _put(facts, "supports_vision", _flag(raw.get("supports_image_input")))
    if raw.get("kind") == "FLUMINA_BASE_MODEL":
        _put(facts, "model_type", "image")
    elif raw.get("supports_chat") is True:
        _put(facts, "model_type", "chat")
    return facts


def _read_groq(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("context_window")))
    _put(facts, "max_output_tokens", _tokens(raw.get("max_completion_tokens")))
    return facts


def _read_featherless(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "context_window", _tokens(raw.get("context_length")))
    _put(facts, "max_output_tokens", _tokens(raw.get("max_completion_tokens")))
    _put(facts, "supports_tools", _flag(_dig(raw, "features", "tool_use")))
    return facts


def _read_huggingface(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    hosts = raw.get("providers")
    if not isinstance(hosts, list):
        return facts
    live = [h for h in hosts if isinstance(h, dict) and h.get("status", "live") == "live"]
    numbered = [h for h in live if "context_length" in h or isinstance(h.get("pricing"), dict)]
    flagged = [h for h in live if isinstance(h.get("supports_tools"), bool)]
    chosen = (numbered or flagged or [None])[0]
    if chosen is None:
        return facts
    _put(facts, "context_window", _tokens(chosen.get("context_length")))
    _put(facts, "input_price", _price(_dig(chosen, "pricing", "input"), _PER_MILLION))
    _put(facts, "output_price", _price(_dig(chosen, "pricing", "output"), _PER_MILLION))
    _put(facts, "supports_tools", _flag(chosen.get("supports_tools")))
    return facts


def _read_anthropic(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "name", _text(raw.get("display_name")))
    _put(facts, "created", _timestamp(raw.get("created_at")))
    return facts


def _read_llm7(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    inputs = _modalities(_dig(raw, "modalities", "input"))
    _put(facts, "input_modalities", inputs)
    _put(facts, "output_modalities", _modalities(_dig(raw, "modalities", "output")))
    # llm7's input lists differ per model ("text" vs "text","image"): they are curated.
    if inputs is not None:
        _put(facts, "supports_vision", "image" in inputs)
    return facts


def _read_poe(raw: dict[str, object]) -> Facts:
    # Poe lists ["text"] as input for every bot (Aya-Vision too), so no vision from it.
    facts: Facts = {}
    inputs, outputs = _architecture_modalities(raw)
    _put(facts, "input_modalities", inputs)
    _put(facts, "output_modalities", outputs)
    _put(facts, "model_type", _type_from_outputs(outputs))
    return facts


def _read_listing_only(raw: dict[str, object]) -> Facts:
    # Ids-only lists: the generic reader picks up created/owned_by; the rest is unknown.
    return {}


_CONTEXT_PATHS: tuple[tuple[str, ...], ...] = (
    ("context_length",),
    ("context_window",),
    ("max_context_length",),
    ("max_model_len",),
    ("max_input_tokens",),
    ("metadata", "context_length"),
    ("top_provider", "context_length"),
    ("inputTokenLimit",),
)
_OUTPUT_PATHS: tuple[tuple[str, ...], ...] = (
    ("max_completion_tokens",),
    ("max_output_tokens",),
    ("top_provider", "max_completion_tokens"),
    ("metadata", "max_tokens"),
    ("outputTokenLimit",),
    ("max_tokens",),
)
_TOOL_PATHS: tuple[tuple[str, ...], ...] = (
    ("supports_tools",),
    ("supports_function_calling",),
    ("capabilities", "tools"),
    ("capabilities", "function_calling"),
    ("features", "tool_use"),
)
_VISION_PATHS: tuple[tuple[str, ...], ...] = (
    ("supports_vision",),
    ("supports_image_input",),
    ("capabilities", "vision"),
)
_REASONING_PATHS: tuple[tuple[str, ...], ...] = (
    ("supports_reasoning",),
    ("capabilities", "reasoning"),
)
_GENERIC_TYPES: dict[str, str] = {
    **{t: t for t in MODEL_TYPES},
    "embeddings": "embedding",
    "image_generation": "image",
    "text-to-image": "image",
    "reranker": "rerank",
}
# Only keys whose name carries the unit are read as prices; a bare "prompt" is ambiguous.
_UNIT_PRICE_KEY = re.compile(
    r"(?P<dir>input|prompt|output|completion|cache_read)(?:_tokens?)?(?:_cost|_price)?"
    r"_per_(?P<unit>token|million|1m|m)(?:_tokens)?"
)
_PRICE_FIELD_OF_DIR: dict[str, str] = {
    "input": "input_price",
    "prompt": "input_price",
    "output": "output_price",
    "completion": "output_price",
    "cache_read": "cache_read_price",
}


def _generic_prices(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    # litellm's spelling of the cached-input price puts the unit in the middle.
    _put(facts, "cache_read_price", _price(raw.get("cache_read_input_token_cost"), _PER_TOKEN))
    for container in (raw, raw.get("pricing"), raw.get("price")):
        if not isinstance(container, dict):
            continue
        for key in sorted(k for k in container if isinstance(k, str)):
            match = _UNIT_PRICE_KEY.fullmatch(key.lower())
            if match is None:
                continue
            unit = _PER_TOKEN if match["unit"] == "token" else _PER_MILLION
            _put(facts, _PRICE_FIELD_OF_DIR[match["dir"]], _price(container[key], unit))
    return facts


def _read_generic(raw: dict[str, object]) -> Facts:
    facts: Facts = {}
    _put(facts, "name", _first(raw, [("name",), ("display_name",), ("displayName",)], _text))
    _put(facts, "description", _first(raw, [("description",), ("metadata", "description")], _text))
    _put(facts, "created", _first(raw, [("created",), ("created_at",), ("createdAt",)], _timestamp))
    _put(facts, "owned_by", _first(raw, [("owned_by",), ("owner",)], _text))
    _put(
        facts,
        "deprecated_at",
        _first(raw, [("deprecation_date",), ("deprecated_at",), ("deprecation",)], _timestamp),
    )
    _put(facts, "context_window", _first(raw, _CONTEXT_PATHS, _tokens))
    _put(facts, "max_output_tokens", _first(raw, _OUTPUT_PATHS, _tokens))
    for field, value in _generic_prices(raw).items():
        _put(facts, field, value)
    _put(facts, "supports_tools", _first(raw, _TOOL_PATHS, _flag))
    _put(facts, "supports_vision", _first(raw, _VISION_PATHS, _flag))
    _put(facts, "supports_reasoning", _first(raw, _REASONING_PATHS, _flag))
    arrow_in, arrow_out = _modality_arrow(_first(raw, [("architecture", "modality"), ("modality",)], _text))
    listed_in = _first(
        raw, [("architecture", "input_modalities"), ("input_modalities",), ("modalities", "input")], _modalities
    )
    listed_out = _first(
        raw, [("architecture", "output_modalities"), ("output_modalities",), ("modalities", "output")], _modalities
    )
    _put(facts, "input_modalities", _union(listed_in if isinstance(listed_in, list) else None, arrow_in))
    _put(facts, "output_modalities", _union(listed_out if isinstance(listed_out, list) else None, arrow_out))
    kind = _first(raw, [("model_type",), ("type",), ("task",)], _text)
    _put(facts, "model_type", _GENERIC_TYPES.get(kind.lower()) if isinstance(kind, str) else None)
    return facts


DIALECTS: dict[str, Reader] = {
    "openrouter": _read_openrouter,
    "redpill": _read_redpill,
    "baseten": _read_baseten,
    "atlascloud": _read_per_token_strings,
    "sambanova": _read_per_token_strings,
    "chutes": _read_chutes,
    "deepinfra": _read_deepinfra,
    "litellm": _read_litellm,
    "mistral": _read_mistral,
    "fireworks": _read_fireworks,
    "hyperbolic": _read_fireworks,
    "groq": _read_groq,
    "featherless": _read_featherless,
    "huggingface": _read_huggingface,
    "anthropic": _read_anthropic,
    "llm7": _read_llm7,
    "poe": _read_poe,
    "aihorde": _read_listing_only,
    "cerebras": _read_listing_only,
    "deepseek": _read_listing_only,
    "enfer": _read_listing_only,
    "gemini": _read_listing_only,
    "inference": _read_listing_only,
    "infermatic": _read_listing_only,
    "lmstudio": _read_listing_only,
    "moonshot": _read_listing_only,
    "nebius": _read_listing_only,
    "openai": _read_listing_only,
    "parasail": _read_listing_only,
    "pollinations": _read_listing_only,
    "zai": _read_listing_only,
}

# Fields the generic reader must not fill for a dialect, because a common key name means
# something else there (litellm's legacy max_tokens is the output OR the input limit).
_GENERIC_SKIP: dict[str, frozenset[str]] = {
    "litellm": frozenset({"max_output_tokens"}),
}


def _empty_facts() -> Facts:
    return dict.fromkeys(FACT_FIELDS)


def normalize_record(provider: str, model_id: str, raw: object) -> dict[str, object]:
    """Facts of one raw model record: every ``FACT_FIELDS`` key (None when unknown) + ``sources``.

    ``model_id`` is accepted for symmetry with ``enrich``; no fact is ever guessed from it.
    """
    facts = _empty_facts()
    if isinstance(raw, dict):
        reader = DIALECTS.get(provider) if isinstance(provider, str) else None
        found: Facts = {}
        try:
            if reader is not None:
                found = reader(raw)
            skip = _GENERIC_SKIP.get(provider, frozenset()) if isinstance(provider, str) else frozenset()
            for field, value in _read_generic(raw).items():
                if field not in skip:
                    _put(found, field, value)
        # The readers are written not to raise; this is the net under them, because one
        # bizarre record must not stop a whole fetch.
        except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError, RecursionError):
            found = {}
        for field in FACT_FIELDS:
            if found.get(field) is not None:
                facts[field] = found[field]
    facts["sources"] = {f: "provider" for f in FACT_FIELDS if facts[f] is not None}
    return facts


# --------------------------------------------------------------------------- ids

_ROUTING_TAG = re.compile(r":(?:free|beta|nitro|extended|floor|online)$")
_QUANT_SEGMENT = re.compile(r"(?:fp|bf|int)-?\d+|awq|gptq")
_TRAILING_NOISE = re.compile(
    r"-(?:"
    r"(?:19|20)\d{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])"  # full dates only
    r"|latest"
    r"|(?:fp|bf|int)\d+(?:-dynamic)?"
    r"|awq|gptq"
    r")$"
)


def normalize_id(model_id: str) -> str:
    """Matching key for a model id; see the module docstring for the rules."""
    if not isinstance(model_id, str):
        return ""
    text = model_id.strip().lower()
    text = _ROUTING_TAG.sub("", text)
    segments = [s for s in text.split("/") if s]
    while len(segments) > 1 and _QUANT_SEGMENT.fullmatch(segments[-1]):
        segments.pop()
    text = segments[-1] if segments else ""
    text = re.sub(r"(?<=\d)p(?=\d)", ".", text)
    text = re.sub(r"[\s_.:@]+", "-", text)
    text = re.sub(r"-+", "-", text).strip("-")
    while True:
        shorter = _TRAILING_NOISE.sub("", text)
        if shorter == text or not shorter:
            break
        text = shorter
    text = re.sub(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])", "-", text)
    text = re.sub(r"(?:^|(?<=-))v-(?=\d)", "", text)
    text = re.sub(r"^meta-(?=llama)", "", text)
    return re.sub(r"-+", "-", text).strip("-")


# Enrichment normalizes the same ids once per reference and again on every fetch.
_normalize_cached = lru_cache(maxsize=1 << 16)(normalize_id)

# --------------------------------------------------------------------------- enrichment

# Our provider name -> litellm's provider name (its key prefix and its litellm_provider).
LITELLM_PROVIDERS: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "groq": "groq",
    "gemini": "gemini",
    "togetherai": "together_ai",
    "together": "together_ai",
    "fireworks": "fireworks_ai",
    "deepinfra": "deepinfra",
    "mistral": "mistral",
    "deepseek": "deepseek",
    "xai": "xai",
    "cerebras": "cerebras",
    "openrouter": "openrouter",
    "moonshot": "moonshot",
    "morphllm": "morph",
    "sambanova": "sambanova",
    "nebius": "nebius",
    "novita": "novita",
    "perplexity": "perplexity",
    "huggingface": "huggingface",
    "hyperbolic": "hyperbolic",
    "friendli": "friendliai",
    "friendliai": "friendliai",
    "featherless": "featherless_ai",
    "cohere": "cohere",
    "ai21": "ai21",
    "lambda": "lambda_ai",
    "nscale": "nscale",
    "dashscope": "dashscope",
}
# litellm keys these providers' models without a prefix ("gpt-4o", "claude-3-5-haiku-...").
_BARE_IN_LITELLM: frozenset[str] = frozenset({"openai", "anthropic"})

_LEVELS: tuple[str, ...] = ("qualified", "bare", "normalized")


class ReferenceMatch(NamedTuple):
    reference: str
    key: str
    level: str
    host: str
    facts: dict[str, object]


def _same_host(provider: str, host: str) -> bool:
    name = LITELLM_PROVIDERS.get(provider, provider)
    # litellm splits some hosts: "fireworks_ai-embedding-models", "text-completion-openai".
    return host == name or host.startswith(name + "-") or host.endswith("-" + name)


def _last_segment(model_id: str) -> str:
    segments = [s for s in model_id.split("/") if s]
    return segments[-1] if segments else model_id


_LISTING_PREFIX = re.compile(r"^(?:models/|accounts/[^/]+/models/)")


def _listing_id(model_id: str) -> str:
    """The id without a listing path that names no vendor (gemini's models/, fireworks')."""
    return _LISTING_PREFIX.sub("", model_id)


class ReferenceIndex:
    """A reference catalog, normalized once and indexed for dict-speed matching."""

    def __init__(self, reference_name: str, records: Iterable[tuple[str, object]]) -> None:
        self.name = reference_name
        self._facts: dict[str, dict[str, object]] = {}
        self._hosts: dict[str, str] = {}
        for key, raw in records:
            # Ids repeat in some lists; the first record of an id is the one we keep.
            if not isinstance(key, str) or not key or key == "sample_spec" or key in self._facts:
                continue
            self._facts[key] = normalize_record(reference_name, key, raw)
            host = raw.get("litellm_provider") if isinstance(raw, dict) else None
            self._hosts[key] = host if isinstance(host, str) else reference_name
        self._qualifies = reference_name == "litellm"
        # litellm keys are "<host>/<id>", so the part after a slash is no model name there.
        self._index_tails = reference_name != "litellm"
        self._exact: dict[str, list[str]] = {}
        self._tails: dict[str, list[str]] = {}
        self._normalized: dict[str, list[str]] = {}
        for key in sorted(self._facts, key=lambda k: (len(k), k)):
            self._exact.setdefault(key.lower(), []).append(key)
            if self._index_tails and "/" in key:
                self._tails.setdefault(_last_segment(key).lower(), []).append(key)
            normalized = _normalize_cached(key)
            if normalized:
                self._normalized.setdefault(normalized, []).append(key)

    def __len__(self) -> int:
        return len(self._facts)

    def __contains__(self, key: object) -> bool:
        return key in self._facts

    def facts(self, key: str) -> dict[str, object] | None:
        return self._facts.get(key)

    def _pick(self, provider: str, keys: list[str] | None) -> str | None:
        if not keys:
            return None
        for key in keys:
            if _same_host(provider, self._hosts[key]):
                return key
        return keys[0]

    def _qualified_candidates(self, provider: str, model_id: str) -> list[str]:
        if not self._qualifies or provider not in LITELLM_PROVIDERS:
            return []
        prefix = "" if provider in _BARE_IN_LITELLM else LITELLM_PROVIDERS[provider] + "/"
        return [prefix + model_id, prefix + _listing_id(model_id)]

    def match(self, provider: str, model_id: str) -> ReferenceMatch | None:
        """The best record for (provider, model_id): qualified, then bare, then normalized."""
        if not isinstance(model_id, str) or not model_id.strip():
            return None
        model_id = model_id.strip()
        lowered = model_id.lower()
        listed = _listing_id(lowered)
        # Tails are probed with the whole id, never its last segment: "gpt-oss-120b" may be
        # "openai/gpt-oss-120b", but "someone/Llama-3.2-1B" is another vendor's upload of
        # "meta-llama/llama-3.2-1b", which only a normalized match may claim.
        bare_probes = [(self._exact, lowered), (self._exact, listed), (self._tails, listed)]
        for level in _LEVELS:
            key: str | None = None
            if level == "qualified":
                for candidate in self._qualified_candidates(provider, model_id):
                    key = key or self._pick(provider, self._exact.get(candidate.lower()))
            elif level == "bare":
                for table, probe in bare_probes:
                    key = key or self._pick(provider, table.get(probe))
            else:
                key = self._pick(provider, self._normalized.get(_normalize_cached(model_id)))
            if key is not None:
                return ReferenceMatch(self.name, key, level, self._hosts[key], self._facts[key])
        return None


def enrich(
    provider: str,
    model_id: str,
    facts: Mapping[str, object],
    references: Sequence[ReferenceIndex],
    *,
    prices_from_any_host: bool = False,
) -> dict[str, object]:
    """A copy of ``facts`` with unknown model facts filled from ``references``.

    Pass references in priority order (litellm before openrouter). See the module
    docstring for levels, tie-breaks and the fields that are (not) enriched.
    """
    result: dict[str, object] = {field: facts.get(field) for field in FACT_FIELDS}
    given = facts.get("sources")
    sources: dict[str, str] = dict(given) if isinstance(given, Mapping) else {}
    for field in FACT_FIELDS:
        if result[field] is not None:
            sources.setdefault(field, "provider")
        else:
            sources.pop(field, None)
    candidates: list[tuple[int, int, ReferenceMatch]] = []
    for order, reference in enumerate(references):
        if reference.name == provider:
            continue
        found = reference.match(provider, model_id)
        if found is not None:
            candidates.append((_LEVELS.index(found.level), order, found))
    candidates.sort(key=lambda c: (c[0], c[1]))
    for _, _, found in candidates:
        host_ok = prices_from_any_host or _same_host(provider, found.host)
        for field in ENRICHABLE_FIELDS:
            if result[field] is not None:
                continue
            if field in PRICE_FIELDS and not host_ok:
                continue
            if field in _EXACT_ONLY_FIELDS and found.level == "normalized":
                continue
            value = found.facts.get(field)
            if value is None:
                continue
            result[field] = list(value) if isinstance(value, list) else value
            sources[field] = f"{found.reference}:{found.key}"
    result["sources"] = sources
    return result
