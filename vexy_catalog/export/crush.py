"""Crush: the ``providers`` of ``crush.json`` (``./crush.json`` or ``~/.config/crush/crush.json``).

For users who add providers to Crush's own list rather than replacing it through the Catwalk
feed (:mod:`.catwalk`). One provider per callable provider with chat models: ``name``, ``type``
(as in the feed), ``base_url``, ``api_key: "$VAR"`` (Crush expands it; a keyless provider gets
none, which Crush only warns about) and ``models``, an array of Catwalk models, the same
entries as the feed: prices in USD per 1M tokens (``cost_per_1m_out_cached`` is the cache read
price), unknown keys left out, ``default_max_tokens`` the output limit or ``DEFAULT_MAX_OUTPUT``.

``--merge`` keeps everything else in the file; models are matched by ``id``, and keys of a
model that the catalog does not write (the user's ``options``, say) are kept.
"""

from __future__ import annotations

from typing import Any

from .catwalk import endpoint, model_entry, provider_type
from .common import ExportData, chat_groups
from .merge import child, dump_json, load_json_config, set_setting, set_value

FILENAME = "crush.json"
MEDIA_TYPE = "application/json"
SCHEMA = "https://charm.land/crush.json"


def render(data: ExportData, existing: str | None = None) -> str:
    doc = load_json_config(existing, "The Crush config", SCHEMA)
    where = "in the Crush config"
    providers = child(doc, "providers", dict, f"'providers' {where}")
    for provider, rows in chat_groups(data):
        path = f"providers.{provider.name}"
        block = child(providers, provider.name, dict, f"'{path}' {where}")
        block.setdefault("name", provider.name)
        set_value(block, "type", provider_type(provider))
        set_setting(block, "base_url", endpoint(provider), path)
        if provider.api_key_env:
            set_setting(block, "api_key", f"${provider.api_key_env}", path)
        models = child(block, "models", list, f"'{path}.models' {where}")
        index = {m.get("id"): m for m in models if isinstance(m, dict)}
        for row in rows:
            entry: dict[str, Any] = model_entry(row)
            target = index.get(entry["id"])
            if target is None:
                target = {}
                models.append(target)
            for key, value in entry.items():
                set_value(target, key, value)
    return dump_json(doc)
