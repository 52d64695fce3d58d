"""Per-provider readers, kept only where a provider's meaning differs from the generic reader's.

Each one documents the convention that the generic rules cannot know from the record alone;
everything else of that provider is read by :mod:`.reading`. A dialect runs first and wins;
the generic reader then fills what it left unknown (``GENERIC_SKIP`` names the facts a common
key means something else for).

- openrouter, redpill (and other hosts named here with OpenRouter's shape): ``pricing.prompt`` /
  ``.completion`` / ``.input_cache_read`` are USD per token (strings); modalities are the union
  of ``architecture.*_modalities`` and the ``"text+image->text"`` string; model_type from the
  outputs. OpenRouter's input lists are curated (no image: no vision), redpill's are not.
- baseten, atlascloud, sambanova: ``pricing.prompt`` / ``.completion`` per token; baseten's
  ``supported_features`` is an explicit list (a feature absent from a non-empty list is False).
- chutes: ``pricing.prompt`` / ``.completion`` are USD per 1M (numbers), as ``price.*.usd``.
- deepinfra: ``metadata.pricing.*_tokens`` USD per 1M; ``metadata.max_tokens`` is the output
  limit; tags are sparse (a missing tag is no evidence).
- novita: ``*_token_price_per_m`` are in units of 0.0001 USD per 1M tokens (its docs; the name
  says per million, the number is 10,000 times the dollars).
- xai: ``*_text_token_price`` are in units of 0.0001 USD per 1M tokens (USD cents per 100M).
- together / togetherai: ``type: language`` is a base (completion) model; ``pricing.input`` /
  ``.output`` are USD per 1M.
- litellm: ``*_cost_per_token`` per token, ``max_input_tokens`` is the context, the legacy
  ``max_tokens`` is not read (it means the output OR the input limit), ``mode`` is the type.
- mistral: ``capabilities.completion_chat`` makes a chat model (text in, plus image/audio when
  flagged), ``capabilities.moderation`` a moderation model; ``type: base`` is not a model type.
- fireworks, hyperbolic: ``kind: FLUMINA_BASE_MODEL`` is an image model; ``supports_chat``.
- huggingface (router): ``providers`` lists hosts; one live host's numbers are taken together.
- poe: inputs are ["text"] for every bot, so they say nothing about vision.
- modelsdev (models.dev api.json records): ``cost.*`` USD per 1M, ``limit.*``, ``tool_call``,
  ``reasoning``, ``attachment``, ``modalities``, ``status: deprecated``.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from . import values
from .reading import Reading
from .units import PER_1M, PER_TOKEN, PriceClaim, Unit

__all__ = ["DIALECTS", "GENERIC_SKIP", "Rec"]


class Rec:
    """A raw record that remembers which paths a dialect read (so they are not 'unread')."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.used: set[tuple[str, ...]] = set()
        # Set by a dialect that read all there is: the generic reader then reads nothing.
        self.done = False

    def get(self, *path: str) -> Any:
        self.used.add(path)
        obj: Any = self.raw
        for key in path:
            if not isinstance(obj, dict):
                return None
            obj = obj.get(key)
        return obj


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(path)


def _put(out: Reading, fact: str, r: Rec, path: tuple[str, ...], parse: Callable[[Any], Any]) -> None:
    raw = r.get(*path)
    if raw is not None:
        out.put(fact, parse(raw), _dotted(path), raw)


def _price(out: Reading, fact: str, r: Rec, path: tuple[str, ...], per: Decimal, scale: Decimal = Decimal(1)) -> None:
    raw = r.get(*path)
    amount = values.decimal(raw)
    if amount is None:
        return
    unit = Unit(per_tokens=per, scale=scale, basis="dialect")
    out.price(PriceClaim(fact, _dotted(path), raw, amount, unit))


def _architecture_modalities(r: Rec, out: Reading) -> tuple[list[str] | None, list[str] | None]:
    # The lists and the "text+image->text" string are both the provider's words, and each
    # misses things: OpenRouter's string omits "file", redpill's lists omit "image".
    arrow_in, arrow_out = values.modality_arrow(r.get("architecture", "modality"))
    inputs = values.union(values.modalities(r.get("architecture", "input_modalities")), arrow_in)
    outputs = values.union(values.modalities(r.get("architecture", "output_modalities")), arrow_out)
    out.put("input_modalities", inputs, "architecture.input_modalities", r.get("architecture"))
    out.put("output_modalities", outputs, "architecture.output_modalities", r.get("architecture"))
    out.put("model_type", values.type_from_outputs(outputs), "architecture.output_modalities", r.get("architecture"))
    return inputs, outputs


