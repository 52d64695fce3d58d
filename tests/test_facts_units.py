"""Price units: stated, named, documented, or decided once per provider from all its values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from vexy_catalog.facts import ReferenceIndex, read_record, resolve_provider
from vexy_catalog.facts.units import PER_1K, PER_1M, PER_TOKEN, decide_scale, key_words, unit_from_text, unit_from_words
from vexy_catalog.records import find_records


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("inputCostPer1MTokens", ("input", "cost", "per", "1m", "tokens")),
        ("input_token_price_per_m", ("input", "token", "price", "per", "m")),
        ("availableContextTokens", ("available", "context", "tokens")),
        ("USDPerToken", ("usd", "per", "token")),
        ("max-input-tokens", ("max", "input", "tokens")),
    ],
)
def test_keys_are_compared_as_words(key: str, words: tuple[str, ...]) -> None:
    assert key_words(key) == words


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ("input_cost_per_token", "USD per token"),
        ("cost_per_1m_in", "USD per 1M tokens"),
        ("priceTextInputPerMillion", "USD per 1M tokens"),
        ("input_price_per_1k_tokens", "USD per 1K tokens"),
        ("cents_per_input_token", "0.01 USD per token"),
        ("input_cny_per_1m", "CNY per 1M tokens"),
        ("input_price_per_image", "USD per image"),
        # A token price that does not say per how many tokens is undecided, not per token.
        ("prompt_text_token_price", "USD per ? tokens (undecided)"),
        ("cost_in", "USD per ? tokens (undecided)"),
    ],
)
def test_a_name_states_a_unit_only_when_it_says_one(key: str, label: str) -> None:
    assert unit_from_words(key_words(key), "name").label() == label


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("per M input tokens", "USD per 1M tokens"),
        ("USD / 1M tokens", "USD per 1M tokens"),
        ("$/Mtok", "USD per 1M tokens"),
        ("per 1K tokens", "USD per 1K tokens"),
        ("1M tokens", "USD per 1M tokens"),
        ("per token", "USD per token"),
        ("per audio minute", "USD per audio"),
        ("per image", "USD per image"),
    ],
)
def test_explicit_unit_texts(text: str, label: str) -> None:
    assert unit_from_text(text).label() == label


def test_magnitude_decides_among_token_1k_and_1m_only_when_one_fits() -> None:
    as_token = [Decimal("5e-7"), Decimal("0.000003"), Decimal("1e-7")]
    assert decide_scale(as_token)[0] == PER_TOKEN
    assert decide_scale([Decimal("0.0005"), Decimal("0.0015")])[0] == PER_1K
    assert decide_scale([Decimal("0.2"), Decimal("0.9"), Decimal("3")])[0] == PER_1M
    # 20000 is no price per token, per 1K or per 1M: undecided, never a guess.
    assert decide_scale([Decimal(20000), Decimal(100000)])[0] is None
    # Only zeros: free whatever the unit.
    assert decide_scale([Decimal(0)])[0] == PER_1M


def _prices(result: Any) -> dict[str, Any]:
    return {f: result.facts[f] for f in ("input_price", "output_price", "cache_read_price")}


def resolve(provider: str, records: list[dict[str, Any]], refs: list[ReferenceIndex] = (), **kw: Any) -> dict:
    return {r.model_id: r for r in resolve_provider(provider, [(r["id"], r) for r in records], list(refs), **kw)}


def test_bare_prices_are_decided_per_provider_by_magnitude() -> None:
    # cost_in/cost_out say nothing of their unit: the provider's values are per token.
    records = [
        {"id": "a", "cost_in": 5e-7, "cost_out": 0.000003},
        {"id": "b", "cost_in": 1e-7, "cost_out": 3e-7},
        {"id": "c", "cost_in": 0.00000175, "cost_out": 0.000014},
    ]
    assert read_record("gateway", records[0]).facts["input_price"] is None  # one record cannot tell
    found = resolve("gateway", records)
    assert _prices(found["a"]) == {"input_price": 0.5, "output_price": 3.0, "cache_read_price": None}
    assert found["c"].facts["output_price"] == 14.0
    row = next(r for r in found["a"].fact_sources if r["fact"] == "input_price" and r["source"] == "provider")
    assert (row["path"], row["raw_value"], row["chosen"]) == ("cost_in", 5e-7, 1)
    assert row["unit"] == "USD per token"


def _modelsdev(models: dict[str, dict[str, Any]], provider: str = "someone") -> ReferenceIndex:
    # As the catalog stores models.dev: one row per model, qualified by models.dev's provider id.
    return ReferenceIndex("modelsdev", find_records({provider: {"id": provider, "models": models}}, "*.models").records)


def test_references_decide_any_power_of_ten() -> None:
    # xAI-like prices (1/10,000 USD per 1M) under a name that no dialect knows.
    records = [
        {"id": "grok-a", "prompt_text_token_price": 30000, "completion_text_token_price": 150000},
        {"id": "grok-b", "prompt_text_token_price": 20000, "completion_text_token_price": 100000},
    ]
    alone = resolve("my-grok", records)
    assert alone["grok-a"].facts["input_price"] is None
    assert [d.kind for d in alone["grok-a"].disputes] == ["unit", "unit"]
    refs = [_modelsdev({"grok-a": {"cost": {"input": 3.0, "output": 15.0}}})]
    found = resolve("my-grok", records, refs)
    assert _prices(found["grok-a"])["input_price"] == 3.0
    # The decision is the provider's: grok-b, with no reference price, is read the same way.
    assert _prices(found["grok-b"]) == {"input_price": 2.0, "output_price": 10.0, "cache_read_price": None}


def test_a_named_unit_the_references_contradict_is_corrected_and_disputed() -> None:
    # Novita-like: the name says per million, the numbers are 10,000 times the dollars.
    records = [{"id": f"m{i}", "input_token_price_per_m": 500 * (i + 1)} for i in range(4)]
    refs = [_modelsdev({f"m{i}": {"cost": {"input": 0.05 * (i + 1), "output": 1}} for i in range(4)})]
    found = resolve("cheap-host", records, refs)
    assert found["m0"].facts["input_price"] == 0.05
    (dispute,) = [d for d in found["m0"].disputes if d.kind == "unit"]
    assert "10^4" in dispute.detail and dispute.ratio == 10_000
    # Without the references the number stays within bounds, but nothing vouches for it either.
    assert resolve("cheap-host", records)["m0"].facts["input_price"] == 500.0


def test_the_providers_file_unit_is_final() -> None:
    records = [{"id": f"m{i}", "pricing": {"in": 500 * (i + 1)}} for i in range(4)]
    refs = [_modelsdev({f"m{i}": {"cost": {"input": 0.05 * (i + 1), "output": 1}} for i in range(4)})]
    fact_map = {"input_price": {"path": ["pricing", "in"], "unit": "usd_per_1m_tokens"}}
    found = resolve("mine", records, refs, fact_map=fact_map)
    assert found["m0"].facts["input_price"] is None  # 10,000x its reference: a dispute, not a fact
    assert not [d for d in found["m0"].disputes if "stored as" in d.detail]
    fact_map["input_price"]["unit"] = "usd_per_token"
    assert resolve("mine", records, fact_map=fact_map)["m0"].facts["input_price"] is None  # $500M: out of bounds


def test_other_currencies_are_kept_not_converted() -> None:
    record = {"id": "qwen", "pricing": {"input": 4, "output": 12, "currency": "CNY", "unit": "per 1M tokens"}}
    (result,) = resolve("dashscope-cn", [record]).values()
    assert result.facts["input_price"] is None
    assert "CNY" in result.sources["_notes"]["input_price"]
    row = next(r for r in result.fact_sources if r["fact"] == "input_price")
    assert (row["unit"], row["value"], row["chosen"]) == ("CNY per 1M tokens", 4.0, 0)
    # The provider states a price: no reference may fill it with someone's dollars.
    refs = [_modelsdev({"qwen": {"cost": {"input": 0.5, "output": 1.5}}}, provider="dashscope-cn")]
    (enriched,) = resolve("dashscope-cn", [record], refs).values()
    assert enriched.facts["input_price"] is None


def test_credits_are_not_dollars_and_usd_wins() -> None:
    record = {"id": "v", "model_spec": {"pricing": {"input": {"usd": 0.2, "diem": 0.2}, "output": {"diem": 0.9}}}}
    result = resolve("venice-like", [record, {**record, "id": "w"}, {**record, "id": "x"}])["v"]
    assert result.facts["input_price"] == 0.2
    assert result.facts["output_price"] is None  # only in DIEM


@pytest.mark.parametrize(
    "pricing",
    [
        {"per_image": 0.04},
        {"image": 0.04},
        {"per_request": 0.01},
        {"hourly": 1.5},
        {"per_second": 0.002},
        {"input_audio_per_minute": 0.006},
        {"web_search": 0.01},
    ],
)
def test_prices_of_other_units_are_never_token_prices(pricing: dict[str, Any]) -> None:
    reading = read_record("somehost", {"id": "m", "pricing": pricing})
    assert reading.prices == []
    assert reading.other_prices
    assert reading.unread == []  # understood, just not a token price


def test_per_million_is_each_units_conversion_of_each_amount():
    # Conversions are cached by value: the same amount in another unit, or an equal amount of
    # another exponent, must still convert as that unit and that value do.
    per_token = unit_from_text("per token")
    per_1k = unit_from_text("per 1K tokens")
    cents_1m = unit_from_words(["cents", "per", "1m"], "explicit")
    amount = Decimal("0.000002")
    assert per_token.per_million(amount) == 2.0
    assert per_1k.per_million(amount) == 0.002
    assert cents_1m.per_million(amount) == 2e-08
    assert per_token.per_million(Decimal("0.0000020")) == 2.0
    assert per_1k.per_million(Decimal("3")) == 3000.0
    assert per_token.per_million(Decimal("3")) == 3000000.0
    assert per_1k.per_million(3) == 3000.0
    assert unit_from_words(["per"], "none").per_million(amount) is None
    with pytest.raises(ArithmeticError):
        per_token.per_million(Decimal("sNaN"))
