"""The catalog feeds read by the real clients, from a live ``vexy serve`` on loopback, as the
README says to point them: OpenCode (``OPENCODE_MODELS_URL``) and LiteLLM
(``LITELLM_MODEL_COST_MAP_URL``). Codex reads its ``model_catalog_json`` in
test_export_clients.py. .ci/run installs both clients, pinned; on CI a missing one is a failure.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import answer
from export_helpers import (
    MORE_KEYS,
    build_catalog,
    client_env,
    from_readme,
    litellm_bundled_map,
    litellm_python,
    live_serve,
    opencode_binary,
    readme_url,
    require_client,
)

LLAMA = "llama-3.3-70b-versatile"
CORP_LLAMA = "corp/llama-3.1-70b:free"
GPT_OSS = "openai/gpt-oss-120b"


def run_opencode(opencode: Path, home: Path, models_url: str, keys: dict[str, str], *args: str) -> str:
    home.mkdir(parents=True, exist_ok=True)
    env = client_env(
        home,
        OPENCODE_MODELS_URL=models_url,
        XDG_CONFIG_HOME=str(home / "config"),
        XDG_CACHE_HOME=str(home / "cache"),
        XDG_DATA_HOME=str(home / "data"),
        XDG_STATE_HOME=str(home / "state"),
        **keys,
    )
    proc = subprocess.run(
        [str(opencode), "models", "--pure", *args],
        env=env,
        cwd=home,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def parse_verbose(text: str) -> dict[str, dict[str, Any]]:
    """``opencode models --verbose``: a ``provider/model`` line, then that model as JSON."""
    decoder = json.JSONDecoder()
    out: dict[str, dict[str, Any]] = {}
    pos = 0
    text = text.replace("Models cache refreshed", "")  # what --refresh prints first
    while text[pos:].strip():
        start = len(text) - len(text[pos:].lstrip())
        end = text.index("\n", start)
        json_start = len(text) - len(text[end:].lstrip())
        out[text[start:end].strip()], pos = decoder.raw_decode(text, json_start)
    return out


def test_opencode_lists_our_models_with_our_prices_and_limits(providers, server, monkeypatch, tmp_path):
    opencode = require_client(opencode_binary(), "opencode (npm opencode-ai)")
    catalog = build_catalog(providers, server, monkeypatch)
    feed = json.loads(catalog.export("modelsdev").stdout)
    # Every provider's variable set (any value) but llm7's: OpenCode lists a provider only then.
    keys = {provider["env"][0]: "any-value" for provider in feed.values()}
    del keys["LLM7_API_KEY"]
    # The README's first run: without --refresh, OpenCode shows its bundled list until its
    # background refresh has written the feed to its cache.
    refresh = [from_readme(r"\nopencode models (--refresh)")]
    with live_serve(catalog.db_path) as server_log:
        url = readme_url(r"export OPENCODE_MODELS_URL=(\S+)", server_log.base)
        shown = parse_verbose(run_opencode(opencode, tmp_path / "all", url, keys, *refresh, "--verbose"))
        only_groq = run_opencode(opencode, tmp_path / "groq", f"{url}/provider=groq", keys, *refresh)
    requests = [line for line in server_log.lines if "GET /-/vexy/models.dev" in line]
    assert len(requests) >= 2 and all("200 OK" in line for line in requests), "".join(server_log.lines[-20:])
    expected = {
        f"{name}/{model_id}": model
        for name, provider in feed.items()
        if name != "llm7"
        for model_id, model in provider["models"].items()
    }
    assert set(shown) == set(expected), "every model of the feed, and nothing else (llm7's variable is unset)"
    for ref, model in expected.items():
        got = shown[ref]
        assert got["api"]["id"] == model["id"]
        assert got["limit"]["context"] == model["limit"]["context"], ref
        assert got["limit"]["output"] == model["limit"]["output"], ref
        if "cost" in model:
            assert (got["cost"]["input"], got["cost"]["output"]) == (model["cost"]["input"], model["cost"]["output"])
            assert got["cost"]["cache"]["read"] == model["cost"].get("cache_read", 0)
        else:
            assert (got["cost"]["input"], got["cost"]["output"]) == (0, 0), "OpenCode shows an unknown price as 0"
        if "tool_call" in model:
            assert got["capabilities"]["toolcall"] == model["tool_call"], ref
    assert shown[f"groq/{LLAMA}"]["limit"] == {"context": 131072, "output": 32768}
    assert shown[f"corp-gateway/{CORP_LLAMA}"]["cost"]["input"] == 0.1, "ids with slashes and colons"
    assert shown[f"corp-gateway/{CORP_LLAMA}"]["api"]["url"] == catalog.provider("corp-gateway")["base_url"]
    assert set(only_groq.split()) == {f"groq/{m}" for m in feed["groq"]["models"]}, "the filter in the path"


LITELLM_SCRIPT = """
import json, sys
import litellm
from litellm import ModelResponse, Usage, completion_cost, cost_per_token

