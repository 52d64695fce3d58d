"""Reading raw provider records: golden facts, name variants, hostile input.

The expected values below were written by reading the raw records in
tests/fixtures/normalize/ (trimmed, verbatim copies of real answers recorded in
September 2025), not by running the code: unit conversions and timestamps were done
by hand (timestamps with ``date -u -d @<seconds>``). They are what one record states; the
catalog then drops provider-wide placeholders (mistral's one ``created`` for all its models,
for instance: see tests/test_facts_plausibility.py).
"""

from __future__ import annotations

import json
import math

import pytest
from facts_fixtures import FIXTURES, facts_of, records

from vexy_catalog.facts import DIALECTS, FACT_FIELDS, normalize_record, read_record


class _AnyText:
    """Stands for a long description: present, a non-empty string."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and bool(other.strip())

    def __repr__(self) -> str:
        return "<any text>"


TEXT = _AnyText()

# (provider, model id, every fact that is known; all others must be None)
GOLDEN: list[tuple[str, str, dict[str, object]]] = [
    # --- per-token strings, top-level context_length, supported_parameters, modality lists
    (
        "openrouter",
        "openai/gpt-4o",
        {
            "name": "OpenAI: GPT-4o",
            "context_window": 128000,
            "max_output_tokens": 16384,
            "input_price": 2.5,
            "output_price": 10.0,
            "cache_read_price": 1.25,
            "input_modalities": ["text", "image", "file"],
            "output_modalities": ["text"],
            "supports_tools": True,
            "supports_vision": True,
            "supports_reasoning": False,
            "model_type": "chat",
            "created": "2024-05-13T00:00:00Z",
            "description": TEXT,
        },
    ),
    (
        "openrouter",
        "openrouter/auto",
        {
            # "-1" prices mean variable: unknown. An empty parameter list says nothing.
            "name": "Auto Router",
            "context_window": 2000000,
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "supports_vision": False,
            "model_type": "chat",
            "created": "2023-11-08T00:00:00Z",
            "description": TEXT,
        },
    ),
    (
        "openrouter",
        "agentica-org/deepcoder-14b-preview",
        {
            "name": "Agentica: Deepcoder 14B Preview",
            "context_window": 96000,
            "input_price": 0.015,
            "output_price": 0.015,
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "supports_tools": False,
            "supports_vision": False,
            "supports_reasoning": True,
            "model_type": "chat",
            "created": "2025-04-13T14:43:15Z",
            "description": TEXT,
        },
    ),
    (
        "openrouter",
        "google/gemini-2.5-flash-image-preview",
        {
            "name": "Google: Gemini 2.5 Flash Image Preview",
            "context_window": 32768,
            "max_output_tokens": 8192,
            "input_price": 0.3,
            "output_price": 2.5,
            "input_modalities": ["text", "image"],
            "output_modalities": ["text", "image"],
            "supports_tools": False,
            "supports_vision": True,
            "supports_reasoning": False,
            "model_type": "chat",
            "created": "2025-08-26T14:36:17Z",
            "description": TEXT,
        },
    ),
    (
        "openrouter",
        "meta-llama/llama-3.3-8b-instruct:free",
        {
            "name": "Meta: Llama 3.3 8B Instruct (free)",
            "context_window": 128000,
            "max_output_tokens": 4028,
            "input_price": 0.0,
            "output_price": 0.0,
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "supports_tools": True,
            "supports_vision": False,
            "supports_reasoning": False,
            "model_type": "chat",
            "created": "2025-05-14T13:42:34Z",
            "description": TEXT,
        },
    ),
    (
        "redpill",
        "01-ai/yi-large",
        {
            "name": "01.AI: Yi Large",
            "context_window": 32768,
            "input_price": 3.0,
            "output_price": 3.0,
            "cache_read_price": 0.0,
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "model_type": "chat",
            "created": "2024-06-25T00:00:00Z",
            "description": TEXT,
        },
    ),
    (
        # Its list says ["text"], its modality string "text+image->text".
        "redpill",
        "meta-llama/llama-3.2-90b-vision-instruct",
        {
            "name": "Meta: Llama 3.2 90B Vision Instruct",
            "context_window": 131072,
            "input_price": 0.35,
            "output_price": 0.4,
            "cache_read_price": 0.0,
            "input_modalities": ["text", "image"],
            "output_modalities": ["text"],
            "supports_vision": True,
            "model_type": "chat",
            "created": "2024-09-25T00:00:00Z",
            "description": TEXT,
        },
    ),
    (
        "baseten",
        "moonshotai/Kimi-K2-Instruct",
        {
            "name": "Kimi K2",
            "context_window": 131000,
            "max_output_tokens": 131000,
            "input_price": 0.6,
            "output_price": 2.5,
            "supports_tools": True,
            "supports_reasoning": False,
            "created": "2025-07-15T16:22:31Z",
            "owned_by": "baseten",
            "description": "State of the art language model for agentic and coding tasks",
        },
    ),
    (
        # Prices sent as "": unknown, not 0.
        "baseten",
        "deepseek-ai/DeepSeek-V3.1",
        {
            "name": "DeepSeek V3.1",
            "context_window": 163840,
            "max_output_tokens": 131072,
            "supports_tools": True,
            "supports_reasoning": True,
            "created": "2025-08-22T00:26:20Z",
            "owned_by": "baseten",
            "description": TEXT,
        },
    ),
    (
        "sambanova",
        "DeepSeek-R1-0528",
        {
            "context_window": 32768,
            "max_output_tokens": 7168,
            "input_price": 5.0,
            "output_price": 7.0,
            "owned_by": "no-reply@sambanova.ai",
        },
    ),
    (
        "atlascloud",
        "Qwen/Qwen3-235B-A22B-Instruct-2507",
        {
            "name": "Qwen3-235B-A22B-Instruct-2507",
            "context_window": 262144,
            "max_output_tokens": 262144,
            "input_price": 0.35,
            "output_price": 1.2,
            "created": "2021-07-20T10:40:00Z",
            "owned_by": "custom",
            "description": "Qwen3-235B-A22B-Instruct-2507",
        },
    ),
    # --- per-token numbers, max_input_tokens, flags, mode, deprecation_date
    (
        "litellm",
        "gpt-4o",
        {
            "context_window": 128000,
            "max_output_tokens": 16384,
            "input_price": 2.5,
            "output_price": 10.0,
            "cache_read_price": 1.25,
            "supports_tools": True,
            "supports_vision": True,
            "model_type": "chat",
        },
    ),
    (
        "litellm",
        "groq/llama-3.3-70b-versatile",
        {
            "context_window": 128000,
            "max_output_tokens": 32768,
            "input_price": 0.59,
            "output_price": 0.79,
            "supports_tools": True,
            "model_type": "chat",
        },
    ),
    (
        "litellm",
        "claude-3-5-haiku-20241022",
        {
            "context_window": 200000,
            "max_output_tokens": 8192,
            "input_price": 0.8,
            "output_price": 4.0,
            "cache_read_price": 0.08,
            "supports_tools": True,
            "supports_vision": True,
            "model_type": "chat",
            "deprecated_at": "2025-10-01T00:00:00Z",
        },
    ),
    (
        "litellm",
        "gemini/gemini-2.0-flash",
        {
            "context_window": 1048576,
            "max_output_tokens": 8192,
            "input_price": 0.1,
            "output_price": 0.4,
            "cache_read_price": 0.025,
            "input_modalities": ["text", "image", "audio", "video"],
            "output_modalities": ["text", "image"],
            "supports_tools": True,
            "supports_vision": True,
            "model_type": "chat",
        },
    ),
    (
        # max_tokens is litellm's legacy field, not read as the output limit.
        "litellm",
        "text-embedding-3-small",
        {"context_window": 8191, "input_price": 0.02, "output_price": 0.0, "model_type": "embedding"},
    ),
    ("litellm", "whisper-1", {"model_type": "audio"}),
    (
        # max_output_tokens 0 is no usable limit: None.
        "litellm",
        "omni-moderation-latest",
        {"context_window": 32768, "input_price": 0.0, "output_price": 0.0, "model_type": "moderation"},
    ),
    (
        "litellm",
        "azure_ai/cohere-rerank-v3.5",
        {
            "context_window": 4096,
            "max_output_tokens": 4096,
            "input_price": 0.0,
            "output_price": 0.0,
            "model_type": "rerank",
        },
    ),
    # --- context_window (groq)
    (
        "groq",
        "llama-3.3-70b-versatile",
        {
            "context_window": 131072,
            "max_output_tokens": 32768,
            "created": "2024-12-06T01:15:54Z",
            "owned_by": "Meta",
        },
    ),
    # --- max_context_length, capabilities flags (mistral)
    (
        "mistral",
        "codestral-2501",
        {
            "name": "codestral-2501",
            "context_window": 262144,
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "supports_tools": True,
            "supports_vision": False,
            "model_type": "chat",
            "created": "2025-09-08T10:29:32Z",
            "owned_by": "mistralai",
            "description": "Our cutting-edge language model for coding released December 2024.",
        },
    ),
    (
        "mistral",
        "mistral-moderation-latest",
        {
            "name": "mistral-moderation-2411",
            "context_window": 8192,
            "supports_tools": False,
            "supports_vision": False,
            "model_type": "moderation",
            "created": "2025-09-08T10:29:32Z",
            "owned_by": "mistralai",
            "description": "Official mistral-moderation-2411 Mistral AI model",
        },
    ),
    (
        "mistral",
        "pixtral-12b-2409",
        {
            "name": "pixtral-12b-2409",
            "context_window": 131072,
            "input_modalities": ["text", "image"],
            "output_modalities": ["text"],
            "supports_tools": True,
            "supports_vision": True,
            "model_type": "chat",
            "created": "2025-09-08T10:29:32Z",
            "owned_by": "mistralai",
            "description": TEXT,
        },
    ),
    (
        "mistral",
        "voxtral-small-2507",
        {
            "name": "voxtral-small-2507",
            "context_window": 32768,
            "input_modalities": ["text", "audio"],
            "output_modalities": ["text"],
            "supports_tools": True,
            "supports_vision": False,
            "model_type": "chat",
            "created": "2025-09-08T10:29:32Z",
            "owned_by": "mistralai",
            "description": "A small audio understanding model released in July 2025",
        },
    ),
    # --- per-million numbers, max_model_len (chutes)
    (
        "chutes",
        "NousResearch/DeepHermes-3-Mistral-24B-Preview",
        {
            "context_window": 32768,
            "input_price": 0.09329544,
            "output_price": 0.3733632,
            "created": "2025-09-08T09:54:45Z",
            "owned_by": "sglang",
            "description": TEXT,
        },
    ),
    (
        "chutes",
        "NousResearch/DeepHermes-3-Llama-3-8B-Preview",
        {
            "context_window": 131072,
            "input_price": 0.0,
            "output_price": 0.0,
            "created": "2025-09-08T09:54:48Z",
            "owned_by": "sglang",
        },
    ),
    # --- metadata.* per-million numbers, tags (deepinfra); created 0 is a placeholder
    (
        "deepinfra",
        "meta-llama/Llama-3.3-70B-Instruct",
        {
            "context_window": 131072,
            "max_output_tokens": 131072,
            "input_price": 0.23,
            "output_price": 0.4,
            "owned_by": "deepinfra",
            "description": TEXT,
        },
    ),
    (
        "deepinfra",
        "deepseek-ai/DeepSeek-V3.1",
        {
            "context_window": 163840,
            "max_output_tokens": 163840,
            "input_price": 0.27,
            "output_price": 1.0,
            "cache_read_price": 0.216,
            "supports_reasoning": True,
            "owned_by": "deepinfra",
            "description": TEXT,
        },
    ),
    (
        # description "" is no description.
        "deepinfra",
        "Qwen/Qwen2.5-VL-32B-Instruct",
        {
            "context_window": 128000,
            "max_output_tokens": 128000,
            "input_price": 0.2,
            "output_price": 0.6,
            "supports_vision": True,
            "owned_by": "deepinfra",
        },
    ),
    ("deepinfra", "BAAI/bge-base-en-v1.5", {"owned_by": "deepinfra"}),
    # --- flags, kind (fireworks, hyperbolic)
    (
        "fireworks",
        "accounts/fireworks/models/deepseek-v3p1",
        {
            "context_window": 163840,
            "supports_tools": True,
            "supports_vision": False,
            "model_type": "chat",
            "created": "2025-08-21T06:49:48Z",
            "owned_by": "fireworks",
        },
    ),
    (
        "fireworks",
        "accounts/fireworks/models/flux-kontext-pro",
        {
            "supports_tools": False,
            "supports_vision": True,
            "model_type": "image",
            "created": "2025-06-21T06:44:24Z",
            "owned_by": "fireworks",
        },
    ),
    (
        "hyperbolic",
        "FLUX.1-dev",
        {
            "supports_tools": False,
            "supports_vision": True,
            "created": "2025-09-08T10:29:32Z",
            "owned_by": "Hyperbolic",
        },
    ),
    # --- features.tool_use (featherless)
    (
        "featherless",
        "AI-MO/Kimina-Prover-Distill-8B",
        {
            "context_window": 16384,
            "max_output_tokens": 4096,
            "supports_tools": True,
            "created": "2025-07-11T22:00:51Z",
            "owned_by": "Feather",
        },
    ),
    (
        "featherless",
        "000ADI/Qwen2.5-0.5B-Instruct-Gensyn-Swarm-grazing_bellowing_locust",
        {
            "context_window": 131072,
            "max_output_tokens": 4096,
            "created": "2025-06-12T11:51:51Z",
            "owned_by": "Feather",
        },
    ),
    # --- providers list, per-million numbers (huggingface): the first live host with numbers
    (
        "huggingface",
        "Qwen/Qwen2.5-72B-Instruct",
        {
            "context_window": 131072,
            "input_price": 0.25,
            "output_price": 0.75,
            "supports_tools": True,
            "created": "2024-09-16T11:56:31Z",
            "owned_by": "Qwen",
        },
    ),
    (
        "huggingface",
        "meta-llama/Llama-3.1-8B-Instruct",
        {
            "input_price": 0.1,
            "output_price": 0.1,
            "supports_tools": False,
            "created": "2024-07-18T08:56:00Z",
            "owned_by": "meta-llama",
        },
    ),
    (
        "huggingface",
        "CohereLabs/aya-expanse-32b",
        {"supports_tools": False, "created": "2024-10-23T06:42:44Z", "owned_by": "CohereLabs"},
    ),
    ("huggingface", "CohereLabs/aya-vision-32b", {"created": "2025-03-02T21:36:40Z", "owned_by": "CohereLabs"}),
    # --- ISO created_at (anthropic), milliseconds (pollinations, poe), modalities (llm7, poe)
    ("anthropic", "claude-3-5-haiku-20241022", {"name": "Claude Haiku 3.5", "created": "2024-10-22T00:00:00Z"}),
    ("pollinations", "bidara", {"created": "2025-09-08T10:29:32Z", "owned_by": "azure"}),
    (
        "llm7",
        "bidara",
        {
            "input_modalities": ["text", "image"],
            "supports_vision": True,
            "created": "2025-09-06T21:59:04Z",
            "owned_by": "azure",
        },
    ),
    (
        "llm7",
        "codestral-2501",
        {
            "input_modalities": ["text"],
            "supports_vision": False,
            "created": "2025-09-06T21:59:04Z",
            "owned_by": "mistral",
        },
    ),
    (
        # Poe says ["text"] for every bot, Aya-Vision included: no vision verdict from that.
        "poe",
        "Aya-Vision",
        {
            "input_modalities": ["text"],
            "output_modalities": ["text"],
            "model_type": "chat",
            "created": "2025-03-03T22:56:54Z",
            "owned_by": "poe",
        },
    ),
    (
        "poe",
        "DALL-E-3",
        {
            "input_modalities": ["text"],
            "output_modalities": ["image"],
            "model_type": "image",
            "created": "2023-11-06T21:28:51Z",
            "owned_by": "poe",
        },
    ),
    (
        "poe",
        "Dream-Machine",
        {
            "input_modalities": ["text"],
            "output_modalities": ["video"],
            "created": "2024-09-18T20:18:35Z",
            "owned_by": "poe",
        },
    ),
    # --- ids only
    ("cerebras", "llama3.1-8b", {"owned_by": "Cerebras"}),
    ("gemini", "models/gemini-2.0-flash", {"owned_by": "google"}),
    ("aihorde", "koboldcpp/Broken-Tutu-24B-Unslop-v2.0", {"name": "koboldcpp/Broken-Tutu-24B-Unslop-v2.0"}),
]


@pytest.mark.parametrize(("provider", "model_id", "expected"), GOLDEN, ids=[f"{p}:{m}" for p, m, _ in GOLDEN])
def test_golden_facts(provider: str, model_id: str, expected: dict[str, object]) -> None:
    facts = facts_of(provider, model_id)
    assert set(facts) == set(FACT_FIELDS) | {"sources"}
    for field in FACT_FIELDS:
        assert facts[field] == expected.get(field), field
        # 0.15 must not come back as 0.15000000000000002; ints must not be floats or bools.
        if isinstance(expected.get(field), float):
            assert repr(facts[field]) == repr(expected[field]), field
        if isinstance(expected.get(field), int) and not isinstance(expected.get(field), bool):
            assert type(facts[field]) is int, field
    assert facts["sources"] == {field: "provider" for field in expected}


def test_golden_covers_the_brief() -> None:
    providers = {p for p, _, _ in GOLDEN}
    assert len(GOLDEN) >= 25
    assert len(providers) >= 12


def test_fixture_records_are_verbatim_json() -> None:
    # Fixture files keep the provider's answer shape; a wrong shape would fail here first.
    for path in FIXTURES.glob("*.json"):
        assert records(path.stem), path.name


# ----------------------------------------------------------------------- other name variants


def test_top_provider_context_and_modality_string_when_lists_are_absent() -> None:
    raw = json.loads(json.dumps(records("openrouter")["openai/gpt-4o"]))
    del raw["context_length"]
    del raw["architecture"]["input_modalities"]
    del raw["architecture"]["output_modalities"]
    facts = normalize_record("openrouter", "openai/gpt-4o", raw)
    assert facts["context_window"] == 128000  # top_provider.context_length
    assert facts["input_modalities"] == ["text", "image"]  # "text+image->text"
    assert facts["output_modalities"] == ["text"]


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        ({"context_length": 4096}, "context_window", 4096),
        ({"context_window": 4096}, "context_window", 4096),
        ({"max_context_length": 4096}, "context_window", 4096),
        ({"max_model_len": 4096}, "context_window", 4096),
        ({"max_input_tokens": 4096}, "context_window", 4096),
        ({"metadata": {"context_length": 4096}}, "context_window", 4096),
        ({"top_provider": {"context_length": 4096}}, "context_window", 4096),
        ({"inputTokenLimit": 4096}, "context_window", 4096),
        ({"max_completion_tokens": 512}, "max_output_tokens", 512),
        ({"max_output_tokens": 512}, "max_output_tokens", 512),
        ({"max_tokens": 512}, "max_output_tokens", 512),
        ({"outputTokenLimit": 512}, "max_output_tokens", 512),
        ({"input_cost_per_token": 3e-06}, "input_price", 3.0),
        ({"output_cost_per_token": 1.5e-05}, "output_price", 15.0),
        ({"pricing": {"input_per_million": 0.5}}, "input_price", 0.5),
        ({"pricing": {"output_price_per_1m_tokens": "2"}}, "output_price", 2.0),
        ({"display_name": "Shiny"}, "name", "Shiny"),
        ({"created_at": "2025-01-01T02:00:00+02:00"}, "created", "2025-01-01T00:00:00Z"),
        ({"created": "2025-01-01T00:00:00"}, "created", "2025-01-01T00:00:00Z"),
        ({"created": 1757327372646000}, "created", "2025-09-08T10:29:32Z"),
        ({"created": "1757327372"}, "created", "2025-09-08T10:29:32Z"),
        ({"deprecation_date": "2025-06-01"}, "deprecated_at", "2025-06-01T00:00:00Z"),
        ({"deprecation": "2025-06-01T12:00:00Z"}, "deprecated_at", "2025-06-01T12:00:00Z"),
        ({"type": "embeddings"}, "model_type", "embedding"),
        ({"type": "model"}, "model_type", None),
        ({"modalities": {"input": ["Text", "PDF"]}}, "input_modalities", ["text", "file"]),
        ({"supports_function_calling": True}, "supports_tools", True),
        ({"capabilities": {"vision": False}}, "supports_vision", False),
    ],
)
def test_generic_reader_on_a_dialect_never_seen(raw: dict[str, object], field: str, expected: object) -> None:
    facts = normalize_record("brand-new-provider", "some/model", raw)
    assert facts[field] == expected
    if expected is not None:
        assert facts["sources"] == {field: "provider"}


def test_generic_reader_leaves_unitless_prices_unknown() -> None:
    # "prompt" is per token at OpenRouter and per million at Chutes: no guess for a stranger.
    facts = normalize_record("brand-new-provider", "m", {"pricing": {"prompt": "0.000001", "completion": 2}})
    assert facts["input_price"] is None
    assert facts["output_price"] is None


def test_litellm_legacy_max_tokens_is_not_an_output_limit() -> None:
    facts = normalize_record("litellm", "x", {"max_tokens": 8192, "mode": "chat"})
    assert facts["max_output_tokens"] is None


# ----------------------------------------------------------------------- hostile input

HOSTILE: list[object] = [
    None,
    42,
    "a string",
    ["a", "list"],
    True,
    {},
    {"context_length": "abc", "max_completion_tokens": None, "pricing": "cheap"},
    {"context_length": True, "max_tokens": False, "context_window": -5, "max_model_len": 0},
    {"context_length": float("nan"), "max_output_tokens": float("inf"), "max_input_tokens": 10**30},
    {"context_length": 4096.5, "metadata": "not a dict", "top_provider": ["x"]},
    {"pricing": {"prompt": {"nested": 1}, "completion": "abc", "input_cache_read": True}},
    {"pricing": {"prompt": "-1", "completion": float("nan")}, "input_cost_per_token": "1e999999999"},
    {"pricing": {"prompt": "Infinity", "completion": "0x10", "input_cache_read": "NaN"}},
    {"architecture": [1, 2], "supported_parameters": "tools", "supported_features": {"tools": 1}},
    {"architecture": {"modality": 5, "input_modalities": [None, 3, {"x": 1}], "output_modalities": "video"}},
    {"created": "yesterday", "created_at": -1, "deprecation_date": "2025-13-45"},
    {"created": 10**400, "deprecation": float("inf")},
    {"created": True, "deprecation": "0"},
    {"capabilities": None, "features": "tool_use", "modalities": ["text"]},
    {"capabilities": {"function_calling": "yes", "vision": 1, "completion_chat": "true"}},
    {"providers": [None, 1, "x", {"status": "live", "pricing": {"input": "x"}, "context_length": "big"}]},
    {"providers": {"not": "a list"}, "metadata": {"pricing": [], "tags": "vision"}},
    {"mode": ["chat"], "type": 7, "kind": None, "supports_chat": "yes"},
    {"name": 12, "description": ["x"], "display_name": "   ", "owned_by": {"x": 1}},
    {"id": "x", "price": {"input": {"usd": "lots"}}, "tagline": 3},
    {"context_length": "9" * 5000, "max_tokens": 10**5000, "pricing": {"prompt": 10**5000}, "created": "9" * 5000},
]


@pytest.mark.parametrize("provider", [*sorted(DIALECTS), "never-seen-before"])
@pytest.mark.parametrize("raw", HOSTILE, ids=[f"hostile{i}" for i in range(len(HOSTILE))])
def test_hostile_input_never_raises_and_yields_typed_facts(provider: str, raw: object) -> None:
    facts = normalize_record(provider, "weird/model", raw)
    assert set(facts) == set(FACT_FIELDS) | {"sources"}
    _assert_typed(facts)
    for field in ("input_price", "output_price", "cache_read_price"):
        assert facts[field] is None, field  # no hostile value above is a valid price
    assert facts["created"] is None and facts["deprecated_at"] is None


def _assert_typed(facts: dict[str, object]) -> None:
    for field in ("context_window", "max_output_tokens"):
        value = facts[field]
        assert value is None or (type(value) is int and value > 0), (field, value)
    for field in ("input_price", "output_price", "cache_read_price"):
        value = facts[field]
        assert value is None or (type(value) is float and math.isfinite(value) and value >= 0), (field, value)
    for field in ("input_modalities", "output_modalities"):
        value = facts[field]
        assert value is None or (
            isinstance(value, list) and value and set(value) <= {"text", "image", "audio", "video", "file"}
        )
    for field in ("supports_tools", "supports_vision", "supports_reasoning"):
        assert facts[field] in (None, True, False) and (facts[field] is None or type(facts[field]) is bool)
    assert facts["model_type"] in (None, "chat", "completion", "embedding", "image", "audio", "rerank", "moderation")
    for field in ("name", "description", "owned_by"):
        assert facts[field] is None or (isinstance(facts[field], str) and facts[field].strip())
    for field in ("created", "deprecated_at"):
        value = facts[field]
        assert value is None or (isinstance(value, str) and len(value) == 20 and value.endswith("Z"))
    sources = facts["sources"]
    assert isinstance(sources, dict)
    assert set(sources) == {f for f in FACT_FIELDS if facts[f] is not None}


def test_every_fixture_record_yields_typed_facts() -> None:
    for path in FIXTURES.glob("*.json"):
        for model_id, raw in records(path.stem).items():
            _assert_typed(normalize_record(path.stem, model_id, raw))


def test_bool_is_not_an_int() -> None:
    facts = normalize_record("featherless", "m", {"context_length": True, "max_completion_tokens": True})
    assert facts["context_window"] is None
    assert facts["max_output_tokens"] is None
    facts = normalize_record("litellm", "m", {"input_cost_per_token": True, "output_cost_per_token": False})
    assert facts["input_price"] is None
    assert facts["output_price"] is None


def test_explicit_zero_price_is_zero_and_missing_price_is_none() -> None:
    assert normalize_record("openrouter", "m", {"pricing": {"prompt": "0"}})["input_price"] == 0.0
    assert normalize_record("chutes", "m", {"pricing": {"prompt": 0}})["input_price"] == 0.0
    assert normalize_record("litellm", "m", {"input_cost_per_token": 0})["input_price"] == 0.0
    assert normalize_record("openrouter", "m", {"pricing": {}})["input_price"] is None
    assert normalize_record("openrouter", "m", {"pricing": {"prompt": "-1"}})["input_price"] is None


def test_unknown_stays_none_and_is_never_zero() -> None:
    facts = normalize_record("groq", "m", {"id": "m"})
    assert all(facts[f] is None for f in FACT_FIELDS)
    assert facts["sources"] == {}


# ----------------------------------------------------------------------- reading by meaning
# Shapes taken from real answers of providers that are not in the snapshots (see
# tests/fixtures/heldout/ for the records and their sources).


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # nested, camelCase (Venice's model_spec)
        (
            {"model_spec": {"availableContextTokens": 32768, "capabilities": {"supportsFunctionCalling": True}}},
            {"context_window": 32768, "supports_tools": True},
        ),
        # a limits object (GitHub Models, models.dev)
        (
            {"limits": {"max_input_tokens": 1048576, "max_output_tokens": 32768}},
            {"context_window": 1048576, "max_output_tokens": 32768},
        ),
        ({"limit": {"context": 204800, "output": 8192}}, {"context_window": 204800, "max_output_tokens": 8192}),
        # Google's native list
        (
            {"inputTokenLimit": 1048576, "outputTokenLimit": 65536, "thinking": True},
            {"context_window": 1048576, "max_output_tokens": 65536, "supports_reasoning": True},
        ),
        # name/value property lists (Cloudflare Workers AI), values as strings
        (
            {
                "properties": [
                    {"property_id": "context_window", "value": "7968"},
                    {"property_id": "vision", "value": "true"},
                ]
            },
            {"context_window": 7968, "supports_vision": True},
        ),
        # price entries with an explicit unit and currency
        (
            {
                "properties": [
                    {
                        "property_id": "price",
                        "value": [{"unit": "per M input tokens", "price": 0.28, "currency": "USD"}],
                    }
                ]
            },
            {"input_price": 0.28},
        ),
        # a pricing object with its unit beside the numbers
        (
            {"pricing": {"input": 3, "output": 15, "unit": "USD per 1M tokens"}},
            {"input_price": 3.0, "output_price": 15.0},
        ),
        (
            {"pricing": {"prompt": 0.0005, "completion": 0.0015, "unit": "1K tokens"}},
            {"input_price": 0.5, "output_price": 1.5},
        ),
        # lists of feature strings (Vercel's tags, GitHub's capabilities)
        (
            {"tags": ["reasoning", "tool-use", "vision"]},
            {"supports_tools": True, "supports_reasoning": True, "supports_vision": True},
        ),
        ({"capabilities": ["streaming", "tool-calling"]}, {"supports_tools": True}),
        # a parameter list: without "tools" a non-empty one says False
        ({"supported_parameters": ["temperature", "top_p"]}, {"supports_tools": False}),
        # modalities in several spellings; an image input is vision
        (
            {"supported_input_modalities": ["text", "image"]},
            {"input_modalities": ["text", "image"], "supports_vision": True},
        ),
        # owners and types under other names
        ({"organization": "Meta", "type": "embedding"}, {"owned_by": "Meta", "model_type": "embedding"}),
        ({"task": {"name": "Text Generation"}}, {"model_type": "chat"}),
        ({"supportedGenerationMethods": ["embedContent"]}, {"model_type": "embedding"}),
        ({"tool_call": False}, {"supports_tools": False}),
    ],
)
def test_facts_are_read_wherever_a_record_states_them(raw: dict[str, object], expected: dict[str, object]) -> None:
    facts = normalize_record("never-seen-before", "some/model", raw)
    for field, value in expected.items():
        assert facts[field] == value, field
    assert {f for f in FACT_FIELDS if facts[f] is not None} == set(expected)


def test_a_capability_list_states_the_flags_it_does_not_name() -> None:
    reading = read_record("never-seen-before", {"tags": ["reasoning", "implicit-caching"]})
    assert reading.facts["supports_reasoning"] is True
    assert reading.facts["supports_tools"] is None
    assert {"supports_tools", "supports_vision"} <= reading.stated  # no reference fills them


def test_an_ambiguous_type_is_stated_but_unknown() -> None:
    reading = read_record("never-seen-before", {"type": "language"})
    assert reading.facts["model_type"] is None and "model_type" in reading.stated


@pytest.mark.parametrize(
    ("raw", "path", "facts"),
    [
        ({"limits": {"context": "128K"}}, "limits.context", ("context_window",)),
        ({"specs": {"ctx_tokens_v2": "big"}}, "specs.ctx_tokens_v2", ("context_window",)),
        ({"pricing": {"input": "cheap"}}, "pricing.input", ("input_price",)),
        ({"tool_support": "partial"}, "tool_support", ("supports_tools",)),
        ({"deprecation_info": {"when": "soon"}}, "deprecation_info.when", ("deprecated_at",)),
        ({"features": {"json": "yes"}}, "features.json", ("supports_tools", "supports_vision", "supports_reasoning")),
    ],
)
def test_fact_like_keys_nobody_could_read_are_reported(raw: dict[str, object], path: str, facts: tuple) -> None:
    reading = read_record("never-seen-before", raw)
    assert [(u.path, u.facts) for u in reading.unread] == [(path, facts)]
    assert set(facts) <= reading.stated


def test_keys_that_only_look_like_facts_are_not_reported() -> None:
    raw = {
        "rate_limit_tier": "high",
        "supportsWebSearch": True,
        "top_provider": {"is_moderated": False},
        "constraints": {"temperature": {"default": 0.7}},
        "tokenizer": "GPT",
        "pricing": {"prompt": ""},
    }
    assert read_record("never-seen-before", raw).unread == []


def test_dialect_keys_are_neither_read_twice_nor_unread() -> None:
    raw = records("openrouter")["openai/gpt-4o"]
    assert read_record("openrouter", raw).unread == []
