"""The catalog feeds (models.dev, Catwalk, LiteLLM cost map, aichat models.yaml) and the OpenCode
and Crush provider configs: what each holds for the catalog, how unknown facts are written, the
filters and ``as_of``, and the routes ``vexy serve`` serves them at.

The clients that can run here read these files in test_feeds_clients.py; Catwalk's is checked
against a JSON Schema written from Catwalk's Go structs, aichat's against its Rust structs.
"""

from __future__ import annotations

import copy
import json
import re
import time
from datetime import datetime, timezone
from typing import Any

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from export_helpers import CORP_MODELS, _is_int, _is_number, _load_yaml12, build_catalog, check_aichat

from vexy_catalog.serve import build_datasette, load_metadata

CORP_LLAMA = "corp/llama-3.1-70b:free"
LLAMA = "llama-3.3-70b-versatile"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def catalog(providers, server, monkeypatch):
    return build_catalog(providers, server, monkeypatch)


def export_json(catalog, tool: str, *args: str) -> Any:
    return json.loads(catalog.export(tool, *args).stdout)


def listed(catalog, chat_only: bool = True) -> dict[tuple[str, str], dict[str, Any]]:
    """The catalog's listed models of callable providers, by (provider, model id)."""
    rows = catalog.query(
        "select m.* from models m join providers p on p.name = m.provider "
        "where m.removed_at is null and p.kind in ('openai', 'anthropic')"
        + (" and (m.model_type is null or m.model_type = 'chat')" if chat_only else "")
    )
    return {(r["provider"], r["model_id"]): r for r in rows}


def walk(value: Any) -> list[Any]:
    """Every value in a JSON document, containers included."""
    out = [value]
    if isinstance(value, dict):
        for v in value.values():
            out += walk(v)
    elif isinstance(value, list):
        for v in value:
            out += walk(v)
    return out


def per_token(price: float) -> float:
    return float(f"{price / 1_000_000:.10g}")


# --------------------------------------------------------------------------- models.dev


def test_modelsdev_feed_holds_every_listed_chat_model_with_what_the_catalog_knows(catalog):
    feed = export_json(catalog, "modelsdev")
    rows = listed(catalog)
    assert {(p, m) for p, v in feed.items() for m in v["models"]} == set(rows)
    assert None not in walk(feed), "unknown is left out, never null"
    for name, provider in feed.items():
        stored = catalog.provider(name)
        assert provider["id"] == name and provider["models"]
        assert provider["api"] == stored["base_url"].rstrip("/")
        assert provider["env"] == [stored["api_key_env"] or f"{name.upper()}_API_KEY"]
        assert provider["npm"] == {"openai": "@ai-sdk/openai", "anthropic": "@ai-sdk/anthropic"}.get(
            name, "@ai-sdk/openai-compatible"
        )
        for model_id, model in provider["models"].items():
            row = rows[(name, model_id)]
            assert model["id"] == model_id and model["name"] == (row["name"] or model_id)
            if row["input_price"] is not None and row["output_price"] is not None:
                assert model["cost"]["input"] == row["input_price"]
                assert model["cost"]["output"] == row["output_price"]
                assert ("cache_read" in model["cost"]) == (row["cache_read_price"] is not None)
            else:
                assert "cost" not in model, f"{name}/{model_id}: a price is unknown, so no cost (not $0)"
            for column, key in (("supports_tools", "tool_call"), ("supports_vision", "attachment")):
                assert model.get(key) == (None if row[column] is None else bool(row[column])), (model_id, key)
            assert model["limit"]["context"] == (row["context_window"] or 0)
            if row["max_output_tokens"] is not None:
                assert model["limit"]["output"] == row["max_output_tokens"]
            else:
                assert model["limit"]["output"] == min(4096, row["context_window"] or 4096)
            assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", model["release_date"])
            assert model["last_updated"] >= model["release_date"]
            assert "open_weights" not in model, "never known, so never written"


