"""Checks a stated value must pass before it is stored as a fact, and placeholders that are not
facts. A value that fails becomes a :class:`Dispute`; the fact stays unknown (and no reference
fills it: the provider did state something).

Bounds (``BOUNDS``): text-token prices $0.001 to $1,000 per 1M (0 is a real price: free);
context windows 16 to 100,000,000 tokens; output limits 1 to 10,000,000. A cache-read price
above the input price is implausible.

Against references: a price more than 10x away from the same model's price in a reference
(the provider's own host first; otherwise every other host that prices it) is a ``unit``
dispute when the ratio is near a power of ten of at least 100 (unit mistakes are powers of ten,
real differences between hosts rarely reach 10x), else ``implausible``.

Placeholders (``placeholders``), looked for across all of a provider's listed models:

- a ``created`` identical on every model (3 or more), all within one hour (5 or more), or within
  two days of the fetch on 90% of them: a constant or the time the list was built, not a
  creation date;
- a cache-read price identical on every model while their input prices differ, or 0 on every
  model while some input price is not;
- an owner that names nobody (``PLACEHOLDER_OWNERS``: unknown, system, none, null, default...);
- zero token prices beside a non-zero price per image/request/hour/second: priced otherwise,
  not free; zero token prices of an image or audio model.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .schema import PRICE_FIELDS

__all__ = [
    "BOUNDS",
    "PLACEHOLDER_OWNERS",
    "Dispute",
    "bounds_problem",
    "own_placeholders",
    "placeholders",
    "ratio_problem",
    "shared_placeholders",
]

BOUNDS: dict[str, tuple[float, float]] = {
    "input_price": (0.001, 1000.0),
    "output_price": (0.001, 1000.0),
    "cache_read_price": (0.001, 1000.0),
    "context_window": (16, 100_000_000),
    "max_output_tokens": (1, 10_000_000),
}
REFERENCE_RATIO = 10.0
PLACEHOLDER_OWNERS = frozenset(
    {"unknown", "system", "none", "null", "n/a", "na", "undefined", "default", "placeholder", "-", "owner", "user", "?"}
)


@dataclass
class Dispute:
    """A stated value not stored as the fact, or sources that disagree (``kind``: unit,
    implausible, disagreement, placeholder)."""

    provider: str
    model_id: str
    fact: str
    kind: str
    value: Any
    source: str
    unit: str | None = None
    converted: Any = None
    reference_value: Any = None
    reference_source: str | None = None
    ratio: float | None = None
    detail: str = ""


def bounds_problem(fact: str, value: Any) -> str | None:
    """Why a value is out of bounds for its fact (None when fine)."""
    if fact not in BOUNDS or not isinstance(value, int | float) or isinstance(value, bool):
        return None
    low, high = BOUNDS[fact]
    if fact in PRICE_FIELDS and value == 0:
        return None
    if value < low:
        return f"{value:g} is below {low:g}"
    if value > high:
        return f"{value:g} is above {high:g}"
    return None


def ratio_problem(value: float, reference: float) -> tuple[str, float] | None:
    """(kind, ratio) when a price is 10x or more away from a reference price, else None."""
    if value <= 0 or reference <= 0:
        return None
    ratio = value / reference
    if 1 / REFERENCE_RATIO < ratio < REFERENCE_RATIO:
        return None
    power = math.log10(ratio)
    kind = "unit" if abs(power) >= 1.9 and abs(power - round(power)) < 0.15 else "implausible"
    return kind, ratio


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def placeholders(
    facts_by_model: Mapping[str, Mapping[str, Any]],
    other_prices: Mapping[str, Sequence[tuple[str, Any, str]]],
    fetched_at: str | None = None,
    shared: Mapping[str, Mapping[str, str]] | None = None,
) -> dict[str, dict[str, str]]:
    """``{model_id: {fact: why}}``: stated values that are placeholders, not facts.
    ``shared``: :func:`shared_placeholders` of the same models and time, if known already."""
    if shared is None:
        shared = shared_placeholders(facts_by_model, fetched_at)
    found: dict[str, dict[str, str]] = {}
    for m, facts in facts_by_model.items():
        dropped = own_placeholders(facts, other_prices.get(m, ()), shared.get(m))
        if dropped:
            found[m] = dropped
    return found


def shared_placeholders(
    facts_by_model: Mapping[str, Mapping[str, Any]], fetched_at: str | None = None
) -> dict[str, dict[str, str]]:
    """The placeholders only all of a provider's models together show (a created date or a cache
    price they all share): ``{model_id: {fact: why}}``, in the models' order."""
    # Filled as found (a provider of 100k models has few), given back in the models' order.
    dropped: defaultdict[str, dict[str, str]] = defaultdict(dict)
    models = list(facts_by_model)
    n = len(models)
    created = [facts_by_model[m].get("created") for m in models]
    known = [c for c in created if c is not None]
    moments = [t for c in known if (t := _moment(c)) is not None]
    if n >= 3 and len(known) == n and len(set(known)) == 1:
        for m in models:
            dropped[m]["created"] = f"placeholder: the same created on all {n} models"
    elif n >= 5 and len(moments) == n and (max(moments) - min(moments)).total_seconds() <= 3600:
        # Every model "created" within one hour: when the list was built, not the models.
        for m in models:
            dropped[m]["created"] = f"placeholder: all {n} models created within the same hour"
    elif fetched_at and len(known) >= 3:
        moment = _moment(fetched_at)
        near = [
            m
            for m in models
            if (c := _moment(facts_by_model[m].get("created"))) is not None
            and moment is not None
            and abs((c - moment).total_seconds()) <= 2 * 86400
        ]
        if len(near) >= 0.9 * n:
            for m in near:
                dropped[m]["created"] = "placeholder: the fetch time, not a creation date"
    cache_known = {m: v for m in models if (v := facts_by_model[m].get("cache_read_price")) is not None}
    if len(cache_known) >= 3 and len(set(cache_known.values())) == 1:
        value = next(iter(cache_known.values()))
        inputs = {facts_by_model[m].get("input_price") for m in cache_known} - {None}
        if (value == 0 and any(i > 0 for i in inputs)) or len(inputs) > 1:
            for m in cache_known:
                dropped[m]["cache_read_price"] = (
                    f"placeholder: the same cache price {value:g} on all {len(cache_known)} priced models"
                )
    return {m: dropped[m] for m in models if m in dropped}


