"""Price units: what a stated price is per, in which currency, decided from evidence.

A price is stored as USD per 1M tokens only once its unit is known. Evidence, strongest first:

1. the providers file (``facts: {input_price: {path: ..., unit: usd_per_token}}``);
2. an explicit unit in the record: a ``unit`` / ``currency`` field beside the price or on its
   parent object (``{"price": 0.28, "unit": "per M input tokens", "currency": "USD"}``);
3. the field's name: ``..._per_token``, ``..._per_1m`` / ``_per_million`` / ``_per_m`` /
   ``mtok``, ``..._per_1k`` / ``per_thousand``, ``cents_...`` (a cent is 0.01 USD), a currency
   word (``usd``, ``cny``, ``eur``; Venice's ``vcu`` / ``diem`` are credits, not USD);
4. a provider's documented convention (the dialect readers: ``pricing.prompt`` is per token at
   OpenRouter, per 1M at Chutes; Novita's ``*_price_per_m`` and xAI's ``*_token_price`` are in
   units of 1/10,000 USD per 1M);
5. magnitude, decided once per provider and naming pattern (never per record: the pattern
   without its direction, so ``input_token_price_per_m`` and ``output_token_price_per_m`` share
   one), from every model it prices: against the reference catalogs' prices of the same models,
   any power of ten most of them agree on (3 or more prices, 60% within 3x; with 1 or 2, all
   within 3x and one an exact power of ten), else from where the provider's median lands (per
   token, per 1K or per 1M: the one scale that puts it between $0.01 and $100 per 1M). A path no
   rule decides is not stored: its prices become ``unit`` disputes (see :mod:`.pipeline`).

Words around a price that name another unit (image, request, second, minute, hour, audio, video,
search, character, page, step, fine-tune, batch, tier/threshold prices...) make it no token
price: it is never stored as one. Cache *write* prices are not stored either. A price in another
currency is kept in ``fact_sources`` with its currency and never converted.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import lru_cache

__all__ = [
    "PER_1K",
    "PER_1M",
    "PER_TOKEN",
    "PriceClaim",
    "Unit",
    "decide_scale",
    "key_words",
    "price_direction",
    "unit_from_text",
    "unit_from_words",
]

PER_TOKEN = Decimal(1)
PER_1K = Decimal(1000)
PER_1M = Decimal(1_000_000)
PER_100M = Decimal(100_000_000)
_MILLION = Decimal(1_000_000)

_WORD = re.compile(r"[0-9]+[kKmMbB](?![a-z])|[A-Z]+(?=[A-Z][a-z]|[0-9]|$)|[A-Z]?[a-z]+|[0-9]+|[A-Z]+")


@lru_cache(maxsize=4096)
def key_words(key: str) -> tuple[str, ...]:
    """``"inputCostPer1MTokens"`` -> ``("input", "cost", "per", "1m", "tokens")``."""
    words: list[str] = []
    for piece in re.split(r"[^A-Za-z0-9]+", key):
        words.extend(w.lower() for w in _WORD.findall(piece))
    return tuple(words)


_CURRENCIES: dict[str, str] = {
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "$": "USD",
    "cny": "CNY",
    "rmb": "CNY",
    "yuan": "CNY",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "gbp": "GBP",
    "jpy": "JPY",
    "inr": "INR",
    # Credits of a provider's own, not money: never read as USD.
    "vcu": "VCU",
    "diem": "DIEM",
    "credit": "CREDITS",
    "credits": "CREDITS",
    "points": "CREDITS",
}
_CENTS = frozenset({"cent", "cents"})
_TOKEN_WORDS = frozenset({"token", "tokens", "tok", "toks"})
_MILLION_WORDS = frozenset({"1m", "million", "mtok", "mtoks", "1000000", "mil", "mln"})
_THOUSAND_WORDS = frozenset({"1k", "thousand", "1000", "ktok", "ktoks"})
# Words that make a price something other than a plain text-token price.
NOT_TOKEN_WORDS = frozenset(
    {
        "image",
        "images",
        "img",
        "pixel",
        "pixels",
        "request",
        "requests",
        "req",
        "call",
        "calls",
        "second",
        "seconds",
        "sec",
        "minute",
        "minutes",
        "min",
        "hour",
        "hours",
        "hourly",
        "daily",
        "audio",
        "video",
        "videos",
        "search",
        "searches",
        "web",
        "step",
        "steps",
        "character",
        "characters",
        "char",
        "chars",
        "page",
        "pages",
        "finetune",
        "fine",
        "tune",
        "tuning",
        "training",
        "train",
        "base",
        "storage",
        "batch",
        "batches",
        "discount",
        "tier",
        "tiers",
        "above",
        "over",
        "threshold",
        "overrides",
        "priority",
        "flex",
        "reasoning",
        "dedicated",
        "generation",
        "upscale",
        "query",
        "queries",
        "document",
        "documents",
        "embedding_dims",
        "write",
        "writes",
        "creation",
        "create",
    }
)
_QUALIFIERS = frozenset({"per", "input", "output", "prompt", "completion", "text", "cached", "cache", "of", "1", "a"})
_PER_OTHER = NOT_TOKEN_WORDS - {"reasoning", "write", "writes", "creation", "create", "base"}


@dataclass(frozen=True, slots=True)
class Unit:
    """What a price number counts: ``amount * scale`` ``currency`` per ``per_tokens`` tokens.

    ``per_tokens`` None: the unit's token count is not known (undecided). ``other``: priced per
    something that is not a token (``"image"``, ``"request"``): never a token price.
    """

    currency: str = "USD"
    per_tokens: Decimal | None = None
    scale: Decimal = Decimal(1)
    other: str | None = None
    basis: str = "none"

    @property
    def decided(self) -> bool:
        return self.other is None and self.per_tokens is not None

    def label(self) -> str:
        if self.other:
            return f"{self.currency} per {self.other}"
        if self.per_tokens is None:
            return f"{self.currency} per ? tokens (undecided)"
        money = self.currency if self.scale == 1 else f"{_fmt(self.scale)} {self.currency}"
        per = _PER_NAMES.get(self.per_tokens) or f"{_fmt(self.per_tokens)} tokens"
        return f"{money} per {per}"

    def per_million(self, amount: Decimal) -> float | None:
        """The amount in this unit's currency per 1M tokens (None when undecided or not tokens)."""
        if not self.decided:
            return None
        assert self.per_tokens is not None
        if type(amount) is Decimal:
            try:
                return _per_million_cached(amount, self.scale, self.per_tokens)
            except TypeError:  # a signalling NaN cannot be a key: converted (and refused) below
                pass
        return _per_million(amount, self.scale, self.per_tokens)


