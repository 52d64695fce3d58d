"""`vexy export TOOL --merge EXISTING`: our entries added or updated, the user's kept, atomically,
with a .bak, and nothing changed by a second run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from export_helpers import build_catalog, check_aichat, check_litellm, check_mods, codex_binary, require_client
from ruamel.yaml import YAML
from test_export_clients import codex_check


@pytest.fixture
def catalog(providers, server, monkeypatch):
    return build_catalog(providers, server, monkeypatch)


def load(text: str):
    return YAML(typ="safe").load(text)


def merge_twice(catalog, tool: str, path: Path, *filters: str) -> str:
    """Merge, check the .bak is the original, merge again and check nothing changed."""
    original = path.read_bytes()
    first = catalog.export(tool, "--merge", str(path), *filters)
    assert "Wrote" in first.stderr
    bak = path.with_name(path.name + ".bak")
    assert bak.read_bytes() == original, "the previous file is kept as .bak"
    merged = path.read_bytes()
    stamps = (path.stat().st_mtime_ns, bak.stat().st_mtime_ns)
    second = catalog.export(tool, "--merge", str(path), *filters)
    assert "is up to date" in second.stderr
    assert path.read_bytes() == merged and bak.read_bytes() == original, "a second merge changes nothing"
    assert (path.stat().st_mtime_ns, bak.stat().st_mtime_ns) == stamps, "not even rewritten"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")], "no temporary file left"
    return merged.decode()


AICHAT_USER = """\
# My aichat setup
model: openai:gpt-4o   # my default
save: true
clients:
  # my own OpenAI account
  - type: openai
  - type: openai-compatible
    name: groq
    api_base: https://api.groq.com/openai/v1   # my groq, hand written
    models:
      - name: llama-3.3-70b-versatile
        max_input_tokens: 1000
        require_max_tokens: true   # mine
      - name: my-finetune
        max_input_tokens: 8192
  - type: gemini
    name: google
keybindings: emacs
"""


def test_merge_into_aichat_config(catalog, tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(AICHAT_USER)
    text = merge_twice(catalog, "aichat", path, "--provider", "groq", "--provider", "openai")
    doc = check_aichat(text)
    for kept in ("# My aichat setup", "model: openai:gpt-4o   # my default", "# my own OpenAI account"):
        assert kept in text
    assert "# my groq, hand written" in text and "require_max_tokens: true   # mine" in text
    assert list(doc) == ["model", "save", "clients", "keybindings"], "key order kept"
    clients = doc["clients"]
    assert [c.get("name", c["type"]) for c in clients[:3]] == ["openai", "groq", "google"]
    assert clients[0] == {"type": "openai"} and clients[2] == {"type": "gemini", "name": "google"}
    groq = clients[1]
    assert groq["api_base"] == "https://api.groq.com/openai/v1", "the user's own base URL stays"
    models = {m["name"]: m for m in groq["models"]}
    assert models["llama-3.3-70b-versatile"]["max_input_tokens"] == 131072
    assert models["llama-3.3-70b-versatile"]["require_max_tokens"] is True
    assert models["my-finetune"] == {"name": "my-finetune", "max_input_tokens": 8192}
    assert {"allam-2-7b", "gemma2-9b-it"} <= set(models)
    # The user's 'openai' client is of another type: ours gets a name of its own, and the
    # comment says which variable aichat reads its key from.
    ours = next(c for c in clients if c.get("api_base") == catalog.provider("openai")["base_url"].rstrip("/"))
    assert ours["name"] == "openai_2" and ours["type"] == "openai-compatible"
    assert 'export OPENAI_2_API_KEY="$OPENAI_API_KEY"' in text


def test_a_merge_keeps_the_settings_the_user_set_unless_asked(catalog, tmp_path):
    path = tmp_path / "mods.yml"
    path.write_text(MODS_USER)
    result = catalog.export("mods", "--merge", str(path), "--provider", "groq")
    groq = check_mods(path.read_text())["apis"]["groq"]
    assert groq["base-url"] == "https://api.groq.com/openai/v1"
    assert groq["models"]["llama-3.3-70b-versatile"]["max-input-chars"] == 1000
    assert groq["models"]["gemma2-9b-it"]["max-input-chars"] == 3 * 8192, "a new entry gets vexy's value"
    assert "Kept 2 values you set (apis.groq.base-url, apis.groq.llama-3.3-70b-versatile.max-input-chars)" in (
        result.stderr
    )
    # Asked for: vexy's values replace them (the file before is the next numbered backup).
    result = catalog.export("mods", "--merge", str(path), "--provider", "groq", "--replace-settings")
    groq = check_mods(path.read_text())["apis"]["groq"]
    assert groq["base-url"] == catalog.provider("groq")["base_url"].rstrip("/")
    assert groq["models"]["llama-3.3-70b-versatile"]["max-input-chars"] == 3 * 131072
    assert groq["models"]["llama-3.3-70b-versatile"]["fallback"] == "gpt-4o", "only the settings change"
    assert "Kept" not in result.stderr
    assert (tmp_path / "mods.yml.bak").read_text() == MODS_USER
    assert "max-input-chars: 1000" in (tmp_path / "mods.yml.bak.2").read_text()


CODEX_USER = """\
# my codex config
model = "gpt-5"
approval_policy = "on-request"

