"""OpenCode: the ``provider`` blocks of ``opencode.json`` (``~/.config/opencode/opencode.json``).

For users who keep OpenCode's own catalog and add providers to it, rather than replacing the
catalog with the models.dev feed (:mod:`.modelsdev`). One block per callable provider with chat
models: ``npm`` (as in the feed), ``name``, ``options.baseURL`` and ``options.apiKey:
"{env:VAR}"`` (OpenCode substitutes the variable; a keyless provider gets no key, and OpenCode
lists a provider defined in config even without one), and ``models`` keyed by id, each with
what the catalog knows: ``tool_call``, ``attachment``, ``reasoning``, ``cost`` (USD per 1M,
input and output both known), ``modalities``. ``limit`` needs both numbers, so it is written
when the context window is known, with the output limit or ``DEFAULT_MAX_OUTPUT``; without it
OpenCode treats both as unknown. A block whose id is one of OpenCode's catalog providers is
merged into it by OpenCode.

``--merge`` keeps everything else in the file (key order too; JSON has no comments to keep) and
a display name the user gave a provider.
"""

from __future__ import annotations

from typing import Any

from .common import ExportData, chat_groups, display_name, known, output_limit
from .merge import child, dump_json, load_json_config, set_setting, set_value
from .modelsdev import FLAGS, cost, modalities, npm_package

FILENAME = "opencode.json"
MEDIA_TYPE = "application/json"
SCHEMA = "https://opencode.ai/config.json"


def model_entry(row: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": display_name(row)}
    entry.update(known(row, FLAGS, bool))
    prices = cost(row)
    if prices is not None:
        entry["cost"] = prices
    if row["context_window"] is not None:
        entry["limit"] = {"context": int(row["context_window"]), "output": output_limit(row)}
    found = modalities(row)
    if found and set(found) == {"input", "output"}:
        entry["modalities"] = found
    return entry


def render(data: ExportData, existing: str | None = None) -> str:
    doc = load_json_config(existing, "The OpenCode config", SCHEMA)
    where = "in the OpenCode config"
    providers = child(doc, "provider", dict, f"'provider' {where}")
    for provider, rows in chat_groups(data):
        path = f"provider.{provider.name}"
        block = child(providers, provider.name, dict, f"'{path}' {where}")
        set_value(block, "npm", npm_package(provider))
        block.setdefault("name", provider.name)
        options = child(block, "options", dict, f"'{path}.options' {where}")
        set_setting(options, "baseURL", provider.api_base, f"{path}.options")
        if provider.api_key_env:
            set_setting(options, "apiKey", f"{{env:{provider.api_key_env}}}", f"{path}.options")
        models = child(block, "models", dict, f"'{path}.models' {where}")
        for row in rows:
            target = child(models, row["model_id"], dict, f"'{path}.models.{row['model_id']}' {where}")
            for key, value in model_entry(row).items():
                set_value(target, key, value)
    return dump_json(doc)