def test_modelsdev_ids_with_slashes_keyless_providers_and_the_hint(catalog):
    result = catalog.export("modelsdev", "--provider", "corp-gateway", "--provider", "ollama")
    feed = json.loads(result.stdout)
    corp = feed["corp-gateway"]["models"][CORP_LLAMA]
    assert corp["id"] == CORP_LLAMA
    assert corp["cost"] == {"input": 0.1, "output": 0.2}  # USD per 1M tokens, from per-token answers
    assert corp["limit"] == {"context": 131072, "output": 8192}
    assert feed["ollama"]["env"] == ["OLLAMA_API_KEY"], "a keyless provider gets a variable to set to anything"
    assert "OLLAMA_API_KEY" in result.stderr
    assert "unknown context window" in result.stderr


# --------------------------------------------------------------------------- Catwalk

# Catwalk's Provider and Model (pkg/catwalk/provider.go, charmbracelet/catwalk v0.52.6), field by
# field from the Go structs and JSON tags: string -> string, float64 -> number, int64 -> integer,
# bool -> boolean, Type -> its constants. Unknown keys are refused here: Go would silently drop a
# misspelled key, and its value would be lost.
_TYPES = ["openai", "openai-compat", "openrouter", "vercel", "anthropic", "google", "azure", "bedrock", "google-vertex"]
CATWALK_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "minItems": 1,
    "items": {"$ref": "#/$defs/Provider"},
    "$defs": {
        "Provider": {
            "type": "object",
            "additionalProperties": False,
            "required": ["name", "id", "type", "models"],
            "properties": {
                "name": {"type": "string"},
                "id": {"type": "string", "minLength": 1},
                "api_key": {"type": "string"},
                "api_endpoint": {"type": "string"},
                "type": {"enum": _TYPES},
                "default_large_model_id": {"type": "string"},
                "default_small_model_id": {"type": "string"},
                "models": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/Model"}},
                "default_headers": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        },
        "Model": {
            "type": "object",
            "additionalProperties": False,
            "required": ["id", "name"],
            "properties": {
                "id": {"type": "string", "minLength": 1},
                "name": {"type": "string"},
                "cost_per_1m_in": {"type": "number", "minimum": 0},
                "cost_per_1m_out": {"type": "number", "minimum": 0},
                "cost_per_1m_in_cached": {"type": "number", "minimum": 0},
                "cost_per_1m_out_cached": {"type": "number", "minimum": 0},
                "context_window": {"type": "integer", "minimum": 0},
                "default_max_tokens": {"type": "integer", "minimum": 0},
                "can_reason": {"type": "boolean"},
                "reasoning_levels": {"type": "array", "items": {"type": "string"}},
                "default_reasoning_effort": {"type": "string"},
                "supports_attachments": {"type": "boolean"},
                "options": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {
                        "temperature": {"type": "number"},
                        "top_p": {"type": "number"},
                        "top_k": {"type": "integer"},
                        "frequency_penalty": {"type": "number"},
                        "presence_penalty": {"type": "number"},
                        "provider_options": {"type": "object"},
                    },
                },
            },
        },
    },
}


def catwalk_errors(doc: Any) -> list[str]:
    from jsonschema import Draft202012Validator

    return [f"{list(e.absolute_path)}: {e.message}" for e in Draft202012Validator(CATWALK_SCHEMA).iter_errors(doc)]


def test_catwalk_feed_matches_catwalks_go_structs(catalog):
    feed = export_json(catalog, "catwalk")
    assert catwalk_errors(feed) == []
    rows = listed(catalog)
    assert {(p["id"], m["id"]) for p in feed for m in p["models"]} == set(rows)
    for provider in feed:
        stored = catalog.provider(provider["id"])
        assert provider["api_key"] == f"${stored['api_key_env'] or provider['id'].upper() + '_API_KEY'}"
        base = stored["base_url"].rstrip("/")
        # Crush's Anthropic client adds /v1/messages itself.
        assert provider["api_endpoint"] == (base.removesuffix("/v1") if provider["type"] == "anthropic" else base)
        ids = [m["id"] for m in provider["models"]]
        assert provider["default_large_model_id"] in ids and provider["default_small_model_id"] in ids
        for model in provider["models"]:
            row = rows[(provider["id"], model["id"])]
            for column, key in (
                ("input_price", "cost_per_1m_in"),
                ("output_price", "cost_per_1m_out"),
                ("cache_read_price", "cost_per_1m_out_cached"),  # the cache READ price, despite its name
                ("context_window", "context_window"),
            ):
                assert model.get(key) == row[column], (model["id"], key)
            # The cache WRITE price: the catalog never knows it, so it is never written.
            assert "cost_per_1m_in_cached" not in model
            expected = row["max_output_tokens"] or min(4096, row["context_window"] or 4096)
            assert model["default_max_tokens"] == expected, model["id"]