def _per_million(amount: Decimal, scale: Decimal, per_tokens: Decimal) -> float:
    return float(f"{float(amount * scale * _MILLION / per_tokens):.10g}")


# A provider's prices repeat: the same amounts in the same few units across its models, converted
# again by each provider-wide step (a refetch of litellm converted ~8,500, most of them twice).
# The result depends on the three values alone (equal Decimals of other exponents give the same
# quotient's value, so the same float), so each distinct price is converted once.
_per_million_cached = lru_cache(maxsize=8192)(_per_million)


_PER_NAMES = {PER_TOKEN: "token", PER_1K: "1K tokens", PER_1M: "1M tokens", PER_100M: "100M tokens"}


def _fmt(number: Decimal) -> str:
    return f"{number:f}".rstrip("0").rstrip(".") if "." in f"{number:f}" else f"{number:f}"


def unit_from_words(words: Sequence[str], basis: str) -> Unit:
    """The unit a sequence of words states (a key's words, or a unit text's), as far as it does."""
    currency = "USD"
    scale = Decimal(1)
    per: Decimal | None = None
    other: str | None = None
    for word in words:
        if word in _CURRENCIES:
            currency = _CURRENCIES[word]
        elif word in _CENTS:
            currency, scale = "USD", Decimal("0.01")
    after_per = False
    for i, word in enumerate(words):
        if word == "per" or word == "/":
            after_per = True
            continue
        if word in _MILLION_WORDS or (after_per and word in ("m", "mt")):
            per = PER_1M
        elif word == "100m":
            per = PER_100M
        elif word in _THOUSAND_WORDS or (after_per and word == "k"):
            per = PER_1K
        elif word in _TOKEN_WORDS and after_per and per is None:
            # "per token" / "per_token"; "per 1M tokens" is decided above by "1m".
            nxt = words[i + 1] if i + 1 < len(words) else ""
            per = PER_TOKEN if nxt not in _MILLION_WORDS | _THOUSAND_WORDS else per
        elif after_per and word in _PER_OTHER:
            other = word
        # "per input token", "per 1M cached input tokens": qualifiers between "per" and the unit.
        after_per = after_per and word in _QUALIFIERS
    return Unit(currency=currency, per_tokens=per, scale=scale, other=other, basis=basis)


