"""Model identity: which spellings name one model, which name different ones."""

from __future__ import annotations

import pytest

from vexy_catalog.facts import normalize_id

SAME_MODEL = [
    ("meta-llama/Llama-3.1-8B-Instruct", "llama-3.1-8b-instruct"),
    ("accounts/fireworks/models/llama-v3p1-8b-instruct", "meta-llama/llama-3.1-8b-instruct"),
    ("Meta-Llama-3.1-8B-Instruct", "meta-llama/llama-3.1-8b-instruct"),
    ("meta-llama/llama-3.1-8b-instruct/fp-16", "meta-llama/llama-3.1-8b-instruct"),
    ("meta-llama/llama-3.1-8b-instruct:free", "meta-llama/llama-3.1-8b-instruct"),
    ("@cf/meta/llama-3.1-8b-instruct", "llama-3.1-8b-instruct"),
    ("llama3.1-8b", "llama-3.1-8b"),
    ("gpt-4o-2024-08-06", "gpt-4o"),
    ("openai/gpt-4o", "gpt-4o"),
    ("claude-3-5-haiku-20241022", "anthropic/claude-3.5-haiku"),
    ("claude-3-5-haiku-latest", "claude-3-5-haiku"),
    ("models/gemini-2.0-flash", "gemini/gemini-2.0-flash"),
    ("Qwen/Qwen3-235B-A22B-FP8", "qwen/qwen3-235b-a22b"),
    ("glm-4p5", "z-ai/glm-4.5"),
    ("gemma2-9b-it", "google/gemma-2-9b-it"),
    ("mistral_7b_instruct v0.3", "mistralai/mistral-7b-instruct-v0.3"),
]

DIFFERENT_MODELS = [
    ("meta-llama/llama-3.1-8b-instruct", "meta-llama/llama-3.1-70b-instruct"),
    ("gpt-4o", "gpt-4o-mini"),
    ("llama-3.1-8b-instruct", "llama-3.3-70b-instruct"),
    ("llama-3.1-8b-instruct", "llama-3.3-8b-instruct"),
    ("llama-3.1-8b", "llama-3.1-8b-instruct"),
    ("qwen2.5-1.5b", "qwen2.5-15b"),
    ("mistral-small-2501", "mistral-small-2503"),
    ("deepseek-r1", "deepseek-r1-0528"),
    ("gpt-3.5-turbo", "gpt-3.5-turbo-0125"),
    ("gpt-4.1", "gpt-4-1106-preview"),
    ("o1", "o1-mini"),
    ("gemini-2.0-flash", "gemini-2.0-flash-lite"),
    ("claude-3-5-sonnet", "claude-3-7-sonnet"),
    ("mixtral-8x7b-instruct", "mixtral-8x22b-instruct"),
]


@pytest.mark.parametrize(("a", "b"), SAME_MODEL)
def test_normalize_id_unifies_spellings_of_one_model(a: str, b: str) -> None:
    assert normalize_id(a) == normalize_id(b)
    assert normalize_id(a)


@pytest.mark.parametrize(("a", "b"), DIFFERENT_MODELS)
def test_normalize_id_keeps_models_apart(a: str, b: str) -> None:
    assert normalize_id(a) != normalize_id(b)


def test_normalize_id_of_nothing() -> None:
    assert normalize_id("") == ""
    assert normalize_id("///") == ""
    assert normalize_id(None) == ""  # type: ignore[arg-type]

