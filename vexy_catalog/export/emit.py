"""New config files as text, fast, byte for byte what ruamel.yaml, tomlkit and ``json.dumps`` write.

A merge into a user's file goes through ruamel.yaml and tomlkit, which keep its comments and
layout (:mod:`.merge`). A *new* file has nothing to keep, and those libraries spend most of a
whole-catalog export (10k models: ~3 s of YAML, ~4 s of TOML) on generality it does not need.
So a new file is built from the containers here and written by these writers, which produce
the same bytes for the documents vexy builds:

- YAML: :class:`YamlMap` and :class:`YamlSeq` take the few ruamel.yaml calls the renderers make
  (a comment above the document, a comment after a value, ``insert``); :func:`yaml_text`
  writes block YAML as ``merge.dump_yaml``'s ruamel.yaml settings do. A scalar whose form is
  not obvious from its characters is written by ruamel.yaml itself (once per distinct value);
  a document these writers do not cover (a key of 128 characters or more, text with line
  breaks, a very long line...) raises :class:`Unsupported`, and the caller writes it with
  ruamel.yaml after :func:`to_ruamel`.
- TOML: :func:`toml_string` (a basic string), :func:`toml_comment`.
- JSON: :func:`json_text` is ``json.dumps(obj, indent=2, ensure_ascii=False)``; long strings
  that repeat are encoded once.
- :class:`Spliced`: a file's text as pieces, a line that repeats throughout it one piece object
  (Codex's system prompt in every model of its catalog, :mod:`.codex_catalog`): it is encoded,
  checked for secrets and hashed once, and written from that one buffer, so a 200 MB catalog
  is never built as one string.

tests/test_export_writers.py holds each writer to its library on generated documents, and
every format to its output before these writers existed.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = [
    "Spliced",
    "Unsupported",
    "YamlMap",
    "YamlSeq",
    "json_text",
    "toml_comment",
    "toml_string",
    "toml_value",
    "to_ruamel",
    "yaml_text",
]


class Unsupported(Exception):
    """A document (or value) these writers do not write the way the library would."""


# --- YAML ----------------------------------------------------------------------------------


class _Comments:
    """What ruamel.yaml's ``.ca`` offers the renderers: the end-of-line comments by key."""

    __slots__ = ("items",)

    def __init__(self, items: dict[Any, list[str]]):
        self.items = items


class YamlMap(dict):
    """A mapping of a new YAML file: a dict that also takes ruamel.yaml's ``CommentedMap``
    calls vexy's renderers make, so one renderer builds either."""

    __slots__ = ("start_comment", "eol_comments")

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.start_comment: str | None = None
        self.eol_comments: dict[Any, list[str]] = {}

    def yaml_set_start_comment(self, comment: str, indent: int = 0) -> None:
        if indent:
            raise Unsupported("an indented start comment")
        self.start_comment = comment

    def yaml_add_eol_comment(self, comment: str, key: Any) -> None:
        self.eol_comments.setdefault(key, []).append(comment)

    @property
    def ca(self) -> _Comments:
        return _Comments(self.eol_comments)

    def insert(self, pos: int, key: Any, value: Any) -> None:
        items = [(k, v) for k, v in self.items() if k != key]
        items.insert(pos, (key, value))
        self.clear()
        self.update(items)


class YamlSeq(list):
    """A sequence of a new YAML file (``CommentedSeq``'s start comment included)."""

    __slots__ = ("start_comment",)

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.start_comment: str | None = None

    def yaml_set_start_comment(self, comment: str, indent: int = 0) -> None:
        if indent:
            raise Unsupported("an indented start comment")
        self.start_comment = comment


def _start_comment(text: str) -> str:
    """ruamel.yaml's ``yaml_set_start_comment``: each line ``# line`` (a blank one blank)."""
    if text.endswith("\n"):
        text = text[:-1]
    out = []
    for line in text.split("\n"):
        stripped = line.strip()
        out.append(("# " + line if stripped and stripped[0] != "#" else line) + "\n")
    return "".join(out)


def _eol_comment(comments: list[str]) -> str:
    """What ruamel.yaml writes after a value for ``yaml_add_eol_comment(text, key)`` on a map
    with no other comment: two spaces, then ``# text``."""
    if len(comments) != 1:
        raise Unsupported("several comments on one key")
    text = comments[0]
    if not text or "\n" in text or "\r" in text:
        raise Unsupported("a comment with a line break")
    return "  " + (text if text[0] == "#" else "# " + text)


