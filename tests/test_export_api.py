"""The seed's Python API for exports: StorageManager and ConfigManager, and atomic writes."""

from __future__ import annotations

import json
import os

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from export_helpers import check_aichat, check_litellm, check_mods
from ruamel.yaml import YAML

from vexy_catalog.export import ConfigManager, StorageManager, atomic_write_text

GROQ_MODELS = {
    "models": [
        {"id": "llama-3.3-70b-versatile", "max_input_tokens": 131072, "max_output_tokens": 32768},
        {"id": "openai/gpt-oss-120b", "context_window": 131072, "max_completion_tokens": 65536},
    ]
}


def test_storage_manager(tmp_path):
    storage = StorageManager(tmp_path)
    path = storage.store_json("models_groq.json", {"data": [{"id": "a"}]})
    assert path == (tmp_path / "models" / "models_groq.json").resolve()
    assert storage.read_json("models_groq.json") == {"data": [{"id": "a"}]}
    assert json.loads(path.read_text()) == {"data": [{"id": "a"}]}
    storage.store_text("models_groq.txt", "a\n")
    storage.store_text("notes.md", "x", subdirectory="other")
    assert [p.name for p in storage.list_files("models")] == ["models_groq.json", "models_groq.txt"]
    assert [p.name for p in storage.list_files("models", "*.txt")] == ["models_groq.txt"]
    assert storage.list_files("missing") == []
    with pytest.raises(ValueError, match="outside"):
        storage.store_text("../../escape.txt", "x")
    assert StorageManager().root_path == tmp_path  # the current directory (conftest chdirs here)


def test_atomic_write_keeps_a_backup_and_skips_unchanged(tmp_path):
    path = tmp_path / "f.yaml"
    assert atomic_write_text(path, "one\n", backup=True)
    assert not (tmp_path / "f.yaml.bak").exists()
    os.chmod(path, 0o600)
    assert atomic_write_text(path, "two\n", backup=True)
    assert (tmp_path / "f.yaml.bak").read_text() == "one\n" and path.read_text() == "two\n"
    assert (path.stat().st_mode & 0o777) == 0o600, "permissions carry over"
    assert not atomic_write_text(path, "two\n", backup=True)
    assert (tmp_path / "f.yaml.bak").read_text() == "one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.yaml", "f.yaml.bak"]


def test_config_manager_generates_each_clients_file(tmp_path):
    manager = ConfigManager(tmp_path / "config")
    aichat = manager.generate_aichat_config("groq", GROQ_MODELS)
    assert aichat == tmp_path / "config" / "aichat" / "config.yaml"
    doc = check_aichat(aichat.read_text())
    (client,) = doc["clients"]
    assert client["name"] == "groq" and client["api_base"] == "https://api.groq.com/openai/v1"
    assert client["models"][0] == {
        "name": "llama-3.3-70b-versatile",
        "max_input_tokens": 131072,
        "max_output_tokens": 32768,
    }
    # A second provider joins the same config.
    manager.generate_aichat_config("mistral", {"data": [{"id": "mistral-large-latest", "max_context_length": 131072}]})
    assert [c["name"] for c in check_aichat(aichat.read_text())["clients"]] == ["groq", "mistral"]

    codex = manager.generate_codex_config("groq", GROQ_MODELS)
    assert codex.name == "config.toml"
    assert tomllib.loads(codex.read_text())["model_providers"]["groq"]["env_key"] == "GROQ_API_KEY"
    assert tomllib.loads((codex.parent / "groq-openai-gpt-oss-120b.config.toml").read_text()) == {
        "model": "openai/gpt-oss-120b",
        "model_provider": "groq",
        "model_context_window": 131072,
    }
    mods = check_mods(manager.generate_mods_config("groq", GROQ_MODELS).read_text())
    assert mods["apis"]["groq"]["models"]["openai/gpt-oss-120b"]["max-input-chars"] == 393216
    llm = YAML(typ="safe").load(manager.generate_llm_config("groq", GROQ_MODELS).read_text())
    assert [e["model_id"] for e in llm] == ["groq/llama-3.3-70b-versatile", "groq/openai/gpt-oss-120b"]
    litellm = check_litellm(manager.generate_litellm_config("groq", GROQ_MODELS).read_text())
    assert litellm["model_list"][0]["model_info"]["max_output_tokens"] == 32768
    # A provider of the user's own needs its URL.
    with pytest.raises(ValueError, match="base_url"):
        manager.generate_aichat_config("corp", GROQ_MODELS)
    corp = manager.generate_mods_config("corp", GROQ_MODELS, base_url="https://llm.corp/v1", api_key_env="CORP_KEY")
    assert check_mods(corp.read_text())["apis"]["corp"]["api-key-env"] == "CORP_KEY"
