"""aichat: the ``clients:`` of ``config.yaml`` (``~/.config/aichat/config.yaml``).

One client per callable provider: ``type: claude`` for the anthropic kind, ``openai-compatible``
for the rest. aichat reads a client's key from ``<NAME>_API_KEY`` (the name upper-cased), so the
client is named after the provider's key variable where that works (``GROQ_API_KEY`` -> ``groq``,
``GOOGLE_API_KEY`` -> ``google``); otherwise it is named after the provider and a comment on its
``name`` says which variable to set (``FRIENDLI_API_KEY="$FRIENDLI_TOKEN"``).

Models: chat models (and those of unknown type) plus embedding (``type: embedding``) and rerank
(``type: reranker``) models; completion, image, audio and moderation models are left out, since
aichat would send them chat requests. Prices are USD per 1M tokens, as in aichat's models.yaml.
Claude clients get ``require_max_tokens: true`` (Anthropic's API requires ``max_tokens``), with
4096 when the catalog does not know the model's output limit. A new config's ``model`` (the
default) is a chat model known to call tools with the largest context (see
:func:`~vexy_catalog.export.common.default_model`).
"""

from __future__ import annotations

import re
from typing import Any

from .common import CHAT_TYPES, ExportData, Provider, default_model, price, slug
from .merge import MergeError, dump_yaml, load_yaml, set_setting, set_value, yaml_types

FILENAME = "config.yaml"
NAME_RE = re.compile(r"^[a-z0-9_]+$")
AICHAT_TYPES = {"embedding": "embedding", "rerank": "reranker"}
CLAUDE_DEFAULT_MAX_OUTPUT = 4096
HEADER = (
    "aichat config written by `vexy export aichat`. Each client reads its key from <NAME>_API_KEY\n"
    "(the client name upper-cased); a comment on a client's name says when that differs from the\n"
    "provider's own variable. Prices are USD per 1M tokens."
)


def client_type(provider: Provider) -> str:
    return "claude" if provider.kind == "anthropic" else "openai-compatible"


def key_variable(client_name: str) -> str:
    """The variable aichat reads a client's key from."""
    return f"{client_name}_api_key".upper()


def client_names(providers: list[Provider], existing: dict[str, str] | None = None) -> dict[str, str]:
    """Provider name -> client name: unique, ``[a-z0-9_]``, and where possible the name whose
    ``<NAME>_API_KEY`` is the provider's variable. ``existing`` maps the client names already in
    a config to their type: a name held by a client of another type is not taken over."""
    existing = existing or {}
    taken: set[str] = set()
    names: dict[str, str] = {}

    def free(name: str, provider: Provider) -> bool:
        return (
            bool(NAME_RE.match(name))
            and name not in taken
            and existing.get(name, client_type(provider)) == (client_type(provider))
        )

    def from_key(p: Provider) -> str | None:
        env = p.api_key_env or ""
        return env[: -len("_API_KEY")].lower() if env.endswith("_API_KEY") and len(env) > 8 else None

    # Providers whose own name is their key's prefix (groq, GROQ_API_KEY) choose first.
    ordered = sorted(providers, key=lambda p: (from_key(p) != p.name.replace("-", "_"), p.name))
    for p in ordered:
        candidate = from_key(p)
        if candidate and free(candidate, p):
            names[p.name] = candidate
            taken.add(candidate)
    for p in ordered:
        if p.name in names:
            continue
        base = slug(p.name).replace("-", "_") or "provider"
        candidate, n = base, 1
        while not free(candidate, p):
            n += 1
            candidate = f"{base}_{n}"
        names[p.name] = candidate
        taken.add(candidate)
    return names


def key_comment(provider: Provider, name: str) -> str | None:
    wanted = key_variable(name)
    if not provider.api_key_env:
        return "no key needed"
    if provider.api_key_env == wanted:
        return None
    return f'aichat reads the key from {wanted}: export {wanted}="${provider.api_key_env}"'


def model_entries(provider: Provider, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    claude = provider.kind == "anthropic"
    for row in rows:
        kind = row["model_type"]
        if kind not in CHAT_TYPES and kind not in AICHAT_TYPES:
            continue
        entry: dict[str, Any] = {"name": row["model_id"]}
        if kind in AICHAT_TYPES:
            entry["type"] = AICHAT_TYPES[kind]
        if row["context_window"] is not None:
            entry["max_input_tokens"] = int(row["context_window"])
        chat = kind in CHAT_TYPES
        max_out = row["max_output_tokens"]
        if chat and claude and max_out is None:
            max_out = CLAUDE_DEFAULT_MAX_OUTPUT
        if chat and max_out is not None:
            entry["max_output_tokens"] = int(max_out)
        if chat and claude:
            entry["require_max_tokens"] = True
        if row["input_price"] is not None:
            entry["input_price"] = price(row["input_price"])
        if chat and row["output_price"] is not None:
            entry["output_price"] = price(row["output_price"])
        if chat and row["supports_vision"] is not None:
            entry["supports_vision"] = bool(row["supports_vision"])
        if chat and row["supports_tools"] is not None:
            entry["supports_function_calling"] = bool(row["supports_tools"])
        out.append(entry)
    return out


def render(data: ExportData, existing: str | None = None) -> str:
    """The config: a new one, or ``existing`` with our clients added or updated."""
    doc = load_yaml(existing, "The aichat config")
    fresh = doc is None
    Map, Seq = yaml_types(doc)
    if fresh:
        doc = Map()
        doc.yaml_set_start_comment(HEADER)
    if not isinstance(doc, dict):
        raise MergeError("The aichat config is not a mapping at the top level")
    clients = doc.get("clients")
    if clients is None:
        clients = doc["clients"] = Seq()
    if not isinstance(clients, list):
        raise MergeError("'clients' in the aichat config is not a list")
    by_name: dict[str, Any] = {}
    existing_types: dict[str, str] = {}
    for client in clients:
        if isinstance(client, dict) and isinstance(client.get("name", client.get("type")), str):
            name = client.get("name", client.get("type"))
            by_name.setdefault(name, client)
            existing_types.setdefault(name, str(client.get("type")))

    groups = [(p, model_entries(p, rows)) for p, rows in data.by_provider()]
    groups = [(p, models) for p, models in groups if models]
    names = client_names([p for p, _ in groups], existing_types)
    for provider, models in groups:
        name = names[provider.name]
        client = by_name.get(name)
        if client is None:
            client = Map()
            clients.append(client)
        set_value(client, "type", client_type(provider))
        set_value(client, "name", name)
        comment = key_comment(provider, name)
        if comment and "name" not in client.ca.items:
            client.yaml_add_eol_comment(comment, "name")
        set_setting(client, "api_base", provider.api_base, f"clients.{name}")
        _merge_models(client, models)
    best = default_model((p, row) for p, rows in data.by_provider() if p.name in names for row in rows)
    if fresh and best:
        doc.insert(0, "model", f"{names[best[0].name]}:{best[1]['model_id']}")
    return dump_yaml(doc)


def _merge_models(client: Any, models: list[dict[str, Any]]) -> None:
    Map, Seq = yaml_types(client)
    current = client.get("models")
    if not isinstance(current, list):
        current = client["models"] = Seq()
    index = {m.get("name"): m for m in current if isinstance(m, dict)}
    for model in models:
        target = index.get(model["name"])
        if target is None:
            target = Map()
            current.append(target)
        for key, value in model.items():
            set_value(target, key, value)
