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
from functools import lru_cache
from pathlib import Path
from typing import Any

from .common import display_name
from .emit import Spliced, json_text

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


def codex_found() -> bool:
    """Whether there is a Codex to list its models (:func:`bundled_instructions` runs it)."""
    return _key(None)[0] is not None


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


def finish_reading_instructions() -> None:
    """Wait for a listing :func:`start_reading_instructions` started that nothing read (the
    export failed first), and keep what it found: neither the process (nor the one the npm
    shim starts) nor its throwaway home outlives the command."""
    with _lock:
        running = list(_running.items())
        _running.clear()
    for key, started in running:
        found = _read_listing(key[0], *started)
        with _lock:
            _found.setdefault(key, found)


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
    """The catalog's JSON text (``json.dumps(indent=2, ensure_ascii=False)``): :class:`~.emit.Spliced`
    pieces where the system prompt's line is one piece object (a whole catalog repeats it in
    ~7,800 models: 200 MB), else a string."""
    from .merge import dump_json, use_fast_writers

    if use_fast_writers() and rows:
        return _spliced(rows, instructions)
    models = [model_entry(row, i, instructions) for i, row in enumerate(rows, start=1)]
    return dump_json({"models": models})


# Placeholders of a model's own values in the template of its entry (no model id starts with \x00).
_SLUG, _NAME, _PRIORITY, _CONTEXT, _PROMPT = (
    f"\x00{name}\x00" for name in ("slug", "name", "priority", "ctx", "prompt")
)
_HEAD, _TAIL = '{\n  "models": [\n', "\n  ]\n}\n"


@lru_cache(maxsize=4)
def _template(context: bool, vision: bool) -> tuple[list[str], list[str]]:
    """An entry of a model with a context window or not, that accepts images or not: the texts
    ``json_text`` writes around its values, and which value goes after each. The system
    prompt's line is left out: it is one piece of its own, between the entry's last two texts."""
    from json.encoder import encode_basestring

    entry = model_entry(
        {"model_id": _SLUG, "name": _NAME, "context_window": None, "supports_vision": vision}, 0, _PROMPT
    )
    entry["priority"] = _PRIORITY
    if context:
        entry = {**dict(list(entry.items())[:4]), "context_window": _CONTEXT, **dict(list(entry.items())[4:])}
    text = json_text({"models": [entry]})
    assert text.startswith(_HEAD) and text.endswith(_TAIL)
    text = text[len(_HEAD) : -len(_TAIL)]
    marks = {encode_basestring(mark): mark for mark in (_SLUG, _NAME, _PRIORITY, _CONTEXT, _PROMPT)}
    found = sorted((text.index(marked), marked) for marked in marks if marked in text)
    texts, order, at = [], [], 0
    for position, marked in found:
        texts.append(text[at:position])
        order.append(marks[marked])
        at = position + len(marked)
    texts.append(text[at:])
    # The prompt's line, whole: from the start of its line to the line break after it.
    assert order[-1] == _PROMPT and "\n" not in texts[-2][texts[-2].rindex("\n") + 1 :]
    cut = texts[-2].rindex("\n") + 1
    texts[-2:] = [texts[-2][:cut], texts[-2][cut:], texts[-1]]
    assert texts[-1].startswith("\n")
    texts[-1] = texts[-1][1:]
    return texts, order


def _spliced(rows: list[dict[str, Any]], instructions: str) -> Spliced:
    """:func:`render`'s text from templates (:func:`_template`): each entry's values encoded
    into it, the prompt's line encoded once and shared by every entry."""
    from json.encoder import encode_basestring

    prompt_lines: dict[str, str] = {}
    pieces: list[str] = []
    between = _HEAD
    for priority, row in enumerate(rows, start=1):
        context = row["context_window"]
        texts, order = _template(context is not None, bool(row["supports_vision"]))
        values = {
            _SLUG: encode_basestring(row["model_id"]),
            _NAME: encode_basestring(display_name(row)),
            _PRIORITY: str(priority),
            _CONTEXT: str(int(context)) if context is not None else "",
        }
        parts = [between, texts[0]]
        for mark, text in zip(order[:-1], texts[1:-2], strict=True):
            parts += (values[mark], text)
        pieces.append("".join(parts))
        line = prompt_lines.get(texts[-2])
        if line is None:
            line = prompt_lines[texts[-2]] = texts[-2] + encode_basestring(instructions) + "\n"
        pieces.append(line)
        between = texts[-1] + ",\n"
    pieces.append(between[:-2] + _TAIL)
    return Spliced(pieces)
