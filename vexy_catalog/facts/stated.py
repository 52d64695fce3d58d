"""One record's facts: the providers file's paths first, then the provider's dialect, then the
generic reader for whatever is left.

``read_record`` returns the whole :class:`~.reading.Reading` (prices with units, stated and
unread keys); ``normalize_record`` returns just the facts and their ``sources``, for code that
only needs what the record says (the change log, config exports, repairs).

The providers-file map (``facts:`` in a provider's entry) is a mapping of fact to
``{"path": [keys...], "unit": text or None}``: a path into the record (a number in the path
indexes a list) and, for prices, the unit the numbers are in (``usd_per_token``,
``usd_per_1k_tokens``, ``usd_per_1m_tokens``, ``usd_cents_per_token``, ``cny_per_1m_tokens``...,
read by :func:`.units.unit_from_words`). What it names wins over everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import values
from .dialects import DIALECTS, GENERIC_SKIP, Rec
from .reading import Reading, read_generic
from .schema import FACT_FIELDS, PRICE_FIELDS
from .units import PER_1M, PriceClaim, Unit, key_words, unit_from_words

__all__ = ["FACT_PARSERS", "FactMap", "normalize_record", "read_record", "reading_of_facts", "unit_of_map"]

FactMap = Mapping[str, Mapping[str, Any]]

FACT_PARSERS: dict[str, Callable[[Any], Any]] = {
    "name": values.text,
    "description": values.text,
    "owned_by": values.text,
    "created": values.timestamp,
    "deprecated_at": values.timestamp,
    "context_window": values.tokens,
    "max_output_tokens": values.tokens,
    "supports_tools": values.flag,
    "supports_vision": values.flag,
    "supports_reasoning": values.flag,
    "input_modalities": values.modalities,
    "output_modalities": values.modalities,
    "model_type": lambda v: (
        v if v in ("chat", "completion", "embedding", "image", "audio", "rerank", "moderation") else None
    ),
}


def unit_of_map(text: str):  # -> Unit
    """The unit a providers-file ``unit:`` names (``usd_per_token``, ``usd_per_1m_tokens``...)."""
    return unit_from_words(key_words(text), "providers file")


def _dig(raw: Any, path: tuple[str, ...]) -> Any:
    obj = raw
    for key in path:
        if isinstance(obj, dict):
            obj = obj.get(key)
        elif isinstance(obj, list) and key.isdigit() and int(key) < len(obj):
            obj = obj[int(key)]
        else:
            return None
    return obj


def _apply_map(raw: dict[str, Any], fact_map: FactMap, out: Reading, used: set[tuple[str, ...]]) -> None:
    for fact, spec in fact_map.items():
        path = tuple(spec.get("path") or ())
        if fact not in FACT_FIELDS or not path:
            continue
        used.add(path)
        value = _dig(raw, path)
        if value is None:
            continue
        dotted = ".".join(path)
        if fact in PRICE_FIELDS:
            amount = values.decimal(value)
            if amount is not None:
                unit = unit_of_map(str(spec.get("unit") or "usd_per_1m_tokens"))
                out.price(PriceClaim(fact, dotted, value, amount, unit))
            continue
        out.put(fact, FACT_PARSERS[fact](value), dotted, value)


def read_record(provider: str, raw: object, fact_map: FactMap | None = None, canonical: bool = False) -> Reading:
    """Everything one raw record states (see the module docstring for the order).

    ``canonical`` reads the record as the catalog stores it (canonical JSON: every object's
    keys sorted), whatever order its provider sent the keys in. Facts are decided this way:
    a record reads alike from the answer and from the catalog."""
    out = Reading()
    if not isinstance(raw, dict):
        return out
    used: set[tuple[str, ...]] = set()
    try:
        if fact_map:
            _apply_map(raw, fact_map, out, used)
        dialect = DIALECTS.get(provider) if isinstance(provider, str) else None
        if dialect is not None:
            rec = Rec(raw)
            dialect(rec, out)
            used |= rec.used
            if rec.done:
                out.settle_prices()
                return out
        generic = read_generic(
            raw, GENERIC_SKIP.get(provider, frozenset()) if isinstance(provider, str) else frozenset(), canonical
        )
    # The readers are written not to raise; this is the net under them, because one bizarre
    # record must not stop a whole fetch.
    except (AttributeError, KeyError, TypeError, ValueError, ArithmeticError, RecursionError):
        return Reading()
    if not fact_map and dialect is None and provider != "poe":
        # Nothing was read before the generic reader: its reading is the record's (the merge
        # below would copy it fact by fact into an empty one).
        return generic
    claimed = {c.field for c in out.prices}
    for fact in FACT_FIELDS:
        if fact in generic.paths and out.facts.get(fact) is None and fact not in claimed:
            out.put(fact, generic.facts[fact], generic.paths[fact], generic.raw_values[fact])
    out.prices.extend(c for c in generic.prices if c.field not in claimed)
    out.other_prices.extend(generic.other_prices)
    kept = [u for u in generic.unread if not any(u.keys[: len(p)] == p for p in used)]
    if len(kept) == len(generic.unread):
        out.stated |= generic.stated
    else:
        # A key the dialect or the map read is not unread, and states nothing more on its own.
        dropped = {f for u in generic.unread if u not in kept for f in u.facts}
        still = {f for u in kept for f in u.facts} | set(generic.paths) | {c.field for c in generic.prices}
        out.stated |= generic.stated - (dropped - still)
    if provider == "poe":
        out.stated.discard("supports_vision")
    out.unread = kept
    out.order_free = generic.order_free
    out.settle_prices()
    return out


def normalize_record(provider: str, model_id: str, raw: object, fact_map: FactMap | None = None) -> dict[str, object]:
    """The facts one record states: every ``FACT_FIELDS`` key (None when unknown) + ``sources``.

    Prices whose unit the record alone cannot decide are None here; the provider-wide pass
    (:mod:`.pipeline`) decides them. ``model_id`` is accepted for symmetry: no fact is ever
    guessed from it.
    """
    reading = read_record(provider, raw, fact_map)
    facts: dict[str, object] = {f: reading.facts.get(f) for f in FACT_FIELDS}
    facts["sources"] = {f: "provider" for f in FACT_FIELDS if facts[f] is not None}
    return facts


def reading_of_facts(facts: Mapping[str, Any]) -> Reading:
    """A record's facts as :func:`normalize_record` gave them (the change log keeps them, in
    vexy's units: prices in USD per 1M tokens), read again as a :class:`~.reading.Reading`, so
    they go through the provider-wide steps like a raw record: for a moment whose answer is no
    longer stored."""
    out = Reading()
    for fact, value in facts.items():
        if fact not in FACT_FIELDS or value is None:
            continue
        if fact in PRICE_FIELDS:
            amount = values.decimal(value)
            if amount is not None:
                out.price(PriceClaim(fact, fact, value, amount, Unit(per_tokens=PER_1M, basis="change log")))
            continue
        out.put(fact, value, fact, value)
    out.settle_prices()
    return out