def test_the_catwalk_schema_catches_what_crush_would_lose_or_refuse(catalog):
    feed = export_json(catalog, "catwalk", "--provider", "groq")
    for mutate in (
        lambda f: f[0]["models"][0].__setitem__("cost_per_1m_in", "0.59"),  # a string: Go's decode fails
        lambda f: f[0]["models"][0].__setitem__("context_windows", 131072),  # misspelled: Go drops it
        lambda f: f[0].__setitem__("type", "groq"),  # "provider type not supported"
        lambda f: f[0]["models"][0].__setitem__("context_window", 131072.5),
        lambda f: f.clear(),  # Crush treats [] as an error
    ):
        broken = copy.deepcopy(feed)
        mutate(broken)
        assert catwalk_errors(broken), broken


def test_catwalk_defaults_are_the_dearest_and_the_cheapest_known(catalog):
    (groq,) = export_json(catalog, "catwalk", "--provider", "groq")
    priced = [m for m in groq["models"] if "cost_per_1m_in" in m]
    assert groq["default_large_model_id"] == max(priced, key=lambda m: m["cost_per_1m_in"])["id"]
    assert groq["default_small_model_id"] == min(priced, key=lambda m: m["cost_per_1m_in"])["id"]


# --------------------------------------------------------------------------- LiteLLM cost map


def test_litellm_cost_map_is_litellms_own_with_ours_merged_on_top(catalog):
    from conftest import answer

    base = answer("litellm")
    cost_map = export_json(catalog, "litellm-costmap")
    assert set(base) <= set(cost_map), "every entry of LiteLLM's own map stays"
    assert cost_map["sample_spec"] == base["sample_spec"]
    rows = listed(catalog, chat_only=False)
    # LiteLLM's key convention: its provider route, bare ids for openai and anthropic, else ours.
    llama = cost_map["groq/llama-3.3-70b-versatile"]
    assert llama["litellm_provider"] == "groq" and llama["mode"] == "chat"
    row = rows[("groq", "llama-3.3-70b-versatile")]
    assert llama["input_cost_per_token"] == per_token(row["input_price"])
    assert llama["max_input_tokens"] == row["context_window"]
    assert cost_map["gpt-4o"]["litellm_provider"] == "openai"
    corp = cost_map[f"corp-gateway/{CORP_LLAMA}"]
    assert corp == {
        "litellm_provider": "openai",
        "mode": "chat",
        "max_input_tokens": 131072,
        "max_output_tokens": 8192,
        "max_tokens": 8192,
        "input_cost_per_token": 1e-07,
        "output_cost_per_token": 2e-07,
        "supports_function_calling": True,
        "supports_vision": False,
    }
    # Facts we do not know keep LiteLLM's own value for that key.
    haiku = "claude-3-5-haiku-20241022"
    assert cost_map[haiku]["cache_creation_input_token_cost"] == base[haiku]["cache_creation_input_token_cost"]
    embed = cost_map["corp-gateway/corp-embed-3"]
    assert embed["mode"] == "embedding" and "output_cost_per_token" not in embed, "unknown is left out ($0 in LiteLLM)"
    assert None not in walk(cost_map)


def test_litellm_cost_map_without_litellms_map_says_what_litellm_will_do(providers, server, monkeypatch):
    from vexy_catalog import ModelCatalog

    providers_file, db_path = providers
    assert ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["groq"]).ok
    from export_helpers import Catalog

    catalog = Catalog(db_path, providers_file, {})
    result = catalog.export("litellm-costmap")
    cost_map = json.loads(result.stdout)
    assert set(cost_map) == {f"groq/{m['id']}" for m in server.routes["groq"].body["data"]}
    assert "MODEL_COST_MAP_MIN_MODEL_COUNT=1" in result.stderr