def own_placeholders(
    facts: Mapping[str, Any], other_prices: Sequence[tuple[str, Any, str]], shared: Mapping[str, str] | None = None
) -> dict[str, str]:
    """One model's placeholders (see :func:`placeholders`): ``shared`` (its entry of
    :func:`shared_placeholders`), then what its own facts show."""
    dropped = dict(shared) if shared else {}
    owner = facts.get("owned_by")
    if isinstance(owner, str) and owner.strip().lower() in PLACEHOLDER_OWNERS:
        dropped["owned_by"] = f"placeholder owner {owner!r}"
    zeros = [f for f in PRICE_FIELDS if facts.get(f) == 0]
    priced = [f for f in PRICE_FIELDS if facts.get(f) not in (None, 0)]
    if zeros and not priced:
        paid_other = [(path, what) for path, raw, what in other_prices if _positive(raw)]
        if paid_other:
            for f in zeros:
                dropped[f] = f"priced per {paid_other[0][1]} ({paid_other[0][0]}), not free: 0 is no token price"
        elif facts.get("model_type") in ("image", "audio"):
            for f in zeros:
                dropped[f] = f"0 on an {facts.get('model_type')} model is no token price"
    return dropped


def _positive(raw: Any) -> bool:
    from .values import decimal

    amount = decimal(raw)
    return amount is not None and amount > 0
