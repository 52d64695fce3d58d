"""What is not stored as a fact: out-of-bounds values, prices a reference contradicts by 10x or
more, placeholders, and limits that do not fit together when they come from different sources."""

from __future__ import annotations

from typing import Any

from vexy_catalog.facts import ReferenceIndex, resolve_provider


def resolve(provider: str, records: list[dict[str, Any]], refs: list[ReferenceIndex] = (), **kw: Any) -> dict:
    return {r.model_id: r for r in resolve_provider(provider, [(r["id"], r) for r in records], list(refs), **kw)}


def _litellm(records: dict[str, dict[str, Any]]) -> ReferenceIndex:
    return ReferenceIndex("litellm", records.items())


def kinds(result: Any) -> list[tuple[str, str]]:
    return sorted((d.fact, d.kind) for d in result.disputes)


def test_out_of_bounds_values_are_disputes_not_facts() -> None:
    found = resolve(
        "somehost",
        [{"id": "m", "context_length": 5, "pricing": {"input_per_million": 5000, "output_per_million": 0.0001}}],
    )["m"]
    assert found.facts["context_window"] is None
    assert found.facts["input_price"] is None and found.facts["output_price"] is None
    assert kinds(found) == [
        ("context_window", "implausible"),
        ("input_price", "implausible"),
        ("output_price", "implausible"),
    ]
    assert "above 1000" in found.sources["_notes"]["input_price"]


def test_zero_is_a_price_and_a_cache_dearer_than_input_is_not() -> None:
    found = resolve(
        "somehost",
        [{"id": "m", "pricing": {"input_per_million": 0, "output_per_million": 0, "cached_input_per_million": 0}}],
    )["m"]
    assert (found.facts["input_price"], found.facts["output_price"]) == (0.0, 0.0)
    dear = resolve("somehost", [{"id": "m", "pricing": {"input_per_1m": 1, "cache_read_per_1m": 2}}])["m"]
    assert dear.facts["cache_read_price"] is None
    assert kinds(dear) == [("cache_read_price", "implausible")]


def test_a_price_10x_from_its_own_hosts_reference_is_a_dispute() -> None:
    refs = [_litellm({"somehost/model-1": {"litellm_provider": "somehost", "input_cost_per_token": 3e-8}})]
    found = resolve("somehost", [{"id": "model-1", "pricing": {"input_per_1m": 500}}], refs)["model-1"]
    assert found.facts["input_price"] is None
    (dispute,) = found.disputes
    assert (dispute.kind, dispute.reference_source) == ("implausible", "litellm:somehost/model-1")
    assert round(dispute.ratio) == 16667 and dispute.reference_value == 0.03
    # The provider stated a price: the reference's is not used in its place.
    assert found.sources.get("input_price") is None
    # An exact power of ten is a unit: corrected from the reference, and said so.
    refs = [_litellm({"somehost/model-1": {"litellm_provider": "somehost", "input_cost_per_token": 5e-8}})]
    fixed = resolve("somehost", [{"id": "model-1", "pricing": {"input_per_1m": 500}}], refs)["model-1"]
    assert fixed.facts["input_price"] == 0.05
    assert [(d.kind, d.ratio) for d in fixed.disputes] == [("unit", 10_000.0)]


def test_a_confirmed_unit_keeps_a_real_price_difference() -> None:
    # Three models agree with the references within 3x: the unit is right; a fourth 30x away is
    # a real difference (a stale reference, a premium route), listed as a disagreement.
    prices = {"model-a1": 1.0, "model-b1": 2.0, "model-c1": 0.5, "model-d1": 30.0}
    refs = [_litellm({f"somehost/{m}": {"litellm_provider": "somehost", "input_cost_per_token": 1e-6} for m in prices})]
    records = [{"id": m, "pricing": {"input_per_1m": p}} for m, p in prices.items()]
    found = resolve("somehost", records, refs)
    assert found["model-d1"].facts["input_price"] == 30.0
    assert kinds(found["model-d1"]) == [("input_price", "disagreement")]