# --------------------------------------------------------------------------- aichat models.yaml


def check_aichat_models(text: str) -> list[dict[str, Any]]:
    """aichat's rules for models.yaml (serde_yaml into Vec<ProviderModels>, model.rs)."""
    doc = _load_yaml12(text)
    assert isinstance(doc, list), "models.yaml is a list"
    numbers = {"max_input_tokens": "usize", "max_output_tokens": "isize", "max_tokens_per_chunk": "usize"}
    numbers |= {"default_chunk_size": "usize", "max_batch_size": "usize"}
    flags = ("require_max_tokens", "supports_vision", "supports_function_calling", "no_stream", "no_system_message")
    known = {"name", "type", "real_name", "input_price", "output_price", "patch", "system_prompt_prefix"}
    known |= set(numbers) | set(flags)
    for entry in doc:
        assert isinstance(entry, dict) and set(entry) == {"provider", "models"}, entry
        assert isinstance(entry["provider"], str) and isinstance(entry["models"], list)
        for model in entry["models"]:
            assert isinstance(model.get("name"), str), model
            assert set(model) <= known, f"{model['name']}: keys aichat does not read: {set(model) - known}"
            for key, kind in numbers.items():
                if key in model:
                    assert _is_int(model[key]) and (kind == "isize" or model[key] >= 0), (model["name"], key)
            for key in ("input_price", "output_price"):
                assert key not in model or _is_number(model[key]), (model["name"], key)
            for key in flags:
                assert key not in model or isinstance(model[key], bool), (model["name"], key)
    return doc


def aichat_entry_for(entries: list[dict[str, Any]], client: dict[str, Any]) -> dict[str, Any] | None:
    """The models.yaml entry aichat gives a client with no models of its own (macros.rs)."""
    if client["type"] != "openai-compatible":
        return next((e for e in entries if e["provider"] == client["type"]), None)
    return next((e for e in entries if client["name"].startswith(e["provider"])), None)


def test_aichat_models_yaml_is_what_aichat_reads_and_matches_the_config_export(catalog):
    entries = check_aichat_models(catalog.export("aichat-models").stdout)
    config = check_aichat(catalog.export("aichat").stdout)
    assert None not in walk(entries)
    for client in config["clients"]:
        entry = aichat_entry_for(entries, client)
        assert entry is not None, client["name"]
        assert entry["models"] == client["models"], f"aichat gives {client['name']} another provider's models"
    corp = next(e for e in entries if e["provider"] == "corp_gateway")
    llama = next(m for m in corp["models"] if m["name"] == CORP_LLAMA)
    assert (llama["input_price"], llama["output_price"]) == (0.1, 0.2), "USD per 1M tokens"
    chat = next(m for m in corp["models"] if m["name"] == "Corp.Chat v2")
    assert "input_price" not in chat and "max_output_tokens" not in chat, "unknown is left out (aichat shows -)"


# --------------------------------------------------------------------------- unknown facts, everywhere


def test_an_unknown_price_is_absent_in_every_format_never_zero(catalog):
    model = "Corp.Chat v2"  # the catalog knows its context window and tools, no price
    feed = export_json(catalog, "modelsdev", "--provider", "corp-gateway")
    assert "cost" not in feed["corp-gateway"]["models"][model]
    (corp,) = export_json(catalog, "catwalk", "--provider", "corp-gateway")
    entry = next(m for m in corp["models"] if m["id"] == model)
    assert not {k for k in entry if k.startswith("cost")}
    assert "input_cost_per_token" not in export_json(catalog, "litellm-costmap")[f"corp-gateway/{model}"]
    opencode = export_json(catalog, "opencode", "--provider", "corp-gateway")
    assert "cost" not in opencode["provider"]["corp-gateway"]["models"][model]
    crush = export_json(catalog, "crush", "--provider", "corp-gateway")
    entry = next(m for m in crush["providers"]["corp-gateway"]["models"] if m["id"] == model)
    assert not {k for k in entry if k.startswith("cost")}
    # A model that is really free keeps its 0.
    free = "agentica-org/deepcoder-14b-preview:free"
    assert export_json(catalog, "modelsdev", "--provider", "openrouter")["openrouter"]["models"][free]["cost"] == {
        "input": 0,
        "output": 0,
    }


