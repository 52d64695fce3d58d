"""`vexy export TOOL`: what each format holds, the filters, stdout, and that no key leaks."""

from __future__ import annotations

import json
import re

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from export_helpers import (
    CORP_MODELS,
    MODS_SPECIAL,
    build_catalog,
    check_aichat,
    check_litellm,
    check_mods,
)

from vexy_catalog.db import open_db
from vexy_catalog.export import TOOLS, Export, build_export
from vexy_catalog.export.common import chat_model
from vexy_catalog.export.storage import MANIFEST

CHAT = (None, "chat")


@pytest.fixture
def catalog(providers, server, monkeypatch):
    return build_catalog(providers, server, monkeypatch)


def rows(catalog, *filters):
    """What `vexy models --json` selects with these filters."""
    result = catalog.run("models", "--json", *filters)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def kinds(catalog):
    return {p["name"]: p["kind"] for p in catalog.query("select name, kind from providers")}


def test_build_export_api(catalog):
    db = open_db(catalog.db_path, create=False)
    try:
        feeds = ("modelsdev", "catwalk", "litellm-costmap", "aichat-models")
        assert TOOLS == ("aichat", "codex", "mods", "llm", "litellm", "opencode", "crush", "json", "txt", *feeds)
        for tool in TOOLS:
            export = build_export(db, tool)
            assert isinstance(export, Export) and export.tool == tool and export.files
            assert export.single == (tool not in ("codex", "json", "txt"))
            assert all(isinstance(k, str) and isinstance(v, str) for k, v in export.files.items())
        assert build_export(db, "codex").media_type == "application/toml"
        assert build_export(db, "aichat").media_type == "application/yaml"
        assert build_export(db, "json").media_type == "application/json"
        assert build_export(db, "txt").media_type == "text/plain"
        assert "llm keys set groq" in build_export(db, "llm").hint
        with pytest.raises(ValueError, match="Unknown export format 'aichatt'"):
            build_export(db, "aichatt")
    finally:
        db.close()


def test_unknown_tool_is_a_usage_error(catalog):
    result = catalog.run("export", "nosuchtool")
    assert result.exit_code == 2
    assert "Invalid value for 'TOOL'" in result.stderr and "aichat" in result.stderr
    unknown = catalog.run("export", "aichat", "--provider", "grok")
    assert unknown.exit_code == 2 and "did you mean 'groq'" in unknown.stderr
    for tool in ("codex", "json", "txt"):
        result = catalog.run("export", tool)
        assert result.exit_code == 2 and "-o DIR" in result.stderr
    assert catalog.run("export", "json", "--merge", "x.json").exit_code == 2


def test_single_file_formats_go_to_stdout(catalog, tmp_path):
    before = set(tmp_path.iterdir())
    db = open_db(catalog.db_path, create=False)
    try:
        for tool in ("aichat", "mods", "llm", "litellm"):
            result = catalog.export(tool)
            (expected,) = build_export(db, tool).files.values()
            assert result.stdout == expected
        llm = catalog.export("llm")
        assert 'llm keys set groq --value "$GROQ_API_KEY"' in llm.stderr
        assert "--value" not in llm.stdout
    finally:
        db.close()
    assert set(tmp_path.iterdir()) == before, "nothing written without -o"


def test_output_file_and_directory(catalog, tmp_path):
    catalog.export("aichat", "-o", str(tmp_path / "a.yaml"))
    assert check_aichat((tmp_path / "a.yaml").read_text())
    (tmp_path / "dir").mkdir()
    catalog.export("mods", "-o", str(tmp_path / "dir"))
    assert check_mods((tmp_path / "dir" / "mods.yml").read_text())
    catalog.export("codex", "-o", str(tmp_path / "codex"), "--provider", "groq")
    assert (tmp_path / "codex" / "config.toml").exists()
    again = catalog.export("codex", "-o", str(tmp_path / "codex"), "--provider", "groq")
    assert "is up to date" in again.stderr


# --------------------------------------------------------------------------- what each client gets


