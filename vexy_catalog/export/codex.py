"""Codex CLI (0.134+): ``[model_providers.<id>]`` in ``config.toml``, one profile file per model.

Codex now keeps profiles in files of their own, ``$CODEX_HOME/<profile>.config.toml``, selected
with ``codex -p <profile>``; the legacy ``[profiles.x]`` tables and ``profile = "x"`` are refused.
Each profile sets ``model``, ``model_provider`` and ``model_context_window`` (when known); Codex
has no setting for a model's output limit or prices.

- Providers: the openai kind only. Codex speaks only the Responses API (``wire_api =
  "responses"``; ``"chat"`` was removed), which Anthropic's API does not serve. Not every
  OpenAI-compatible provider serves ``{base_url}/responses`` either: the catalog cannot tell.
- Provider ids: the provider's name, except Codex's reserved built-in ids (``openai``, ``ollama``,
  ``lmstudio``, ``amazon-bedrock``), which may not be redefined: those become ``vexy-<name>``.
- Models: chat models not known to lack tool calling, since Codex is an agent that works through
  tools; a model of unknown type counts as chat unless its id says otherwise (``tts``,
  ``whisper``, ``embed``, ``guard``, ``image``... see :func:`~vexy_catalog.export.common.chat_model`).
- Profile names: ``<provider id>-<model id>`` reduced to ``[a-z0-9_-]`` (Codex refuses dots and
  slashes), made unique with ``-2``, ``-3``...
- Model metadata: each provider's models also go to ``vexy-<provider id>.models.json``, which
  that provider's profiles name as ``model_catalog_json`` (see :mod:`.codex_catalog`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ..text import bounded_name, one_line
from . import codex_catalog
from .common import ExportData, Provider, chat_model, slug, unique
from .emit import Unsupported, toml_comment, toml_value
from .merge import MergeError, load_toml, set_setting, set_value, use_fast_writers

CONFIG = "config.toml"
PROFILE_SUFFIX = ".config.toml"
RESERVED_IDS = frozenset({"openai", "ollama", "lmstudio", "amazon-bedrock"})
HEADER = (
    "Codex model providers written by `vexy export codex`. Each model has a profile file beside\n"
    "this one, <profile>.config.toml: run `codex -p <profile>`. Codex speaks only the Responses\n"
    "API, at {base_url}/responses; a provider that does not serve it will fail at request time."
)


def provider_id(provider: Provider) -> str:
    pid = bounded_name(slug(provider.name) or "provider")
    return f"vexy-{pid}" if pid in RESERVED_IDS else pid


def selected(data: ExportData) -> list[tuple[Provider, list[dict[str, Any]]]]:
    out = []
    for provider, rows in data.by_provider(kinds=("openai",)):
        models = [r for r in rows if chat_model(r) and r["supports_tools"] is not False]
        if models:
            out.append((provider, models))
    return out


Selection = list[tuple[Provider, list[dict[str, Any]]]]


def profiles(data: ExportData, chosen: Selection | None = None) -> list[tuple[str, Provider, dict[str, Any]]]:
    """(profile name, provider, model row) for every exported model, names unique (``chosen``:
    :func:`selected`, when already known)."""
    taken: set[str] = set()
    out = []
    for provider, models in selected(data) if chosen is None else chosen:
        pid = provider_id(provider)
        for row in models:
            # A file name: bounded (an id may be hundreds of characters) and unique.
            name = unique(bounded_name(slug(f"{pid}-{row['model_id']}")), taken)
            out.append((name, provider, row))
    return out


def profile_values(provider: Provider, row: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"model": row["model_id"], "model_provider": provider_id(provider)}
    if row["context_window"] is not None:
        values["model_context_window"] = int(row["context_window"])
    return values


def provider_settings(provider: Provider) -> dict[str, Any]:
    """``[model_providers.<id>]`` of a provider (``name`` only where the table has none)."""
    settings: dict[str, Any] = {"name": provider.name, "base_url": provider.api_base}
    if provider.api_key_env:
        settings["env_key"] = provider.api_key_env
    settings["wire_api"] = "responses"
    return settings


def render_config(data: ExportData, existing: str | None = None, chosen: Selection | None = None) -> str:
    """``config.toml``: a new one, or ``existing`` with our providers added or updated (``chosen``:
    :func:`selected`, when already known)."""
    chosen = selected(data) if chosen is None else chosen
    fresh = not existing or not existing.strip()
    if fresh and use_fast_writers():
        try:
            return _new_config(chosen)
        except Unsupported:
            pass  # tomlkit writes it
    import tomlkit

    doc = load_toml(existing, "The Codex config.toml")
    if fresh:
        for line in HEADER.splitlines():
            doc.add(tomlkit.comment(line))
        doc.add(tomlkit.nl())
    table = doc.get("model_providers")
    if table is None:
        table = tomlkit.table(is_super_table=True)
        doc["model_providers"] = table
        table = doc["model_providers"]
    if not isinstance(table, dict):
        raise MergeError("'model_providers' in the Codex config.toml is not a table")
    for provider, _models in chosen:
        pid = provider_id(provider)
        entry = table.get(pid)
        if entry is None:
            table[pid] = tomlkit.table()
            entry = table[pid]
        for key, value in provider_settings(provider).items():
            if key == "name":
                if not entry.get("name"):  # a display name the user chose stays
                    set_value(entry, key, value)
            else:
                # Where to connect, which key variable, which wire API: the user's once set.
                set_setting(entry, key, value, f"model_providers.{pid}")
    return tomlkit.dumps(doc)


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def _new_config(chosen: Selection) -> str:
    """A new ``config.toml`` as tomlkit writes it (:mod:`.emit`)."""
    tables: dict[str, dict[str, Any]] = {}
    for provider, _models in chosen:
        pid = provider_id(provider)
        if not _BARE_KEY.match(pid):
            raise Unsupported(f"table name {pid!r}")
        entry = tables.setdefault(pid, {})
        for key, value in provider_settings(provider).items():
            if key != "name" or not entry.get("name"):
                entry[key] = value
    lines = [toml_comment(line) for line in HEADER.splitlines()]
    lines.append("\n")
    for n, (pid, entry) in enumerate(tables.items()):
        lines.append(("\n" if n else "") + f"[model_providers.{pid}]\n")
        lines += [f"{key} = {toml_value(value)}\n" for key, value in entry.items()]
    return "".join(lines)


def render_profile(
    provider: Provider, row: dict[str, Any], name: str, existing: str | None = None, catalog: str | None = None
) -> str:
    # A comment is one line with no control character (TOML allows neither in one).
    comments = [one_line(f"{provider.name}: {row['model_id']} - use it with `codex -p {name}`")]
    if row["max_output_tokens"] is not None:
        comments.append(f"Max output {int(row['max_output_tokens'])} tokens (Codex has no setting for it)")
    values = profile_values(provider, row)
    if catalog is not None:
        values[codex_catalog.CATALOG_KEY] = catalog
    fresh = not existing or not existing.strip()
    if fresh and use_fast_writers():
        try:
            return "".join(toml_comment(c) for c in comments) + "".join(
                f"{key} = {toml_value(value)}\n" for key, value in values.items()
            )
        except Unsupported:
            pass  # tomlkit writes it
    import tomlkit

    doc = load_toml(existing, f"The Codex profile {name}{PROFILE_SUFFIX}")
    if fresh:
        for comment in comments:
            doc.add(tomlkit.comment(comment))
    for key, value in values.items():
        set_value(doc, key, value)
    return tomlkit.dumps(doc)


def render(
    data: ExportData,
    existing: dict[str, str] | None = None,
    instructions: str | Callable[[], str | None] | None = None,
) -> dict[str, str]:
    """Every file, by name: ``config.toml``, the profiles and, given Codex's system prompt
    (``instructions``), each provider's model catalog. ``existing`` holds the current text of
    files that are already there (merged into rather than replaced).

    ``instructions`` may be a function that gives the prompt (or None): it is called once the
    profiles are made, so Codex's listing of its models runs meanwhile; they are made again,
    naming no catalog, in case it gives None."""
    existing = existing or {}
    chosen = selected(data)
    files, by_provider = _configs(data, existing, chosen, catalogs=instructions is not None)
    if callable(instructions):
        instructions = instructions()
        if instructions is None:  # Codex gave no prompt after all: no catalog to name
            files, by_provider = _configs(data, existing, chosen, catalogs=False)
    if instructions is not None:
        for pid, rows in by_provider.items():
            files[codex_catalog.filename(pid)] = codex_catalog.render(rows, instructions)
    return files


def _configs(
    data: ExportData, existing: dict[str, str], chosen: Selection, catalogs: bool
) -> tuple[dict[str, str], dict[str, list[dict[str, Any]]]]:
    """``config.toml`` and the profiles (naming their provider's catalog when ``catalogs``), and
    the model rows of each provider id, for its catalog."""
    files = {CONFIG: render_config(data, existing.get(CONFIG), chosen)}
    by_provider: dict[str, list[dict[str, Any]]] = {}
    pids: dict[str, str] = {}  # by provider name: a whole catalog's codex export has ~7,800 profiles
    for name, provider, row in profiles(data, chosen):
        pid = pids.get(provider.name) or pids.setdefault(provider.name, provider_id(provider))
        filename = f"{name}{PROFILE_SUFFIX}"
        catalog = codex_catalog.filename(pid) if catalogs else None
        files[filename] = render_profile(provider, row, name, existing.get(filename), catalog)
        by_provider.setdefault(pid, []).append(row)
    return files, by_provider