def test_the_same_model_at_two_providers_keeps_each_providers_price(providers, server, monkeypatch):
    corp = [*CORP_MODELS, {"id": "llama-3.3-70b-versatile", "input_cost_per_token": 3e-07}]
    catalog = build_catalog(providers, server, monkeypatch, corp_models=corp)
    groq = catalog.query("select input_price from models where provider = 'groq' and model_id = ?", [LLAMA])
    feed = export_json(catalog, "modelsdev", "--provider", "groq", "--provider", "corp-gateway")
    assert feed["groq"]["models"]["llama-3.3-70b-versatile"]["cost"]["input"] == groq[0]["input_price"]
    assert "cost" not in feed["corp-gateway"]["models"]["llama-3.3-70b-versatile"], "no output price: no cost"
    cost_map = export_json(catalog, "litellm-costmap")
    assert cost_map["corp-gateway/llama-3.3-70b-versatile"]["input_cost_per_token"] == 3e-07
    assert cost_map["groq/llama-3.3-70b-versatile"]["input_cost_per_token"] == per_token(groq[0]["input_price"])


def test_removed_models_are_left_out_unless_asked_for(catalog, server):
    from vexy_catalog import ModelCatalog

    body = server.routes["corp-gateway"].body
    server.routes["corp-gateway"].body = {"data": [m for m in body["data"] if m["id"] != CORP_LLAMA]}
    assert ModelCatalog(db_path=catalog.db_path, providers_file=catalog.providers_file).fetch(["corp-gateway"]).ok
    for tool in ("modelsdev", "opencode"):
        doc = export_json(catalog, tool, "--provider", "corp-gateway")
        models = (doc.get("provider") or doc)["corp-gateway"]["models"]
        assert CORP_LLAMA not in models
        doc = export_json(catalog, tool, "--provider", "corp-gateway", "--include-removed")
        assert CORP_LLAMA in (doc.get("provider") or doc)["corp-gateway"]["models"]
    (corp,) = export_json(catalog, "catwalk", "--provider", "corp-gateway")
    assert CORP_LLAMA not in [m["id"] for m in corp["models"]]


# --------------------------------------------------------------------------- OpenCode and Crush configs


def test_opencode_config_blocks(catalog):
    doc = export_json(catalog, "opencode")
    assert doc["$schema"] == "https://opencode.ai/config.json"
    groq = doc["provider"]["groq"]
    assert groq["options"] == {
        "baseURL": catalog.provider("groq")["base_url"].rstrip("/"),
        "apiKey": "{env:GROQ_API_KEY}",
    }
    assert "apiKey" not in doc["provider"]["ollama"]["options"], "a keyless provider gets no key"
    llama = groq["models"]["llama-3.3-70b-versatile"]
    assert llama["limit"] == {"context": 131072, "output": 32768}
    corp = doc["provider"]["corp-gateway"]["models"]
    assert "limit" not in corp["corp-no-tools"], "OpenCode needs both limits: without the context, none"
    assert corp["Corp.Chat v2"]["limit"] == {"context": 32000, "output": 4096}
    assert corp["corp-no-tools"]["tool_call"] is False
    assert None not in walk(doc)
    assert not any(k.startswith("sk-") or "secret" in str(v) for k, v in groq["options"].items())


def test_crush_config_blocks_pass_the_catwalk_model_schema(catalog):
    doc = export_json(catalog, "crush")
    assert doc["$schema"] == "https://charm.land/crush.json"
    for name, block in doc["providers"].items():
        as_catwalk = [{"name": block["name"], "id": name, "type": block["type"], "models": block["models"]}]
        assert catwalk_errors(as_catwalk) == [], name
        assert block["base_url"].startswith("http")
    assert doc["providers"]["groq"]["api_key"] == "$GROQ_API_KEY"
    assert "api_key" not in doc["providers"]["ollama"]


