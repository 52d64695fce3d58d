from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
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


@pytest.fixture
def fetched(providers):
    """The catalog of ``providers`` after one fetch of groq, openrouter and litellm through the CLI."""
    from click.testing import CliRunner

    from vexy_catalog.cli import cli

    providers_file, db_path = providers
    args = ["--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq", "openrouter", "litellm"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    return providers_file, db_path


def query(db_path: Path, sql: str, params: list | None = None) -> list[dict]:
    """Rows of ``sql`` on the catalog file, as dicts (a separate connection, as a reader)."""
    import sqlite3

    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params or [])]
    finally:
        conn.close()


class Served:
    """A Datasette built as `vexy serve` builds it, with a small client for the tests."""

    def __init__(self, db_path: Path, **options: Any):
        from vexy_catalog.serve import build_datasette

        self.ds = build_datasette(db_path, **options)
        self._started = False

    async def get(self, path: str, status: int | None = 200) -> Any:
        if not self._started:
            await self.ds.invoke_startup()
            self._started = True
        response = await self.ds.client.get(path)
        if status is not None:
            assert response.status_code == status, f"{path}: {response.status_code} {response.text[:500]}"
        return response

    async def json(self, path: str, status: int | None = 200) -> Any:
        return (await self.get(path, status)).json()

    def close(self) -> None:
        for db in self.ds.databases.values():
            db.close()


@dataclass
class HistoryCatalog:
    """A catalog with a past: litellm's list imported as it was 60 and 20 days ago (groq's
    llama-3.3-70b-versatile went from $0.59 to $0.49 per 1M input tokens in between), then every
    provider fetched live, mistral failing."""

    db_path: Path
    providers_file: Path
    model: tuple[str, str] = ("groq", "llama-3.3-70b-versatile")
    reference: tuple[str, str] = ("litellm", "groq/llama-3.3-70b-versatile")
    prices: tuple[float, float] = (0.59, 0.49)
    changed_on: str = ""  # the date (YYYY-MM-DD) of the price change
    first_on: str = ""  # the date litellm first listed it
    failing: str = "mistral"


@pytest.fixture
def history_catalog(providers, server, tmp_path: Path) -> HistoryCatalog:
    import time

    from vexy_catalog import ModelCatalog
    from vexy_catalog.importer import import_dump

    providers_file, db_path = providers
    groq = {"object": "list", "data": answer("groq")["data"] + answer("groq-llama")["data"]}
    before = answer("litellm")
    after = json.loads(json.dumps(before))
    after["groq/llama-3.3-70b-versatile"]["input_cost_per_token"] = 4.9e-07
    now = time.time()
    dates = {}
    for days, files in ((60, {"litellm": before, "openrouter": answer("openrouter")}), (20, {"litellm": after})):
        folder = tmp_path / f"dump-{days}d"
        folder.mkdir()
        for name, body in files.items():
            path = folder / f"models_{name}.json"
            path.write_text(json.dumps(body), encoding="utf-8")
            os.utime(path, (now - days * 86400, now - days * 86400))
        catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
        db = catalog.open_db()
        try:
            import_dump(db, folder, catalog.providers)
        finally:
            db.close()
        dates[days] = time.strftime("%Y-%m-%d", time.gmtime(now - days * 86400))
    server.routes["groq"].body = groq
    server.routes["litellm"].body = after
    server.routes["mistral"] = Route(status=500)
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch()
    assert set(summary.failed) == {"mistral"}, summary.failed
    return HistoryCatalog(db_path, providers_file, changed_on=dates[20], first_on=dates[60])
