"""Filling what a provider did not state from reference records, without ever contradicting it.

Rules, in order:

1. What the provider states wins, always. A fact the record speaks to is never filled: read
   facts, facts it states in a way we could not read (an unread fact-like key), prices in
   another currency or per image/request/hour, a capability list that does not name the
   capability, an ambiguous type.
2. A reference record whose ``model_type`` differs from the one the provider states is another
   model (a base checkpoint is not its instruct deployment): it fills nothing.
3. Records of the provider's own host come first (by level, then reference order), then the
   others. Limits come only from own-host records when one exists; prices only from own-host
   records (``prices_from_any_host`` lifts that); ``deprecated_at`` only from qualified or exact
   matches (dated snapshots that normalize alike retire on different days). A value from another
   host is noted in ``sources["_notes"]``.
4. Facts of one model come from one route where possible: the first record that has a limit
   gives both limits when it has both.
5. ``max_output_tokens <= context_window`` unless the provider states both: an enriched limit
   that breaks it is dropped (the output limit first) and noted.

``sources`` maps each known fact to ``"provider"`` or ``"<reference>:<key>"``; ``"_notes"`` maps
a fact to why it is what it is (another host's record, a placeholder dropped, a dispute).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .references import LEVELS, ReferenceIndex, ReferenceMatch
from .schema import ENRICHABLE_FIELDS, FACT_FIELDS, LIMIT_FIELDS, PRICE_FIELDS

__all__ = ["NOTES", "enrich", "fill"]

NOTES = "_notes"
_EXACT_ONLY_FIELDS = frozenset({"deprecated_at"})


def ordered(matches: Sequence[ReferenceMatch], order: Mapping[str, int]) -> list[ReferenceMatch]:
    """Own-host records first, then by level, then by the reference order given."""
    return sorted(matches, key=lambda m: (not m.same_host, LEVELS.index(m.level), order.get(m.reference, len(order))))


def usable(matches: Sequence[ReferenceMatch], own_type: Any) -> list[ReferenceMatch]:
    """Drop records whose type contradicts the provider's stated type (another model)."""
    if own_type is None:
        return list(matches)
    return [m for m in matches if m.facts.get("model_type") in (None, own_type)]


def fill(
    facts: dict[str, Any],
    sources: dict[str, Any],
    stated: set[str] | frozenset[str],
    matches: Sequence[ReferenceMatch],
    *,
    prices_from_any_host: bool = False,
) -> None:
    """Fill unknown, unstated facts in place from ``matches`` (already ordered)."""
    notes: dict[str, str] = sources.setdefault(NOTES, {})
    has_own = any(m.same_host for m in matches)
    for field in ENRICHABLE_FIELDS if matches else ():
        if facts.get(field) is not None or field in stated:
            continue
        for found in matches:
            if field in LIMIT_FIELDS and has_own and not found.same_host:
                continue
            if field in PRICE_FIELDS and not (found.same_host or prices_from_any_host):
                continue
            if field in _EXACT_ONLY_FIELDS and found.level == "normalized":
                continue
            value = found.facts.get(field)
            if value is None:
                continue
            facts[field] = list(value) if isinstance(value, list) else value
            sources[field] = found.source
            if not found.same_host:
                notes[field] = f"from another host's record ({found.host})"
            break
    _keep_output_within_context(facts, sources)
    if not notes:
        sources.pop(NOTES, None)


def _keep_output_within_context(facts: dict[str, Any], sources: dict[str, Any]) -> None:
    context, output = facts.get("context_window"), facts.get("max_output_tokens")
    if not isinstance(context, int) or not isinstance(output, int) or output <= context:
        return
    if sources.get("context_window") == "provider" and sources.get("max_output_tokens") == "provider":
        return  # the provider says so itself
    drop = "max_output_tokens" if sources.get("max_output_tokens") != "provider" else "context_window"
    other = "context_window" if drop == "max_output_tokens" else "max_output_tokens"
    sources[NOTES][drop] = (
        f"{sources.get(drop)} said {facts[drop]:,}, more than the {other.replace('_', ' ')} "
        f"{facts[other]:,} from {sources.get(other)}: not mixed"
    )
    facts[drop] = None
    sources.pop(drop, None)


def enrich(
    provider: str,
    model_id: str,
    facts: Mapping[str, object],
    references: Sequence[ReferenceIndex],
    *,
    prices_from_any_host: bool = False,
    stated: set[str] | None = None,
) -> dict[str, object]:
    """A copy of ``facts`` with unknown model facts filled from ``references`` (in priority
    order). ``stated``: facts the record speaks to (default: the known ones)."""
    result: dict[str, Any] = {field: facts.get(field) for field in FACT_FIELDS}
    given = facts.get("sources")
    sources: dict[str, Any] = {k: v for k, v in given.items() if k != NOTES} if isinstance(given, Mapping) else {}
    for field in FACT_FIELDS:
        if result[field] is not None:
            sources.setdefault(field, "provider")
        else:
            sources.pop(field, None)
    known = {f for f in FACT_FIELDS if result[f] is not None}
    matches = [m for reference in references for m in reference.match(provider, model_id)]
    matches = ordered(usable(matches, result.get("model_type")), {r.name: i for i, r in enumerate(references)})
    fill(result, sources, known | (stated or set()), matches, prices_from_any_host=prices_from_any_host)
    result["sources"] = sources
    return result