@pytest.mark.parametrize("tool", ["opencode", "crush"])
def test_merge_keeps_the_users_file_and_is_stable(catalog, tmp_path, tool):
    path = tmp_path / f"{tool}.json"
    section = "provider" if tool == "opencode" else "providers"
    mine: dict[str, Any] = {
        "theme": "dark",
        section: {"groq": {"name": "My Groq"}, "local": {"name": "Mine", "models": {} if tool == "opencode" else []}},
    }
    path.write_text(json.dumps(mine, indent=2))
    catalog.export(tool, "--provider", "groq", "--merge", str(path))
    merged = json.loads(path.read_text())
    assert merged["theme"] == "dark" and merged[section]["local"] == mine[section]["local"]
    assert merged[section]["groq"]["name"] == "My Groq", "a name the user gave stays"
    assert merged[section]["groq"]["models"], "our models were added"
    first = path.read_bytes()
    catalog.export(tool, "--provider", "groq", "--merge", str(path))
    assert path.read_bytes() == first, "merging the same catalog again changes nothing"
    path.write_text('{\n  // my comment\n  "theme": "dark"\n}\n')
    result = catalog.run("export", tool, "--merge", str(path))
    assert result.exit_code == 1
    assert "comments" in result.output and "Traceback" not in result.output
    assert path.read_text().startswith("{\n  // my comment"), "the user's file is untouched"


# --------------------------------------------------------------------------- filters and as_of


def test_feeds_take_the_filters_of_vexy_models(catalog):
    feed = export_json(catalog, "modelsdev", "--tools", "--min-context", "100000")
    rows = json.loads(catalog.run("models", "--tools", "--min-context", "100000", "--json").stdout)
    expected = {(r["provider"], r["model_id"]) for r in rows if r["model_type"] in (None, "chat")}
    expected = {k for k in expected if k in listed(catalog)}
    assert {(p, m) for p, v in feed.items() for m in v["models"]} == expected


def test_as_of_gives_the_models_and_prices_of_that_moment(catalog, server):
    from vexy_catalog import ModelCatalog

    before = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    body = copy.deepcopy(server.routes["corp-gateway"].body)
    for model in body["data"]:
        if model["id"] == CORP_LLAMA:
            model["input_cost_per_token"] = 5e-07
    body["data"].append({"id": "corp-new-model", "type": "chat", "context_length": 65536})
    server.routes["corp-gateway"].body = body
    assert ModelCatalog(db_path=catalog.db_path, providers_file=catalog.providers_file).fetch(["corp-gateway"]).ok
    now = {m["id"]: m for m in export_json(catalog, "catwalk", "--provider", "corp-gateway")[0]["models"]}
    then = {
        m["id"]: m
        for m in export_json(catalog, "catwalk", "--provider", "corp-gateway", "--as-of", before)[0]["models"]
    }
    assert now[CORP_LLAMA]["cost_per_1m_in"] == 0.5 and then[CORP_LLAMA]["cost_per_1m_in"] == 0.1
    assert "corp-new-model" in now and "corp-new-model" not in then
    result = catalog.run("export", "catwalk", "--as-of", "last tuesday")
    assert result.exit_code == 2 and "--as-of" in result.output


# --------------------------------------------------------------------------- served