def _read_openrouter_shape(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("context_length",), values.tokens)
    _put(out, "context_window", r, ("top_provider", "context_length"), values.tokens)
    _put(out, "max_output_tokens", r, ("top_provider", "max_completion_tokens"), values.tokens)
    _price(out, "input_price", r, ("pricing", "prompt"), PER_TOKEN)
    _price(out, "output_price", r, ("pricing", "completion"), PER_TOKEN)
    _price(out, "cache_read_price", r, ("pricing", "input_cache_read"), PER_TOKEN)
    _architecture_modalities(r, out)
    params = r.get("supported_parameters")
    # An empty list (openrouter/auto) is no evidence either way.
    if isinstance(params, list) and params:
        names = {p for p in params if isinstance(p, str)}
        out.put("supports_tools", "tools" in names, "supported_parameters", params)
        out.put("supports_reasoning", bool(names & {"reasoning", "include_reasoning"}), "supported_parameters", params)


def _read_openrouter(r: Rec, out: Reading) -> None:
    _read_openrouter_shape(r, out)
    # OpenRouter's input lists vary per model: they are curated, so no "image" means no image input.
    inputs = out.facts.get("input_modalities")
    if isinstance(inputs, list):
        out.put("supports_vision", "image" in inputs, "architecture.input_modalities", inputs)


def _read_redpill(r: Rec, out: Reading) -> None:
    _read_openrouter_shape(r, out)
    inputs = out.facts.get("input_modalities")
    if isinstance(inputs, list) and "image" in inputs:
        out.put("supports_vision", True, "architecture.modality", inputs)


def _read_per_token_strings(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("context_length",), values.tokens)
    _put(out, "max_output_tokens", r, ("max_completion_tokens",), values.tokens)
    _price(out, "input_price", r, ("pricing", "prompt"), PER_TOKEN)
    _price(out, "output_price", r, ("pricing", "completion"), PER_TOKEN)
    _price(out, "cache_read_price", r, ("pricing", "input_cache_read"), PER_TOKEN)


def _read_baseten(r: Rec, out: Reading) -> None:
    _read_per_token_strings(r, out)
    features = r.get("supported_features")
    if isinstance(features, list) and features:
        names = {f for f in features if isinstance(f, str)}
        out.put("supports_tools", "tools" in names, "supported_features", features)
        out.put("supports_reasoning", "reasoning" in names, "supported_features", features)


def _read_chutes(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("max_model_len",), values.tokens)
    _price(out, "input_price", r, ("pricing", "prompt"), PER_1M)
    _price(out, "output_price", r, ("pricing", "completion"), PER_1M)
    _price(out, "input_price", r, ("price", "input", "usd"), PER_1M)
    _price(out, "output_price", r, ("price", "output", "usd"), PER_1M)
    _put(out, "description", r, ("tagline",), values.text)


def _read_deepinfra(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("metadata", "context_length"), values.tokens)
    _put(out, "max_output_tokens", r, ("metadata", "max_tokens"), values.tokens)
    _put(out, "description", r, ("metadata", "description"), values.text)
    _price(out, "input_price", r, ("metadata", "pricing", "input_tokens"), PER_1M)
    _price(out, "output_price", r, ("metadata", "pricing", "output_tokens"), PER_1M)
    _price(out, "cache_read_price", r, ("metadata", "pricing", "cache_read_tokens"), PER_1M)
    tags = r.get("metadata", "tags")
    if isinstance(tags, list):
        # The tags are sparse: a missing tag is no evidence, so nothing is "stated" by them.
        if "vision" in tags:
            out.put("supports_vision", True, "metadata.tags", tags)
        if "reasoning_effort" in tags:
            out.put("supports_reasoning", True, "metadata.tags", tags)


_TEN_THOUSANDTH = Decimal("0.0001")


def _read_novita(r: Rec, out: Reading) -> None:
    _price(out, "input_price", r, ("input_token_price_per_m",), PER_1M, _TEN_THOUSANDTH)
    _price(out, "output_price", r, ("output_token_price_per_m",), PER_1M, _TEN_THOUSANDTH)
    _price(out, "cache_read_price", r, ("cached_input_token_price_per_m",), PER_1M, _TEN_THOUSANDTH)


