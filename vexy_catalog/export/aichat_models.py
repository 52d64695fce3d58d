"""aichat's ``models.yaml``: the model list ``aichat --sync-models`` fetches (``sync_models_url``).

A YAML list of ``{provider, models}`` in the shape aichat's ``src/client/model.rs`` reads
(``Vec<ProviderModels>``). Each entry's ``provider`` is the client name ``vexy export aichat``
gives the provider (so the two exports agree), or ``claude`` for Anthropic's API, which aichat
matches by client type. An ``openai-compatible`` client takes the first entry whose
``provider`` its name starts with, so longer names come first. Models are those of the config
export (chat, embedding and rerank), with USD per 1M token prices, and unknown numbers left out
(aichat shows them as ``-``).

aichat replaces its whole built-in list with the synced one: the feed must carry every
provider the user runs through aichat.
"""

from __future__ import annotations

from typing import Any

from .aichat import client_names, client_type, model_entries
from .common import ExportData
from .merge import dump_yaml

FILENAME = "models.yaml"
MEDIA_TYPE = "application/yaml"


def build(data: ExportData) -> list[dict[str, Any]]:
    groups = [(p, model_entries(p, rows)) for p, rows in data.by_provider()]
    groups = [(p, models) for p, models in groups if models]
    names = client_names([p for p, _ in groups])
    entries: dict[str, list[dict[str, Any]]] = {}
    for provider, models in groups:
        name = "claude" if client_type(provider) == "claude" else names[provider.name]
        listed = entries.setdefault(name, [])
        seen = {m["name"] for m in listed}
        listed.extend(m for m in models if m["name"] not in seen)
    # Longest names first: aichat takes the first entry a client's name starts with.
    return [{"provider": name, "models": entries[name]} for name in sorted(entries, key=lambda n: (-len(n), n))]


def render(data: ExportData) -> str:
    return dump_yaml(build(data))