def exported_pairs(catalog, tool, *filters):
    """(provider, model id) pairs a format lists."""
    if tool in ("json", "txt", "codex"):
        return None
    result = catalog.run("export", tool, *filters)
    if result.exit_code == 1 and "Nothing exported" in result.stderr:
        assert result.stdout == ""  # an empty selection prints nothing
        return set()
    assert result.exit_code == 0, result.output
    text = result.stdout
    provider_of_base = {p["base_url"].rstrip("/"): p["name"] for p in catalog.query("select * from providers")}
    pairs = set()
    if tool == "aichat":
        for client in check_aichat(text).get("clients") or []:
            for m in client.get("models") or []:
                pairs.add((provider_of_base[client["api_base"]], m["name"]))
    elif tool == "mods":
        for api in check_mods(text)["apis"].values():
            for model_id in api.get("models") or {}:
                pairs.add((provider_of_base[api["base-url"]], model_id))
    elif tool == "llm":
        from ruamel.yaml import YAML

        for entry in YAML(typ="safe").load(text) or []:
            pairs.add((provider_of_base[entry["api_base"]], entry["model_name"]))
    elif tool == "litellm":
        for item in check_litellm(text)["model_list"]:
            base = item["litellm_params"]["api_base"].removesuffix("/messages")
            pairs.add((provider_of_base[base], item["litellm_params"]["model"].split("/", 1)[1]))
    return pairs


# Which selected models each client gets, as the exporters' docstrings say.
RULES = {
    "aichat": lambda r, kind: kind in ("openai", "anthropic") and r["model_type"] in (*CHAT, "embedding", "rerank"),
    "mods": lambda r, kind: (kind == "openai" or r["provider"] == "anthropic") and r["model_type"] in CHAT,
    "llm": lambda r, kind: kind == "openai" and r["model_type"] in (*CHAT, "completion"),
    "litellm": lambda r, kind: (
        kind in ("openai", "anthropic") and r["model_type"] in (*CHAT, "completion", "embedding", "image")
    ),
    # Chat models (and unknown ones whose id does not say otherwise: see test_codex_leaves_out_...).
    "codex": lambda r, kind: kind == "openai" and chat_model(r) and r["supports_tools"] is not False,
}


@pytest.mark.parametrize(
    "filters",
    [
        [],
        ["--tools", "--min-context", "128000"],
        ["--max-input-price", "1", "--vision"],
        ["llama", "--provider", "groq", "--provider", "corp-gateway"],
        ["--type", "embedding"],
        ["--reasoning"],
    ],
)
def test_filters_select_exactly_the_rows_of_vexy_models(catalog, tmp_path, filters):
    selected = rows(catalog, *filters)
    kind = kinds(catalog)
    for tool in ("aichat", "mods", "llm", "litellm"):
        expected = {(r["provider"], r["model_id"]) for r in selected if RULES[tool](r, kind[r["provider"]])}
        assert exported_pairs(catalog, tool, *filters) == expected, tool
    # codex: one profile per model the rule selects.
    out = tmp_path / "codex"
    catalog.run("export", "codex", "-o", str(out), *filters)
    profiles = {
        (tomllib.loads(p.read_text())["model_provider"], tomllib.loads(p.read_text())["model"])
        for p in out.glob("*.config.toml")
    }
    ids = {"ollama": "vexy-ollama", "openai": "vexy-openai"}
    expected = {
        (ids.get(r["provider"], r["provider"]), r["model_id"])
        for r in selected
        if RULES["codex"](r, kind[r["provider"]])
    }
    assert profiles == expected
    # txt: every selected model of every provider with an answer, one id a line.
    out = tmp_path / "txt"
    catalog.export("txt", "-o", str(out), *filters)
    listed = {(p.stem.removeprefix("models_"), line) for p in out.glob("*.txt") for line in p.read_text().splitlines()}
    assert listed == {(r["provider"], r["model_id"]) for r in selected}


def test_url_providers_and_non_chat_models_are_left_out_of_clients(catalog, tmp_path):
    everything = rows(catalog)
    assert any(r["provider"] == "litellm" for r in everything), "the price file is in the catalog"
    for tool in ("aichat", "mods", "llm", "litellm"):
        pairs = exported_pairs(catalog, tool)
        assert pairs and not any(p == "litellm" for p, _ in pairs), tool
    aichat = {m["name"]: m for c in check_aichat(catalog.export("aichat").stdout)["clients"] for m in c["models"]}
    assert aichat["corp-embed-3"]["type"] == "embedding"
    assert aichat["corp-rerank-1"]["type"] == "reranker"
    assert aichat["text-embedding-3-small"]["type"] == "embedding"
    assert "corp-image-1" not in aichat and "type" not in aichat["gpt-4o"]
    assert "anthropic" not in {p for p, _ in exported_pairs(catalog, "llm")}


