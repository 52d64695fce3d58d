"""Model identity: when two ids (at two hosts, or in a reference catalog) name the same model.

``normalize_id`` is the matching key (not a display form): lowercase; OpenRouter routing tags
(``:free``, ``:beta``, ``:nitro``, ``:extended``, ``:floor``, ``:online``) and trailing
quantisation path segments (``/fp-8``) dropped; the last path segment kept (strips
``meta-llama/``, ``accounts/fireworks/models/``, ``models/``, ``@cf/meta/``); Fireworks' ``3p1``
-> ``3.1``; ``_ . : @`` and spaces -> ``-``; trailing full dates (``-2024-08-06``,
``-20240806``), ``-latest`` and quantisation tags (``-fp8``, ``-bf16``, ``-awq``...) dropped;
letters split from digits (``llama3.1`` = ``llama-3.1``); a ``v`` before a version dropped; a
vendor written in front of a model family dropped (``meta-llama-3``, ``openai-gpt-oss-120b``,
``google-gemma-3-27b-it``, ``zai-org-glm-4.6``: ``VENDOR_PREFIXES`` before ``FAMILIES``). Kept on
purpose: sizes (8b vs 70b), every version digit, suffixes that make another model (instruct,
chat, it, base, mini, turbo, fast, lite, vision, coder...), and 4-digit release tags
(``-0125``, ``-2507``) that at Mistral, Qwen and DeepSeek name different releases.

:class:`Identity` adds what the key leaves out but identity needs: a dated snapshot's date and
whether an id is a ``-latest`` alias. Two ids are ``compatible`` when their keys are equal and
no date contradicts: a dated id never matches ``-latest`` nor another date (an undated id may
match either). A *generic* id (one word without a digit: ``openai``, ``mistral``, ``auto``) is
an alias, not a model: it matches only exactly. ``closeness`` orders candidates of one key by
how many of their written tokens differ from the probe's (vendor paths, routing tags and
suffixes count), never by key length.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

__all__ = ["Identity", "closeness", "compatible", "identity", "normalize_id"]

_ROUTING_TAG = re.compile(r":(?:free|beta|nitro|extended|floor|online)$")
_QUANT_SEGMENT = re.compile(r"(?:fp|bf|int)-?\d+|awq|gptq")
_DATE = r"(?:19|20)\d{2}-?(?:0[1-9]|1[0-2])-?(?:0[1-9]|[12]\d|3[01])"
_TRAILING_NOISE = re.compile(
    r"-(?:"
    + _DATE  # full dates only
    + r"|latest"
    r"|(?:fp|bf|int)\d+(?:-dynamic)?"
    r"|awq|gptq"
    r")$"
)
_TRAILING_DATE = re.compile(r"-(" + _DATE + r")(?=$|-(?:latest|(?:fp|bf|int)\d+|awq|gptq))")

# A vendor's name written in front of one of its model families: "openai-gpt-oss-120b".
VENDOR_PREFIXES: tuple[str, ...] = (
    "meta-llama",
    "meta",
    "openai",
    "google",
    "mistralai",
    "mistral",
    "qwen",
    "alibaba",
    "deepseek-ai",
    "deepseek",
    "zai-org",
    "z-ai",
    "zai",
    "thudm",
    "moonshotai",
    "moonshot",
    "anthropic",
    "xai",
    "x-ai",
    "nvidia",
    "microsoft",
    "ibm",
    "cohere",
    "coherelabs",
    "ai21",
    "amazon",
    "minimax",
    "minimaxai",
    "nousresearch",
    "baidu",
    "tencent",
    "black-forest-labs",
)
FAMILIES: tuple[str, ...] = (
    "llama",
    "gpt",
    "gemma",
    "gemini",
    "qwen",
    "qwq",
    "mistral",
    "mixtral",
    "codestral",
    "devstral",
    "magistral",
    "pixtral",
    "ministral",
    "deepseek",
    "glm",
    "kimi",
    "claude",
    "grok",
    "phi",
    "command",
    "aya",
    "jamba",
    "nemotron",
    "granite",
    "hermes",
    "minimax",
    "ernie",
    "hunyuan",
    "flux",
    "nova",
    "o1",
    "o3",
    "o4",
)
_VENDOR_FAMILY = re.compile(
    r"^(?:" + "|".join(re.escape(v) for v in VENDOR_PREFIXES) + r")-(?=(?:" + "|".join(FAMILIES) + r")(?:[-.\d]|$))"
)


_VERSION_P = re.compile(r"(?<=\d)p(?=\d)")
_SEPARATORS = re.compile(r"[\s_.:@]+")
_DASHES = re.compile(r"-+")
_LETTER_DIGIT = re.compile(r"(?<=[a-z])(?=\d)|(?<=\d)(?=[a-z])")
_V_VERSION = re.compile(r"(?:^|(?<=-))v-(?=\d)")
_LETTER_DASH_DIGIT = re.compile(r"(?<=[a-z])-(?=\d)")
_LATEST = re.compile(r"-latest(?:$|-)")
_DIGIT = re.compile(r"\d")
_TOKEN_SPLIT = re.compile(r"[^a-z0-9]+")
_VENDORS_LONGEST_FIRST = tuple(sorted(VENDOR_PREFIXES, key=len, reverse=True))
_FAMILY_DIGIT = {f: re.compile(re.escape(f) + r"\d") for f in FAMILIES}


def _last_segment(model_id: str) -> str:
    text = model_id.strip().lower()
    if ":" in text:
        text = _ROUTING_TAG.sub("", text)
    segments = [s for s in text.split("/") if s]
    while len(segments) > 1 and _QUANT_SEGMENT.fullmatch(segments[-1]):
        segments.pop()
    return segments[-1] if segments else ""


def _spelled(segment: str) -> str:
    text = _VERSION_P.sub(".", segment) if "p" in segment else segment
    text = _SEPARATORS.sub("-", text)
    return _DASHES.sub("-", text).strip("-")


def normalize_id(model_id: str) -> str:
    """Matching key for a model id; see the module docstring for the rules."""
    if not isinstance(model_id, str):
        return ""
    return _normalized(_spelled(_last_segment(model_id)))


def _normalized(text: str) -> str:
    """:func:`normalize_id` from the id's spelled last segment."""
    while True:
        shorter = _TRAILING_NOISE.sub("", text)
        if shorter == text or not shorter:
            break
        text = shorter
    text = _LETTER_DIGIT.sub("-", text)
    if "v-" in text:
        text = _V_VERSION.sub("", text)
    text = _DASHES.sub("-", text).strip("-")
    # Vendor prefixes are matched on the split form ("openai-gpt-oss-120-b" keeps "gpt").
    joined = _LETTER_DASH_DIGIT.sub("", text)  # "llama-3" -> "llama3" for the family test
    if _VENDOR_FAMILY.match(joined) or _VENDOR_FAMILY.match(text):
        for vendor in _VENDORS_LONGEST_FIRST:
            if text.startswith(vendor + "-") and text[len(vendor) + 1 :]:
                rest = text[len(vendor) + 1 :]
                if any(rest == f or rest.startswith(f + "-") or _FAMILY_DIGIT[f].match(rest) for f in FAMILIES):
                    text = rest
                    break
    return _DASHES.sub("-", text).strip("-")


