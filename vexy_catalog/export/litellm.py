"""LiteLLM proxy: ``model_list`` of its ``config.yaml`` (``litellm --config litellm-config.yaml``).

One deployment per model of a callable provider: ``model_name`` ``<provider>/<model id>``;
``litellm_params`` with the route, ``api_base`` and ``api_key: os.environ/<VAR>``; and
``model_info`` with ``mode``, the limits and the prices in USD *per token* (the catalog stores
USD per 1M tokens; LiteLLM wants per token). The prices are also given in ``litellm_params``,
where LiteLLM's cost tracking reads custom prices.

Routes: LiteLLM's own provider route where it has one that speaks the same API
(``groq/<id>``, ``mistral/<id>``, ``anthropic/<id>``...), else the generic ``openai/<id>``
with ``api_base``. This matters for keys: when ``<VAR>`` is unset, a native route falls back to
that provider's own variable, but the ``openai/`` route falls back to ``OPENAI_API_KEY`` - so the
hint lists the variables to set (those unset where the export runs), and a keyless provider gets the
placeholder ``api_key: none``.
For Anthropic, LiteLLM appends ``/v1/messages`` to an ``api_base`` that lacks it, so the base
is given as ``<base_url>/messages`` when it ends in ``/v1``.

Modes: chat (and unknown type), completion, embedding and image (``image_generation``); rerank,
audio and moderation models are left out (the generic route cannot serve them reliably).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .common import CHAT_TYPES, ExportData, Provider, per_token
from .merge import MergeError, dump_yaml, load_yaml, set_setting, set_value, yaml_types

FILENAME = "litellm-config.yaml"
# Our provider name -> LiteLLM's route for an OpenAI-compatible API it knows natively.
NATIVE_ROUTES = {
    "cerebras": "cerebras",
    "deepinfra": "deepinfra",
    "deepseek": "deepseek",
    "fireworks": "fireworks_ai",
    "groq": "groq",
    "mistral": "mistral",
    "openai": "openai",
    "openrouter": "openrouter",
    "togetherai": "together_ai",
    "xai": "xai",
}
MODES = {
    None: "chat",
    "chat": "chat",
    "completion": "completion",
    "embedding": "embedding",
    "image": "image_generation",
}
KEYLESS = "none"
HEADER = (
    "LiteLLM proxy models written by `vexy export litellm`: litellm --config <this file>.\n"
    "Prices are USD per token. Keys come from the environment (os.environ/VAR)."
)


# Where and with which key to connect: the user's once in their file (a merge keeps them).
SETTINGS = ("model", "api_base", "api_key")


def route(provider: Provider) -> str:
    if provider.kind == "anthropic":
        return "anthropic"
    return NATIVE_ROUTES.get(provider.name, "openai")


def api_base(provider: Provider) -> str:
    base = provider.api_base
    if provider.kind == "anthropic" and base.endswith("/v1"):
        return base + "/messages"
    return base


def deployments(data: ExportData) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider, rows in data.by_provider():
        for row in rows:
            if row["model_type"] not in MODES:
                continue
            name = f"{provider.name}/{row['model_id']}"
            if name in seen:
                continue
            seen.add(name)
            params: dict[str, Any] = {
                "model": f"{route(provider)}/{row['model_id']}",
                "api_base": api_base(provider),
                "api_key": f"os.environ/{provider.api_key_env}" if provider.api_key_env else KEYLESS,
            }
            info: dict[str, Any] = {"mode": MODES[row["model_type"]]}
            if row["context_window"] is not None:
                info["max_input_tokens"] = int(row["context_window"])
            if row["max_output_tokens"] is not None:
                info["max_output_tokens"] = info["max_tokens"] = int(row["max_output_tokens"])
            for column, key in (("input_price", "input_cost_per_token"), ("output_price", "output_cost_per_token")):
                if row[column] is not None and (column == "input_price" or row["model_type"] in CHAT_TYPES):
                    params[key] = info[key] = per_token(row[column])
            for column, key in (
                ("supports_tools", "supports_function_calling"),
                ("supports_vision", "supports_vision"),
                ("supports_reasoning", "supports_reasoning"),
            ):
                if row[column] is not None and row["model_type"] in CHAT_TYPES:
                    info[key] = bool(row[column])
            out.append({"model_name": name, "litellm_params": params, "model_info": info})
    return out


def render(data: ExportData, existing: str | None = None) -> str:
    doc = load_yaml(existing, "The LiteLLM config")
    Map, Seq = yaml_types(doc)
    if doc is None:
        doc = Map()
        doc.yaml_set_start_comment(HEADER)
    if not isinstance(doc, dict):
        raise MergeError("The LiteLLM config is not a mapping at the top level")
    model_list = doc.get("model_list")
    if model_list is None:
        model_list = doc["model_list"] = Seq()
    if not isinstance(model_list, list):
        raise MergeError("'model_list' in the LiteLLM config is not a list")
    index = {d.get("model_name"): d for d in model_list if isinstance(d, dict)}
    for deployment in deployments(data):
        target = index.get(deployment["model_name"])
        if target is None:
            target = Map()
            model_list.append(target)
        set_value(target, "model_name", deployment["model_name"])
        for section in ("litellm_params", "model_info"):
            current = target.get(section)
            if not isinstance(current, dict):
                current = target[section] = Map()
            for key, value in deployment[section].items():
                if section == "litellm_params" and key in SETTINGS:
                    set_setting(current, key, value, f"{deployment['model_name']}.{section}")
                else:
                    set_value(current, key, value)
    return dump_yaml(doc)


def hint(data: ExportData, environ: Mapping[str, str] | None = None) -> str | None:
    """The variables an ``openai/`` route needs that are unset here (read now, names only)."""
    env = os.environ if environ is None else environ
    generic = sorted(
        {
            p.api_key_env
            for p, _ in data.by_provider()
            if p.api_key_env
            and route(p) == "openai"
            and p.api_key_env != "OPENAI_API_KEY"
            and not env.get(p.api_key_env)
        }
    )
    if not generic:
        return None
    return (
        "LiteLLM sends OPENAI_API_KEY to an openai/ route whose own variable is unset: set these before "
        f"starting the proxy (or remove those models): {', '.join(generic)}"
    )