def _read_xai(r: Rec, out: Reading) -> None:
    _price(out, "input_price", r, ("prompt_text_token_price",), PER_1M, _TEN_THOUSANDTH)
    _price(out, "output_price", r, ("completion_text_token_price",), PER_1M, _TEN_THOUSANDTH)
    _price(out, "cache_read_price", r, ("cached_prompt_text_token_price",), PER_1M, _TEN_THOUSANDTH)
    r.get("prompt_image_token_price")


def _read_together(r: Rec, out: Reading) -> None:
    kind = r.get("type")
    if kind == "language":
        out.put("model_type", "completion", "type", kind)
    _price(out, "input_price", r, ("pricing", "input"), PER_1M)
    _price(out, "output_price", r, ("pricing", "output"), PER_1M)
    _price(out, "cache_read_price", r, ("pricing", "cached_input"), PER_1M)


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


def _read_litellm(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("max_input_tokens",), values.tokens)
    _put(out, "max_output_tokens", r, ("max_output_tokens",), values.tokens)
    r.get("max_tokens")
    _price(out, "input_price", r, ("input_cost_per_token",), PER_TOKEN)
    _price(out, "output_price", r, ("output_cost_per_token",), PER_TOKEN)
    _price(out, "cache_read_price", r, ("cache_read_input_token_cost",), PER_TOKEN)
    _put(out, "supports_tools", r, ("supports_function_calling",), values.flag)
    _put(out, "supports_vision", r, ("supports_vision",), values.flag)
    _put(out, "supports_reasoning", r, ("supports_reasoning",), values.flag)
    _put(out, "input_modalities", r, ("supported_modalities",), values.modalities)
    _put(out, "output_modalities", r, ("supported_output_modalities",), values.modalities)
    mode = r.get("mode")
    if isinstance(mode, str):
        out.put("model_type", _LITELLM_MODES.get(mode), "mode", mode)
    _put(out, "deprecated_at", r, ("deprecation_date",), values.timestamp)


def _read_mistral(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("max_context_length",), values.tokens)
    _put(out, "deprecated_at", r, ("deprecation",), values.timestamp)
    r.get("type")
    caps = r.get("capabilities")
    if isinstance(caps, dict):
        _put(out, "supports_tools", r, ("capabilities", "function_calling"), values.flag)
        _put(out, "supports_vision", r, ("capabilities", "vision"), values.flag)
        if caps.get("moderation") is True:
            out.put("model_type", "moderation", "capabilities.moderation", True)
        elif caps.get("completion_chat") is True:
            out.put("model_type", "chat", "capabilities.completion_chat", True)
            inputs = ["text"]
            if caps.get("vision") is True:
                inputs.append("image")
            if caps.get("audio") is True:
                inputs.append("audio")
            out.put("input_modalities", inputs, "capabilities", caps)
            out.put("output_modalities", ["text"], "capabilities", caps)


def _read_fireworks(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("context_length",), values.tokens)
    _put(out, "supports_tools", r, ("supports_tools",), values.flag)
    _put(out, "supports_vision", r, ("supports_image_input",), values.flag)
    if r.get("kind") == "FLUMINA_BASE_MODEL":
        out.put("model_type", "image", "kind", "FLUMINA_BASE_MODEL")
    elif r.get("supports_chat") is True:
        out.put("model_type", "chat", "supports_chat", True)


def _read_groq(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("context_window",), values.tokens)
    _put(out, "max_output_tokens", r, ("max_completion_tokens",), values.tokens)


def _read_featherless(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("context_length",), values.tokens)
    _put(out, "max_output_tokens", r, ("max_completion_tokens",), values.tokens)
    _put(out, "supports_tools", r, ("features", "tool_use"), values.flag)
    r.get("model_class")