[model_providers.groq] # hand-written
name = "Groq"
base_url = "https://api.groq.com/openai/v1"
env_key = "GROQ_API_KEY"
stream_max_retries = 10

[history]
persistence = "none"
"""

CODEX_PROFILE_USER = """\
# my llama profile
model = "llama-3.3-70b-versatile"
model_provider = "groq"
approval_policy = "never"
"""


def test_merge_into_codex_config(catalog, tmp_path):
    home = tmp_path / "codex-home"
    home.mkdir()
    config = home / "config.toml"
    config.write_text(CODEX_USER)
    profile = home / "groq-llama-3-3-70b-versatile.config.toml"
    profile.write_text(CODEX_PROFILE_USER)
    text = merge_twice(catalog, "codex", config, "--provider", "groq", "--provider", "ollama")
    for kept in ("# my codex config", "[model_providers.groq] # hand-written", "[history]"):
        assert kept in text
    doc = tomllib.loads(text)
    assert (doc["model"], doc["approval_policy"], doc["history"]) == ("gpt-5", "on-request", {"persistence": "none"})
    groq = doc["model_providers"]["groq"]
    assert catalog.provider("groq")["base_url"].rstrip("/") != "https://api.groq.com/openai/v1"
    assert groq == {
        "name": "Groq",  # the user's display name stays
        "base_url": "https://api.groq.com/openai/v1",  # and where the user connects
        "env_key": "GROQ_API_KEY",
        "stream_max_retries": 10,
        "wire_api": "responses",
    }
    assert "vexy-ollama" in doc["model_providers"] and "ollama" not in doc["model_providers"]
    merged_profile = profile.read_text()
    assert merged_profile.startswith("# my llama profile")
    merged = tomllib.loads(merged_profile)
    merged.pop("model_catalog_json", None)  # with codex installed (test_feeds.py checks it)
    assert merged == {
        "model": "llama-3.3-70b-versatile",
        "model_provider": "groq",
        "approval_policy": "never",
        "model_context_window": 131072,
    }
    assert profile.with_name(profile.name + ".bak").read_text() == CODEX_PROFILE_USER
    assert (home / "groq-allam-2-7b.config.toml").exists()
    assert not (home / "groq-allam-2-7b.config.toml.bak").exists(), "a new file has no .bak"
    # And Codex takes the merged files.
    codex = require_client(codex_binary(), "codex (npm @openai/codex)")
    run = tmp_path / "run"
    run.mkdir()
    source = tmp_path / "source"
    source.mkdir()
    for path in [*home.glob("*.toml"), *home.glob("*.models.json")]:
        (source / path.name).write_text(path.read_text())
    for name in ("groq-llama-3-3-70b-versatile", "vexy-ollama-llama3-2-3b"):
        assert codex_check(codex, source, run, name) is None


MODS_USER = """\
# mods settings
default-model: gpt-4o   # keep
format-text:
  markdown: '{{ index .Config.FormatText "markdown" }}'
max-input-chars: 12250
apis:
  openai:
    base-url: https://api.openai.com/v1
    api-key-env: OPENAI_API_KEY
    models:
      gpt-4o:
        aliases: ["4o"]
        max-input-chars: 392000
  groq: # mine
    base-url: https://api.groq.com/openai/v1
    api-key-env: GROQ_API_KEY
    models:
      llama-3.3-70b-versatile:
        aliases: ["llama3.3"]
        max-input-chars: 1000
        fallback: gpt-4o
