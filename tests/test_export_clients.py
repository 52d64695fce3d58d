"""The exports fed to the real clients: every codex profile to codex, the llm file to llm, the
LiteLLM file to LiteLLM's own loader when it is installed.

.ci/run installs codex and llm (pinned); on CI these tests fail when a client is missing. No
client reaches the network: codex stops at the missing key variable right after loading its
config, llm talks to a loopback server, LiteLLM only loads its config.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from export_helpers import (
    build_catalog,
    check_litellm,
    client_env,
    codex_binary,
    litellm_python,
    llm_binary,
    require_client,
)


@pytest.fixture
def catalog(providers, server, monkeypatch):
    return build_catalog(providers, server, monkeypatch)


# --------------------------------------------------------------------------- codex

UNSET_KEY = "VEXY_CHECK_UNSET_KEY"


def codex_check(codex: Path, source: Path, home: Path, profile: str) -> str | None:
    """Run ``codex exec --strict-config -p PROFILE`` with ``source``'s files as CODEX_HOME; None
    when Codex loaded the profile as written, else what went wrong. With its key variable unset
    Codex stops right after loading the config (a keyless provider gets one through ``-c``)."""
    config = tomllib.loads((source / "config.toml").read_text())
    wanted = tomllib.loads((source / f"{profile}.config.toml").read_text())
    provider_id = wanted["model_provider"]
    provider = config.get("model_providers", {}).get(provider_id)
    env_key = provider.get("env_key") if provider else None
    codex_home = home / "codex"
    codex_home.mkdir(exist_ok=True)
    for pattern in ("*.toml", "*.models.json"):
        for stale in codex_home.glob(pattern):
            stale.unlink()
        for path in source.glob(pattern):
            shutil.copy(path, codex_home / path.name)
    args = [str(codex), "exec", "--strict-config", "-p", profile, "--skip-git-repo-check"]
    if provider and not env_key:
        args += ["-c", f'model_providers.{provider_id}.env_key="{UNSET_KEY}"']
    proc = subprocess.run(
        [*args, "ping"],
        env=client_env(home, CODEX_HOME=str(codex_home)),
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    err = proc.stderr
    problems = []
    if proc.returncode != 1:
        problems.append(f"exit status {proc.returncode}")
    if "Error" in err or "unknown configuration field" in err or "invalid" in err.lower():
        problems.append("an error loading the config")
    if "Model metadata for" in err:
        problems.append("Codex did not find the model in the profile's model_catalog_json")
    if not re.search(rf"^model: {re.escape(wanted['model'])}$", err, re.M):
        problems.append(f"no 'model: {wanted['model']}' line")
    if not re.search(rf"^provider: {re.escape(provider_id)}$", err, re.M):
        problems.append(f"no 'provider: {provider_id}' line")
    if f"Missing environment variable: `{env_key or UNSET_KEY}`" not in err:
        problems.append("it did not stop at the missing key variable")
    return None if not problems else f"{profile}: {'; '.join(problems)}\n{err[-2000:]}"


def check_all_profiles(codex: Path, source: Path, work: Path) -> list[str]:
    """codex_check every profile in ``source``, two at a time (two cores), each worker with a
    CODEX_HOME of its own (codex keeps SQLite state there)."""
    profiles = sorted(p.name.removesuffix(".config.toml") for p in source.glob("*.config.toml"))
    assert profiles, "no profile to check"
    homes: queue.Queue[Path] = queue.Queue()
    for i in range(2):
        (work / f"home-{i}").mkdir(parents=True, exist_ok=True)
        homes.put(work / f"home-{i}")

    def check(profile: str) -> str | None:
        home = homes.get()
        try:
            return codex_check(codex, source, home, profile)
        finally:
            homes.put(home)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return [r for r in pool.map(check, profiles) if r]


def test_every_codex_profile_loads_in_codex(catalog, tmp_path):
    codex = require_client(codex_binary(), "codex (npm @openai/codex)")
    out = tmp_path / "export"
    catalog.export("codex", "-o", str(out))
    n = len(list(out.glob("*.config.toml")))
    assert n >= 15, "the catalog has many models for codex"
    assert check_all_profiles(codex, out, tmp_path / "run") == []


def test_the_codex_check_catches_broken_files(catalog, tmp_path):
    codex = require_client(codex_binary(), "codex (npm @openai/codex)")
    out = tmp_path / "export"
    catalog.export("codex", "-o", str(out), "--provider", "groq")
    profile = "groq-llama-3-3-70b-versatile"
    home = tmp_path / "home"
    home.mkdir()
    assert codex_check(codex, out, home, profile) is None
    path = out / f"{profile}.config.toml"
    good = path.read_text()
    for broken in (
        good + "model_max_output_tokens = 32768\n",  # no such key: strict config refuses it
        good.replace("model_context_window = 131072", 'model_context_window = "131072"'),
        good.replace('model_provider = "groq"', 'model_provider = "nogroq"'),
    ):
        path.write_text(broken)
        assert codex_check(codex, out, home, profile) is not None, broken
    path.write_text(good)
    catalog_file = out / "vexy-groq.models.json"
    models = json.loads(catalog_file.read_text())
    for broken_catalog in (
        {"models": [m for m in models["models"] if m["slug"] != "llama-3.3-70b-versatile"]},  # not in it
        {"models": [{k: v for k, v in m.items() if k != "base_instructions"} for m in models["models"]]},
        {"models": [{**m, "context_window": "131072"} for m in models["models"]]},
    ):
        catalog_file.write_text(json.dumps(broken_catalog))
        assert codex_check(codex, out, home, profile) is not None, str(broken_catalog)[:200]
    catalog_file.write_text(json.dumps(models))
    assert codex_check(codex, out, home, profile) is None
    config = out / "config.toml"
    config.write_text(config.read_text() + '\n[model_providers.openai]\nname = "mine"\n')
    assert codex_check(codex, out, home, profile) is not None, "a reserved provider id is refused"


# --------------------------------------------------------------------------- llm


def run_llm(llm: Path, user_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(llm), *args],
        env=client_env(user_path, LLM_USER_PATH=str(user_path), **env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_llm_lists_every_exported_model(catalog, tmp_path):
    from ruamel.yaml import YAML

    llm = require_client(llm_binary(), "llm (PyPI llm)")
    user_path = tmp_path / "llm"
    user_path.mkdir()
    catalog.export("llm", "-o", str(user_path / "extra-openai-models.yaml"))
    entries = YAML(typ="safe").load((user_path / "extra-openai-models.yaml").read_text())
    listed = run_llm(llm, user_path, "models", "list")
    assert listed.returncode == 0, listed.stderr
    lines = set(listed.stdout.splitlines())
    for entry in entries:
        kind = "Completion" if entry.get("completion") else "Chat"
        assert f"OpenAI {kind}: {entry['model_id']}" in lines, entry["model_id"]
    as_json = run_llm(llm, user_path, "models", "list", "--json")
    assert as_json.returncode == 0, as_json.stderr
    models = {m["model_id"]: m for m in json.loads(as_json.stdout)}
    for entry in entries:
        model = models[entry["model_id"]]
        assert model["supports_tools"] == bool(entry.get("supports_tools")), entry["model_id"]
        assert ("image/png" in model["attachment_types"]) == bool(entry.get("vision")), entry["model_id"]


class _Capture(BaseHTTPRequestHandler):
    """A loopback chat-completions endpoint that records who was sent which key."""

    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str]] = []

    def log_message(self, format, *args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 - the stdlib's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        model = json.loads(body or b"{}").get("model", "")
        type(self).seen.append((self.path, self.headers.get("Authorization", "")))
        answer = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
        }
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def test_llm_sends_each_provider_its_own_key_after_the_hint(catalog, tmp_path, server):
    """Following the printed `llm keys set` lines, llm sends groq the groq key - not the
    OPENAI_API_KEY it falls back to for a model whose key is not stored."""
    llm = require_client(llm_binary(), "llm (PyPI llm)")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Capture)
    _Capture.seen = []
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        user_path = tmp_path / "llm"
        user_path.mkdir()
        result = catalog.export("llm", "--provider", "groq", "--provider", "mistral")
        origin = f"http://127.0.0.1:{httpd.server_address[1]}"
        (user_path / "extra-openai-models.yaml").write_text(result.stdout.replace(server.origin, origin))
        commands = [line.strip() for line in result.stderr.splitlines() if line.strip().startswith("llm keys set")]
        assert [c.split()[3] for c in commands] == ["groq", "mistral"]
        keys = {var: catalog.keys[var] for var in ("GROQ_API_KEY", "MISTRAL_API_KEY", "OPENAI_API_KEY")}
        bin_dir = str(llm.parent)
        for command in commands:
            done = subprocess.run(
                ["bash", "-c", command],
                env=client_env(user_path, LLM_USER_PATH=str(user_path), PATH=f"{bin_dir}:/usr/bin:/bin", **keys),
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr
        for model in ("groq/llama-3.3-70b-versatile", "mistral/mistral-large-latest"):
            answer = run_llm(llm, user_path, "-m", model, "--no-stream", "--no-log", "ping", **keys)
            assert answer.returncode == 0, answer.stderr
            assert answer.stdout.strip() == "pong"
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert _Capture.seen == [
        ("/groq/v1/chat/completions", f"Bearer {keys['GROQ_API_KEY']}"),
        ("/mistral/v1/chat/completions", f"Bearer {keys['MISTRAL_API_KEY']}"),
    ]


# --------------------------------------------------------------------------- LiteLLM

LOADER = """
import asyncio, json, sys
import litellm
from litellm.proxy.proxy_server import ProxyConfig