# --------------------------------------------------------------------------- aichat


def test_aichat_clients_and_key_variables(catalog):
    text = catalog.export("aichat").stdout
    doc = check_aichat(text)
    clients = {c["name"]: c for c in doc["clients"]}
    providers = {p["name"]: p for p in catalog.query("select * from providers")}
    by_base = {p["base_url"].rstrip("/"): p for p in providers.values()}
    lines = text.splitlines()
    for name, client in clients.items():
        provider = by_base[client["api_base"]]
        assert client["type"] == ("claude" if provider["kind"] == "anthropic" else "openai-compatible")
        reads = f"{name}_API_KEY".upper()
        (line,) = [line for line in lines if re.match(rf"\s+name: {name}(\s|$)", line)]
        if provider["api_key_env"] and provider["api_key_env"] != reads:
            # aichat cannot read it by name: the comment says which variable to set.
            assert f'export {reads}="${provider["api_key_env"]}"' in line, line
    assert set(clients) >= {"groq", "openai", "anthropic", "mistral", "openrouter", "corp_gateway", "ollama"}
    assert "CORP_GATEWAY_API_KEY" in text and "$CORP_LLM_KEY" in text
    llama = next(m for m in clients["groq"]["models"] if m["name"] == "llama-3.3-70b-versatile")
    assert llama == {
        "name": "llama-3.3-70b-versatile",
        "max_input_tokens": 131072,
        "max_output_tokens": 32768,
        "input_price": 0.59,
        "output_price": 0.79,
        "supports_function_calling": True,
    }
    # Claude needs max_tokens: aichat sends it only with require_max_tokens.
    assert all(m["require_max_tokens"] and m["max_output_tokens"] for m in clients["anthropic"]["models"])
    assert doc["model"].split(":")[0] in clients


def test_aichat_client_names_follow_key_variables(catalog):
    from vexy_catalog.export.aichat import client_names
    from vexy_catalog.export.common import Provider

    def p(name, env, kind="openai"):
        return Provider(name=name, kind=kind, base_url="https://x/v1", api_key_env=env)

    names = client_names(
        [
            p("gemini", "GOOGLE_API_KEY"),
            p("friendli", "FRIENDLI_TOKEN"),
            p("corp", "OPENAI_API_KEY"),
            p("openai", "OPENAI_API_KEY"),
            p("inference", "INFERENCENET_API_KEY"),
            p("my-gw", None),
        ]
    )
    assert names == {
        "gemini": "google",
        "friendli": "friendli",
        "corp": "corp",
        "openai": "openai",
        "inference": "inferencenet",
        "my-gw": "my_gw",
    }
    # A name held by a client of another type in the user's config is not taken over.
    assert client_names([p("gemini", "GOOGLE_API_KEY")], {"google": "gemini"}) == {"gemini": "gemini"}


# --------------------------------------------------------------------------- mods


def test_mods_apis_and_max_input_chars(catalog):
    doc = check_mods(catalog.export("mods").stdout)
    apis = doc["apis"]
    assert (doc["temp"], doc["topp"]) == (1.0, 1.0)
    assert "anthropic" in apis and "ollama" not in apis and "ollama-openai" in apis
    assert not (set(apis) & MODS_SPECIAL) - {"anthropic"}, "special names only for their own clients"
    assert apis["ollama-openai"]["api-key"] == "none", "a keyless API must not fall back to OPENAI_API_KEY"
    assert apis["groq"]["api-key-env"] == "GROQ_API_KEY" and "api-key" not in apis["groq"]
    assert apis["corp-gateway"]["api-key-env"] == "CORP_LLM_KEY"
    by_id = {(r["provider"], r["model_id"]): r for r in rows(catalog)}
    for api_name, api in apis.items():
        provider = api_name.removesuffix("-openai") if api_name == "ollama-openai" else api_name
        for model_id, model in api["models"].items():
            context = by_id[(provider, model_id)]["context_window"]
            assert model["max-input-chars"] == (3 * context if context else 12250)
            assert model["aliases"] == [f"{api_name}/{model_id}"]
    assert apis["groq"]["models"]["llama-3.3-70b-versatile"]["max-input-chars"] == 393216


