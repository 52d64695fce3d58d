"""Helpers for the export tests: a catalog to export, the real clients, and emulated parsers.

The catalog is fetched from the loopback fake providers (conftest's ``providers`` fixture) plus
two providers of the user's own: ``corp-gateway`` (a key variable aichat cannot read by name,
ids with dots, slashes and colons, embedding/rerank/image models) and ``ollama`` (no key; a
reserved Codex provider id; a special mods API name).

aichat and mods cannot be installed here (no package in the registries we reach), so
``check_aichat`` and ``check_mods`` apply their parsers' rules as ../shared/CLIENT_FORMATS.md
reads them off the clients' source. ``check_litellm`` applies LiteLLM's config-loader rules; the
real loader also runs when LiteLLM is installed (``litellm_python``).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import KEYS, answer
from fake_providers import Route

from vexy_catalog.cli import cli

README = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
# The server address the README's client lines assume; tests swap in their live server's.
README_BASE = "http://127.0.0.1:8001"


def from_readme(pattern: str) -> str:
    """The first group of ``pattern`` in the README's "Catalog feeds" section: a client line as
    the README gives it, so the tests use what users copy."""
    section = README.split("## Catalog feeds", 1)[1].split("\n## ", 1)[0]
    match = re.search(pattern, section)
    assert match, f"the README's Catalog feeds section has no {pattern!r}"
    return match.group(1)


def readme_url(pattern: str, base: str) -> str:
    """A URL from the README (see :func:`from_readme`), on the server at ``base``."""
    url = from_readme(pattern)
    assert url.startswith(README_BASE), url
    return base + url[len(README_BASE) :]


# Where .ci/run installs the clients (read at import: the hermetic fixture clears VEXY_*).
CLIENTS_DIR = Path(os.environ.get("VEXY_CLIENTS_DIR") or Path.home() / ".cache" / "vexy-clients")
ON_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# Key values every export test sets, besides conftest's KEYS: no exported byte may hold one.
MORE_KEYS = {
    "CORP_LLM_KEY": "corp-secret-value-4242424242",
    "OPENROUTER_API_KEY": "sk-or-v1-testkeyopenrouter0000",
    "LLM7_API_KEY": "llm7-secret-value-777777777",
    "POLLINATIONS_API_KEY": "pollinations-secret-value-5555",
}
FETCHED = ["openai", "groq", "mistral", "anthropic", "openrouter", "litellm", "llm7", "pollinations"]
CORP_MODELS = [
    {
        "id": "corp/llama-3.1-70b:free",
        "type": "chat",
        "context_length": 131072,
        "max_output_tokens": 8192,
        "input_cost_per_token": 1e-07,
        "output_cost_per_token": 2e-07,
        "supports_tools": True,
        "supports_vision": False,
    },
    {"id": "Corp.Chat v2", "type": "chat", "context_length": 32000, "supports_tools": True},
    {"id": "corp-embed-3", "type": "embedding", "context_length": 8192, "input_cost_per_token": 2e-08},
    {"id": "corp-rerank-1", "type": "rerank"},
    {"id": "corp-image-1", "type": "image"},
    {"id": "corp-no-tools", "type": "chat", "supports_tools": False},
]


@dataclass
class Catalog:
    db_path: Path
    providers_file: Path
    keys: dict[str, str]  # every key variable set during the test -> its value

    def run(self, *args: str, input: str | None = None) -> Result:
        base = ["--db", str(self.db_path), "--providers-file", str(self.providers_file)]
        return CliRunner().invoke(cli, [*base, *args], input=input)

    def export(self, *args: str) -> Result:
        result = self.run("export", *args)
        assert result.exit_code == 0, result.output
        return result

    def query(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        conn = sqlite3.connect(self.db_path)
        conn.row_factory = sqlite3.Row
        try:
            return [dict(r) for r in conn.execute(sql, params or [])]
        finally:
            conn.close()

    def provider(self, name: str) -> dict[str, Any]:
        return self.query("select * from providers where name = ?", [name])[0]


def build_catalog(providers, server, monkeypatch, corp_models: list[dict[str, Any]] | None = None) -> Catalog:
    """Fetch the fixture providers plus corp-gateway (``corp_models``, else ``CORP_MODELS``) and
    ollama into a fresh catalog."""
    from vexy_catalog import ModelCatalog

    _, db_path = providers
    groq = answer("groq")["data"] + answer("groq-llama")["data"]
    server.routes["groq"].body = {"object": "list", "data": groq}
    openai = answer("openai")["data"] + [{"id": "gpt-4o", "object": "model"}, {"id": "text-embedding-3-small"}]
    server.routes["openai"].body = {"object": "list", "data": openai}
    server.set("corp-gateway", Route(body={"data": corp_models or CORP_MODELS}, key=MORE_KEYS["CORP_LLM_KEY"]))
    server.set("ollama", Route(body={"object": "list", "data": [{"id": "llama3.2:3b"}, {"id": "qwen2.5-coder:7b"}]}))
    for name, value in MORE_KEYS.items():
        monkeypatch.setenv(name, value)
    providers_file = db_path.parent / "providers-export.yaml"
    providers_file.write_text(server.providers_yaml(keys={"corp-gateway": "CORP_LLM_KEY"}), encoding="utf-8")
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    summary = catalog.fetch([*FETCHED, "corp-gateway", "ollama"])
    assert summary.ok, summary.failed
    keys = {env: KEYS[name] for name, env in _CONFTEST_VARS.items()} | MORE_KEYS
    return Catalog(db_path=db_path, providers_file=providers_file, keys=keys)


_CONFTEST_VARS = {
    "openai": "OPENAI_API_KEY",
    "groq": "GROQ_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
}


# --------------------------------------------------------------------------- real clients


def require_client(path: Path | str | None, what: str) -> Path:
    """The client's path; a test without it fails on CI (where .ci/run installs it) and is
    skipped with the reason elsewhere."""
    if path and Path(path).exists():
        return Path(path)
    message = f"{what} is not installed: .ci/run installs it (or run its install lines)"
    if ON_CI:
        pytest.fail(message)
    pytest.skip(message)


def codex_binary() -> Path | None:
    found = shutil.which("codex")
    return Path(found) if found else None


def llm_binary() -> Path | None:
    venv = CLIENTS_DIR / "llm" / "bin" / "llm"
    if venv.exists():
        return venv
    found = shutil.which("llm")
    return Path(found) if found else None


def litellm_python() -> Path | None:
    python = CLIENTS_DIR / "litellm" / "bin" / "python"
    return python if python.exists() else None


def opencode_binary() -> Path | None:
    found = CLIENTS_DIR / "opencode" / "node_modules" / ".bin" / "opencode"
    return found if found.exists() else None


def litellm_bundled_map() -> Path | None:
    """The cost map shipped inside the installed LiteLLM (what it falls back to)."""
    found = sorted(
        (CLIENTS_DIR / "litellm").glob("lib/python*/site-packages/litellm/model_prices_and_context_window_backup.json")
    )
    return found[0] if found else None


@dataclass
class LiveServer:
    base: str  # http://127.0.0.1:<port>
    lines: list[str]  # what it logged (uvicorn's access log included), so far


@contextmanager
def live_serve(db_path: Path, *options: str) -> Iterator[LiveServer]:
    """``vexy serve --port 0`` on ``db_path`` in a subprocess. A real uvicorn on loopback, with
    the ASGI lifespan that datasette-mcp needs."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db_path), "serve", "--port", "0", *options],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # uvicorn's access log goes to stdout, the rest to stderr
        text=True,
    )
    lines: list[str] = []
    found = threading.Event()
    base: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            match = re.search(r"(?:Uvicorn running on|Serving the catalog at) (http://127\.0\.0\.1:\d+)", line)
            if match:
                base.append(match.group(1))
                found.set()
        found.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not found.wait(60) or not base:
            raise AssertionError("vexy serve did not start:\n" + "".join(lines))
        yield LiveServer(base[0], lines)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


