"""mods: ``apis.<name>`` in ``mods.yml`` (``~/.config/mods/mods.yml``).

mods picks its client by the API's *name*: ``anthropic`` gets the Anthropic client, ``ollama``,
``google``, ``cohere``, ``azure`` and ``azure-ad`` theirs, any other name the OpenAI-compatible
client with ``base-url``. So an openai-kind provider with one of those names is exported as
``<name>-openai``, and the anthropic-kind provider named ``anthropic`` as ``anthropic``; other
anthropic-kind providers cannot be expressed and are left out (the hint says so).

Models: chat models (and those of unknown type), keyed by id, each with one alias
``<api>/<model id>`` (skipped if it would clash with any other alias or model name in the file)
and ``max-input-chars``:

    max-input-chars = 3 * context_window      (12250 when the context window is unknown)

mods truncates the prompt to that many bytes, and to nothing when it is missing. 3 bytes per
token is mods' own rule in its template (gpt-4o: 128k tokens, 392000 chars); 12250 is the
template's default, about a 4k-token window. The top-level ``temp``/``topp`` (mods sends 0 when
missing) and ``max-input-chars`` are added when the file lacks them, ``default-api`` and
``default-model`` when it has neither (a chat model known to call tools with the largest
context, see :func:`~vexy_catalog.export.common.default_model`).

Keys: ``api-key-env`` names the provider's variable. mods sends ``OPENAI_API_KEY`` to an
OpenAI-compatible API whose variable is unset, so a keyless provider gets the placeholder
``api-key: none`` instead (not a secret: it keeps the OpenAI key at home).
"""

from __future__ import annotations

from typing import Any

from .common import CHAT_TYPES, ExportData, Provider, default_model
from .merge import MergeError, dump_yaml, load_yaml, set_setting, yaml_types

FILENAME = "mods.yml"
CHARS_PER_TOKEN = 3
DEFAULT_MAX_INPUT_CHARS = 12250
SPECIAL_APIS = frozenset({"anthropic", "google", "cohere", "ollama", "azure", "azure-ad"})
HEADER = (
    "mods APIs written by `vexy export mods`. max-input-chars is 3 x the model's context window\n"
    "(mods truncates the prompt to it). mods falls back to OPENAI_API_KEY when an API's\n"
    "api-key-env variable is unset: set the variables of the APIs you use."
)
KEYLESS_COMMENT = "no key needed; a placeholder, so mods does not send OPENAI_API_KEY here"


def max_input_chars(context_window: int | None) -> int:
    if not context_window:
        return DEFAULT_MAX_INPUT_CHARS
    return CHARS_PER_TOKEN * int(context_window)


def api_name(provider: Provider) -> str | None:
    """The name under ``apis``, or None when mods cannot call the provider."""
    if provider.kind == "anthropic":
        return "anthropic" if provider.name == "anthropic" else None
    return f"{provider.name}-openai" if provider.name in SPECIAL_APIS else provider.name


def selected(data: ExportData) -> tuple[list[tuple[str, Provider, list[dict[str, Any]]]], list[str]]:
    """(api name, provider, models) for what mods gets, and the providers left out."""
    out, left_out = [], []
    for provider, rows in data.by_provider():
        models = [r for r in rows if r["model_type"] in CHAT_TYPES]
        if not models:
            continue
        name = api_name(provider)
        if name is None:
            left_out.append(provider.name)
            continue
        out.append((name, provider, models))
    return out, left_out


def render(data: ExportData, existing: str | None = None) -> str:
    doc = load_yaml(existing, "The mods config")
    Map, _ = yaml_types(doc)
    if doc is None:
        doc = Map()
        doc.yaml_set_start_comment(HEADER)
    if not isinstance(doc, dict):
        raise MergeError("The mods config is not a mapping at the top level")
    groups, _ = selected(data)
    best = default_model((provider, row) for _, provider, models in groups for row in models)
    if "default-api" not in doc and "default-model" not in doc and best:
        doc["default-api"] = next(name for name, provider, _ in groups if provider is best[0])
        doc["default-model"] = best[1]["model_id"]
    for key, value in (("max-input-chars", DEFAULT_MAX_INPUT_CHARS), ("temp", 1.0), ("topp", 1.0)):
        if key not in doc:
            doc[key] = value
    apis = doc.get("apis")
    if apis is None:
        apis = doc["apis"] = Map()
    if not isinstance(apis, dict):
        raise MergeError("'apis' in the mods config is not a mapping")

    # Aliases and model names already used by entries we will not rewrite: ours must not clash.
    ours = {(name, row["model_id"]) for name, _, models in groups for row in models}
    used: set[str] = set()
    for name, api in apis.items():
        models = api.get("models") if isinstance(api, dict) else None
        for model_id, model in (models or {}).items():
            used.add(str(model_id))
            if (name, model_id) not in ours and isinstance(model, dict):
                used.update(str(a) for a in model.get("aliases") or [])
    used.update(model_id for _, model_id in ours)

    for name, provider, models in groups:
        api = apis.get(name)
        if api is None:
            api = apis[name] = Map()
        set_setting(api, "base-url", provider.api_base, f"apis.{name}")
        if provider.api_key_env:
            set_setting(api, "api-key-env", provider.api_key_env, f"apis.{name}")
        elif not api.get("api-key") and not api.get("api-key-cmd"):
            set_setting(api, "api-key", "none", f"apis.{name}")
            api.yaml_add_eol_comment(KEYLESS_COMMENT, "api-key")
        current = api.get("models")
        if not isinstance(current, dict):
            current = api["models"] = Map()
        for row in models:
            model = current.get(row["model_id"])
            if model is None:
                model = current[row["model_id"]] = Map()
            alias = f"{name}/{row['model_id']}"
            if alias not in used:
                used.add(alias)
                aliases = model.get("aliases")
                if not isinstance(aliases, list):
                    model["aliases"] = [alias]
                elif alias not in aliases:
                    aliases.append(alias)  # in place: the user's list keeps its style
            # mods' input budget: the user's once set (a merge keeps it; --replace-settings resets it).
            set_setting(
                model, "max-input-chars", max_input_chars(row["context_window"]), f"apis.{name}.{row['model_id']}"
            )
    return dump_yaml(doc)


def hint(data: ExportData) -> str | None:
    _, left_out = selected(data)
    if not left_out:
        return None
    return (
        f"Left out of mods.yml: {', '.join(left_out)} (mods uses its Anthropic client only for the API "
        "named 'anthropic')."
    )
