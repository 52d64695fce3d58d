"""Round-trip editing of a user's config: our entries added or updated, everything else kept.

YAML goes through ruamel.yaml and TOML through tomlkit, both of which keep comments, key order,
quoting and layout of what they do not touch. Values are only assigned when they differ, so a
second merge of the same catalog produces the same bytes as the first. A new file (nothing to
merge into) is built from :mod:`.emit`'s containers and written by its writers, which write
the same bytes as those libraries, faster (:func:`yaml_types`); :func:`reference_writers`
writes new files through the libraries too (what the fast writers are tested against).

Two kinds of values: *facts* from the catalog (a model's context window, its prices), which a
merge keeps current with :func:`set_value`, and *settings* (where to connect, which key
variable, how much input to send), which are the user's once they are in the file:
:func:`set_setting` adds one that is missing and leaves one the user set, unless the export
was asked to replace settings (``build_export(replace_settings=True)``, ``--replace-settings``).
"""

from __future__ import annotations

import contextlib
import contextvars
import io
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = [
    "MergeError",
    "child",
    "collecting_kept",
    "dump_json",
    "dump_yaml",
    "load_json",
    "load_json_config",
    "load_toml",
    "load_yaml",
    "reference_writers",
    "set_setting",
    "set_value",
    "use_fast_writers",
    "yaml_types",
]

# (replace settings?, the settings kept so far) for the export being rendered.
_SETTINGS: contextvars.ContextVar[tuple[bool, list[str]] | None] = contextvars.ContextVar("vexy_settings", default=None)
# False while reference_writers() is in effect.
_FAST: contextvars.ContextVar[bool] = contextvars.ContextVar("vexy_fast_writers", default=True)


@contextlib.contextmanager
def reference_writers() -> Iterator[None]:
    """While in effect, new files too are built and written by ruamel.yaml, tomlkit and
    ``json.dumps``, as a merge is: the reference :mod:`.emit`'s writers are held to."""
    token = _FAST.set(False)
    try:
        yield
    finally:
        _FAST.reset(token)


def use_fast_writers() -> bool:
    """Whether a new file is written by :mod:`.emit` (not inside :func:`reference_writers`)."""
    return _FAST.get()


def yaml_types(node: Any) -> tuple[Any, Any]:
    """(mapping type, sequence type) for the nodes a renderer adds to the document ``node``
    belongs to (None: a new document): :mod:`.emit`'s for a new file, ruamel.yaml's
    round-trip containers for a user's file (and inside :func:`reference_writers`)."""
    from .emit import YamlMap, YamlSeq

    if _FAST.get() and (node is None or isinstance(node, YamlMap | YamlSeq)):
        return YamlMap, YamlSeq
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    return CommentedMap, CommentedSeq


class MergeError(ValueError):
    """The existing file cannot be merged into (not parseable, or not the expected shape)."""


def _yaml(top_level_list: bool = False):  # -> ruamel.yaml.YAML
    from ruamel.yaml import YAML

    yaml = YAML()  # round-trip, YAML 1.2: only true/false are booleans
    yaml.preserve_quotes = True
    yaml.width = 4096  # never fold long strings
    if top_level_list:
        yaml.indent(mapping=2, sequence=2, offset=0)  # "- key: ..." at the margin
    else:
        yaml.indent(mapping=2, sequence=4, offset=2)
    return yaml


def load_yaml(text: str | None, what: str) -> Any:
    """The round-trip document of ``text`` (None for an empty file)."""
    if not text or not text.strip():
        return None
    from ruamel.yaml.error import YAMLError

    try:
        return _yaml().load(text)
    except YAMLError as e:
        raise MergeError(f"{what} is not valid YAML: {e}") from None