def client_env(home: Path, **extra: str) -> dict[str, str]:
    """A subprocess environment with no key variable at all and HOME in the test's tmp dir."""
    env = {k: v for k, v in os.environ.items() if not re.search(r"(KEY|TOKEN|SECRET)", k) and not k.startswith("VEXY_")}
    env.update(HOME=str(home), NO_COLOR="1", **extra)
    return env


# --------------------------------------------------------------------------- emulated parsers


def _load_yaml12(text: str) -> Any:
    from ruamel.yaml import YAML

    return YAML(typ="safe", pure=True).load(text)  # YAML 1.2: only true/false are booleans


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


AICHAT_TYPES = {"openai", "openai-compatible", "gemini", "claude", "cohere", "azure-openai", "vertexai", "bedrock"}


def check_aichat(text: str) -> dict[str, Any]:
    """aichat's config rules (serde_yaml 0.9 into Config): returns the parsed config."""
    doc = _load_yaml12(text)
    assert isinstance(doc, dict), "the config is a mapping"
    clients = doc.get("clients") or []
    assert isinstance(clients, list), "clients is a list"
    names = []
    for client in clients:
        assert isinstance(client, dict), f"a client is a mapping: {client!r}"
        assert isinstance(client.get("type"), str), f"a client has a string type: {client!r}"
        # An unknown type is silently dropped by aichat: for us that is a lost client.
        assert client["type"] in AICHAT_TYPES, f"unknown client type {client['type']!r}"
        name = client.get("name", client["type"])
        assert isinstance(name, str) and re.fullmatch(r"[a-z0-9_]+", name), f"client name {name!r}"
        names.append(name)
        for key in ("api_base", "api_key"):
            assert key not in client or isinstance(client[key], str), f"{name}.{key} is a string"
        models = client.get("models") or []
        assert isinstance(models, list), f"{name}.models is a list"
        for model in models:
            assert isinstance(model, dict) and isinstance(model.get("name"), str), f"{name}: model {model!r}"
            where = f"{name}:{model['name']}"
            if "type" in model:
                assert isinstance(model["type"], str), where
            if "max_input_tokens" in model:
                assert _is_int(model["max_input_tokens"]) and model["max_input_tokens"] >= 0, where
            if "max_output_tokens" in model:
                assert _is_int(model["max_output_tokens"]), where
            for key in ("input_price", "output_price"):
                assert key not in model or _is_number(model[key]), f"{where} {key}"
            for key in ("supports_vision", "supports_function_calling", "require_max_tokens", "no_stream"):
                assert key not in model or isinstance(model[key], bool), f"{where} {key}"
            if model.get("require_max_tokens"):
                assert _is_int(model.get("max_output_tokens")), f"{where}: max_tokens is required"
    assert len(names) == len(set(names)), f"client names are unique: {names}"
    if "model" in doc:
        client_name, _, model_name = str(doc["model"]).partition(":")
        client = next(c for c in clients if c.get("name", c["type"]) == client_name)
        if client.get("models"):  # without models, aichat uses its built-in list for the client
            assert model_name in [m["name"] for m in client["models"]], f"model {doc['model']} is defined"
    return doc


