"""Text from providers made safe where it crosses a boundary.

What a provider sends is stored as sent: that is the record. Where such text goes somewhere
with rules of its own, it is made safe there:

- HTTP headers sent back (ETag, Last-Modified): only visible ASCII, else not kept
  (:func:`header_value`).
- Decoded answers: lone UTF-16 surrogates (``"\\ud800"`` in JSON) cannot be stored as UTF-8;
  they become U+FFFD (:func:`replace_surrogates`). Nesting deeper than :data:`MAX_DEPTH` is
  refused (:func:`nesting_depth`): every page that renders a record must be able to.
- The terminal: control characters (ANSI and OSC escape sequences, carriage returns, C1
  controls) and bidirectional overrides are shown as escapes, never sent (:func:`terminal`).
- XML and TOML comments: characters they cannot hold are written as the same visible escapes
  (:func:`xml_text`, :func:`one_line`).
- File names derived from ids: bounded in length, unique by a hash of what was cut
  (:func:`bounded_name`).
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

__all__ = [
    "MAX_DEPTH",
    "bounded_name",
    "header_value",
    "json_text",
    "nesting_depth",
    "one_line",
    "replace_surrogates",
    "terminal",
    "xml_text",
]

# How deep a provider's answer may nest (objects and lists). Real answers nest fewer than ten
# levels. Rendering a record (Datasette's cells, the model page's pretty JSON) recurses once per
# level under Python's limit of 1,000 frames, of which a served page uses ~200: at this depth
# every page that renders a record works (tests/test_hostile.py checks them at the limit).
MAX_DEPTH = 256
# Longest header value kept from a provider (an ETag is a few dozen characters).
MAX_HEADER_VALUE = 256
# Longest file name derived from an id, before its suffix (file systems allow 255 bytes).
MAX_NAME = 100

# C0 and C1 controls, DEL, line and paragraph separators, bidirectional embeddings, overrides
# and isolates (which reorder what a terminal or editor shows), and the BOM / zero-width no-break.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
_UNSAFE_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")
# Characters XML 1.0 cannot hold at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal(text: Any, keep_lines: bool = False) -> str:
    """``text`` with every control character shown as an escape (``\\x1b``), so nothing a
    provider sent can move the cursor, recolour, retitle or rewrite a terminal. With
    ``keep_lines``, line breaks (``\\n``) stay."""
    text = "" if text is None else str(text)
    return (_UNSAFE_KEEP_LINES if keep_lines else _UNSAFE).sub(_escape, text)


# What json.dumps(ensure_ascii=False) leaves raw of _UNSAFE (it escapes C0 itself).
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ufeff]")


def json_text(value: Any, indent: int | None = 2) -> str:
    """``value`` as JSON that keeps readable text (``ensure_ascii=False``) but writes every
    control, separator and bidirectional character as a ``\\uXXXX`` escape: the same JSON value,
    and nothing in it can act on a terminal."""
    return _UNSAFE_IN_JSON.sub(
        lambda m: f"\\u{ord(m.group()):04x}", json.dumps(value, indent=indent, ensure_ascii=False)
    )


def one_line(text: Any) -> str:
    """``text`` as one line with no control character (for a TOML comment, a log line)."""
    return terminal(text)


def xml_text(text: Any) -> str:
    """``text`` with the characters XML 1.0 cannot hold written as visible escapes (the result
    still needs XML escaping of ``<``, ``&``...)."""
    text = "" if text is None else str(text)
    return _NOT_XML.sub(_escape, text)


def header_value(value: str | None) -> str | None:
    """A header value worth storing and sending back: visible ASCII (spaces inside allowed),
    at most :data:`MAX_HEADER_VALUE` characters; anything else is None."""
    if not value or len(value) > MAX_HEADER_VALUE or value != value.strip():
        return None
    if not all(" " <= c <= "~" for c in value):
        return None
    return value


def replace_surrogates(value: Any) -> tuple[Any, int]:
    """``value`` with every lone surrogate in its strings (and keys) replaced by U+FFFD, and how
    many were replaced. JSON's ``\\ud83d\\ude00`` pairs are already one character once decoded:
    only lone halves remain, which UTF-8 (and so SQLite) cannot hold."""
    count = 0

    def fix(text: str) -> str:
        nonlocal count
        new, n = _SURROGATE.subn("\ufffd", text)
        count += n
        return new

    def walk(item: Any) -> Any:
        if isinstance(item, str):
            return fix(item) if _SURROGATE.search(item) else item
        if isinstance(item, list):
            return [walk(v) for v in item]
        if isinstance(item, dict):
            return {walk(k): walk(v) for k, v in item.items()}
        return item

    # The caller has refused answers nested deeper than MAX_DEPTH, so recursion is bounded.
    return walk(value), count


def nesting_depth(value: Any, limit: int = MAX_DEPTH) -> int:
    """How deeply ``value`` nests (a scalar is 0, ``[]`` is 1); stops counting past ``limit``."""
    if limit > _RECURSIVE_LIMIT:
        return _nesting_depth_loop(value, limit)

    # Recursion (bounded by ``limit``) is several times quicker than a stack of pairs.
    def walk(item: Any, depth: int) -> int:
        if depth > limit:
            return depth
        deepest = depth
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is dict or kind is list:
                found = walk(child, depth + 1)
                if found > deepest:
                    deepest = found
                    if found > limit:
                        return found
        return deepest

    kind = type(value)
    if kind is dict or kind is list:
        return walk(value, 1)
    if isinstance(value, (dict, list)):
        return _nesting_depth_loop(value, limit)
    return 0


# Deeper limits than this are counted without recursion (Python's own limit is 1,000 frames).
_RECURSIVE_LIMIT = 400


def _nesting_depth_loop(value: Any, limit: int) -> int:
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        depth += 1
        if depth > deepest:
            deepest = depth
            if deepest > limit:
                return deepest
        stack.extend((child, depth) for child in children if isinstance(child, (dict, list)))
    return deepest


def bounded_name(name: str, limit: int = MAX_NAME) -> str:
    """``name`` if it fits in ``limit`` characters; else its start and a hash of the whole, so
    two long names that share a start stay apart."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return name[: limit - 11].rstrip("-_.") + "-" + digest
