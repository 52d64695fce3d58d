"""The steps in order, for all listed models of one provider at once.

1. **read** every record (:mod:`.stated`: providers-file paths, dialect, generic reader);
2. **match** each model to the reference records (:mod:`.references`), dropping records whose
   type contradicts the stated type;
3. **units**: prices whose unit no record decides are decided per field path from all the
   provider's values (:func:`.units.decide_scale`: reference prices of the same models, else
   magnitude); a path with a *named* unit that the references contradict by a power of ten
   (100x or more, on 3+ models, 60% agreeing) is corrected and reported as a ``unit`` dispute;
   a price in another currency is kept in ``fact_sources`` only;
4. **placeholders** (:func:`.plausibility.placeholders`) are dropped;
5. **plausibility**: bounds and the 10x reference check; a failing value becomes a dispute;
6. **enrichment** (:func:`.enrichment.fill`) fills what the provider does not state;
7. **disagreements** between the stored value and the other sources are listed (prices: more
   than 10% apart at the same host; limits and flags: any difference).

The result per model is its facts, ``sources`` (with ``_notes``), its ``fact_sources`` rows (what
every source said) and its disputes.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import lru_cache
from typing import Any

from .enrichment import NOTES, fill, ordered, usable
from .plausibility import Dispute, bounds_problem, own_placeholders, placeholders, ratio_problem, shared_placeholders
from .reading import Reading, Unread
from .references import ReferenceIndex, ReferenceMatch
from .schema import ENRICHABLE_FIELDS, FACT_FIELDS, FLAG_FIELDS, LIMIT_FIELDS, LIST_FIELDS, PRICE_FIELDS
from .stated import FactMap, read_record
from .units import PER_1M, PriceClaim, Unit, decide_scale, key_words

__all__ = [
    "FACT_SOURCE_COLUMNS",
    "STREAM_ABOVE",
    "Baseline",
    "ModelFacts",
    "Refreshed",
    "baseline",
    "iter_resolved",
    "resolve_changed",
    "resolve_provider",
]

# The columns of a fact_sources row, in the order of ModelFacts.source_rows.
FACT_SOURCE_COLUMNS = (
    "provider",
    "model_id",
    "fact",
    "source",
    "value",
    "unit",
    "raw_value",
    "path",
    "host",
    "level",
    "same_host",
    "chosen",
    "reason",
)


@dataclass(slots=True)
class ModelFacts:
    model_id: str
    facts: dict[str, Any]
    sources: dict[str, Any]
    # What every source said of every fact: FACT_SOURCE_COLUMNS values (tuples: a provider of
    # 100k models has a million of them).
    source_rows: list[tuple[Any, ...]] = field(default_factory=list)
    disputes: list[Dispute] = field(default_factory=list)
    unread: list[Unread] = field(default_factory=list)
    # The facts as the record alone states them (read_record's, in the record's own key order),
    # before any provider-wide step; None where that order could change them (read it again).
    read_facts: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def fact_sources(self) -> list[dict[str, Any]]:
        """The ``fact_sources`` rows as dicts of column -> value."""
        return [dict(zip(FACT_SOURCE_COLUMNS, row, strict=True)) for row in self.source_rows]


_DIRECTION_WORDS = frozenset(
    {"input", "inputs", "output", "outputs", "prompt", "completion", "in", "out", "cache", "cached", "read", "hit"}
)


@lru_cache(maxsize=4096)
def _path_group(path: str) -> str:
    """A price path's naming pattern, without its direction: the unit belongs to the pattern
    (``input_token_price_per_m`` and ``output_token_price_per_m`` share one), and list indexes
    do not count (``properties.price.0.price``)."""
    parts = []
    for segment in path.split("."):
        if segment.isdigit():
            continue
        words = [w for w in key_words(segment) if w not in _DIRECTION_WORDS]
        parts.append("_".join(words))
    return ".".join(parts)


def _reference_price(matches: Sequence[ReferenceMatch], fact: str) -> tuple[float, ReferenceMatch] | None:
    """The price a reference gives the same model: the own host's, else the first other host's."""
    for same in (True, False):
        for m in matches:
            value = m.facts.get(fact)
            if m.same_host == same and isinstance(value, int | float) and value > 0:
                return float(value), m
    return None


# One USD price claim of a model as the unit decisions weigh it: its path's group, whether its
# unit is decided, the claim, whether a reference prices the model (and the claim has a value),
# and then log10(value / reference price) when both are above 0.
_Weighed = tuple[str, bool, PriceClaim, bool, float | None]


def _weighed(reading: Any, matches: Sequence[ReferenceMatch]) -> list[_Weighed]:
    """What :func:`_decide_units` weighs of one model's claims (``reading.prices``), against
    its usable ``matches``."""
    entries: list[_Weighed] = []
    for claim in reading.prices:
        unit = claim.unit
        if unit.currency != "USD":
            continue
        decided = unit.decided
        ref = _reference_price(matches, claim.field) if matches else None
        value: float | None = None
        log: float | None = None
        if ref is not None:
            value = claim.usd_per_million() if decided else float(claim.amount)
            if value is not None and value > 0 and ref[0] > 0:
                log = math.log10(value / ref[0])
        entries.append((_path_group(claim.path), decided, claim, value is not None, log))
    return entries


def _decide_units(
    readings: Mapping[str, Any],
    matches: Mapping[str, list[ReferenceMatch]],
    groups: set[str] | None = None,
    weighed: Mapping[str, list[_Weighed]] | None = None,
) -> tuple[dict[tuple[str, str], Unit | None], dict[str, tuple[int, int]], set[str]]:
    """Units for undecided price paths, corrections (path -> (power, models)) for decided ones,
    and the paths whose unit the references confirm (3+ models, most within 3x of them).
    ``groups``: only of these path groups (each is decided from its own claims alone).
    ``weighed``: :func:`_weighed` of the models it holds, as of these readings and matches
    (worked out ahead; the others' are worked out here)."""
    undecided: dict[str, list[_Weighed]] = defaultdict(list)
    decided: dict[str, list[_Weighed]] = defaultdict(list)
    for model_id, reading in readings.items():
        entries = weighed.get(model_id) if weighed is not None else None
        if entries is None:
            entries = _weighed(reading, matches.get(model_id, []))
        for entry in entries:
            if groups is None or entry[0] in groups:
                (decided if entry[1] else undecided)[entry[0]].append(entry)
    units: dict[tuple[str, str], Unit | None] = {}
    confirmed: set[str] = set()
    for group, claims in undecided.items():
        paired = sum(1 for entry in claims if entry[3])
        power = _reference_power([entry[4] for entry in claims if entry[4] is not None], minimum=0)
        if power is not None:
            if paired >= 3:
                confirmed.add(group)
            unit = Unit(per_tokens=PER_1M, scale=Decimal(10) ** -power, basis=f"references ({paired} models)")
        else:
            per, basis = decide_scale([entry[2].amount for entry in claims])
            unit = Unit(per_tokens=per, basis=basis) if per is not None else None
        for entry in claims:
            units[(group, entry[2].field)] = unit
    corrections: dict[str, tuple[int, int]] = {}
    for group, claims in decided.items():
        if any(entry[2].unit.basis == "providers file" for entry in claims):
            continue  # the user's word on units is final
        paired = sum(1 for entry in claims if entry[3])
        power = _reference_power([entry[4] for entry in claims if entry[4] is not None], minimum=0)
        if power is not None:
            if paired >= 3:
                confirmed.add(group)
            if abs(power) >= 2:
                corrections[group] = (power, paired)
    return units, corrections, confirmed


def _reference_power(logs: Sequence[float], minimum: int) -> int | None:
    """The power of ten k with value = reference * 10**k, from log10(value / reference) of each
    price: on 3+ prices, 60% of them within 3x of it; on 1 or 2, all within 3x and one an exact
    power of ten (within 12%), which a unit makes and a host's pricing hardly ever does. None
    otherwise, or when |k| < minimum."""
    if not logs:
        return None
    k = round(statistics.median(logs))
    if abs(k) < minimum:
        return None
    if len(logs) >= 3:
        agree = sum(1 for x in logs if abs(x - k) < 0.5)
        return k if agree >= max(3, 0.6 * len(logs)) else None
    close = all(abs(x - k) < 0.5 for x in logs) and any(abs(x - k) < 0.05 for x in logs)
    return k if close else None


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    return value


def resolve_provider(
    provider: str,
    records: Sequence[tuple[str, Any]],
    references: Sequence[ReferenceIndex],
    *,
    fact_map: FactMap | None = None,
    fetched_at: str | None = None,
    prices_from_any_host: bool = False,
    read: Mapping[str, Reading] | None = None,
    placeholders_found: Mapping[str, Mapping[str, str]] | None = None,
) -> list[ModelFacts]:
    """Facts, sources, fact_sources rows and disputes of every listed model of ``provider``.

    ``records`` are raw records; ``read`` adds models already read (model id -> Reading), such
    as :func:`.stated.reading_of_facts` of the change log's facts for a moment whose answer is
    no longer stored, or records read for another purpose already (the readings are changed
    here: read them again for another call). Both go through every step below together.

    ``placeholders_found`` (model id -> fact -> why) replaces step 4 for a subset of a provider's
    models resolved again after a reference changed: placeholders are decided from all of the
    provider's models and never from references, so the ones found last time still hold. Such
    a subset must state no USD price (unit decisions too are provider-wide, and read references).
    """
    return list(
        iter_resolved(
            provider,
            records,
            references,
            fact_map=fact_map,
            fetched_at=fetched_at,
            prices_from_any_host=prices_from_any_host,
            read=read,
            placeholders_found=placeholders_found,
        )
    )


# Beyond this many records a provider's readings are kept packed until their turn (see
# iter_resolved), ~1 KB a model: as read, with their settled facts beside them, they would
# take ~5 KB (a 100k-model answer then peaked near 760 MB).
STREAM_ABOVE = 20_000
# The facts the provider-wide steps read after prices are settled (see plausibility.placeholders).
_WIDE_FACTS = ("created", "owned_by", "model_type", *PRICE_FIELDS)


def iter_resolved(
    provider: str,
    records: Sequence[tuple[str, Any]],
    references: Sequence[ReferenceIndex],
    *,
    fact_map: FactMap | None = None,
    fetched_at: str | None = None,
    prices_from_any_host: bool = False,
    read: Mapping[str, Reading] | None = None,
    placeholders_found: Mapping[str, Mapping[str, str]] | None = None,
) -> Iterator[ModelFacts]:
    """:func:`resolve_provider` one model at a time, in the same order and with the same results.

    Units and placeholders are decided from all of the provider's models before the first one
    is given. Up to :data:`STREAM_ABOVE` records every reading is kept for that, as read, with
    each model's settled facts; above it the readings are kept packed (a third of their memory)
    and each is unpacked, settled and finished only when its turn comes.
    """
    order = {r.name: i for i, r in enumerate(references)}

    def matched(model_id: str, model_type: Any) -> tuple[list[ReferenceMatch], list[ReferenceMatch]]:
        found = [m for reference in references for m in reference.match(provider, model_id)]
        return found, ordered(usable(found, model_type), order)

    if len(records) + len(read or {}) <= STREAM_ABOVE:
        readings = {model_id: read_record(provider, raw, fact_map, canonical=True) for model_id, raw in records}
        readings.update(read or {})
        all_matches: dict[str, list[ReferenceMatch]] = {}
        matches: dict[str, list[ReferenceMatch]] = {}
        for model_id, reading in readings.items():
            all_matches[model_id], matches[model_id] = matched(model_id, reading.facts.get("model_type"))
        units, corrections, confirmed = _decide_units(readings, matches)
        results: dict[str, ModelFacts] = {}
        for model_id, reading in readings.items():
            results[model_id] = _settled(provider, model_id, reading, units, corrections)
        dropped = _placeholders(results, readings, fetched_at, placeholders_found)
        for model_id in list(results):
            result = results.pop(model_id)
            _finish(
                provider,
                result,
                readings.pop(model_id),
                matches.pop(model_id),
                all_matches.pop(model_id),
                dropped.get(model_id, {}),
                confirmed,
                prices_from_any_host,
            )
            yield result
        return

    # Above it, each record is read once and its reading kept packed (see _Packer); the
    # provider-wide steps read what they need of the packed readings, then each is unpacked,
    # settled, finished and given, one at a time.
    packer = _Packer()
    packed: list[Any] = [packer.pack(m, reading) for m, reading in _readings(provider, records, read, fact_map)]
    del packer
    priced: dict[str, list[ReferenceMatch]] = {}
    prices_of: dict[str, _Prices] = {}
    for entry in packed:
        model_id, prices = entry[0], entry[_PRICES]
        if any(c.unit.currency == "USD" for c in prices):
            usable_matches = matched(model_id, _model_type(entry))[1]
            if usable_matches:
                priced[model_id] = usable_matches
            else:  # none: as no entry to the unit decisions, and less to keep
                priced.pop(model_id, None)
        # As from a mapping of model id -> reading: a model id listed twice counts once, as last.
        if prices:
            prices_of[model_id] = _Prices(prices)
        else:
            prices_of.pop(model_id, None)
    units, corrections, confirmed = _decide_units(prices_of, priced)
    del priced, prices_of
    if placeholders_found is not None:
        dropped = {m: dict(placeholders_found[m]) for m, *_ in packed if placeholders_found.get(m)}
    else:
        facts_by_model: dict[str, dict[str, Any]] = {}
        other_prices: dict[str, list[tuple[str, Any, str]]] = {}
        for entry in packed:
            model_id, facts = entry[0], _wide_facts(entry)
            if entry[_PRICES]:
                # Its prices as _settled settles them (it reads no other fact of the reading).
                settled = ModelFacts(model_id, facts, {NOTES: {}})
                _settle_prices(provider, settled, Reading(facts, prices=list(entry[_PRICES])), units, corrections)
            # Only the known facts: the placeholder checks read them with .get().
            facts_by_model[model_id] = {f: v for f, v in facts.items() if v is not None}
            if entry[_OTHER_PRICES]:
                other_prices[model_id] = list(entry[_OTHER_PRICES])
            else:
                other_prices.pop(model_id, None)
        dropped = placeholders(facts_by_model, other_prices, fetched_at)
        del facts_by_model, other_prices
    for i, entry in enumerate(packed):
        packed[i] = None  # each reading goes once given
        model_id = entry[0]
        reading = _unpack(entry)
        found, usable_matches = matched(model_id, reading.facts.get("model_type"))
        result = _settled(provider, model_id, reading, units, corrections)
        _finish(
            provider, result, reading, usable_matches, found, dropped.get(model_id, {}), confirmed, prices_from_any_host
        )
        yield result


class _Prices:
    """What the unit decisions read of a reading: its price claims."""

    __slots__ = ("prices",)

    def __init__(self, prices: Sequence[PriceClaim]) -> None:
        self.prices = prices


def _readings(
    provider: str, records: Sequence[tuple[str, Any]], read: Mapping[str, Reading] | None, fact_map: FactMap | None
) -> Iterator[tuple[str, Reading]]:
    for model_id, raw in records:
        yield model_id, read_record(provider, raw, fact_map, canonical=True)
    yield from (read or {}).items()


# A packed reading, one flat tuple: model_id, paths, the raw values' keys, prices, other prices,
# stated, unread, order_free, then the facts - None and the values of FACT_FIELDS in order (or
# the facts dict, when its keys are others) - and the raw values. Paths, key tuples, stated sets
# and lists of strings repeat from record to record: each distinct one is kept once.
_PRICES, _OTHER_PRICES, _FACTS = 3, 4, 8
_WIDE_AT = tuple(_FACTS + 1 + FACT_FIELDS.index(f) for f in _WIDE_FACTS)
_TYPE_AT = _FACTS + 1 + FACT_FIELDS.index("model_type")
_RAW_AT = _FACTS + 1 + len(FACT_FIELDS)
# Where the facts whose values are lists are (any other fact with a list keeps it, unshared).
_LISTS_AT = tuple(i for i, f in enumerate(FACT_FIELDS) if f in LIST_FIELDS)


class _Items(tuple):  # type: ignore[type-arg]
    """A fact's list of strings, packed (a list again when unpacked)."""

    __slots__ = ()


class _Packer:
    """Readings as flat tuples (see above), about a third of their memory as read."""

    def __init__(self) -> None:
        self._shared: dict[Any, Any] = {}
        # Apart: a list of strings packed must not come back as an equal tuple of keys.
        self._items: dict[_Items, _Items] = {}

    def pack(self, model_id: str, reading: Reading) -> tuple[Any, ...]:
        share = self._shared.setdefault
        facts = reading.facts
        raw_values = reading.raw_values
        paths = tuple(reading.paths.items())
        keys = tuple(raw_values)
        stated = frozenset(reading.stated)
        head = (
            model_id,
            share(paths, paths),
            share(keys, keys),
            tuple(reading.prices),
            tuple(reading.other_prices),
            share(stated, stated),
            tuple(reading.unread),
            reading.order_free,
        )
        if tuple(facts) != FACT_FIELDS:
            return (*head, dict(facts), *raw_values.values())
        values = list(facts.values())
        for i in _LISTS_AT:
            value = values[i]
            if type(value) is list:
                for item in value:
                    if type(item) is not str:
                        break
                else:
                    items = _Items(value)
                    values[i] = self._items.setdefault(items, items)
        return (*head, None, *values, *raw_values.values())


def _unpack(entry: tuple[Any, ...]) -> Reading:
    """A reading with containers of its own, as reading the record again would give it."""
    _, paths, keys, prices, others, stated, unread, order_free, facts = entry[: _FACTS + 1]
    if facts is None:
        facts = dict(zip(FACT_FIELDS, entry[_FACTS + 1 : _RAW_AT], strict=True))
        for i in _LISTS_AT:
            value = entry[_FACTS + 1 + i]
            if type(value) is _Items:
                facts[FACT_FIELDS[i]] = list(value)
        raw = entry[_RAW_AT:]
    else:
        facts = dict(facts)
        raw = entry[_FACTS + 1 :]
    return Reading(
        facts,
        dict(paths),
        dict(zip(keys, raw, strict=True)),
        list(prices),
        list(others),
        set(stated),
        list(unread),
        order_free,
    )


def _model_type(entry: tuple[Any, ...]) -> Any:
    facts = entry[_FACTS]
    return entry[_TYPE_AT] if facts is None else facts.get("model_type")


def _wide_facts(entry: tuple[Any, ...]) -> dict[str, Any]:
    facts = entry[_FACTS]
    if facts is None:
        return {f: entry[i] for f, i in zip(_WIDE_FACTS, _WIDE_AT, strict=True)}
    return {f: facts.get(f) for f in _WIDE_FACTS}


def _settled(
    provider: str,
    model_id: str,
    reading: Reading,
    units: Mapping[tuple[str, str], Unit | None],
    corrections: Mapping[str, tuple[int, int]],
) -> ModelFacts:
    """A model's facts as its record states them, prices in the units decided for the provider."""
    facts = {f: reading.facts.get(f) for f in FACT_FIELDS}
    sources: dict[str, Any] = {f: "provider" for f in FACT_FIELDS if facts[f] is not None}
    sources[NOTES] = {}
    result = ModelFacts(
        model_id, facts, sources, unread=list(reading.unread), read_facts=reading.facts if reading.order_free else None
    )
    _settle_prices(provider, result, reading, units, corrections)
    return result


def _placeholders(
    results: Mapping[str, ModelFacts],
    readings: Mapping[str, Reading],
    fetched_at: str | None,
    found: Mapping[str, Mapping[str, str]] | None,
) -> dict[str, dict[str, str]]:
    if found is not None:
        return {m: dict(found[m]) for m in results if found.get(m)}
    return placeholders(
        {m: r.facts for m, r in results.items()},
        {m: readings[m].other_prices for m in results},
        fetched_at,
    )


def _finish(
    provider: str,
    result: ModelFacts,
    reading: Reading,
    matches: list[ReferenceMatch],
    all_matches: list[ReferenceMatch],
    dropped: Mapping[str, str],
    confirmed: set[str],
    prices_from_any_host: bool,
) -> None:
    """Steps 4-7 for one model, after the provider-wide decisions."""
    stated = set(reading.stated)
    for fact, why in dropped.items():
        result.disputes.append(
            Dispute(provider, result.model_id, fact, "placeholder", result.facts[fact], "provider", detail=why)
        )
        _withhold(result, fact, why)
        stated.discard(fact)
    _check(provider, result, matches, reading, confirmed)
    fill(
        result.facts,
        result.sources,
        stated | {d.fact for d in result.disputes if d.kind != "placeholder"},
        matches,
        prices_from_any_host=prices_from_any_host,
    )
    result.sources.setdefault(NOTES, {})
    _disagreements(provider, result, all_matches)
    result.source_rows = _fact_source_rows(provider, result, reading, all_matches, matches)
    if not result.sources[NOTES]:
        result.sources.pop(NOTES)


def _settle_prices(
    provider: str,
    result: ModelFacts,
    reading: Reading,
    units: Mapping[tuple[str, str], Unit | None],
    corrections: Mapping[str, tuple[int, int]],
) -> None:
    result.sources.setdefault(NOTES, {})
    for fact in PRICE_FIELDS:
        claim = reading.best_price(fact)
        if claim is None:
            continue
        group = _path_group(claim.path)
        if claim.unit.currency != "USD":
            _withhold(
                result,
                fact,
                f"stated in {claim.unit.currency} ({claim.path} = {claim.raw!r}): kept in fact_sources, not converted",
            )
            continue
        if not claim.unit.decided:
            unit = units.get((group, fact))
            if unit is None:
                _unit_dispute(provider, result, claim, f"no unit could be decided for {claim.path}")
                _withhold(result, fact, "unit undecided: see disputes")
                continue
            claim = claim.with_unit(unit)
            _replace_claim(reading, claim)
        if group in corrections:
            power, n = corrections[group]
            fixed = claim.with_unit(
                replace(claim.unit, scale=claim.unit.scale * Decimal(10) ** -power, basis="references")
            )
            _unit_dispute(
                provider,
                result,
                claim,
                f"{claim.path} read as {claim.unit.label()} is 10^{power} times the reference prices of "
                f"{n} models: stored as {fixed.unit.label()}; confirm the unit with a 'facts:' entry",
                converted=claim.usd_per_million(),
                ratio=float(10**power),
            )
            claim = fixed
            _replace_claim(reading, claim)
        result.facts[fact] = claim.usd_per_million()
        result.sources[fact] = "provider"
        reading.paths[fact] = claim.path
        reading.raw_values[fact] = claim.raw


def _unit_dispute(provider: str, result: ModelFacts, claim: PriceClaim, detail: str, **extra: Any) -> None:
    result.disputes.append(
        Dispute(
            provider,
            result.model_id,
            claim.field,
            "unit",
            _jsonable(claim.raw),
            "provider",
            unit=claim.unit.label(),
            detail=detail,
            **extra,
        )
    )


def _withhold(result: ModelFacts, fact: str, why: str) -> None:
    """The fact is not stored; ``sources._notes`` says why."""
    result.facts[fact] = None
    result.sources.pop(fact, None)
    result.sources[NOTES][fact] = why


def _replace_claim(reading: Reading, claim: PriceClaim) -> None:
    reading.prices = [claim if (c.field, c.path) == (claim.field, claim.path) else c for c in reading.prices]


def _check(
    provider: str, result: ModelFacts, matches: Sequence[ReferenceMatch], reading: Reading, confirmed: set[str]
) -> None:
    """Bounds, and the reference check: a price whose path's unit the references confirm
    across the provider is only disputed when a power of ten (100x+) away (a single record in
    another unit); otherwise 10x away is enough (unit mistakes are powers of ten)."""
    facts = result.facts
    for fact in (*PRICE_FIELDS, *LIMIT_FIELDS):
        value = facts.get(fact)
        if value is None or result.sources.get(fact) != "provider":
            continue
        problem = bounds_problem(fact, value)
        dispute: Dispute | None = None
        if problem is not None:
            dispute = Dispute(provider, result.model_id, fact, "implausible", value, "provider", detail=problem)
        elif fact in PRICE_FIELDS:
            ref = _reference_price(matches, fact)
            checked = ratio_problem(float(value), ref[0]) if ref is not None else None
            path = reading.paths.get(fact)
            trusted = path is not None and _path_group(path) in confirmed
            if checked is not None and trusted and checked[0] != "unit":
                checked = None  # a real difference of price; listed as a disagreement below
            if checked is not None and ref is not None:
                kind, ratio = checked
                dispute = Dispute(
                    provider,
                    result.model_id,
                    fact,
                    kind,
                    value,
                    "provider",
                    unit="USD per 1M tokens (as read)",
                    converted=value,
                    reference_value=ref[0],
                    reference_source=ref[1].source,
                    ratio=ratio,
                    detail=f"{ratio:.3g}x the price of {ref[1].source}",
                )
        if dispute is not None:
            result.disputes.append(dispute)
            _withhold(result, fact, f"disputed ({dispute.kind}): {dispute.detail}")
    cache, given = facts.get("cache_read_price"), facts.get("input_price")
    if isinstance(cache, float | int) and isinstance(given, float | int) and cache > given > 0:
        result.disputes.append(
            Dispute(
                provider,
                result.model_id,
                "cache_read_price",
                "implausible",
                cache,
                "provider",
                detail=f"a cache read ({cache:g}) dearer than input ({given:g})",
            )
        )
        _withhold(result, "cache_read_price", "disputed (implausible): dearer than input")


def _differs(fact: str, a: Any, b: Any) -> bool:
    if fact in PRICE_FIELDS:
        if not isinstance(a, int | float) or not isinstance(b, int | float):
            return False
        high = max(a, b)
        return high > 0 and abs(a - b) / high > 0.10
    if fact in LIST_FIELDS:
        return sorted(a) != sorted(b)
    return a != b


def _disagreements(provider: str, result: ModelFacts, matches: Sequence[ReferenceMatch]) -> None:
    if not matches:
        return
    for fact in (*LIMIT_FIELDS, *PRICE_FIELDS, *FLAG_FIELDS):
        value = result.facts.get(fact)
        source = result.sources.get(fact)
        if value is None:
            continue
        for m in matches:
            other = m.facts.get(fact)
            if other is None or m.source == source:
                continue
            if fact in PRICE_FIELDS and not m.same_host:
                # Hosts charge differently: only a 10x gap (kept because the provider's unit is
                # confirmed across its models) is worth listing.
                if not isinstance(other, int | float) or other <= 0 or 0.1 < value / other < 10:
                    continue
            if _differs(fact, value, other):
                ratio = value / other if fact in PRICE_FIELDS and other else None
                result.disputes.append(
                    Dispute(
                        provider,
                        result.model_id,
                        fact,
                        "disagreement",
                        value,
                        str(source),
                        reference_value=other,
                        reference_source=m.source,
                        ratio=ratio,
                        detail=f"{source} says {value}, {m.source} says {other}",
                    )
                )


# A fact with no path (see _fact_source_rows).
_UNSET = object()


def _fact_source_rows(
    provider: str,
    result: ModelFacts,
    reading: Reading,
    found: Sequence[ReferenceMatch],
    usable_matches: Sequence[ReferenceMatch],
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    notes = result.sources.get(NOTES, {})
    model_id = result.model_id

    def add(
        fact: str,
        source: str,
        value: Any,
        unit: str | None,
        raw: Any,
        path: str | None,
        host: str | None,
        level: str | None,
        chosen: bool,
        reason: str | None,
        same_host: bool = True,
    ) -> None:
        rows.append(
            (
                provider,
                model_id,
                fact,
                source,
                float(value) if type(value) is Decimal else value,
                unit,
                float(raw) if type(raw) is Decimal else raw,
                path,
                host,
                level,
                int(same_host),
                int(chosen),
                None if chosen else reason,
            )
        )

    seen_paths: set[tuple[str, str]] = set()
    paths, sources, raw_values = reading.paths, result.sources, reading.raw_values
    for fact in FACT_FIELDS:
        path = paths.get(fact, _UNSET)
        if path is _UNSET:
            continue
        chosen = sources.get(fact) == "provider"
        if fact in PRICE_FIELDS:
            value = result.facts.get(fact) if chosen else _claim_value(reading, fact)
            claim = next((c for c in reading.prices if c.field == fact and c.path == path), None)
            unit = claim.unit.label() if claim is not None else None
        else:
            value = reading.facts.get(fact)
            unit = "tokens" if fact in LIMIT_FIELDS else None
        raw = raw_values.get(fact)
        # The row add() makes, built here directly: most rows of a fetch are these.
        rows.append(
            (
                provider,
                model_id,
                fact,
                "provider",
                float(value) if type(value) is Decimal else value,
                unit,
                float(raw) if type(raw) is Decimal else raw,
                path,
                provider,
                None,
                1,
                1 if chosen else 0,
                None if chosen else notes.get(fact) or "not stored",
            )
        )
        seen_paths.add((fact, path))
    for claim in reading.prices:
        if (claim.field, claim.path) in seen_paths:
            continue
        if claim.field in notes and "not converted" in notes[claim.field]:
            why = notes[claim.field]
        elif claim.unit.currency != "USD":
            why = f"in {claim.unit.currency}: the USD statement of the same price was used"
        else:
            why = notes.get(claim.field) or "another statement of the same price was used"
        add(
            claim.field,
            "provider",
            claim.usd_per_million() if claim.unit.currency == "USD" else float(claim.amount * claim.unit.scale),
            claim.unit.label(),
            claim.raw,
            claim.path,
            provider,
            None,
            False,
            why,
        )
    for unread in reading.unread:
        for fact in unread.facts:
            add(
                fact,
                "provider",
                None,
                None,
                unread.example,
                unread.path,
                provider,
                None,
                False,
                "unread: vexy could not read this key (the fact stays unknown, no reference fills it)",
            )
    usable_keys = {m.key for m in usable_matches}
    for m in found:
        for fact in ENRICHABLE_FIELDS:
            value = m.facts.get(fact)
            if value is None or fact == "description" and result.sources.get(fact) != m.source:
                continue
            chosen = result.sources.get(fact) == m.source
            if chosen:
                reason = None
            elif m.key not in usable_keys:
                reason = f"another model: its type ({m.facts.get('model_type')}) is not the stated one"
            elif result.sources.get(fact) == "provider" or fact in reading.stated:
                reason = "the provider states this fact"
            elif fact in PRICE_FIELDS and not m.same_host:
                reason = "prices come only from the provider's own host"
            elif fact in LIMIT_FIELDS and not m.same_host and any(x.same_host for x in usable_matches):
                reason = "limits come from the provider's own host's record"
            else:
                reason = notes.get(fact) or "an earlier record gave it"
            unit = "USD per 1M tokens" if fact in PRICE_FIELDS else "tokens" if fact in LIMIT_FIELDS else None
            add(fact, m.source, value, unit, None, m.key, m.host, m.level, chosen, reason, m.same_host)
    return rows


def _claim_value(reading: Reading, fact: str) -> Any:
    claim = reading.best_price(fact)
    return claim.usd_per_million() if claim is not None else None


@dataclass(slots=True)
class Refreshed:
    """What :func:`resolve_changed` decided: the changed models' results, in answer order, and
    every listed model's unread keys (which the provider's ``unread_keys`` rows count)."""

    results: list[ModelFacts]
    unread: list[tuple[str, list[Unread]]]


_Decided = tuple[dict[tuple[str, str], Unit | None], dict[str, tuple[int, int]], set[str]]


@dataclass(slots=True)
class Baseline:
    """What :func:`resolve_changed` decides of a provider's listed models as stored, worked out
    ahead (:func:`baseline`, while a fetch waits on the network): their matches, the
    provider-wide decisions, each model settled, and the placeholders as of its last fetch. A
    change of some records that leaves those decisions as they are needs only the changed
    records worked out; any other change is resolved as without it."""

    readings: Mapping[str, Any]
    # The other references' indexes matched against, each with its version then.
    references: list[tuple[ReferenceIndex, int]]
    matches: dict[str, list[ReferenceMatch]]
    # Each model's claims as the unit decisions weigh them (see _weighed).
    weighed: dict[str, list[_Weighed]]
    decided: _Decided
    settled: dict[str, ModelFacts]
    fetched_before: str | None
    dropped_before: dict[str, dict[str, str]]
    # The part of dropped_before only all the models together show (see shared_placeholders).
    shared_before: dict[str, dict[str, str]]


def baseline(
    provider: str, readings: Mapping[str, Any], references: Sequence[ReferenceIndex], fetched_before: str | None
) -> Baseline:
    """The :class:`Baseline` of ``provider``'s listed models (``readings``: the stored records',
    in any order; a :class:`.kept.Kept` will do) against ``references``."""
    order = {r.name: i for i, r in enumerate(references)}
    for reference in references:
        # Kept by each index while it stands: resolve_changed matches the changed ones again.
        reference.remember(provider, readings)
    matches = {
        m: ordered(usable([x for ref in references for x in ref.match(provider, m)], r.facts.get("model_type")), order)
        for m, r in readings.items()
    }
    weighed = {m: _weighed(r, matches[m]) for m, r in readings.items()}
    decided = _decide_units(readings, matches, weighed=weighed)
    units, corrections, _ = decided
    settled = {m: _settled(provider, m, _wide(r), units, corrections) for m, r in readings.items()}
    facts = {m: r.facts for m, r in settled.items()}
    shared = shared_placeholders(facts, fetched_before)
    dropped = placeholders(facts, {m: r.other_prices for m, r in readings.items()}, fetched_before, shared)
    others = [(r, r.version) for r in references if r.name != provider]
    return Baseline(readings, others, matches, weighed, decided, settled, fetched_before, dropped, shared)


def _holds(
    base: Baseline,
    provider: str,
    readings: Mapping[str, Any],
    before: Mapping[str, Reading],
    references: Sequence[ReferenceIndex],
    fetched_before: str | None,
) -> bool:
    """Whether ``base`` is of these models as stored, against these references: the same
    models, each unchanged one read as then (the very reading), the other references' indexes
    as then, the same last fetch. (The changed ones' stored records are the caller's to check.)"""
    others = [r for r in references if r.name != provider]
    return (
        base.fetched_before == fetched_before
        and len(others) == len(base.references)
        and all(r is then and r.version == version for r, (then, version) in zip(others, base.references, strict=True))
        and readings.keys() == base.readings.keys()
        and all(r is base.readings[m] for m, r in readings.items() if m not in before)
    )


def resolve_changed(
    provider: str,
    readings: Mapping[str, Any],
    before: Mapping[str, Reading],
    references: Sequence[ReferenceIndex],
    *,
    fetched_at: str | None,
    fetched_before: str | None,
    base: Baseline | None = None,
) -> Refreshed | None:
    """The results of only the models whose records changed, when that is exactly what
    :func:`iter_resolved` of every listed model would give them; None when it might not be.

    ``readings`` are every listed model's (in answer order; they are not changed here): of an
    unchanged model, its facts, prices, other prices and unread keys are read (a
    :class:`.kept.Kept` will do). ``before`` are the previous readings of the changed ones, the
    same models listed as before.
    A model's result depends on the provider's other models only through the provider-wide
    steps: units, corrections and confirmed paths (decided from every priced model and its
    reference prices), and placeholders (from every model's facts and the fetch time). They are
    decided from the previous records and from the new ones, against the same references; if
    they agree for every unchanged model, each unchanged model resolves as it did (its stored
    rows), and only the changed ones are finished. Otherwise None: resolve them all.

    ``base``: the :class:`Baseline` of the models as stored (``before`` being its readings of
    the changed ones), so the unchanged models are not worked out again; ignored unless it
    :func:`_holds`.
    """
    if len(readings) > STREAM_ABOVE:
        return None
    order = {r.name: i for i, r in enumerate(references)}

    def matched(model_id: str, reading: Reading) -> tuple[list[ReferenceMatch], list[ReferenceMatch]]:
        found = [m for reference in references for m in reference.match(provider, model_id)]
        return found, ordered(usable(found, reading.facts.get("model_type")), order)

    if base is not None and _holds(base, provider, readings, before, references, fetched_before):
        return _resolve_on(provider, readings, before, base, matched, fetched_at)

    all_matches: dict[str, list[ReferenceMatch]] = {}
    matches: dict[str, list[ReferenceMatch]] = {}
    for model_id, reading in readings.items():
        all_matches[model_id], matches[model_id] = matched(model_id, reading)
    old_readings = {m: before.get(m, r) for m, r in readings.items()}
    decided = _decide_units(readings, matches)
    # The previous records decide alike but for the path groups the changed ones price in:
    # those are decided again from them, with every model pricing in them.
    touched = _touched(readings, before)
    if touched:
        pricing = _pricing_in(old_readings, touched)
        old_matches = {m: matched(m, before[m])[1] if m in before else matches[m] for m in pricing}
        if _only(decided, touched) != _decide_units(pricing, old_matches, touched):
            return None
    units, corrections, confirmed = decided
    # Settling prices changes a reading: settle copies, so the caller's readings stay fresh. Of
    # an unchanged model only what the provider-wide steps read is settled (as iter_resolved's
    # packed path does): its readings may be what the catalog kept of them (.kept.Kept).
    copies = {m: _fresh(r) if m in before else _wide(r) for m, r in readings.items()}
    results = {m: _settled(provider, m, r, units, corrections) for m, r in copies.items()}
    old_facts = {m: r.facts for m, r in results.items()}
    for model_id, reading in before.items():
        old_facts[model_id] = _settled(provider, model_id, _fresh(reading), units, corrections).facts
    dropped_before = placeholders(old_facts, {m: r.other_prices for m, r in old_readings.items()}, fetched_before)
    return _finish_changed(
        provider,
        readings,
        before,
        results,
        copies,
        lambda m: (all_matches[m], matches[m]),
        dropped_before,
        fetched_at,
        confirmed,
    )


def _resolve_on(
    provider: str,
    readings: Mapping[str, Any],
    before: Mapping[str, Reading],
    base: Baseline,
    matched: Any,
    fetched_at: str | None,
) -> Refreshed | None:
    """:func:`resolve_changed` from a baseline that holds. The provider-wide decisions of the
    path groups the changed records price in (before or now) are decided again from every
    model pricing in them, and must be the baseline's (the others are, having the same claims
    and matches); then every model settles as in the baseline but the changed ones, and the
    placeholders decided now must be the baseline's for every unchanged model."""
    changed = {m: matched(m, readings[m]) for m in before}
    touched = _touched(readings, before)
    if touched:
        # Every other model's claims weigh as in the baseline (the same reading, the same
        # matches); a model pricing in none of the groups weighs nothing in them.
        weighed = {**base.weighed, **{m: _weighed(readings[m], changed[m][1]) for m in before}}
        if _decide_units(readings, {}, touched, weighed) != _only(base.decided, touched):
            return None
    units, corrections, confirmed = base.decided
    copies = {m: _fresh(readings[m]) for m in before}
    results = {
        m: _settled(provider, m, copies[m], units, corrections) if m in copies else base.settled[m] for m in readings
    }
    return _finish_changed(
        provider,
        readings,
        before,
        results,
        copies,
        changed.__getitem__,
        base.dropped_before,
        fetched_at,
        confirmed,
        base.shared_before,
    )


def _finish_changed(
    provider: str,
    readings: Mapping[str, Any],
    before: Mapping[str, Reading],
    results: Mapping[str, ModelFacts],
    copies: Mapping[str, Reading],
    matches_of: Callable[[str], tuple[list[ReferenceMatch], list[ReferenceMatch]]],
    dropped_before: Mapping[str, dict[str, str]],
    fetched_at: str | None,
    confirmed: set[str],
    shared_before: Mapping[str, Mapping[str, str]] | None = None,
) -> Refreshed | None:
    """The end of :func:`resolve_changed` (either way): the placeholders decided now from every
    settled model must be ``dropped_before``'s for every unchanged one (else None); then the
    changed ones (``before``) are finished with their matches (all found, usable).

    ``shared_before``: the part of ``dropped_before`` only all the models together show. When
    that part is the same now for every unchanged model, so is the rest (an unchanged model's
    own placeholders are of its own facts, as they were), and only the changed ones' are
    worked out."""
    facts = {m: r.facts for m, r in results.items()}
    shared = shared_placeholders(facts, fetched_at)
    if shared_before is not None and (
        (not shared and not shared_before)
        or all(shared.get(m) == shared_before.get(m) for m in readings if m not in before)
    ):
        dropped = {
            m: own for m in before if (own := own_placeholders(facts[m], readings[m].other_prices, shared.get(m)))
        }
    else:
        dropped = placeholders(facts, {m: r.other_prices for m, r in readings.items()}, fetched_at, shared)
        if any(dropped.get(m) != dropped_before.get(m) for m in readings if m not in before):
            return None
    done: list[ModelFacts] = []
    for model_id in readings:
        if model_id in before:
            found, usable_matches = matches_of(model_id)
            result = results[model_id]
            _finish(
                provider, result, copies[model_id], usable_matches, found, dropped.get(model_id, {}), confirmed, False
            )
            done.append(result)
    return Refreshed(done, [(m, r.unread) for m, r in results.items()])


def _touched(readings: Mapping[str, Any], before: Mapping[str, Reading]) -> set[str]:
    """The path groups the changed models price in (USD), before or now."""
    return {
        _path_group(c.path)
        for m in before
        for r in (readings[m], before[m])
        for c in r.prices
        if c.unit.currency == "USD"
    }


def _pricing_in(readings: Mapping[str, Any], groups: set[str]) -> dict[str, Any]:
    """The readings of the models pricing (in USD) in one of these path groups."""
    return {
        m: r
        for m, r in readings.items()
        if any(c.unit.currency == "USD" and _path_group(c.path) in groups for c in r.prices)
    }


def _only(
    decided: tuple[dict[tuple[str, str], Unit | None], dict[str, tuple[int, int]], set[str]], groups: set[str]
) -> tuple[dict[tuple[str, str], Unit | None], dict[str, tuple[int, int]], set[str]]:
    """:func:`_decide_units`'s decisions of ``groups`` alone."""
    units, corrections, confirmed = decided
    return (
        {key: unit for key, unit in units.items() if key[0] in groups},
        {group: c for group, c in corrections.items() if group in groups},
        confirmed & groups,
    )


def _wide(reading: Any) -> Reading:
    """What the provider-wide steps read of a reading (its facts among ``_WIDE_FACTS``, its
    prices and unread keys), as a reading that settling its prices may change."""
    facts = reading.facts
    return Reading(facts={f: facts.get(f) for f in _WIDE_FACTS}, prices=list(reading.prices), unread=reading.unread)


def _fresh(reading: Reading) -> Reading:
    """A copy of ``reading`` that settling its prices may change."""
    return replace(reading, prices=list(reading.prices), paths=dict(reading.paths), raw_values=dict(reading.raw_values))
