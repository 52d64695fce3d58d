from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from fake_providers import FakeProviders, Route  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def answer(name: str) -> Any:
    """A trimmed real answer from tests/fixtures/answers."""
    return json.loads((FIXTURES / "answers" / f"{name}.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def hermetic_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No key, base-URL override or vexy setting from the developer's shell leaks into a test,
    nor any variable a built-in provider reads (cloud accounts, regions, local server addresses)."""
    from vexy_catalog.providers import builtin_providers

    read = {name for p in builtin_providers().values() for name in p.variable_names()}
    read |= {p.base_url_env for p in builtin_providers().values() if p.base_url_env}
    for name in list(os.environ):
        if (
            name in read
            or name.startswith(("VEXY_", "AWS_", "GOOGLE_", "CLOUDSDK_"))
            or name.endswith(("_API_KEY", "_API_OPENAI", "_TOKEN", "_KEY"))
        ):
            monkeypatch.delenv(name, raising=False)
    # botocore would otherwise read the developer's ~/.aws files.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries still happen in every test, just without the real seconds of backoff."""
    import vexy_catalog.fetch

    monkeypatch.setattr(vexy_catalog.fetch, "BACKOFF_BASE", 0.001)


@pytest.fixture
def server():
    with FakeProviders() as s:
        yield s


# Keys the fake providers expect; real-looking shapes so masking is exercised.
KEYS = {
    "groq": "gsk_testkey1234567890abcdef",
    "openai": "sk-proj-testkey1234567890",
    "anthropic": "sk-ant-api03-testkey1234567890",
    "mistral": "mistral-test-key-0987654321",
}


@pytest.fixture
def no_internet(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point every built-in provider at a closed loopback port through its base-URL variable,
    so a provider a test forgot to serve fails fast on 127.0.0.1 instead of going out. (The few
    without one, such as vllm and azure, read their address from a variable no test leaves set.)"""
    from vexy_catalog.providers import builtin_providers

    for name, provider in builtin_providers().items():
        if provider.base_url_env:
            monkeypatch.setenv(provider.base_url_env, f"http://127.0.0.1:9/{name}-not-served")


@pytest.fixture
def providers(server: FakeProviders, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_internet: None):
    """Serve fixtures for a handful of providers and return (providers file, db path).

    Key variables are set for the providers that need one; every other built-in stays unset
    (and so is skipped without a request).
    """
    server.set("openai", Route(body=answer("openai"), key=KEYS["openai"]))
    server.set("groq", Route(body=answer("groq"), key=KEYS["groq"], etag=True))
    server.set("mistral", Route(body=answer("mistral"), key=KEYS["mistral"], last_modified=True))
    server.set("anthropic", Route(body=answer("anthropic")["data"], kind="anthropic", key=KEYS["anthropic"]))
    server.set("openrouter", Route(body=answer("openrouter")))
    server.set("litellm", Route(body=answer("litellm"), kind="url"))
    server.set("modelsdev", Route(body=answer("modelsdev"), kind="url"))
    server.set("llm7", Route(body=answer("llm7")))
    # Every public list must be served here too: a test must never reach the real provider.
    server.set("pollinations", Route(body={"object": "list", "data": [{"id": "openai", "object": "model"}]}))
    server.set("ovhcloud", Route(body={"object": "list", "data": [{"id": "Qwen3-32B", "object": "model"}]}))
    monkeypatch.setenv("OPENAI_API_KEY", KEYS["openai"])
    monkeypatch.setenv("GROQ_API_KEY", KEYS["groq"])
    monkeypatch.setenv("MISTRAL_API_KEY", KEYS["mistral"])
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["anthropic"])
    path = tmp_path / "providers.yaml"
    path.write_text(server.providers_yaml(), encoding="utf-8")
    return path, tmp_path / "vexy.db"