"""


def test_merge_into_mods_config(catalog, tmp_path):
    path = tmp_path / "mods.yml"
    path.write_text(MODS_USER)
    text = merge_twice(catalog, "mods", path, "--provider", "groq", "--provider", "mistral")
    doc = check_mods(text)
    for kept in ("# mods settings", "default-model: gpt-4o   # keep", "groq: # mine", 'aliases: ["4o"]'):
        assert kept in text
    assert list(doc)[:4] == ["default-model", "format-text", "max-input-chars", "apis"]
    assert "default-api" not in doc, "the user's default model stays the default"
    assert (doc["temp"], doc["topp"]) == (1.0, 1.0), "added when missing"
    assert doc["apis"]["openai"]["models"] == {"gpt-4o": {"aliases": ["4o"], "max-input-chars": 392000}}
    llama = doc["apis"]["groq"]["models"]["llama-3.3-70b-versatile"]
    assert llama == {
        "aliases": ["llama3.3", "groq/llama-3.3-70b-versatile"],
        "max-input-chars": 1000,  # the user's budget stays
        "fallback": "gpt-4o",
    }
    assert 'aliases: ["llama3.3", groq/llama-3.3-70b-versatile]' in text, "the user's list keeps its style"
    assert list(doc["apis"]) == ["openai", "groq", "mistral"]


def test_merge_into_llm_and_litellm_files(catalog, tmp_path):
    llm = tmp_path / "extra-openai-models.yaml"
    llm.write_text("# mine\n- model_id: local\n  model_name: local-model\n  api_base: http://localhost:8080/v1\n")
    text = merge_twice(catalog, "llm", llm, "--provider", "groq")
    entries = load(text)
    assert text.startswith("# mine\n") and entries[0] == {
        "model_id": "local",
        "model_name": "local-model",
        "api_base": "http://localhost:8080/v1",
    }
    assert "groq/llama-3.3-70b-versatile" in {e["model_id"] for e in entries}
    litellm = tmp_path / "litellm-config.yaml"
    litellm.write_text("general_settings:\n  master_key: os.environ/LITELLM_MASTER_KEY\nmodel_list: []\n")
    doc = check_litellm(merge_twice(catalog, "litellm", litellm, "--provider", "mistral"))
    assert doc["general_settings"] == {"master_key": "os.environ/LITELLM_MASTER_KEY"}
    assert {i["model_name"] for i in doc["model_list"]} == {
        "mistral/codestral-latest",
        "mistral/mistral-large-latest",
        "mistral/voxtral-mini-2507",
    }


def test_merge_into_a_missing_file_creates_it(catalog, tmp_path):
    path = tmp_path / "new" / "config.yaml"
    result = catalog.export("aichat", "--merge", str(path), "--provider", "groq")
    assert "Wrote" in result.stderr and check_aichat(path.read_text())
    assert not path.with_name("config.yaml.bak").exists()


def test_merge_to_another_output_leaves_the_original(catalog, tmp_path):
    path = tmp_path / "mods.yml"
    path.write_text(MODS_USER)
    catalog.export("mods", "--merge", str(path), "-o", str(tmp_path / "preview.yml"), "--provider", "groq")
    assert path.read_text() == MODS_USER and not (tmp_path / "mods.yml.bak").exists()
    assert "fallback: gpt-4o" in (tmp_path / "preview.yml").read_text()


@pytest.mark.parametrize(
    ("tool", "text", "message"),
    [
        ("aichat", "clients: [\n", "not valid YAML"),
        ("aichat", "clients: 3\n", "'clients' in the aichat config is not a list"),
        ("mods", "- a list\n", "not a mapping"),
        ("codex", "model = \n", "not valid TOML"),
    ],
)
def test_an_unmergeable_file_is_left_alone(catalog, tmp_path, tool, text, message):
    path = tmp_path / ("config.toml" if tool == "codex" else "file.yaml")
    path.write_text(text)
    result = catalog.run("export", tool, "--merge", str(path))
    assert result.exit_code == 1 and "Cannot merge into" in result.stderr and message in result.stderr
    assert path.read_text() == text and not os.path.exists(str(path) + ".bak")


def test_a_codex_merge_keeps_where_the_user_connects_unless_asked(catalog, tmp_path):
    config = tmp_path / "config.toml"
    config.write_text(CODEX_USER)
    result = catalog.export("codex", "--merge", str(config), "--provider", "groq")
    assert "Kept 1 value you set (model_providers.groq.base_url)" in result.stderr
    assert tomllib.loads(config.read_text())["model_providers"]["groq"]["base_url"] == "https://api.groq.com/openai/v1"
    result = catalog.export("codex", "--merge", str(config), "--provider", "groq", "--replace-settings")
    assert "Kept" not in result.stderr
    groq = tomllib.loads(config.read_text())["model_providers"]["groq"]
    assert groq["base_url"] == catalog.provider("groq")["base_url"].rstrip("/")
    assert groq["stream_max_retries"] == 10, "only the settings change"