# Characters that are plain YAML wherever they stand in a key or a value ("-" is not at the
# start: "- " and a lone "-" are indicators); ":" is safe between two of them.
_PLAIN = re.compile(r"[A-Za-z0-9_./+][A-Za-z0-9_./@+-]*(?::[A-Za-z0-9_./@+-]+)*\Z")
_RESERVED_WORDS = frozenset({"true", "True", "TRUE", "false", "False", "FALSE", "null", "Null", "NULL"})
# Lines longer than this might be folded (ruamel.yaml's width is 4096 in merge._yaml).
_MAX_LINE = 4000
# ruamel.yaml writes a key as a complex key ("? key") unless its length plus that of its tag
# ("!!str", counted even when not written) is under 128.
_MAX_SIMPLE_KEY = 122
_LINE_BREAKS = ("\n", "\r", "\x85", "\u2028", "\u2029")


class _YamlScalars:
    """How ruamel.yaml writes each scalar of a block document, with the settings of
    ``merge._yaml``: plain where the characters allow it and it reads back as the same
    string, else ruamel.yaml's own choice of quotes (asked once per distinct value)."""

    def __init__(self) -> None:
        self.values: dict[Any, str] = {}
        self.keys: dict[str, str] = {}
        self._resolver: Any = None
        self._yaml: Any = None

    def _tag(self, text: str) -> str:
        """The tag ruamel.yaml reads a plain scalar ``text`` as."""
        if self._resolver is None:
            from ruamel.yaml import YAML

            self._resolver = YAML().resolver
        from ruamel.yaml.nodes import ScalarNode

        return self._resolver.resolve(ScalarNode, text, (True, False))

    def _resolves_to_str(self, text: str) -> bool:
        # YAML 1.2 reads a plain scalar starting with a letter as a string, except these.
        if text[:1].isalpha() and text.isascii() and text not in _RESERVED_WORDS:
            return True
        return self._tag(text) == "tag:yaml.org,2002:str"

    def _dump(self, doc: Any) -> str:
        if self._yaml is None:
            from ruamel.yaml import YAML

            self._yaml = YAML()
            self._yaml.width = 4096
            self._yaml.indent(mapping=2, sequence=4, offset=2)
        import io

        out = io.StringIO()
        self._yaml.dump(doc, out)
        return out.getvalue()

    def _string(self, text: str, as_key: bool) -> str:
        if _PLAIN.match(text) and self._resolves_to_str(text):
            return text
        if any(b in text for b in _LINE_BREAKS) or len(text) > _MAX_LINE // 2:
            raise Unsupported("text ruamel.yaml may write on several lines")
        # ruamel.yaml decides: a one-line document holding the value (or key).
        if as_key:
            line = self._dump({text: 0})
            if not line.endswith(": 0\n") or line.startswith("? ") or line.count("\n") != 1:
                raise Unsupported(f"key {text!r}")
            return line[: -len(": 0\n")]
        line = self._dump({"k": text})
        if not line.startswith("k: ") or line.count("\n") != 1:
            raise Unsupported(f"value {text!r}")
        return line[len("k: ") : -1]

    def key(self, key: Any) -> str:
        if type(key) is not str:
            raise Unsupported("a key that is not a string")
        if len(key) > _MAX_SIMPLE_KEY:
            raise Unsupported("a key ruamel.yaml writes as a complex key")
        found = self.keys.get(key)
        if found is None:
            found = self.keys[key] = self._string(key, True)
        return found

    def value(self, value: Any) -> str:
        kind = type(value)
        if kind is str:
            found = self.values.get(value)
            if found is None:
                found = self.values[value] = self._string(value, False)
            return found
        if kind is bool:
            return "true" if value else "false"
        if kind is int:
            return str(value)
        if kind is float:
            found = self.values.get(("float", value))
            if found is None:
                found = self.values[("float", value)] = self._float(value)
            return found
        raise Unsupported(f"a {kind.__name__} value")

    def _float(self, value: float) -> str:
        if value != value:
            return ".nan"
        if value in (float("inf"), float("-inf")):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value).lower()
        if self._tag(text) != "tag:yaml.org,2002:float":
            raise Unsupported(f"float {text}")
        return text


