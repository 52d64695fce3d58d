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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .common import ExportData
from .config import ConfigManager
from .emit import Spliced
from .merge import MergeError
from .storage import ExportWriteError, StorageManager, Written, atomic_write_text, write_files

if TYPE_CHECKING:
    import sqlite_utils

    from ..query import ModelFilter

__all__ = [
    "MAX_MERGE_BYTES",
    "MERGEABLE",
    "SINGLE_FILE",
    "Spliced",
    "TOOLS",
    "FEEDS",
    "ConfigManager",
    "Export",
    "MergeError",
    "StorageManager",
    "ExportWriteError",
    "Written",
    "atomic_write_text",
    "build_export",
    "export_destination",
    "merge_filename",
    "read_merge_target",
    "write_export",
    "write_files",
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
    # relative path -> text content (utf-8); with build_export(spliced=True), a long file that
    # repeats one line throughout (Codex's model catalogs) is an emit.Spliced of pieces instead.
    files: dict[str, str | Spliced]
    single: bool  # True when the format is one file (goes to stdout / a direct download)
    media_type: str  # e.g. "application/yaml", "application/toml", "application/json", "text/plain"
    hint: str | None = None  # text for the user (e.g. the `llm keys set` commands), printed on stderr
    # True when none of the selected models made it into the files (none selected, or none the
    # format can take): writing it would only write an empty config.
    empty: bool = False
    # Values of the user's file a merge kept although vexy's differ ("apis.groq.base-url").
    kept: list[str] = field(default_factory=list)


def _render(
    db: Any, tool: str, data: ExportData, merge_into: Mapping[str, str] | None, as_of: str | None = None
) -> Export:
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

    merge_into = dict(merge_into or {})
    if tool == "codex":
        why_not: str | None = None

        def listing() -> str | None:
            nonlocal why_not
            instructions, reason = codex_catalog.bundled_instructions()
            why_not = None if instructions else reason
            return instructions

        # With a Codex to list its models, the profiles are made while it does (it was started
        # before the rows were read): its prompt is asked for once they are.
        files = codex.render(data, merge_into, listing if codex_catalog.codex_found() else listing())
        hint = f"No model_catalog_json written for the profiles: {why_not}." if why_not else None
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


def build_export(
    db: sqlite_utils.Database | str | os.PathLike[str],
    tool: str,
    model_filter: ModelFilter | None = None,
    *,
    merge_into: Mapping[str, str] | None = None,
    as_of: str | None = None,
    replace_settings: bool = False,
    spliced: bool = False,
) -> Export:
    """Render ``tool``'s files for the models ``model_filter`` selects.

    ``db`` is the catalog: an open ``sqlite_utils.Database`` or the path of its file (opened
    read-only). ``merge_into`` maps a file name of the export (``config.yaml``,
    ``config.toml``, a codex profile file...) to the current text of the user's file, to merge
    into it; a value the user set there (a base URL, mods' ``max-input-chars``...) is kept
    unless ``replace_settings``. ``as_of`` (an ISO 8601 UTC moment) exports the models listed
    then, with their facts then. With ``spliced``, a file that repeats one long line throughout
    (Codex's system prompt in each model of its catalogs: 200 MB for a whole catalog) is an
    :class:`~.emit.Spliced` (what :func:`write_files` and the web download take) rather than
    one string built of it.
    """
    from .common import load_data
    from .merge import collecting_kept

    if tool not in TOOLS:
        raise ValueError(f"Unknown export format '{tool}': use one of {', '.join(TOOLS)}")
    if merge_into and tool not in MERGEABLE:
        raise ValueError(f"'{tool}' files cannot be merged: --merge works with {', '.join(MERGEABLE)}")
    if isinstance(db, str | os.PathLike):
        from ..db import open_db

        opened = open_db(db, readonly=True)
        try:
            return build_export(
                opened,
                tool,
                model_filter,
                merge_into=merge_into,
                as_of=as_of,
                replace_settings=replace_settings,
                spliced=spliced,
            )
        finally:
            opened.close()
    if tool == "codex":
        from . import codex_catalog

        codex_catalog.start_reading_instructions()  # runs while the rows load
    data = load_data(db, model_filter, as_of)
    with collecting_kept(replace_settings) as kept:
        export = _render(db, tool, data, merge_into, as_of)
    export.kept = list(kept)
    # Empty when the selection adds nothing to a new file of the format.
    nothing = replace(data, models=[])
    if not data.models:
        export.empty = True
    elif tool == "litellm-costmap":
        from . import costmap

        export.empty = costmap.adds_nothing(data, costmap.base_map(db, as_of))
    else:
        fresh = export if not merge_into else _render(db, tool, data, None, as_of)
        export.empty = fresh.files == _render(db, tool, nothing, None, as_of).files
    if not spliced:
        export.files = {name: str(text) for name, text in export.files.items()}
    return export


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
            current[profile.name] = _merge_text(profile)
    if path.is_file():
        current[merge_filename(tool)] = _merge_text(path)
    return current


# The largest file --merge reads. A client's config is a few kilobytes; a round-trip merge keeps
# every comment and takes about 13 s a megabyte, so a file far past this would run for hours.
MAX_MERGE_BYTES = 2 * 1024 * 1024


def _merge_text(path: Path) -> str:
    size = path.stat().st_size
    if size > MAX_MERGE_BYTES:
        raise MergeError(
            f"{path} is {size:,} bytes; --merge reads files of at most {MAX_MERGE_BYTES:,} (a client's config is a "
            "few kilobytes) - export to a file of its own with -o and copy what you need"
        )
    return path.read_text(encoding="utf-8")


def write_export(
    export: Export,
    directory: str | os.PathLike[str],
    backup: bool = True,
    *,
    merged_from: list[str | os.PathLike[str]] | tuple[()] = (),
    force: bool = False,
) -> list[Path]:
    """Write every file of ``export`` under ``directory``; returns the files that changed.

    Goes through :func:`~vexy_catalog.export.storage.write_files`: a file vexy did not write is
    not replaced unless it is one of ``merged_from`` or ``force``; a replaced user file is kept
    as a numbered backup (``backup`` is accepted for compatibility: user files are always
    backed up)."""
    results = write_files(directory, export.files, tool=export.tool, merged_from=merged_from, force=force)
    return [r.path for r in results if r.status != "unchanged"]


# File-name endings that say "one file", refused for a format that writes several.
_FILE_SUFFIXES = (".json", ".txt", ".yaml", ".yml", ".toml")


def export_destination(
    tool: str, filenames: list[str], output: str | None, merge_file: Path | None
) -> tuple[Path, dict[str, str]]:
    """Where ``vexy export TOOL -o OUTPUT [--merge FILE]`` writes: the folder, and each file of
    the export (by its name in the export) under the name it gets there.

    One-file formats: ``-o`` names the file, or a folder (existing, or ending in ``/``) to
    write it into under the export's (or the merged file's) name. Several-file formats (codex,
    json, txt): ``-o`` names a folder; for codex a ``.toml`` path names its config file, with
    the profiles beside it. A file path for a several-file format is an
    :class:`ExportWriteError`, never a folder made over a file's name.
    """
    single = tool in SINGLE_FILE
    names = {name: name for name in filenames}
    if single:
        (filename,) = filenames
        target = Path(output).expanduser() if output else merge_file
        assert target is not None
        if target.is_dir() or (output or "").endswith(("/", os.sep)):
            target = target / (merge_file.name if merge_file else filename)
        names[filename] = target.name
        return target.parent, names
    config = merge_filename(tool) if tool in MERGEABLE else None
    if output:
        target = Path(output).expanduser()
        as_folder = target.is_dir() or output.endswith(("/", os.sep))
        if not as_folder and config and target.suffix == ".toml":
            if config in names:
                names[config] = target.name
            return target.parent, names
        if not as_folder and (target.exists() or target.suffix.lower() in _FILE_SUFFIXES):
            what = (
                "config.toml and a profile file per model"
                if tool == "codex"
                else f"one models_<provider>.{tool} per provider"
            )
            raise ExportWriteError(
                f"{tool} writes several files ({what}): -o must name a folder, and {target} "
                f"{'is a file' if target.exists() else 'names a file'}"
                + (" (or give codex its config file: -o DIR/config.toml)" if tool == "codex" else "")
            )
        return target, names
    assert merge_file is not None
    if config and config in names:
        names[config] = merge_file.name
    return merge_file.parent, names