def dump_yaml(doc: Any) -> str:
    from . import emit

    if _FAST.get() and type(doc) in (emit.YamlMap, emit.YamlSeq, dict, list):
        try:
            return emit.yaml_text(doc, top_level_list=isinstance(doc, list))
        except emit.Unsupported:
            doc = emit.to_ruamel(doc)  # ruamel.yaml writes what emit does not
    if isinstance(doc, list) and not doc:
        # ruamel.yaml 0.19 cannot emit an empty top-level sequence: write it (and its comments).
        comment = getattr(doc, "ca", None) and doc.ca.comment
        tokens = comment[1] if comment and len(comment) > 1 and comment[1] else []
        return "".join(token.value for token in tokens) + "[]\n"
    out = io.StringIO()
    _yaml(top_level_list=isinstance(doc, list)).dump(doc, out)
    return out.getvalue()


def load_toml(text: str | None, what: str) -> Any:
    import tomlkit
    from tomlkit.exceptions import TOMLKitError

    try:
        return tomlkit.parse(text or "")
    except TOMLKitError as e:
        raise MergeError(f"{what} is not valid TOML: {e}") from None


def load_json(text: str | None, what: str) -> Any:
    """The parsed JSON of ``text`` (None for an empty file). Key order is kept, so a merge
    rewrites the user's keys where they were; JSON has no comments to keep, and a file with
    comments (JSONC) is refused rather than stripped of them."""
    import json

    if not text or not text.strip():
        return None
    try:
        return json.loads(text)
    except ValueError as e:
        raise MergeError(
            f"{what} is not plain JSON ({e}); comments (JSONC) cannot be merged without losing them - "
            "remove them, or merge into a new file and copy the entries over"
        ) from None


def load_json_config(text: str | None, what: str, schema: str) -> dict[str, Any]:
    """A client's JSON config to merge into: ``text`` parsed, or a new one naming its
    ``$schema`` (an empty file is a new one); anything but an object is refused."""
    doc = load_json(text, what)
    if doc is None:
        doc = {"$schema": schema}
    if not isinstance(doc, dict):
        raise MergeError(f"{what} is not a JSON object")
    return doc


def child(parent: dict[str, Any], key: str, kind: type, what: str) -> Any:
    """``parent[key]``, created empty when missing; a :class:`MergeError` when it is not a ``kind``."""
    value = parent.setdefault(key, kind())
    if not isinstance(value, kind):
        raise MergeError(f"{what} is not {'a list' if kind is list else 'an object'}")
    return value


def dump_json(doc: Any) -> str:
    """``doc`` as indented JSON (``json.dumps(doc, indent=2, ensure_ascii=False)``) and a newline."""
    if _FAST.get():
        from .emit import json_text

        return json_text(doc)
    import json

    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def _equal(old: Any, new: Any) -> bool:
    old, new = _plain(old), _plain(new)
    if isinstance(old, bool | int | float) or isinstance(new, bool | int | float):
        # 1 == 1.0 == True in Python, but not in a config file.
        return type(old) is type(new) and old == new
    return old == new


def set_value(mapping: Any, key: str, value: Any) -> None:
    """``mapping[key] = value`` unless it already holds an equal value of the same type."""
    if key in mapping and _equal(mapping[key], value):
        return
    mapping[key] = value


def set_setting(mapping: Any, key: str, value: Any, where: str = "") -> None:
    """A user setting: set when missing; a different value already there is the user's and
    stays (and is reported), unless settings are being replaced."""
    state = _SETTINGS.get()
    if key in mapping and mapping[key] is not None and not _equal(mapping[key], value):
        if state is None or not state[0]:
            if state is not None:
                state[1].append(f"{where}.{key}" if where else key)
            return
    set_value(mapping, key, value)


@contextlib.contextmanager
def collecting_kept(replace_settings: bool = False) -> Iterator[list[str]]:
    """While rendering: whether :func:`set_setting` replaces the user's values, and the list
    of those it kept."""
    kept: list[str] = []
    token = _SETTINGS.set((replace_settings, kept))
    try:
        yield kept
    finally:
        _SETTINGS.reset(token)


def _plain(value: Any) -> Any:
    """ruamel/tomlkit scalar wrappers as plain Python values, for comparison."""
    unwrap = getattr(value, "unwrap", None)  # tomlkit items
    if callable(unwrap):
        return unwrap()
    if isinstance(value, bool) or type(value).__name__ == "ScalarBoolean":  # ruamel's anchored booleans
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