def _read_huggingface(r: Rec, out: Reading) -> None:
    hosts = r.get("providers")
    if not isinstance(hosts, list):
        return
    live = [h for h in hosts if isinstance(h, dict) and h.get("status", "live") == "live"]
    numbered = [h for h in live if "context_length" in h or isinstance(h.get("pricing"), dict)]
    flagged = [h for h in live if isinstance(h.get("supports_tools"), bool)]
    chosen = (numbered or flagged or [None])[0]
    if chosen is None:
        return
    index = hosts.index(chosen)
    host = Rec(chosen)
    _put(out, "context_window", host, ("context_length",), values.tokens)
    for fact, key in (("input_price", "input"), ("output_price", "output")):
        amount = values.decimal(host.get("pricing", key))
        if amount is not None:
            unit = Unit(per_tokens=PER_1M, basis="dialect")
            out.price(PriceClaim(fact, f"providers.{index}.pricing.{key}", host.get("pricing", key), amount, unit))
    _put(out, "supports_tools", host, ("supports_tools",), values.flag)
    # Facts of one route: the other hosts' numbers are neither read nor "unread".
    r.used.add(("providers",))


def _read_anthropic(r: Rec, out: Reading) -> None:
    _put(out, "name", r, ("display_name",), values.text)
    _put(out, "created", r, ("created_at",), values.timestamp)


def _read_llm7(r: Rec, out: Reading) -> None:
    _put(out, "input_modalities", r, ("modalities", "input"), values.modalities)
    _put(out, "output_modalities", r, ("modalities", "output"), values.modalities)
    inputs = out.facts.get("input_modalities")
    # llm7's input lists differ per model ("text" vs "text","image"): they are curated.
    if isinstance(inputs, list):
        out.put("supports_vision", "image" in inputs, "modalities.input", inputs)


def _read_poe(r: Rec, out: Reading) -> None:
    _architecture_modalities(r, out)
    # Poe lists ["text"] as input for every bot (Aya-Vision too), so no vision verdict; the
    # generic reader must not call it "vision: stated" either.
    out.stated.discard("supports_vision")


def _read_modelsdev(r: Rec, out: Reading) -> None:
    _put(out, "context_window", r, ("limit", "context"), values.tokens)
    _put(out, "max_output_tokens", r, ("limit", "output"), values.tokens)
    _price(out, "input_price", r, ("cost", "input"), PER_1M)
    _price(out, "output_price", r, ("cost", "output"), PER_1M)
    _price(out, "cache_read_price", r, ("cost", "cache_read"), PER_1M)
    _put(out, "supports_tools", r, ("tool_call",), values.flag)
    _put(out, "supports_reasoning", r, ("reasoning",), values.flag)
    _put(out, "input_modalities", r, ("modalities", "input"), values.modalities)
    _put(out, "output_modalities", r, ("modalities", "output"), values.modalities)
    inputs = out.facts.get("input_modalities")
    if isinstance(inputs, list):
        # models.dev's lists are curated per model.
        out.put("supports_vision", "image" in inputs, "modalities.input", inputs)
    outputs = out.facts.get("output_modalities")
    out.put("model_type", values.type_from_outputs(outputs), "modalities.output", outputs)
    r.get("attachment")
    r.get("knowledge")
    r.get("release_date")
    r.get("last_updated")
    r.get("status")


def _read_listing_only(r: Rec, out: Reading) -> None:
    # Ids-only lists: the generic reader picks up created/owned_by; the rest is unknown.
    return None


Dialect = Callable[[Rec, Reading], None]

DIALECTS: dict[str, Dialect] = {
    "openrouter": _read_openrouter,
    "redpill": _read_redpill,
    "baseten": _read_baseten,
    "atlascloud": _read_per_token_strings,
    "sambanova": _read_per_token_strings,
    "chutes": _read_chutes,
    "deepinfra": _read_deepinfra,
    "novita": _read_novita,
    "xai": _read_xai,
    "together": _read_together,
    "togetherai": _read_together,
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
    "modelsdev": _read_modelsdev,
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

# Facts the generic reader must not fill for a dialect, because a common key name means
# something else there.
GENERIC_SKIP: dict[str, frozenset[str]] = {
    # litellm's legacy max_tokens is the output OR the input limit.
    "litellm": frozenset({"max_output_tokens"}),
    # Poe's "architecture.input_modalities" is ["text"] for every bot.
    "poe": frozenset({"supports_vision"}),
    # deepinfra's tags are sparse: not a capability list.
    "deepinfra": frozenset({"supports_tools", "supports_vision", "supports_reasoning"}),
    # mistral's "type: base" describes the weights family, not the served model.
    "mistral": frozenset({"model_type"}),
}