MODS_SPECIAL = {"anthropic", "google", "cohere", "ollama", "azure", "azure-ad"}


def check_mods(text: str) -> dict[str, Any]:
    """mods' settings rules (yaml.v3 into Config): returns the parsed settings."""
    doc = _load_yaml12(text)
    assert isinstance(doc, dict), "the settings file is a mapping"
    for key in ("temp", "topp"):
        assert _is_number(doc.get(key)) and doc[key] > 0, f"{key} is set (mods sends 0 when missing)"
    assert _is_int(doc.get("max-input-chars")) and doc["max-input-chars"] > 0, "top-level max-input-chars"
    apis = doc.get("apis")
    assert isinstance(apis, dict), "apis is a mapping"
    aliases: list[str] = []
    model_names: set[str] = set()
    for api_name, api in apis.items():
        assert isinstance(api_name, str) and isinstance(api, dict), f"api {api_name!r}"
        for key in ("base-url", "api-key", "api-key-env", "api-key-cmd", "user"):
            assert key not in api or isinstance(api[key], str), f"{api_name}.{key} is a string"
        models = api.get("models") or {}
        assert isinstance(models, dict), f"{api_name}.models is a mapping"
        for model_name, model in models.items():
            where = f"{api_name}.{model_name}"
            assert isinstance(model_name, str) and isinstance(model, dict), where
            assert _is_int(model.get("max-input-chars")) and model["max-input-chars"] > 0, f"{where} max-input-chars"
            model_aliases = model.get("aliases") or []
            assert isinstance(model_aliases, list) and all(isinstance(a, str) for a in model_aliases), where
            aliases.extend(model_aliases)
            model_names.add(model_name)
    assert len(aliases) == len(set(aliases)), "aliases are unique"
    assert not set(aliases) & model_names, "no alias is another model's name"
    if "default-api" in doc:
        api = apis[doc["default-api"]]
        wanted = doc["default-model"]
        assert wanted in api["models"] or any(wanted in (m.get("aliases") or []) for m in api["models"].values())
    return doc


LITELLM_ROUTES = {"openai", "anthropic", "groq", "mistral", "openrouter", "deepseek", "xai", "cerebras"} | {
    "together_ai",
    "fireworks_ai",
    "deepinfra",
}
LITELLM_MODES = {"chat", "completion", "embedding", "image_generation"}


def check_litellm(text: str) -> dict[str, Any]:
    """LiteLLM's proxy config rules (ProxyConfig.load_config, Deployment): returns the config."""
    doc = _load_yaml12(text)
    assert isinstance(doc, dict), "the config is a mapping"
    model_list = doc.get("model_list")
    assert isinstance(model_list, list), "model_list is a list"
    names = []
    for item in model_list:
        assert isinstance(item, dict) and isinstance(item.get("model_name"), str), f"deployment {item!r}"
        names.append(item["model_name"])
        params = item.get("litellm_params")
        assert isinstance(params, dict) and isinstance(params.get("model"), str), f"{item['model_name']}: model"
        route, _, model = params["model"].partition("/")
        assert route in LITELLM_ROUTES and model, f"{params['model']}: a provider route LiteLLM knows"
        key = params.get("api_key")
        assert isinstance(key, str) and (key.startswith("os.environ/") or key == "none"), f"api_key {key!r}"
        assert isinstance(params.get("api_base"), str)
        info = item.get("model_info") or {}
        assert info.get("mode") in LITELLM_MODES, f"mode {info.get('mode')!r}"
        for k in ("max_input_tokens", "max_output_tokens", "max_tokens"):
            assert k not in info or (_is_int(info[k]) and info[k] > 0), f"{item['model_name']} {k}"
        for section in (info, params):
            for k in ("input_cost_per_token", "output_cost_per_token"):
                # Per token: even the dearest model costs well under a cent a token.
                assert k not in section or (_is_number(section[k]) and 0 <= section[k] < 1e-3), f"{k}"
    assert len(names) == len(set(names)), "model names are unique"
    return doc