class Served:
    def __init__(self, db_path, **options):
        self.ds = build_datasette(db_path, **options)

    async def get(self, path: str, **kwargs):
        await self.ds.invoke_startup()
        return await self.ds.client.get(path, **kwargs)


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path, tool",
    [
        ("/-/vexy/models.dev/api.json", "modelsdev"),
        ("/-/vexy/catwalk/v2/providers", "catwalk"),
        ("/-/vexy/litellm/model_prices_and_context_window.json", "litellm-costmap"),
        ("/-/vexy/aichat/models.yaml", "aichat-models"),
    ],
)
async def test_each_feed_is_served_as_the_export_writes_it(catalog, path, tool):
    served = Served(catalog.db_path)
    response = await served.get(path + "?provider=groq&provider=corp-gateway&tools=1")
    assert response.status_code == 200, response.text
    expected = catalog.export(tool, "--provider", "groq", "--provider", "corp-gateway", "--tools").stdout
    assert response.text == expected
    loaded = yaml.safe_load(response.text) if tool == "aichat-models" else response.json()
    assert loaded, "the selection has models"
    assert response.headers["content-type"].endswith("charset=utf-8")
    etag = response.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = await served.get(path + "?provider=groq&provider=corp-gateway&tools=1", headers={"if-none-match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await served.get(path + "?provider=groq", headers={"if-none-match": etag})
    assert other.status_code == 200, "another selection is another document"
    head = await served.ds.client.head(path + "?provider=groq&provider=corp-gateway&tools=1")
    assert head.status_code == 200 and head.headers["etag"] == etag and head.content == b""


@pytest.mark.anyio
async def test_path_parameters_for_clients_that_append_a_path(catalog):
    served = Served(catalog.db_path)
    feed = (await served.get("/-/vexy/models.dev/provider=groq&tools=1/api.json")).json()
    assert list(feed) == ["groq"] and all(m["tool_call"] for m in feed["groq"]["models"].values())
    providers = (await served.get("/-/vexy/catwalk/provider%3Dcorp-gateway/v2/providers")).json()
    assert [p["id"] for p in providers] == ["corp-gateway"]


@pytest.mark.anyio
async def test_bad_feed_parameters_are_a_400_that_says_why(catalog):
    served = Served(catalog.db_path)
    response = await served.get("/-/vexy/catwalk/v2/providers?provider=nosuch&min_context=lots&as_of=someday&x=1")
    assert response.status_code == 400
    for words in ("unknown provider 'nosuch'", "min_context", "as_of", "unknown parameter 'x'"):
        assert words in response.text


@pytest.mark.anyio
async def test_feeds_have_a_time_and_a_size_limit(catalog):
    metadata = load_metadata()
    metadata["plugins"]["vexy"] = {"feed_max_bytes": 2000}
    response = await Served(catalog.db_path, metadata=metadata).get("/-/vexy/models.dev/api.json")
    assert response.status_code == 413 and "narrow the selection" in response.text
    metadata["plugins"]["vexy"] = {"feed_time_limit_ms": 0}
    response = await Served(catalog.db_path, metadata=metadata).get("/-/vexy/catwalk/v2/providers")
    assert response.status_code == 503 and "longer than" in response.text
    metadata["plugins"]["vexy"] = {"feed_max_bytes": "lots"}
    response = await Served(catalog.db_path, metadata=metadata).get("/-/vexy/catwalk/v2/providers")
    assert response.status_code == 500 and "feed_max_bytes" in response.text


@pytest.mark.anyio
async def test_config_downloads_take_as_of_too(catalog):
    served = Served(catalog.db_path)
    response = await served.get("/-/vexy/config/opencode?provider=groq&as_of=2000-01-01")
    assert response.status_code == 200
    assert response.json()["provider"] == {}, "nothing was listed in 2000"
    assert "opencode" in (await served.get("/-/vexy/config")).text


# --------------------------------------------------------------------------- Codex model_catalog_json


def test_codex_export_writes_a_model_catalog_per_provider(catalog, tmp_path):
    import subprocess

    from export_helpers import codex_binary, require_client

    codex = require_client(codex_binary(), "codex (npm @openai/codex)")
    out = tmp_path / "codex"
    catalog.export("codex", "--provider", "groq", "--provider", "corp-gateway", "-o", str(out))
    bundled = json.loads(
        subprocess.run(
            [str(codex), "debug", "models", "--bundled"],
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "CODEX_HOME": str(tmp_path)},
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
    )
    first = min((m for m in bundled["models"] if m["visibility"] == "list"), key=lambda m: m["priority"])
    rows = listed(catalog)
    for name in ("groq", "corp-gateway"):
        models = json.loads((out / f"vexy-{name}.models.json").read_text())["models"]
        profiles = [tomllib.loads(p.read_text()) for p in out.glob(f"{name}-*.config.toml")]
        assert {p["model"] for p in profiles} == {m["slug"] for m in models}
        assert all(p["model_catalog_json"] == f"vexy-{name}.models.json" for p in profiles)
        for model in models:
            row = rows[(name, model["slug"])]
            assert model.get("context_window") == row["context_window"], "unknown is left out, never 0"
            assert model["input_modalities"] == (["text", "image"] if row["supports_vision"] else ["text"])
            assert model["base_instructions"] == first["base_instructions"]
            assert model["supported_reasoning_levels"] == []
    assert "model_catalog_json" not in (out / "config.toml").read_text(), "the user's other profiles keep Codex's list"


def test_codex_export_without_codex_writes_no_catalog_and_says_why(catalog, tmp_path, monkeypatch):
    monkeypatch.setenv("VEXY_CODEX", str(tmp_path / "no-codex-here"))
    out = tmp_path / "codex"
    result = catalog.export("codex", "--provider", "groq", "-o", str(out))
    assert "No model_catalog_json" in result.stderr
    assert not list(out.glob("*.models.json"))
    assert not any("model_catalog_json" in p.read_text() for p in out.glob("*.toml"))


def test_a_codex_export_that_fails_leaves_no_codex_listing_behind(catalog, tmp_path, monkeypatch):
    """The installed Codex's listing starts before the catalog is read: an export that fails
    first (an unknown provider) still waits for it, so no process or throwaway home is left."""
    import tempfile

    from export_helpers import codex_binary, require_client

    codex = require_client(codex_binary(), "codex (npm @openai/codex)")
    # A path of its own: the listing is run, not served from this process's earlier exports.
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "codex").symlink_to(codex)
    monkeypatch.setenv("VEXY_CODEX", str(tmp_path / "bin" / "codex"))
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))  # where its throwaway CODEX_HOME goes
    failed = catalog.run("export", "codex", "--provider", "no-such-provider", "-o", str(tmp_path / "out"))
    assert failed.exit_code == 2 and "no-such-provider" in failed.output
    assert not list(temp.iterdir()), "the listing's throwaway home is removed"
    assert not (tmp_path / "out").exists()
    # What it found is kept for the next export, which writes the catalog.
    out = tmp_path / "codex"
    catalog.export("codex", "--provider", "groq", "-o", str(out))
    assert json.loads((out / "vexy-groq.models.json").read_text())["models"][0]["base_instructions"]