router, _, _ = asyncio.run(ProxyConfig().load_config(router=None, config_file_path=sys.argv[1]))
out = []
for m in router.get_model_list():
    litellm.get_llm_provider(m["litellm_params"]["model"])  # raises for a route LiteLLM lacks
    out.append({"model_name": m["model_name"], "model": m["litellm_params"]["model"],
                "model_info": {k: v for k, v in (m.get("model_info") or {}).items() if k != "id"}})
print(json.dumps(out))
"""


def test_litellm_config_loads(catalog, tmp_path):
    """LiteLLM's loader rules (emulated) and the proxy's own loader (.ci/run installs litellm[proxy])."""
    path = tmp_path / "litellm-config.yaml"
    catalog.export("litellm", "-o", str(path))
    doc = check_litellm(path.read_text())
    python = require_client(litellm_python(), "litellm[proxy] (PyPI)")
    proc = subprocess.run(
        [str(python), "-c", LOADER, str(path)],
        env=client_env(tmp_path, LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_LOG="ERROR"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    loaded = {m["model_name"]: m for m in json.loads(proc.stdout.strip().splitlines()[-1])}
    assert set(loaded) == {i["model_name"] for i in doc["model_list"]}
    for item in doc["model_list"]:
        info = loaded[item["model_name"]]["model_info"]
        for key, value in item["model_info"].items():
            assert info.get(key) == value, (item["model_name"], key)
