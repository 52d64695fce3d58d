"""Config exports for AI command-line clients, from the catalog.

``build_export(db, tool, model_filter)`` renders one client's files from the providers table and
the models ``model_filter`` selects (the same rows ``vexy models`` lists). The files only ever
name key *variables*, never a key's value. One module per client says what it gets and why:

- :mod:`.aichat` - ``config.yaml`` clients (single file)
- :mod:`.codex` - ``config.toml`` providers plus one ``<profile>.config.toml`` per model
- :mod:`.mods` - ``mods.yml`` APIs (single file)
- :mod:`.llm` - ``extra-openai-models.yaml`` (single file) and the ``llm keys set`` hint
- :mod:`.litellm` - a LiteLLM proxy ``config.yaml`` (single file)
- :mod:`.opencode` - ``opencode.json`` providers (single file)
- :mod:`.crush` - ``crush.json`` providers (single file)
- :mod:`.legacy` - the earlier tool's ``models_<name>.json`` / ``models_<name>.txt``

Catalog feeds, the files clients read in place of their built-in model list (also served by
``vexy serve`` under ``/-/vexy/``):

- :mod:`.modelsdev` - models.dev's ``api.json`` (OpenCode)
- :mod:`.catwalk` - Catwalk's ``/v2/providers`` (Crush)
- :mod:`.costmap` - LiteLLM's cost map, ours merged on top of LiteLLM's own
- :mod:`.aichat_models` - aichat's ``models.yaml``
- :mod:`.codex_catalog` - Codex's ``model_catalog_json``, written with the codex export

Client configs leave out providers nothing can call (kind ``url``: LiteLLM's price file).

``merge_into`` (file name -> the current text) merges into a user's existing config instead of
writing a new one: our providers and models are added or updated, everything else is kept
(round-trip YAML/TOML), and merging the same catalog again changes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import ConfigManager
from .merge import MergeError
from .storage import StorageManager, atomic_write_text

if TYPE_CHECKING:
    import sqlite_utils

    from ..query import ModelFilter

__all__ = [
    "MERGEABLE",
    "SINGLE_FILE",
    "TOOLS",
    "FEEDS",
    "ConfigManager",
    "Export",
    "MergeError",
    "StorageManager",
    "atomic_write_text",
    "build_export",
    "merge_filename",
    "read_merge_target",
    "write_export",
]

# Catalog feeds: a client reads one in place of its built-in model list.
FEEDS: tuple[str, ...] = ("modelsdev", "catwalk", "litellm-costmap", "aichat-models")
TOOLS: tuple[str, ...] = ("aichat", "codex", "mods", "llm", "litellm", "opencode", "crush", "json", "txt", *FEEDS)
# Formats whose files can be merged into a user's existing config.
MERGEABLE: tuple[str, ...] = ("aichat", "codex", "mods", "llm", "litellm", "opencode", "crush")
# Formats that are one file (stdout, or a direct download); the others are a directory of files.
SINGLE_FILE: tuple[str, ...] = ("aichat", "mods", "llm", "litellm", "opencode", "crush", *FEEDS)

YAML = "application/yaml"


@dataclass
class Export:
    tool: str
    files: dict[str, str]  # relative path -> text content (utf-8)
    single: bool  # True when the format is one file (goes to stdout / a direct download)
    media_type: str  # e.g. "application/yaml", "application/toml", "application/json", "text/plain"
    hint: str | None = None  # text for the user (e.g. the `llm keys set` commands), printed on stderr


def build_export(
    db: sqlite_utils.Database,
    tool: str,
    model_filter: ModelFilter | None = None,
    *,
    merge_into: Mapping[str, str] | None = None,
    as_of: str | None = None,
) -> Export:
    """Render ``tool``'s files for the models ``model_filter`` selects.

    ``merge_into`` maps a file name of the export (``config.yaml``, ``config.toml``, a codex
    profile file...) to the current text of the user's file, to merge into it. ``as_of`` (an
    ISO 8601 UTC moment) exports the models listed then, with their facts then.
    """
    from . import (
        aichat,
        aichat_models,
        catwalk,
        codex,
        codex_catalog,
        costmap,
        crush,
        legacy,
        litellm,
        llm,
        modelsdev,
        mods,
        opencode,
    )
    from .common import load_data

    if tool not in TOOLS:
        raise ValueError(f"Unknown export format '{tool}': use one of {', '.join(TOOLS)}")
    merge_into = dict(merge_into or {})
    if merge_into and tool not in MERGEABLE:
        raise ValueError(f"'{tool}' files cannot be merged: --merge works with {', '.join(MERGEABLE)}")
    data = load_data(db, model_filter, as_of)
    if tool == "codex":
        instructions, why_not = codex_catalog.bundled_instructions()
        hint = None if instructions else f"No model_catalog_json written for the profiles: {why_not}."
        files = codex.render(data, merge_into, instructions)
        return Export(tool, files, single=False, media_type="application/toml", hint=hint)
    if tool in ("json", "txt"):
        media_type = "application/json" if tool == "json" else "text/plain"
        return Export(tool, legacy.render(db, data, tool), single=False, media_type=media_type)
    if tool == "litellm-costmap":
        base = costmap.base_map(db, as_of)
        return Export(
            tool, {costmap.FILENAME: costmap.render(data, base)}, True, costmap.MEDIA_TYPE, costmap.hint(data, base)
        )
    feeds: dict[str, Any] = {
        "modelsdev": modelsdev,
        "catwalk": catwalk,
        "aichat-models": aichat_models,
    }
    if tool in feeds:
        module = feeds[tool]
        hint = module.hint(data) if hasattr(module, "hint") else None
        return Export(tool, {module.FILENAME: module.render(data)}, True, module.MEDIA_TYPE, hint)
    module = {
        "aichat": aichat,
        "mods": mods,
        "llm": llm,
        "litellm": litellm,
        "opencode": opencode,
        "crush": crush,
    }[tool]
    text = module.render(data, merge_into.get(module.FILENAME))
    hint = module.hint(data) if hasattr(module, "hint") else None
    return Export(tool, {module.FILENAME: text}, single=True, media_type=getattr(module, "MEDIA_TYPE", YAML), hint=hint)


def merge_filename(tool: str) -> str:
    """The file of ``tool``'s export that ``--merge`` merges into."""
    from . import aichat, codex, crush, litellm, llm, mods, opencode

    if tool not in MERGEABLE:
        raise ValueError(f"'{tool}' files cannot be merged: --merge works with {', '.join(MERGEABLE)}")
    return {
        "aichat": aichat.FILENAME,
        "codex": codex.CONFIG,
        "mods": mods.FILENAME,
        "llm": llm.FILENAME,
        "litellm": litellm.FILENAME,
        "opencode": opencode.FILENAME,
        "crush": crush.FILENAME,
    }[tool]


def read_merge_target(tool: str, path: str | os.PathLike[str]) -> dict[str, str]:
    """What ``build_export(merge_into=...)`` needs to merge into the user's file at ``path``:
    its text (nothing when it does not exist yet) and, for codex, the profile files beside it."""
    from . import codex

    path = Path(path)
    current: dict[str, str] = {}
    if tool == "codex" and path.parent.is_dir():
        for profile in sorted(path.parent.glob(f"*{codex.PROFILE_SUFFIX}")):
            current[profile.name] = profile.read_text(encoding="utf-8")
    if path.is_file():
        current[merge_filename(tool)] = path.read_text(encoding="utf-8")
    return current


def write_export(export: Export, directory: str | os.PathLike[str], backup: bool = True) -> list[Path]:
    """Write every file of ``export`` under ``directory`` atomically; returns the files that
    changed (a file already holding its content is not touched). A replaced file is kept as
    ``<name>.bak`` when ``backup``."""
    storage = StorageManager(directory)
    changed = []
    for relpath, text in export.files.items():
        path = storage.path(relpath, "")
        if atomic_write_text(path, text, backup=backup):
            changed.append(path)
    return changed