# --------------------------------------------------------------------------- the README's lines


@pytest.mark.anyio
async def test_the_readme_lines_for_crush_and_aichat_reach_their_feeds(catalog):
    from export_helpers import README_BASE, from_readme

    served = Served(catalog.db_path)
    # Crush appends /v2/providers to CATWALK_URL.
    catwalk_url = from_readme(r"export CATWALK_URL=(\S+)")
    response = await served.get(catwalk_url.removeprefix(README_BASE) + "/v2/providers")
    assert response.status_code == 200 and catwalk_errors(response.json()) == []
    assert response.json() == export_json(catalog, "catwalk")
    # aichat fetches sync_models_url as it is.
    aichat_url = from_readme(r"sync_models_url: (\S+)")
    response = await served.get(aichat_url.removeprefix(README_BASE))
    assert response.status_code == 200
    assert check_aichat_models(response.text) == check_aichat_models(catalog.export("aichat-models").stdout)


def test_the_readme_line_for_codex_loads_in_codex(catalog, tmp_path, monkeypatch):
    from export_helpers import codex_binary, from_readme, require_client
    from test_export_clients import codex_check

    codex = require_client(codex_binary(), "codex (npm @openai/codex)")
    export_line, run_line = from_readme(r"```bash\n(vexy export codex .+)\n```").split(" && ")
    monkeypatch.setenv("HOME", str(tmp_path))  # the line's ~/.codex/config.toml
    (tmp_path / ".codex").mkdir()
    (tmp_path / ".codex" / "config.toml").write_text('model = "gpt-5"\n')  # the user's own setting stays
    catalog.export(*export_line.split()[2:])
    profile = run_line.split("-p ")[1]
    home = tmp_path / "run"
    home.mkdir()
    assert codex_check(codex, tmp_path / ".codex", home, profile) is None
    assert 'model = "gpt-5"' in (tmp_path / ".codex" / "config.toml").read_text()