def yaml_text(doc: Any, top_level_list: bool = False) -> str:
    """``doc`` (a :class:`YamlMap`, :class:`YamlSeq`, dict or list of them and of strings,
    ints, floats and booleans) as block YAML, as ``merge.dump_yaml`` writes it with
    ruamel.yaml. :class:`Unsupported` when ruamel.yaml would write it differently."""
    # merge._yaml: (mapping, sequence, offset) = (2, 4, 2), or (2, 2, 0) for a top-level list:
    # a list under a key at column c has its dashes at c + offset and its items at c + offset + 2.
    offset = 0 if top_level_list else 2
    scalars = _YamlScalars()
    key_of, value_of = scalars.key, scalars.value
    out: list[str] = []
    write = out.append
    start = getattr(doc, "start_comment", None)
    if start:
        write(_start_comment(start))
    pads = [" " * n for n in range(64)]

    def pad(n: int) -> str:
        return pads[n] if n < 64 else " " * n

    def mapping(node: dict, column: int, first: str) -> None:
        comments = getattr(node, "eol_comments", None)
        lead = first
        for key, value in node.items():
            text = lead + key_of(key) + ":"
            lead = pad(column)
            kind = type(value)
            is_map = kind is dict or kind is YamlMap
            if is_map or kind is list or kind is YamlSeq:
                if comments and key in comments:
                    raise Unsupported("a comment on a collection")
                if not value:
                    write(text + (" {}\n" if is_map else " []\n"))
                    continue
                write(text + "\n")
                if is_map:
                    mapping(value, column + 2, pad(column + 2))
                else:
                    sequence(value, column + offset)
                continue
            text += " " + value_of(value)
            if len(text) > _MAX_LINE:
                raise Unsupported("a long line")
            if comments and key in comments:
                text += _eol_comment(comments[key])
            write(text + "\n")
        if comments and any(k not in node for k in comments):
            raise Unsupported("a comment on a missing key")

    def sequence(node: list, dash: int) -> None:
        lead = pad(dash) + "- "
        for item in node:
            kind = type(item)
            if kind is dict or kind is YamlMap:
                if not item:
                    raise Unsupported("an empty mapping in a sequence")
                mapping(item, dash + 2, lead)
            elif kind is list or kind is YamlSeq:
                raise Unsupported("a sequence in a sequence")
            else:
                text = lead + value_of(item)
                if len(text) > _MAX_LINE:
                    raise Unsupported("a long line")
                write(text + "\n")

    kind = type(doc)
    if kind is dict or kind is YamlMap:
        if not doc:
            raise Unsupported("an empty document")
        mapping(doc, 0, "")
    elif kind is list or kind is YamlSeq:
        if not doc:
            # What merge.dump_yaml writes for an empty top-level list (ruamel.yaml cannot).
            write("[]\n")
        else:
            sequence(doc, 0)
    else:
        raise Unsupported(f"a {kind.__name__} document")
    return "".join(out)