_UNIT_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?[kKmMbB]?|[A-Za-z]+|\$|/")


def unit_from_text(text: str, basis: str = "explicit") -> Unit:
    """A unit written out: ``"per M input tokens"``, ``"USD / 1M tokens"``, ``"$/Mtok"``, ``"1K"``."""
    raw = [w.lower() for w in _UNIT_TEXT.findall(text)]
    words: list[str] = []
    for word in raw:
        words.append("per" if word == "/" else word)
    # "1M tokens" alone, without "per", still says per 1M tokens.
    unit = unit_from_words(["per", *words] if words and words[0] != "per" else words, basis)
    if unit.per_tokens is None and unit.other is None and any(w in _TOKEN_WORDS for w in words):
        unit = replace(unit, per_tokens=PER_TOKEN)
    return unit


_INPUT = frozenset({"input", "inputs", "prompt", "in"})
_OUTPUT = frozenset({"output", "outputs", "completion", "completions", "out", "response", "generated", "sampled"})
_CACHE = frozenset({"cache", "cached", "caching"})
_CACHE_WRITE = frozenset({"write", "writes", "creation", "create", "storage"})


def price_direction(words: Iterable[str]) -> str | None:
    """Which price a price path is: input_price, output_price, cache_read_price, or None."""
    found = set(words)
    if found & _CACHE:
        if found & _CACHE_WRITE:
            return None
        return "cache_read_price"
    if "hit" in found and found & _INPUT:
        return "cache_read_price"
    if found & _OUTPUT:
        return "output_price"
    if found & _INPUT:
        return "input_price"
    return None


@dataclass(frozen=True, slots=True)
class PriceClaim:
    """One price a record states: where, the number as given, and its unit as far as known."""

    field: str
    path: str
    raw: object
    amount: Decimal
    unit: Unit

    def usd_per_million(self) -> float | None:
        if self.unit.currency != "USD":
            return None
        return self.unit.per_million(self.amount)

    def with_unit(self, unit: Unit) -> PriceClaim:
        return PriceClaim(self.field, self.path, self.raw, self.amount, unit)


# Candidate scales for a price whose unit nothing states: what a number in each would mean.
_CANDIDATES: tuple[Decimal, ...] = (PER_TOKEN, PER_1K, PER_1M)
_TYPICAL = (0.01, 100.0)


def decide_scale(
    amounts: Sequence[Decimal], reference_ratios: Sequence[tuple[Decimal, float]] = ()
) -> tuple[Decimal | None, str]:
    """The tokens-per-unit of an undecided price path, from all its values at one provider.

    ``reference_ratios`` pairs a value of the path with a reference catalog's USD per 1M for the
    same model. Returns ``(per_tokens, basis)``; ``(None, why)`` when no scale is supported.
    """
    import math

    pairs = [(a, r) for a, r in reference_ratios if a > 0 and r > 0]
    if len(pairs) >= 3:
        best: tuple[float, Decimal] | None = None
        for per in _CANDIDATES:
            logs = [abs(math.log10(float(a * _MILLION / per) / r)) for a, r in pairs]
            spread = statistics.median(logs)
            if spread < 0.5 and (best is None or spread < best[0]):
                best = (spread, per)
        if best is not None:
            return best[1], f"references ({len(pairs)} models)"
    positive = [float(a) for a in amounts if a > 0]
    if not positive:
        # Only zeros: free in any unit.
        return (PER_1M, "zero in any unit") if amounts else (None, "no values")
    middle = statistics.median(positive)
    fitting = [per for per in _CANDIDATES if _TYPICAL[0] <= middle * 1_000_000 / float(per) <= _TYPICAL[1]]
    if len(fitting) == 1:
        return fitting[0], f"magnitude (median {middle:g} over {len(positive)} models)"
    return None, f"median {middle:g} fits {'no' if not fitting else 'more than one'} unit"
