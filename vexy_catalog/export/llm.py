"""simonw/llm: ``extra-openai-models.yaml`` (in ``$(dirname "$(llm logs path)")``).

One entry per chat model of an openai-kind provider (and ``completion: true`` for completion
models): ``model_id`` is ``<provider>/<model id>`` (so it never clashes with llm's built-in
ids), ``model_name`` the id sent to the API, ``api_base`` the provider's URL, and
``supports_tools``, ``vision`` and ``reasoning`` when the catalog knows they are true. llm has
no fields for limits or prices. Anthropic-kind providers are left out: llm's OpenAI client
cannot call them (the llm-anthropic plugin can).

Keys: llm does not read ``GROQ_API_KEY``. ``api_key_name`` is a key *alias* in llm's own
keys.json (the provider's name), and when no key is stored under it llm sends
``OPENAI_API_KEY`` instead - to that provider. So the export prints the ``llm keys set``
commands to run first. A provider without a key variable gets no ``api_key_name``: with an
``api_base`` set, llm then sends no key at all.
"""

from __future__ import annotations

from typing import Any

from .common import CHAT_TYPES, ExportData, Provider
from .merge import MergeError, dump_yaml, load_yaml, set_setting, set_value, yaml_types

FILENAME = "extra-openai-models.yaml"
HEADER = (
    "llm models written by `vexy export llm`. llm reads keys from its own key store: run\n"
    "`llm keys set <provider>` for each provider first, or llm sends OPENAI_API_KEY instead."
)


# Where and with which key to connect: the user's once in their file (a merge keeps them).
SETTINGS = ("api_base", "api_key_name")


def entries(data: ExportData) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider, rows in data.by_provider(kinds=("openai",)):
        for row in rows:
            if row["model_type"] not in (*CHAT_TYPES, "completion"):
                continue
            model_id = f"{provider.name}/{row['model_id']}"
            if model_id in seen:
                continue
            seen.add(model_id)
            entry: dict[str, Any] = {
                "model_id": model_id,
                "model_name": row["model_id"],
                "api_base": provider.api_base,
            }
            if provider.api_key_env:
                entry["api_key_name"] = provider.name
            if row["model_type"] == "completion":
                entry["completion"] = True
            for column, key in (("supports_tools", "supports_tools"), ("supports_vision", "vision")):
                if row[column] is True:
                    entry[key] = True
            if row["supports_reasoning"] is True:
                entry["reasoning"] = True
            out.append(entry)
    return out


def key_providers(data: ExportData) -> list[Provider]:
    names = {e["api_key_name"] for e in entries(data) if "api_key_name" in e}
    return [data.providers[n] for n in sorted(names)]


def render(data: ExportData, existing: str | None = None) -> str:
    doc = load_yaml(existing, "The llm extra-openai-models.yaml")
    Map, Seq = yaml_types(doc)
    if doc is None:
        doc = Seq()
        doc.yaml_set_start_comment(HEADER)
    if not isinstance(doc, list):
        raise MergeError("The llm extra-openai-models.yaml is not a list")
    index = {e.get("model_id"): e for e in doc if isinstance(e, dict)}
    for entry in entries(data):
        target = index.get(entry["model_id"])
        if target is None:
            target = Map()
            doc.append(target)
        for key, value in entry.items():
            if key in SETTINGS:
                set_setting(target, key, value, entry["model_id"])
            else:
                set_value(target, key, value)
    return dump_yaml(doc)


def hint(data: ExportData) -> str | None:
    providers = key_providers(data)
    left_out = [p.name for p, _ in data.by_provider(kinds=("anthropic",))]
    lines = []
    if providers:
        lines.append(
            "llm reads keys from its own key store, not from the environment, and sends OPENAI_API_KEY "
            "to a model whose key is not stored. Store each provider's key before using its models:"
        )
        lines += [f'  llm keys set {p.name} --value "${p.api_key_env}"' for p in providers]
    lines.append(f'Put the file in "$(dirname "$(llm logs path)")/{FILENAME}".')
    if left_out:
        lines.append(f"Left out (not OpenAI-compatible; see the llm-anthropic plugin): {', '.join(left_out)}.")
    return "\n".join(lines)