def test_the_default_model_is_a_tool_calling_chat_model_with_the_largest_context(catalog):
    kind = kinds(catalog)
    callable_rows = [r for r in rows(catalog) if kind[r["provider"]] in ("openai", "anthropic")]
    tools = [r for r in callable_rows if r["supports_tools"] and chat_model(r)]
    largest = max(r["context_window"] or 0 for r in tools)
    alphabetical = min((r["provider"], r["model_id"]) for r in callable_rows)

    def check(provider: str, model_id: str) -> None:
        row = next(r for r in callable_rows if (r["provider"], r["model_id"]) == (provider, model_id))
        assert row["supports_tools"] is True and chat_model(row)
        assert row["context_window"] == largest
        assert (provider, model_id) != alphabetical

    aichat = check_aichat(catalog.export("aichat").stdout)
    client, model_id = aichat["model"].split(":", 1)
    base = next(c["api_base"] for c in aichat["clients"] if c["name"] == client)
    provider = next(p["name"] for p in catalog.query("select * from providers") if p["base_url"].rstrip("/") == base)
    check(provider, model_id)
    mods = check_mods(catalog.export("mods").stdout)
    api = mods["apis"][mods["default-api"]]
    provider = next(
        p["name"] for p in catalog.query("select * from providers") if p["base_url"].rstrip("/") == api["base-url"]
    )
    check(provider, mods["default-model"])


# --------------------------------------------------------------------------- codex


def test_codex_leaves_out_models_whose_id_says_they_are_not_chat(catalog, server, tmp_path):
    not_chat = [
        "playai-tts",
        "whisper-large-v3",
        "distil-whisper-large-v3-en",
        "meta-llama/llama-prompt-guard-2-86m",
        "meta-llama/llama-guard-4-12b",
        "text-embedding-3-small",
        "gpt-4o-realtime-preview",
        "gpt-image-1",
        "mistral-ocr-latest",
    ]
    chat = ["llama-3.3-70b-versatile", "moonshotai/kimi-k2-instruct", "openai/gpt-oss-120b"]
    server.routes["groq"].body = {"object": "list", "data": [{"id": i, "object": "model"} for i in not_chat + chat]}
    assert catalog.run("fetch", "groq").exit_code == 0
    catalog.export("codex", "-o", str(tmp_path), "--provider", "groq")
    models = {tomllib.loads(p.read_text())["model"] for p in tmp_path.glob("*.config.toml")}
    assert models == set(chat)


def test_build_export_takes_the_catalogs_path(catalog):
    export = build_export(str(catalog.db_path), "aichat")
    assert export.files["config.yaml"] == catalog.export("aichat").stdout
    assert build_export(catalog.db_path, "mods").files
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_export(catalog.db_path.with_name("missing.db"), "aichat")
    assert not catalog.db_path.with_name("missing.db").exists()


def test_codex_files(catalog, tmp_path):
    catalog.export("codex", "-o", str(tmp_path))
    config = tomllib.loads((tmp_path / "config.toml").read_text())
    assert set(config) == {"model_providers"}, "the base config sets no model: the profiles do"
    defined = config["model_providers"]
    assert not set(defined) & {"openai", "ollama", "lmstudio", "amazon-bedrock"}, "reserved ids"
    assert defined["vexy-openai"]["env_key"] == "OPENAI_API_KEY" and defined["vexy-openai"]["name"] == "openai"
    assert "env_key" not in defined["vexy-ollama"]
    assert "anthropic" not in defined, "Codex speaks only the Responses API"
    for entry in defined.values():
        assert entry["wire_api"] == "responses" and entry["name"] and entry["base_url"].startswith("http")
    profiles = sorted(tmp_path.glob("*.config.toml"))
    assert profiles
    for path in profiles:
        name = path.name.removesuffix(".config.toml")
        assert re.fullmatch(r"[a-z0-9_-]+", name), name
        profile = tomllib.loads(path.read_text())
        assert set(profile) <= {"model", "model_provider", "model_context_window", "model_catalog_json"}
        assert profile["model_provider"] in defined
        assert "model_context_window" not in profile or isinstance(profile["model_context_window"], int)
    corp = tomllib.loads((tmp_path / "corp-gateway-corp-llama-3-1-70b-free.config.toml").read_text())
    corp.pop("model_catalog_json", None)  # with codex installed (test_feeds.py checks it)
    assert corp == {
        "model": "corp/llama-3.1-70b:free",
        "model_provider": "corp-gateway",
        "model_context_window": 131072,
    }
    assert (tmp_path / "corp-gateway-corp-chat-v2.config.toml").exists()
    assert not (tmp_path / "corp-gateway-corp-no-tools.config.toml").exists(), "Codex needs tool calling"