out = {"count": len(litellm.model_cost), "models": {}}
for key in json.loads(sys.argv[1]):
    usage = Usage(prompt_tokens=1000, completion_tokens=1000, total_tokens=2000)
    out["models"][key] = {
        "entry": litellm.model_cost.get(key),
        "cost_per_token": cost_per_token(model=key, prompt_tokens=1000, completion_tokens=1000),
        "completion_cost": completion_cost(completion_response=ModelResponse(model=key, usage=usage), model=key),
    }
print(json.dumps(out))
"""


def test_litellm_takes_our_cost_map_from_vexy_serve(providers, server, monkeypatch, tmp_path):
    python = require_client(litellm_python(), "litellm (PyPI litellm)")
    bundled_path = require_client(litellm_bundled_map(), "litellm's bundled cost map")
    bundled = json.loads(bundled_path.read_text())
    # The catalog's litellm provider serves LiteLLM's real map, and groq states its own price for
    # gpt-oss-120b (other than LiteLLM's), so the answers show whose price LiteLLM uses.
    server.routes["litellm"].body = bundled
    groq = answer("groq")["data"] + answer("groq-llama")["data"]
    groq.append(
        {
            "id": GPT_OSS,
            "object": "model",
            "context_window": 131072,
            "max_completion_tokens": 65536,
            "input_cost_per_token": 9.9e-07,
            "output_cost_per_token": 1.1e-06,
        }
    )
    catalog = build_catalog(providers, server, monkeypatch)
    server.routes["groq"].body = {"object": "list", "data": groq}
    from vexy_catalog import ModelCatalog

    assert ModelCatalog(db_path=catalog.db_path, providers_file=catalog.providers_file).fetch(["groq"]).ok
    assert bundled[f"groq/{GPT_OSS}"]["input_cost_per_token"] != 9.9e-07
    ours = json.loads(catalog.export("litellm-costmap").stdout)
    keys = [f"groq/{GPT_OSS}", f"groq/{LLAMA}", f"corp-gateway/{CORP_LLAMA}", "gpt-4o"]
    with live_serve(catalog.db_path) as server_log:
        url = readme_url(r"export LITELLM_MODEL_COST_MAP_URL=(\S+)", server_log.base)
        proc = subprocess.run(
            [str(python), "-c", LITELLM_SCRIPT, json.dumps(keys)],
            env=client_env(tmp_path, LITELLM_MODEL_COST_MAP_URL=url, LITELLM_LOG="ERROR"),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got["count"] >= len(bundled) - 2, "LiteLLM took the served map (it refuses a small one)"
    gpt_oss = got["models"][f"groq/{GPT_OSS}"]
    assert gpt_oss["entry"]["input_cost_per_token"] == 9.9e-07, "our price replaced LiteLLM's"
    assert gpt_oss["entry"]["max_output_tokens"] == 65536
    assert gpt_oss["cost_per_token"] == pytest.approx([9.9e-04, 1.1e-03])
    assert gpt_oss["completion_cost"] == pytest.approx(9.9e-04 + 1.1e-03)
    llama = got["models"][f"groq/{LLAMA}"]
    assert llama["entry"] == ours[f"groq/{LLAMA}"], "a model LiteLLM's own map lacks"
    corp = got["models"][f"corp-gateway/{CORP_LLAMA}"]
    assert corp["entry"] == ours[f"corp-gateway/{CORP_LLAMA}"], "a model only the catalog knows"
    assert corp["cost_per_token"] == pytest.approx([1e-04, 2e-04])
    assert got["models"]["gpt-4o"]["entry"]["input_cost_per_token"] == ours["gpt-4o"]["input_cost_per_token"]
    assert MORE_KEYS["CORP_LLM_KEY"] not in json.dumps(ours), "no key value in the map"
