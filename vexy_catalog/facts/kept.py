"""What the catalog keeps of a reference record's reading, as JSON text, and back.

Reading a record by meaning (:func:`.stated.read_record`) is the costly part of loading a
reference catalog: a fetch that finds one of litellm's 1,500 records changed would read them
all again, to rebuild litellm's index and to decide its provider-wide steps (units,
placeholders, unread keys). The catalog keeps, beside each reference record's content hash,
the part of its reading those read (:class:`Kept`: its facts, price claims, other prices and
unread keys; see ``reference_readings`` in :mod:`vexy_catalog.db`), so only the records whose
hash changed are read again.

What is kept is exactly what reading the record gives: :func:`encode` returns None for a
reading holding anything JSON cannot bring back as the same value of the same type (a tuple
where a list was, a non-finite float, a key that is not a string), and such a record is read
every time. :func:`reader_version` names the code that read it: a reading kept by another
version of vexy's readers is read again, never trusted.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import unicodedata
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from .reading import Reading, Unread
from .schema import FACT_FIELDS
from .units import PriceClaim, Unit

__all__ = ["Kept", "decode", "encode", "reader_version"]


class Kept:
    """The part of a :class:`~.reading.Reading` that a reference index and the provider-wide
    steps read (:func:`.pipeline.resolve_changed`): not the paths and raw values a model's own
    ``fact_sources`` rows need, so a model whose facts are decided again is read in full."""

    __slots__ = ("facts", "prices", "other_prices", "unread")

    def __init__(
        self,
        facts: dict[str, Any],
        prices: list[PriceClaim],
        other_prices: list[tuple[str, Any, str]],
        unread: list[Unread],
    ) -> None:
        self.facts = facts
        self.prices = prices
        self.other_prices = other_prices
        self.unread = unread


@lru_cache(maxsize=1)
def reader_version() -> str | None:
    """A hash of the facts package's source and of the Python it runs on (its Unicode tables
    class characters): a reading depends on nothing else (not the time, not the catalog). None
    when the source cannot be read (nothing is kept then)."""
    digest = hashlib.sha256(f"{sys.version_info[:2]} {unicodedata.unidata_version}".encode())
    try:
        for path in sorted(Path(__file__).parent.glob("*.py")):
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()[:16]


def _plain(value: Any) -> bool:
    """Whether ``json.loads(json.dumps(value))`` is ``value``, with the same types throughout."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:
        return True
    if kind is float:
        return math.isfinite(value)
    if kind is list:
        return all(_plain(v) for v in value)
    if kind is dict:
        return all(type(k) is str and _plain(v) for k, v in value.items())
    return False


def _number(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _any(value: Any) -> list[Any] | None:
    """A value as [0, json] or, a Decimal, [1, its text]; None when neither keeps it."""
    if type(value) is Decimal:
        return [1, str(value)]
    return [0, value] if _plain(value) else None


def _unit(unit: Unit) -> list[Any] | None:
    if type(unit.per_tokens) not in (Decimal, type(None)) or type(unit.scale) is not Decimal:
        return None
    return [unit.currency, _number(unit.per_tokens), str(unit.scale), unit.other, unit.basis]


def encode(reading: Reading) -> str | None:
    """What :class:`Kept` holds of ``reading``, as JSON text; None when it cannot be kept exactly."""
    prices = []
    for claim in reading.prices:
        raw, unit = _any(claim.raw), _unit(claim.unit)
        if raw is None or unit is None or type(claim.amount) is not Decimal:
            return None
        prices.append([claim.field, claim.path, raw, str(claim.amount), unit])
    others = []
    for entry in reading.other_prices:
        if type(entry) is not tuple:
            return None
        others.append(list(entry))
    unread = []
    for u in reading.unread:
        if type(u.facts) is not tuple or type(u.keys) is not tuple:
            return None
        unread.append([u.path, u.example, list(u.facts), list(u.keys)])
    facts = [reading.facts.get(f) for f in FACT_FIELDS]
    parts = [facts, prices, others, unread]
    if not _plain(parts):
        return None
    return json.dumps(parts, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


# Units repeat across a provider's records: each is made once.
_UNITS: dict[tuple[Any, ...], Unit] = {}


def _decode_unit(spec: list[Any]) -> Unit:
    key = tuple(spec)
    unit = _UNITS.get(key)
    if unit is None:
        currency, per_tokens, scale, other, basis = spec
        unit = Unit(
            currency=currency,
            per_tokens=None if per_tokens is None else Decimal(per_tokens),
            scale=Decimal(scale),
            other=other,
            basis=basis,
        )
        if len(_UNITS) < 1024:
            _UNITS[key] = unit
    return unit


# Price claims repeat across a reference's records too (litellm's ~2,900 are ~380 distinct): a
# claim is a frozen value, so each is made once. One whose raw value is a JSON list or object is
# made anew (that raw could be changed in place); the key holds the raw value's type, as 1, 1.0
# and true are equal keys but not the same raw value.
_CLAIMS: dict[tuple[Any, ...], PriceClaim] = {}


def _decode_claim(field: str, path: str, raw: list[Any], amount: str, unit: list[Any]) -> PriceClaim:
    kind, value = raw
    # -0.0 and 0.0 are one key too: a zero float is made anew.
    shared = type(value) is not list and type(value) is not dict and not (type(value) is float and value == 0)
    if shared:
        key = (field, path, kind, type(value), value, amount, *unit)
        claim = _CLAIMS.get(key)
        if claim is not None:
            return claim
    claim = PriceClaim(field, path, value if kind == 0 else Decimal(value), Decimal(amount), _decode_unit(unit))
    if shared and len(_CLAIMS) < 8192:
        _CLAIMS[key] = claim
    return claim


def decode(text: str) -> Kept:
    """What :func:`encode` kept."""
    facts, prices, others, unread = json.loads(text)
    return Kept(
        dict(zip(FACT_FIELDS, facts, strict=True)),
        [_decode_claim(*claim) for claim in prices],
        [tuple(entry) for entry in others],  # type: ignore[misc]
        [Unread(path, example, tuple(facts_), tuple(keys)) for path, example, facts_, keys in unread],
    )