# --------------------------------------------------------------------------- llm


def test_llm_entries_and_key_hint(catalog):
    from ruamel.yaml import YAML

    result = catalog.export("llm")
    entries = YAML(typ="safe").load(result.stdout)
    assert isinstance(entries, list) and entries
    providers = {p["name"]: p for p in catalog.query("select * from providers")}
    for entry in entries:
        provider = entry["model_id"].split("/", 1)[0]
        assert entry["model_id"] == f"{provider}/{entry['model_name']}"
        assert entry["api_base"] == providers[provider]["base_url"].rstrip("/")
        if providers[provider]["api_key_env"]:
            assert entry["api_key_name"] == provider
            assert f'llm keys set {provider} --value "${providers[provider]["api_key_env"]}"' in result.stderr
        else:
            # With api_base and no api_key_name, llm sends no key at all.
            assert "api_key_name" not in entry
    by_id = {e["model_id"]: e for e in entries}
    assert by_id["mistral/mistral-large-latest"] == {
        "model_id": "mistral/mistral-large-latest",
        "model_name": "mistral-large-latest",
        "api_base": providers["mistral"]["base_url"].rstrip("/"),
        "api_key_name": "mistral",
        "supports_tools": True,
        "vision": True,
    }
    assert by_id["openai/babbage-002"].get("completion") is None  # unknown type: chat
    assert "ollama/llama3.2:3b" in by_id and "anthropic/claude-3-haiku-20240307" not in by_id


# --------------------------------------------------------------------------- litellm


def test_litellm_prices_are_per_token(catalog):
    doc = check_litellm(catalog.export("litellm").stdout)
    items = {i["model_name"]: i for i in doc["model_list"]}
    llama = items["groq/llama-3.3-70b-versatile"]
    assert llama["litellm_params"] == {
        "model": "groq/llama-3.3-70b-versatile",
        "api_base": catalog.provider("groq")["base_url"].rstrip("/"),
        "api_key": "os.environ/GROQ_API_KEY",
        "input_cost_per_token": 5.9e-07,
        "output_cost_per_token": 7.9e-07,
    }
    assert llama["model_info"] == {
        "mode": "chat",
        "max_input_tokens": 131072,
        "max_output_tokens": 32768,
        "max_tokens": 32768,
        "input_cost_per_token": 5.9e-07,
        "output_cost_per_token": 7.9e-07,
        "supports_function_calling": True,
    }
    corp = items["corp-gateway/corp/llama-3.1-70b:free"]
    assert corp["litellm_params"]["model"] == "openai/corp/llama-3.1-70b:free"
    assert corp["model_info"]["input_cost_per_token"] == pytest.approx(1e-07)
    assert items["corp-gateway/corp-embed-3"]["model_info"]["mode"] == "embedding"
    assert items["corp-gateway/corp-image-1"]["model_info"]["mode"] == "image_generation"
    assert "corp-gateway/corp-rerank-1" not in items
    assert items["ollama/llama3.2:3b"]["litellm_params"]["api_key"] == "none"
    claude = items["anthropic/claude-3-5-haiku-20241022"]["litellm_params"]
    assert claude["api_base"].endswith("/anthropic/v1/messages"), "LiteLLM appends /v1/messages otherwise"
    for item in doc["model_list"]:
        provider, model_id = item["model_name"].split("/", 1)
        row = next(r for r in rows(catalog, "--provider", provider) if r["model_id"] == model_id)
        for column, key in (("input_price", "input_cost_per_token"), ("output_price", "output_cost_per_token")):
            if key in item["model_info"]:
                assert item["model_info"][key] == pytest.approx(row[column] / 1_000_000)
    # The hint names the variables an openai/ route needs that are unset, and only those.
    assert "CORP_LLM_KEY" not in catalog.export("litellm").stderr, "it is set here"


def test_litellm_hint_lists_only_unset_variables(catalog, monkeypatch):
    monkeypatch.delenv("CORP_LLM_KEY")
    hint = catalog.export("litellm").stderr
    assert "CORP_LLM_KEY" in hint
    listed = hint.rsplit(": ", 1)[1].strip().split(", ")
    assert listed == ["CORP_LLM_KEY"], "every other key variable of these providers is set"


