"""Matching reference records and filling unstated facts from them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from facts_fixtures import FIXTURES, facts_of, records

from vexy_catalog.facts import FACT_FIELDS, ReferenceIndex, enrich, normalize_record, read_record
from vexy_catalog.records import find_records


@pytest.fixture(scope="module")
def references() -> list[ReferenceIndex]:
    return [
        ReferenceIndex("litellm", records("litellm").items()),
        ReferenceIndex("openrouter", records("openrouter").items()),
    ]


def enriched(provider: str, model_id: str, refs: list[ReferenceIndex], **kw: Any) -> dict[str, object]:
    return enrich(provider, model_id, facts_of(provider, model_id), refs, **kw)


def test_sample_spec_is_not_a_reference_record() -> None:
    answer = json.loads((FIXTURES / "litellm.json").read_text(encoding="utf-8"))
    index = ReferenceIndex("litellm", answer.items())
    assert "sample_spec" not in index
    assert "gpt-4o" in index


def test_provider_values_are_kept_and_qualified_key_fills_gaps(references: list[ReferenceIndex]) -> None:
    facts = enriched("groq", "llama-3.3-70b-versatile", references)
    # groq says 131072; litellm says 128000: the provider wins.
    assert facts["context_window"] == 131072
    assert facts["max_output_tokens"] == 32768
    assert facts["input_price"] == 0.59
    assert facts["output_price"] == 0.79
    assert facts["supports_tools"] is True
    assert facts["model_type"] == "chat"
    assert facts["created"] == "2024-12-06T01:15:54Z"
    assert facts["owned_by"] == "Meta"
    assert facts["sources"] == {
        "context_window": "provider",
        "max_output_tokens": "provider",
        "created": "provider",
        "owned_by": "provider",
        "input_price": "litellm:groq/llama-3.3-70b-versatile",
        "output_price": "litellm:groq/llama-3.3-70b-versatile",
        "supports_tools": "litellm:groq/llama-3.3-70b-versatile",
        "model_type": "litellm:groq/llama-3.3-70b-versatile",
    }


def test_8b_never_takes_a_70b_models_facts(references: list[ReferenceIndex]) -> None:
    facts = enriched("groq", "llama-3.1-8b-instant", references)
    assert facts["input_price"] == 0.05
    assert facts["output_price"] == 0.08
    assert facts["sources"]["input_price"] == "litellm:groq/llama-3.1-8b-instant"


def test_openai_bare_ids_and_mini_is_not_4o(references: list[ReferenceIndex]) -> None:
    big = enriched("openai", "gpt-4o", references)
    mini = enriched("openai", "gpt-4o-mini", references)
    assert (big["input_price"], big["output_price"], big["cache_read_price"]) == (2.5, 10.0, 1.25)
    assert (mini["input_price"], mini["output_price"], mini["cache_read_price"]) == (0.15, 0.6, 0.075)
    assert big["sources"]["input_price"] == "litellm:gpt-4o"
    assert mini["sources"]["input_price"] == "litellm:gpt-4o-mini"
    # litellm has no modality list for gpt-4o; openrouter's "openai/gpt-4o" matches its tail.
    assert big["input_modalities"] == ["text", "image", "file"]
    assert big["sources"]["input_modalities"] == "openrouter:openai/gpt-4o"
    assert mini["sources"]["input_modalities"] == "openrouter:openai/gpt-4o-mini"
    assert big["name"] is None  # a reference's display name is not the provider's label


def test_dated_snapshot_matches_itself_exactly(references: list[ReferenceIndex]) -> None:
    facts = enriched("openai", "gpt-4o-2024-08-06", references)
    assert facts["sources"]["input_price"] == "litellm:gpt-4o-2024-08-06"
    assert facts["created"] == "2024-08-04T23:38:39Z"  # the provider's own


def test_deprecation_only_from_exact_matches(references: list[ReferenceIndex]) -> None:
    exact = enriched("anthropic", "claude-3-5-haiku-20241022", references)
    assert exact["deprecated_at"] == "2025-10-01T00:00:00Z"
    assert exact["sources"]["deprecated_at"] == "litellm:claude-3-5-haiku-20241022"
    assert exact["name"] == "Claude Haiku 3.5"
    assert exact["input_price"] == 0.8
    # A future snapshot: never the -latest alias nor another date, but the undated model fits.
    future = enrich("anthropic", "claude-3-5-haiku-20991231", normalize_record("anthropic", "x", {}), references)
    assert future["context_window"] == 200000
    assert future["sources"]["context_window"] == "openrouter:anthropic/claude-3.5-haiku"
    assert future["deprecated_at"] is None


def test_listing_prefix_is_dropped_for_the_qualified_key(references: list[ReferenceIndex]) -> None:
    facts = enriched("gemini", "models/gemini-2.0-flash", references)
    assert facts["context_window"] == 1048576
    assert facts["input_price"] == 0.1
    assert facts["sources"]["context_window"] == "litellm:gemini/gemini-2.0-flash"
    assert facts["owned_by"] == "google"


def test_qualified_key_beats_normalized_match(references: list[ReferenceIndex]) -> None:
    # lambda_ai/llama3.1-8b-instruct is a shorter normalized match; the host's own key wins.
    facts = enrich(
        "hyperbolic",
        "meta-llama/Meta-Llama-3.1-8B-Instruct",
        normalize_record("hyperbolic", "x", {}),
        references,
    )
    assert facts["context_window"] == 32768
    assert facts["input_price"] == 0.12
    assert facts["sources"]["context_window"] == "litellm:hyperbolic/meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_an_exact_id_at_another_host_fills_a_provider_without_its_own_record(references: list[ReferenceIndex]) -> None:
    facts = enriched("nebius", "meta-llama/Llama-3.3-70B-Instruct", references)
    # litellm has no nebius record: deepinfra's record of the very same id is the closest.
    assert facts["context_window"] == 131072
    assert facts["sources"]["context_window"] == "litellm:deepinfra/meta-llama/Llama-3.3-70B-Instruct"
    # ... and it is marked as another host's.
    assert facts["sources"]["_notes"]["context_window"] == "from another host's record (deepinfra)"
    # Prices belong to a host: neither openrouter's nor deepinfra's are nebius's.
    assert facts["input_price"] is None
    assert facts["created"] == "2025-09-08T10:29:27Z"


def test_matching_keeps_size_and_version(references: list[ReferenceIndex]) -> None:
    facts = enriched("nebius", "meta-llama/Meta-Llama-3.1-8B-Instruct", references)
    # Not llama-3.1-70b (131072 at openrouter too, so check the key), not llama-3.3-8b.
    assert facts["sources"]["context_window"] == "litellm:hyperbolic/meta-llama/Meta-Llama-3.1-8B-Instruct"
    assert facts["sources"]["description"] == "openrouter:meta-llama/llama-3.1-8b-instruct"
    assert facts["input_price"] is None
    anywhere = enriched("nebius", "meta-llama/Meta-Llama-3.1-8B-Instruct", references, prices_from_any_host=True)
    assert anywhere["input_price"] == 0.12
    assert anywhere["sources"]["input_price"] == "litellm:hyperbolic/meta-llama/Meta-Llama-3.1-8B-Instruct"


def test_the_own_hosts_record_gives_limits_and_prices(references: list[ReferenceIndex]) -> None:
    facts = enriched("cerebras", "gpt-oss-120b", references)
    # OpenRouter's "openai/gpt-oss-120b" is an exact match, but of another host (131000); a
    # record of cerebras itself exists (litellm's, normalized), so limits come from it.
    assert facts["context_window"] == 131072
    assert facts["sources"]["context_window"] == "litellm:cerebras/openai/gpt-oss-120b"
    assert facts["input_price"] == 0.25
    assert facts["output_price"] == 0.69
    assert facts["sources"]["input_price"] == "litellm:cerebras/openai/gpt-oss-120b"
    # Other facts may come from another host, and say so.
    assert facts["sources"]["input_modalities"] == "openrouter:openai/gpt-oss-120b"
    assert "another host" in facts["sources"]["_notes"]["input_modalities"]


def test_a_reference_never_enriches_its_own_provider(references: list[ReferenceIndex]) -> None:
    bare = normalize_record("openrouter", "openai/gpt-4o", {})
    facts = enrich("openrouter", "openai/gpt-4o", bare, references[1:])
    assert all(facts[f] is None for f in FACT_FIELDS)
    lite = enrich("litellm", "gpt-4o", normalize_record("litellm", "gpt-4o", {}), references[:1])
    assert all(lite[f] is None for f in FACT_FIELDS)
    # openrouter itself may learn from litellm's "openrouter/..." record.
    via_litellm = enrich("openrouter", "openai/gpt-4o", bare, references)
    assert via_litellm["sources"]["context_window"] == "litellm:openrouter/openai/gpt-4o"
    assert via_litellm["input_price"] == 2.5


def test_created_and_owned_by_are_never_enriched(references: list[ReferenceIndex]) -> None:
    facts = enrich("openai", "gpt-4o", normalize_record("openai", "gpt-4o", {}), references)
    assert facts["created"] is None
    assert facts["owned_by"] is None
    assert facts["name"] is None


def test_enrich_does_not_mutate_its_input(references: list[ReferenceIndex]) -> None:
    before = facts_of("openai", "gpt-4o")
    snapshot = json.loads(json.dumps(before))
    enrich("openai", "gpt-4o", before, references)
    assert before == snapshot


def test_unmatched_model_is_returned_unchanged(references: list[ReferenceIndex]) -> None:
    facts = facts_of("featherless", "AI-MO/Kimina-Prover-Distill-8B")
    assert enrich("featherless", "AI-MO/Kimina-Prover-Distill-8B", facts, references) == facts


# Synthetic references: controlled collisions that real catalogs only have by accident.


def _litellm(records_: dict[str, dict[str, object]]) -> ReferenceIndex:
    return ReferenceIndex("litellm", records_.items())


def _openrouter(records_: dict[str, dict[str, object]]) -> ReferenceIndex:
    return ReferenceIndex("openrouter", records_.items())


def test_precedence_qualified_then_bare_then_normalized() -> None:
    full = {
        "groq/foo-8b": {"max_input_tokens": 1000, "litellm_provider": "groq"},
        "foo-8b": {"max_input_tokens": 2000, "litellm_provider": "other"},
        "vendor/foo-8b-2024-01-01": {"max_input_tokens": 3000, "litellm_provider": "vendor"},
        "vendor/foo-70b": {"max_input_tokens": 9999, "litellm_provider": "vendor"},
    }
    empty = normalize_record("groq", "foo-8b", {})

    def context(refs: dict[str, dict[str, object]]) -> tuple[object, object]:
        facts = enrich("groq", "foo-8b", empty, [_litellm(refs)])
        return facts["context_window"], facts["sources"].get("context_window")

    assert context(full) == (1000, "litellm:groq/foo-8b")
    del full["groq/foo-8b"]
    assert context(full) == (2000, "litellm:foo-8b")
    del full["foo-8b"]
    assert context(full) == (3000, "litellm:vendor/foo-8b-2024-01-01")
    del full["vendor/foo-8b-2024-01-01"]
    assert context(full) == (None, None)


def test_litellm_before_openrouter_at_the_same_level() -> None:
    lite = _litellm({"foo-8b": {"max_input_tokens": 1000, "max_output_tokens": 10}})
    router = _openrouter({"vendor/foo-8b": {"context_length": 2000, "top_provider": {"max_completion_tokens": 20}}})
    empty = normalize_record("somehost", "foo-8b", {})
    facts = enrich("somehost", "foo-8b", empty, [lite, router])
    assert facts["context_window"] == 1000
    assert facts["sources"]["context_window"] == "litellm:foo-8b"
    # The caller's order decides between references at one level.
    facts = enrich("somehost", "foo-8b", empty, [router, lite])
    assert facts["sources"]["context_window"] == "openrouter:vendor/foo-8b"
    # A reference fills only what the earlier one left unknown.
    partial = _litellm({"foo-8b": {"max_input_tokens": 1000}})
    facts = enrich("somehost", "foo-8b", empty, [partial, router])
    assert facts["sources"]["context_window"] == "litellm:foo-8b"
    assert facts["sources"]["max_output_tokens"] == "openrouter:vendor/foo-8b"


def test_ties_are_broken_the_same_way_whatever_the_input_order() -> None:
    # Shortest key first, then alphabetical: "acme/foo-8b" over "zeta/foo-8b" and the rest.
    rows = {
        "zeta/foo-8b": {"context_length": 1},
        "acme/foo-8b": {"context_length": 2},
        "acme/foo-8b:free": {"context_length": 3},
        "longer/foo-8b": {"context_length": 4},
    }
    empty = normalize_record("somehost", "foo-8b", {})
    forward = enrich("somehost", "foo-8b", empty, [_openrouter(rows)])
    backward = enrich("somehost", "foo-8b", empty, [_openrouter(dict(reversed(list(rows.items()))))])
    assert forward["sources"]["context_window"] == backward["sources"]["context_window"] == "openrouter:acme/foo-8b"


def test_another_vendors_upload_is_only_a_normalized_match() -> None:
    router = _openrouter({"meta-llama/llama-3.2-1b-instruct": {"context_length": 131072}})
    lite = _litellm({"someone/llama-3.2-1b-instruct-x": {"max_input_tokens": 1}})
    (found,) = router.match("featherless", "AmmarA22/Llama-3.2-1B-Instruct")
    assert found.level == "normalized"
    assert lite.match("featherless", "AmmarA22/Llama-3.2-1B-Instruct") == []


# ----------------------------------------------------------------------- never contradict the provider


def test_a_fact_the_record_states_is_never_filled_even_unread() -> None:
    lite = _litellm({"somehost/model-8b": {"litellm_provider": "somehost", "max_input_tokens": 10_000_000}})
    # "128K": stated, in a form vexy does not read. The reference's 10M must not take its place.
    for raw in ({"limits": {"context": "128K"}}, {"context_length": 131072}):
        reading = read_record("somehost", raw)
        facts = enrich(
            "somehost", "model-8b", normalize_record("somehost", "model-8b", raw), [lite], stated=reading.stated
        )
        assert facts["context_window"] in (None, 131072)
        assert facts["sources"].get("context_window") in (None, "provider")


def test_a_record_of_another_type_is_another_model() -> None:
    # A base checkpoint is not its instruct deployment: no chat type, no tools from it.
    lite = _litellm(
        {"somehost/qwen2.5-7b": {"litellm_provider": "somehost", "mode": "chat", "supports_function_calling": True}}
    )
    base = normalize_record("somehost", "qwen2.5-7b", {"type": "base"})
    assert base["model_type"] == "completion"
    facts = enrich("somehost", "qwen2.5-7b", base, [lite])
    assert facts["supports_tools"] is None
    assert facts["model_type"] == "completion"
    untyped = enrich("somehost", "qwen2.5-7b", normalize_record("somehost", "qwen2.5-7b", {}), [lite])
    assert untyped["supports_tools"] is True


def test_a_generic_alias_matches_only_exactly() -> None:
    router = _openrouter(
        {"mistralai/mistral-large": {"context_length": 128000}, "openai/gpt-4o": {"context_length": 1}}
    )
    assert router.match("pollinations", "mistral") == []
    assert router.match("pollinations", "openai") == []
    assert [m.key for m in router.match("somehost", "gpt-4o")] == ["openai/gpt-4o"]


def test_a_local_runtimes_record_enriches_only_its_own_host() -> None:
    lite = _litellm({"ollama/llama3.1-8b": {"litellm_provider": "ollama", "max_input_tokens": 8192}})
    assert lite.match("groq", "llama3.1-8b") == []
    assert [m.key for m in lite.match("ollama", "llama3.1-8b")] == ["ollama/llama3.1-8b"]


def test_a_dated_snapshot_never_takes_another_dates_or_latest_record() -> None:
    router = _openrouter(
        {
            "vendor/model-x-2024-05-01": {"context_length": 1},
            "vendor/model-x-latest": {"context_length": 2},
            "vendor/model-x": {"context_length": 3},
        }
    )
    (found,) = router.match("somehost", "model-x-2024-08-06")
    assert found.key == "vendor/model-x"
    assert [m.key for m in router.match("somehost", "model-x-2024-05-01")] == ["vendor/model-x-2024-05-01"]


def test_one_model_gets_one_answer_across_providers() -> None:
    # Ties go to the closest spelling, the same for every provider asking with that id.
    router = _openrouter({"a/foo-7b-instruct": {"context_length": 1}, "b/foo-7b-instruct:free": {"context_length": 2}})
    answers = {router.match(p, "foo-7b-instruct")[0].key for p in ("one", "two", "three")}
    assert answers == {"a/foo-7b-instruct"}


def test_modelsdev_records_are_matched_per_host() -> None:
    answer = json.loads((FIXTURES.parent / "answers" / "modelsdev.json").read_text(encoding="utf-8"))
    # The rows the catalog stores: models.dev's models, read through its providers.
    index = ReferenceIndex("modelsdev", find_records(answer).records)
    assert "groq/llama-3.3-70b-versatile" in index and "groq" not in index
    assert len(index) == sum(len(p["models"]) for p in answer.values())
    (own,) = index.match("groq", "llama-3.3-70b-versatile")
    assert (own.level, own.same_host, own.source) == ("qualified", True, "modelsdev:groq/llama-3.3-70b-versatile")
    assert own.facts["context_window"] == 131072 and own.facts["input_price"] == 0.59
    assert own.facts["supports_tools"] is True and own.facts["model_type"] == "chat"
    # Another host's spelling of the same id is found too, and marked as another host's.
    (other,) = index.match("somehost", "llama-3.3-70b-versatile")
    assert (other.level, other.same_host) == ("exact", False)
    facts = enrich("somehost", "llama-3.3-70b-versatile", normalize_record("somehost", "x", {}), [index])
    assert facts["context_window"] == 131072 and facts["input_price"] is None
    assert facts["sources"]["_notes"]["context_window"] == "from another host's record (groq)"