@dataclass(frozen=True, slots=True)
class Identity:
    key: str
    date: str | None
    latest: bool
    generic: bool
    tokens: tuple[str, ...]


@lru_cache(maxsize=1 << 16)
def identity(model_id: str) -> Identity:
    """The identity of a model id (cached: references are probed with the same ids often)."""
    if not isinstance(model_id, str):
        return Identity("", None, False, False, ())
    segment = _spelled(_last_segment(model_id))
    found = _TRAILING_DATE.search(segment)
    date = found.group(1).replace("-", "") if found else None
    latest = "-latest" in segment and bool(_LATEST.search(segment))
    key = _normalized(segment)
    generic = bool(key) and "-" not in key and not _DIGIT.search(key)
    tokens = tuple(t for t in _TOKEN_SPLIT.split(model_id.lower()) if t)
    return Identity(key, date, latest, generic, tokens)


def compatible(probe: Identity, candidate: Identity) -> bool:
    """Same model by key, with no date or ``-latest`` alias contradicting it."""
    if not probe.key or probe.key != candidate.key:
        return False
    if probe.date and candidate.date and probe.date != candidate.date:
        return False
    return not ((probe.date and candidate.latest) or (probe.latest and candidate.date))


def closeness(probe: str, candidate: str) -> tuple[int, str]:
    """Sort key: fewer differing written tokens first, then the candidate's text (stable)."""
    a, b = identity(probe).tokens, identity(candidate).tokens
    diff = len(set(a) ^ set(b))
    return (diff, candidate)