def test_placeholder_created_dates() -> None:
    same = [{"id": f"m{i}", "created": 1757327372} for i in range(3)]
    assert all(r.facts["created"] is None for r in resolve("p", same).values())
    hour = [{"id": f"m{i}", "created": 1757327372 + 60 * i} for i in range(5)]
    result = resolve("p", hour)["m0"]
    assert result.facts["created"] is None
    assert "within the same hour" in result.sources["_notes"]["created"]
    fetched = [{"id": f"m{i}", "created": 1757327372 + 86400 * 30 * i} for i in range(3)]
    assert resolve("p", fetched)["m0"].facts["created"] == "2025-09-08T10:29:32Z"  # real dates
    assert resolve("p", fetched, fetched_at="2025-09-08T12:00:00Z")["m0"].facts["created"] == "2025-09-08T10:29:32Z"
    near = [{"id": f"m{i}", "created": 1757327372 + 7200 * i} for i in range(3)]
    assert resolve("p", near, fetched_at="2025-09-08T12:00:00Z")["m1"].facts["created"] is None


def test_placeholder_cache_prices_owners_and_zero_token_prices() -> None:
    records = [
        {"id": f"m{i}", "owned_by": "system", "pricing": {"input_per_1m": i + 1, "cache_read_per_1m": 0}}
        for i in range(3)
    ]
    found = resolve("p", records)
    assert found["m1"].facts["input_price"] == 2.0
    assert found["m1"].facts["cache_read_price"] is None
    assert found["m1"].facts["owned_by"] is None
    assert ("owned_by", "placeholder") in kinds(found["m1"])
    hourly = resolve("p", [{"id": "x", "pricing": {"input": 0, "output": 0, "hourly": 1.5}}])["x"]
    assert hourly.facts["input_price"] is None and "per hourly" in hourly.sources["_notes"]["input_price"]
    image = resolve("p", [{"id": "x", "type": "image", "pricing": {"input_per_1m": 0}}])["x"]
    assert image.facts["input_price"] is None and image.facts["model_type"] == "image"


def test_limits_from_two_sources_must_fit_together() -> None:
    refs = [_litellm({"p/model-1": {"litellm_provider": "p", "max_output_tokens": 65536}})]
    found = resolve("p", [{"id": "model-1", "context_length": 32768}], refs)["model-1"]
    assert found.facts["context_window"] == 32768
    assert found.facts["max_output_tokens"] is None
    assert "more than the context window" in found.sources["_notes"]["max_output_tokens"]
    # When the provider states both, both stand.
    both = resolve("p", [{"id": "m", "context_length": 8000, "max_completion_tokens": 8192}])["m"]
    assert (both.facts["context_window"], both.facts["max_output_tokens"]) == (8000, 8192)


def test_disagreements_are_listed_and_the_provider_wins() -> None:
    refs = [
        _litellm(
            {"p/model-1": {"litellm_provider": "p", "max_input_tokens": 128000, "supports_function_calling": True}}
        )
    ]
    found = resolve("p", [{"id": "model-1", "context_window": 131072, "supports_tools": False}], refs)["model-1"]
    assert (found.facts["context_window"], found.facts["supports_tools"]) == (131072, False)
    assert kinds(found) == [("context_window", "disagreement"), ("supports_tools", "disagreement")]
    rows = {(r["fact"], r["source"]): r for r in found.fact_sources}
    assert rows[("context_window", "provider")]["chosen"] == 1
    assert rows[("context_window", "litellm:p/model-1")]["chosen"] == 0
    assert rows[("context_window", "litellm:p/model-1")]["reason"] == "the provider states this fact"


def test_no_golden_fact_is_lost_or_changed_by_the_catalog() -> None:
    """Every fact of test_facts_reading's GOLDEN records survives the whole pipeline (units,
    placeholders, plausibility, enrichment), unless it is a placeholder dropped and said so."""
    from facts_fixtures import records
    from test_facts_reading import GOLDEN

    refs = [
        ReferenceIndex("litellm", records("litellm").items()),
        ReferenceIndex("openrouter", records("openrouter").items()),
    ]
    providers = sorted({p for p, _, _ in GOLDEN})
    for provider in providers:
        results = {r.model_id: r for r in resolve_provider(provider, list(records(provider).items()), refs)}
        for p, model_id, expected in GOLDEN:
            if p != provider:
                continue
            result = results[model_id]
            for fact, value in expected.items():
                stored = result.facts[fact]
                if stored is None:
                    (dispute,) = [d for d in result.disputes if d.fact == fact]
                    assert dispute.kind == "placeholder", (provider, model_id, fact)
                    continue
                assert stored == value, (provider, model_id, fact, stored, value)
                assert result.sources[fact] == "provider", (provider, model_id, fact)