def to_ruamel(doc: Any) -> Any:
    """``doc`` as ruamel.yaml's round-trip containers, comments included (for what
    :func:`yaml_text` does not write)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(doc, YamlMap):
        out: Any = CommentedMap()
        for key, value in doc.items():
            out[key] = to_ruamel(value)
            for comment in doc.eol_comments.get(key, ()):
                out.yaml_add_eol_comment(comment, key)
    elif isinstance(doc, YamlSeq):
        out = CommentedSeq(to_ruamel(item) for item in doc)
    elif type(doc) is dict:
        return {key: to_ruamel(value) for key, value in doc.items()}
    elif type(doc) is list:
        return [to_ruamel(item) for item in doc]
    else:
        return doc
    if doc.start_comment:
        out.yaml_set_start_comment(doc.start_comment)
    return out


# --- TOML ----------------------------------------------------------------------------------

# tomlkit escapes these in a basic string (TOML's control characters, '"' and '\').
_TOML_ESCAPED = re.compile(r'[\x00-\x1f\x7f"\\]')


def toml_string(value: str) -> str:
    """A TOML basic string as tomlkit writes ``tomlkit.item(value)``."""
    if not _TOML_ESCAPED.search(value):
        return '"' + value + '"'
    import tomlkit

    return tomlkit.item(value).as_string()


def toml_value(value: Any) -> str:
    """A string, integer or boolean as tomlkit writes it."""
    kind = type(value)
    if kind is str:
        return toml_string(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return str(value)
    raise Unsupported(f"a {kind.__name__} in TOML")


_TOML_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def toml_comment(text: str) -> str:
    """The line tomlkit writes for ``doc.add(tomlkit.comment(text))``."""
    if _TOML_CONTROL.search(text):
        raise Unsupported("a comment with a control character")
    return ("# " + text if text else "#") + "\n"


# --- JSON ----------------------------------------------------------------------------------


def json_text(obj: Any) -> str:
    """``json.dumps(obj, indent=2, ensure_ascii=False) + "\\n"``, written faster: the standard
    library's indented encoder is pure Python, and encodes a string each time it meets it."""
    from json.encoder import encode_basestring  # the C implementation, where there is one

    float_repr = float.__repr__
    int_repr = int.__repr__
    strings: dict[str, str] = {}
    out: list[str] = []
    write = out.append
    newlines = ["\n" + "  " * n for n in range(32)]

    def newline(level: int) -> str:
        return newlines[level] if level < 32 else "\n" + "  " * level

    def text(value: str) -> str:
        if len(value) < 64:
            return encode_basestring(value)
        found = strings.get(value)
        if found is None:
            found = strings[value] = encode_basestring(value)
        return found

    def number(value: float) -> str:
        if value != value:
            return "NaN"
        if value == float("inf"):
            return "Infinity"
        if value == float("-inf"):
            return "-Infinity"
        return float_repr(value)

    def key_text(key: Any) -> str:
        if isinstance(key, str):
            return text(key)
        if isinstance(key, float):
            return text(number(key))
        if key is True:
            return '"true"'
        if key is False:
            return '"false"'
        if key is None:
            return '"null"'
        if isinstance(key, int):
            return text(int_repr(key))
        raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")

    def encode(value: Any, level: int) -> None:
        if isinstance(value, str):
            write(text(value))
        elif value is None:
            write("null")
        elif value is True:
            write("true")
        elif value is False:
            write("false")
        elif isinstance(value, int):
            write(int_repr(value))
        elif isinstance(value, float):
            write(number(value))
        elif isinstance(value, list | tuple | dict):
            is_dict = isinstance(value, dict)
            if not value:
                write("{}" if is_dict else "[]")
                return
            inner = newline(level + 1)
            separator = "," + inner
            write(("{" if is_dict else "[") + inner)
            first = True
            for item in value.items() if is_dict else value:
                if not first:
                    write(separator)
                first = False
                if is_dict:
                    key, item = item
                    write(key_text(key) + ": ")
                encode(item, level + 1)
            write(newline(level) + ("}" if is_dict else "]"))
        else:
            raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    encode(obj, 0)
    write("\n")
    return "".join(out)


class Spliced:
    """A file's text as a list of pieces, some of them one object used many times (a line that
    repeats throughout the file): the pieces are encoded to UTF-8 once each
    (:meth:`encoded`), and :func:`~vexy_catalog.security.literal_secret_pieces` reads each
    once. Equal to another :class:`Spliced`, ``bytes`` or ``str`` of the same UTF-8 bytes."""

    __slots__ = ("pieces", "_encoded")

    def __init__(self, pieces: list[str]):
        self.pieces = pieces
        self._encoded: list[bytes] | None = None

    def encoded(self) -> list[bytes]:
        """The pieces as UTF-8, a repeated piece one ``bytes`` object."""
        if self._encoded is None:
            done: dict[int, bytes] = {}
            out = []
            for piece in self.pieces:
                data = done.get(id(piece))
                if data is None:
                    data = done[id(piece)] = piece.encode("utf-8")
                out.append(data)
            self._encoded = out
        return self._encoded

    @property
    def size(self) -> int:
        """The length in bytes."""
        return sum(map(len, self.encoded()))

    def __bytes__(self) -> bytes:
        return b"".join(self.encoded())

    def __str__(self) -> str:
        return "".join(self.pieces)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = other.encode("utf-8")
        elif isinstance(other, Spliced):
            if other.size != self.size:
                return False
            other = bytes(other)
        elif not isinstance(other, bytes):
            return NotImplemented
        return len(other) == self.size and other == bytes(self)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<Spliced {len(self.pieces)} pieces, {self.size:,} bytes>"
