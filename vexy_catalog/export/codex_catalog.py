"""Codex's ``model_catalog_json``: model metadata for the models of ``vexy export codex``.

Codex reads a model's metadata (context window, input modalities, reasoning levels, its system
prompt) from its bundled catalog, and for a model not in it falls back to generic metadata with
a warning. ``model_catalog_json = "<file>"`` replaces that catalog, so ``vexy export codex``
writes one file per provider, ``vexy-<provider id>.models.json``, beside the profile files,
and sets it in each of that provider's profiles only (the user's other profiles keep Codex's
bundled list). Codex reads a file, never a URL.

Each model carries the fields Codex 0.171 requires (``codex-rs/protocol/src/openai_models.rs``):

- ``slug`` (the model id), ``display_name``, ``priority`` (the export's order);
- ``context_window`` when known; unknown it is left out (Codex then has none, never 0);
- ``input_modalities``: ``["text", "image"]`` for models known to accept images, else
  ``["text"]`` (Codex assumes images when the key is missing);
- ``supported_reasoning_levels: []``: the catalog knows whether a model reasons, not which
  effort values its API accepts, so Codex sends none;
- ``base_instructions``: the system prompt Codex sends. It belongs to the Codex version that
  reads the file, so it is copied from the installed Codex (``codex debug models --bundled``,
  its first listed model); without an installed Codex no catalog is written, and the export
  says so;
- fixed: ``shell_type: shell_command``, ``visibility: list``, ``supported_in_api: true``,
  ``support_verbosity: false``, ``truncation_policy`` 10,000 tokens (as Codex's own models),
  ``experimental_supported_tools: []``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

from .common import display_name
from .emit import SHARED, Spliced, json_spliced

CATALOG_KEY = "model_catalog_json"
CODEX_ENV = "VEXY_CODEX"  # path of the codex binary to copy the system prompt from
FIXED: dict[str, Any] = {
    "shell_type": "shell_command",
    "visibility": "list",
    "supported_in_api": True,
    "support_verbosity": False,
    "truncation_policy": {"mode": "tokens", "limit": 10000},
    "experimental_supported_tools": [],
}


def filename(provider_id: str) -> str:
    """``vexy-<provider id>.models.json`` (``vexy-openai``, a renamed reserved id, keeps its one prefix)."""
    return f"{provider_id if provider_id.startswith('vexy-') else 'vexy-' + provider_id}.models.json"


def codex_binary() -> str | None:
    return os.environ.get(CODEX_ENV) or shutil.which("codex")


def bundled_instructions(codex: str | None = None) -> tuple[str | None, str | None]:
    """(the system prompt of the installed Codex's first listed bundled model, why not)."""
    key, why_not = _key(codex)
    if key is None:
        return None, why_not
    with _lock:
        found = _found.get(key)
        running = _running.pop(key, None) if found is None else None
    if found is None:
        found = _read_listing(key[0], *(running or _start(key[0])))
        with _lock:
            if len(_found) >= 4:
                _found.clear()
            _found[key] = found
    return found


def start_reading_instructions() -> None:
    """Start the installed Codex's listing of its models (~0.1 s), for :func:`bundled_instructions`
    to read later: the export loads its rows meanwhile."""
    key, _why_not = _key(None)
    if key is None:
        return
    with _lock:
        if key in _found or key in _running:
            return
        _running[key] = _start(key[0])


_lock = threading.Lock()
_found: dict[tuple[str, int], tuple[str | None, str | None]] = {}  # by (codex, its mtime)
_running: dict[tuple[str, int], tuple[subprocess.Popen[str] | OSError, tempfile.TemporaryDirectory[str]]] = {}


def _key(codex: str | None) -> tuple[tuple[str, int] | None, str | None]:
    codex = codex or codex_binary()
    if not codex:
        return None, "codex is not on PATH (or set VEXY_CODEX to its path)"
    try:
        return (codex, Path(codex).stat().st_mtime_ns), None
    except OSError as e:
        return None, f"cannot run {codex}: {e.strerror}"


def _start(codex: str) -> tuple[subprocess.Popen[str] | OSError, tempfile.TemporaryDirectory[str]]:
    # A throwaway CODEX_HOME: codex keeps state there, and the user's config must not matter.
    home = tempfile.TemporaryDirectory(prefix="vexy-codex-")
    try:
        proc: subprocess.Popen[str] | OSError = subprocess.Popen(
            [codex, "debug", "models", "--bundled"],
            env={**os.environ, "CODEX_HOME": home.name},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    except OSError as e:
        proc = e
    return proc, home


def _read_listing(
    codex: str, proc: subprocess.Popen[str] | OSError, home: tempfile.TemporaryDirectory[str]
) -> tuple[str | None, str | None]:
    try:
        if isinstance(proc, OSError):
            return None, f"'{codex} debug models --bundled' failed: {proc}"
        try:
            stdout, _stderr = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired as e:
            proc.kill()
            proc.communicate()
            return None, f"'{codex} debug models --bundled' failed: {e}"
    finally:
        home.cleanup()
    try:
        models = json.loads(stdout)["models"]
        listed = sorted(
            (m for m in models if m.get("base_instructions") and m.get("visibility") == "list"),
            key=lambda m: m.get("priority", 0),
        )
        return listed[0]["base_instructions"], None
    except (ValueError, KeyError, IndexError, TypeError):
        return None, f"'{codex} debug models --bundled' gave no model with base_instructions"


def model_entry(row: dict[str, Any], priority: int, instructions: str) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "slug": row["model_id"],
        "display_name": display_name(row),
        "priority": priority,
        "supported_reasoning_levels": [],
    }
    if row["context_window"] is not None:
        entry["context_window"] = int(row["context_window"])
    entry["input_modalities"] = ["text", "image"] if row["supports_vision"] else ["text"]
    entry.update(FIXED)
    entry["base_instructions"] = instructions
    return entry


def render(rows: list[dict[str, Any]], instructions: str) -> str | Spliced:
    """The catalog's JSON text: :class:`~.emit.Spliced` pieces where the system prompt's line is
    one piece object (a whole catalog repeats it in ~7,800 models: 200 MB), else a string."""
    from .merge import dump_json, use_fast_writers

    if use_fast_writers():
        models = [model_entry(row, i, SHARED) for i, row in enumerate(rows, start=1)]
        spliced = json_spliced({"models": models}, instructions, len(models))
        if spliced is not None:
            return spliced
    models = [model_entry(row, i, instructions) for i, row in enumerate(rows, start=1)]
    return dump_json({"models": models})