# --------------------------------------------------------------------------- json / txt


def test_json_and_txt_are_the_earlier_tools_files(catalog, tmp_path):
    catalog.export("json", "-o", str(tmp_path / "json"))
    catalog.export("txt", "-o", str(tmp_path / "txt"))
    names = {p["name"] for p in catalog.query("select name from providers where payload_hash is not null")}
    assert {p.name for p in (tmp_path / "json").iterdir()} == {f"models_{n}.json" for n in names} | {MANIFEST}
    assert {p.name for p in (tmp_path / "txt").iterdir()} == {f"models_{n}.txt" for n in names} | {MANIFEST}
    for name in names:
        (body,) = [
            r["body"]
            for r in catalog.query(
                "select body from payloads join providers on payloads.hash = providers.payload_hash where name = ?",
                [name],
            )
        ]
        assert json.loads((tmp_path / "json" / f"models_{name}.json").read_text()) == json.loads(body)
    litellm = json.loads((tmp_path / "json" / "models_litellm.json").read_text())
    assert "sample_spec" in litellm, "the raw answer, as the provider sent it"
    corp = (tmp_path / "txt" / "models_corp-gateway.txt").read_text()
    assert corp == "".join(f"{m['id']}\n" for m in CORP_MODELS), "one id a line, in the answer's order"
    # Narrowed by a filter: the same shape with only the selected records.
    catalog.export("json", "-o", str(tmp_path / "some"), "--type", "embedding")
    assert json.loads((tmp_path / "some" / "models_corp-gateway.json").read_text()) == {
        "data": [m for m in CORP_MODELS if m["type"] == "embedding"]
    }
    assert set(json.loads((tmp_path / "some" / "models_litellm.json").read_text())) == {"text-embedding-3-small"}


def test_json_and_txt_of_a_catalog_grouped_by_provider_keep_its_groups(catalog, tmp_path):
    """models.dev's answer is providers holding models: a narrowed file keeps that shape, each
    provider with only its selected models, and the txt lists the qualified ids."""
    from conftest import answer

    whole = answer("modelsdev")
    assert catalog.run("fetch", "modelsdev").exit_code == 0
    catalog.export("json", "-o", str(tmp_path / "big"), "--provider", "modelsdev", "--min-context", "1000000")
    narrowed = json.loads((tmp_path / "big" / "models_modelsdev.json").read_text())
    assert set(narrowed) == {"google", "xai"}
    assert {k: v for k, v in narrowed["google"].items() if k != "models"} == {
        k: v for k, v in whole["google"].items() if k != "models"
    }
    assert narrowed["google"]["models"] == whole["google"]["models"] and set(narrowed["xai"]["models"]) == {
        "grok-4.3",
        "grok-4.20-0309-non-reasoning",
    }
    catalog.export("txt", "-o", str(tmp_path / "ids"), "--provider", "modelsdev")
    listed = (tmp_path / "ids" / "models_modelsdev.txt").read_text().splitlines()
    # In the stored answer's order (canonical JSON: keys sorted).
    assert listed == [f"{p}/{m}" for p in sorted(whole) for m in sorted(whole[p]["models"])]


# --------------------------------------------------------------------------- keys


def test_no_exported_byte_holds_a_key_value(catalog, tmp_path):
    assert len(catalog.keys) >= 8
    outputs = []
    for tool in TOOLS:
        out = tmp_path / tool
        result = catalog.export(tool, "-o", str(out))
        outputs += [result.stdout, result.stderr]
        if tool in ("aichat", "mods", "llm", "litellm"):
            outputs.append(catalog.export(tool).stdout)
    merged = tmp_path / "merged.yaml"
    merged.write_text("clients:\n  - type: openai\n    api_key: sk-the-users-own-inline-key\n")
    result = catalog.export("aichat", "--merge", str(merged))
    outputs += [result.stdout, result.stderr]
    blobs = [
        p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.suffix not in (".db", ".db-wal", ".db-shm")
    ]
    blobs = [b for b in blobs if not b.startswith(b"SQLite format")]
    blobs += [o.encode() for o in outputs]
    assert len(blobs) > 30
    for variable, value in catalog.keys.items():
        for blob in blobs:
            assert value.encode() not in blob, f"the value of {variable} was exported"
