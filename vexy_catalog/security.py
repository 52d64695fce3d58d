"""Keeping secrets out of everything vexy writes: errors, logs, the database, the terminal.

Two layers:

- :func:`mask_sensitive_data` masks key-shaped strings (``sk-...``, ``Bearer ...``, ``?key=``)
  and the value of every set variable whose name says it is a secret.
- :class:`Secrets` masks the exact values vexy knows are secret, whatever their variables are
  called (every key variable of every configured provider, every ``${VAR}`` of a header, a
  query parameter or a URL, tokens minted at request time), in every form a library or a server
  may write them back in: as is, stripped, ``repr``-escaped (``b'sk-...\\r'``), JSON-escaped,
  URL-encoded, HTML-escaped. Masking happens before any text is cut short, so a cut never
  leaves a key's prefix behind.

:func:`key_problem` says why a variable's value cannot be a key (a line break, a space, a
non-ASCII character) without ever showing the value.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "Secrets",
    "key_problem",
    "literal_secret",
    "literal_secret_each",
    "literal_secret_pieces",
    "mask_sensitive_data",
    "value_problem",
]

MASK = "***"
# Shorter values are not masked: they would mask ordinary words and numbers.
MIN_SECRET_LENGTH = 4

_PATTERNS = [
    # Bearer tokens in headers or pasted error text
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
    # Vendor key shapes: sk-..., sk-ant-..., sk-or-v1-..., gsk_..., xai-..., hf_..., r8_...
    re.compile(r"\b(sk-(?:ant-|or-v1-|proj-)?|gsk_|xai-|hf_|r8_|fw_|pplx-|nvapi-|csk-)[A-Za-z0-9_-]{6,}"),
    # Credentials in URLs: https://user:secret@host, ?key=..., &api_key=...
    re.compile(r"(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"),
    re.compile(r"(?i)([?&](?:key|api_key|apikey|token|access_token)=)[^&\s#\"']+"),
]

# Variable names that hold secrets by convention, besides the ones providers name.
_SECRET_NAME_RE = re.compile(r"(?i)(API_KEY|_KEY$|TOKEN|SECRET)")


def secret_named_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of the set variables whose names say they hold secrets (``*_API_KEY``, ``*TOKEN*``...)."""
    env = os.environ if environ is None else environ
    return [env[n] for n in env if _SECRET_NAME_RE.search(n) and env.get(n)]


def mask_sensitive_data(text: str, secret_names: Iterable[str] = (), environ: Mapping[str, str] | None = None) -> str:
    """Mask key-shaped strings and the value of every secret variable that is set.

    >>> mask_sensitive_data("API key: sk-1234567890")
    'API key: sk-***'
    """
    if not text:
        return text
    env = os.environ if environ is None else environ
    values = secret_named_values(env) + [env[n] for n in secret_names if env.get(n)]
    return _secrets_of(frozenset(values)).mask(text)


@functools.lru_cache(maxsize=16)
def _secrets_of(values: frozenset[str]) -> Secrets:
    # Compiling the masking pattern costs more than most masking: keep the last few.
    return Secrets(values)


def _patterns(text: str) -> str:
    for pattern in _PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        else:
            text = pattern.sub(MASK, text)
    return text


@functools.lru_cache(maxsize=256)
def _forms(value: str) -> frozenset[str]:
    """Every form ``value`` may be written back in: as is, stripped, escaped, encoded."""
    forms = set()
    for v in {value, value.strip()}:
        if len(v) < MIN_SECRET_LENGTH:
            continue
        forms.update(
            {
                v,
                repr(v)[1:-1],
                repr(v.encode("utf-8", "surrogatepass"))[2:-1],
                json.dumps(v)[1:-1],
                json.dumps(v, ensure_ascii=False)[1:-1],
                json.dumps(v).replace("/", "\\/")[1:-1],
                quote(v, safe=""),
                quote(v),
                quote_plus(v),
                html.escape(v),
            }
        )
    return frozenset(f for f in forms if len(f) >= MIN_SECRET_LENGTH)


@functools.lru_cache(maxsize=64)
def _matcher(values: frozenset[str]) -> tuple[tuple[str, ...], tuple[str, ...], re.Pattern[str]]:
    """Every form of ``values`` (longest first), the same lowercased, and one pattern for all.
    Cached: each provider of a run masks with nearly the same set, and compiling costs more
    than most masking."""
    forms: set[str] = set()
    for value in values:
        forms |= _forms(value)
    # Longest first, so a secret that contains another is masked whole. Case-insensitive:
    # URL encodings differ in the case of their hex digits.
    ordered = tuple(sorted(forms, key=len, reverse=True))
    return ordered, tuple(f.lower() for f in ordered), re.compile("|".join(map(re.escape, ordered)), re.IGNORECASE)


_PIECE = 1 << 20


class Secrets:
    """The secret values of a run, masked in every form they may come back in.

    >>> Secrets(["ab12cd34\\r"]).mask("Illegal header value b'ab12cd34\\\\r'")
    "Illegal header value b'***'"
    """

    def __init__(self, values: Iterable[str] = (), *, patterns: bool = True):
        self.values: set[str] = set()
        self.patterns = patterns
        self._regex: re.Pattern[str] | None = None
        self._forms: tuple[str, ...] = ()
        self._lowered: tuple[str, ...] = ()
        self.add(*values)

    def add(self, *values: str | None) -> Secrets:
        new = {v for v in values if v and len(v.strip()) >= MIN_SECRET_LENGTH} - self.values
        if new:
            self.values |= new
            self._regex = None
        return self

    def __or__(self, other: Secrets) -> Secrets:
        return Secrets(self.values | other.values, patterns=self.patterns or other.patterns)

    def _compiled(self) -> re.Pattern[str] | None:
        if self._regex is None and self.values:
            self._forms, self._lowered, self._regex = _matcher(frozenset(self.values))
        return self._regex

    def mask(self, text: str) -> str:
        """``text`` with every secret (in any form) and every key-shaped string masked."""
        if not text:
            return text
        regex = self._compiled()
        if regex is not None:
            text = regex.sub(MASK, text)
        return _patterns(text) if self.patterns else text

    def span_lines(self) -> bool:
        """True when a form of a secret holds a line break (so a match may cross one)."""
        return self._compiled() is not None and any("\n" in form for form in self._forms)

    def found_in(self, text: str) -> bool:
        """True when ``text`` holds one of the secret values (in any form)."""
        regex = self._compiled()
        if regex is None or not text:
            return False
        # A long text (a whole answer) is looked through a piece at a time, each overlapping the
        # next by the longest form, so no copy of all of it is made.
        longest = len(self._forms[0])
        for start in range(0, len(text), _PIECE):
            piece = text[start : start + _PIECE + longest] if len(text) > _PIECE else text
            lowered = piece.lower()
            # A plain substring test first: the regex is only run when one might match.
            if any(form in lowered for form in self._lowered) and regex.search(piece) is not None:
                return True
        return False


# A config field that holds a key, with a literal value (not ${VAR}, $VAR, os.environ/..., {env:...}).
_LITERAL_KEY_FIELD = re.compile(
    r"""(?im)^\s*["']?(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|token|secret|password)["']?\s*[:=]\s*"""
    r"""["']?(?!\$|os\.environ|\{env:|env:)[^\s"'#,}]{8,}"""
)


# A line ending that a key field or a Bearer token may continue past, over the line break: a
# key word (with its quote) or a ":"/"=", then only whitespace. Nothing else these checks look
# for spans a line break (their values exclude whitespace).
# (Matched against the line's last characters, whitespace stripped as \s would match it.)
_CONTINUED = re.compile(r"""(?i)(?:(?:bearer|key|token|secret|password)["']?|[:=])\Z""")


def _distinct_text(text: str) -> str:
    """``text`` with each repeated block of lines kept once: the key-shape and key-field checks
    find a match in it exactly when they find one in ``text``. Blocks end at line breaks no
    match can cross (not after ``_CONTINUED``, nor after the blank lines that follow one), so
    every match lies inside one block, and the last block (which may end open) stays last. A
    whole catalog's codex export repeats Codex's 25 kB system prompt in every model: 200 MB of
    text, 1 MB of distinct blocks."""
    blocks: dict[str, None] = {}
    current: list[str] = []
    for line in text.split("\n"):
        current.append(line)
        stripped = line.rstrip()
        # Blank lines after such an ending are whitespace the match may still run over.
        if not _CONTINUED.search(stripped[-12:]) and (stripped or len(current) == 1):
            blocks["\n".join(current)] = None
            current = []
    if current:
        blocks.pop("\n".join(current), None)
        blocks["\n".join(current)] = None
    return "\n".join(blocks)


def literal_secret(text: str, environ: Mapping[str, str] | None = None, secrets: Secrets | None = None) -> bool:
    """True when ``text`` (a config file) holds a secret written out: a key-shaped string, the
    value of a set secret variable, or a key field (``api_key: ...``) with a literal value.
    ``secrets``: those values, when the caller checks many texts (``Secrets(secret_named_values())``)."""
    if not text:
        return False
    # Past a few MB, the checks read each repeated block once (at a few dozen MB a second,
    # they cost more than a line-by-line pass that finds the blocks).
    return _literal_secret(text, _distinct_text(text) if len(text) > 1_000_000 else text, environ, secrets)


def _literal_secret(
    text: str, distinct: str, environ: Mapping[str, str] | None = None, secrets: Secrets | None = None
) -> bool:
    """:func:`literal_secret` of ``text``, the key shapes and fields looked for in ``distinct``
    (``text`` or its blocks each once)."""
    if _LITERAL_KEY_FIELD.search(distinct) or _patterns(distinct) != distinct:
        return True
    if secrets is None:
        secrets = _secrets_of(frozenset(secret_named_values(environ)))
    return secrets.found_in(text)


def _ends_block(piece: str) -> bool:
    """True when ``piece`` ends where :func:`_distinct_text` ends a block: a line break after a
    line that is not blank and does not end as a key field or a Bearer token may continue."""
    if not piece.endswith("\n"):
        return False
    last = piece[piece.rfind("\n", 0, len(piece) - 1) + 1 : -1].rstrip()
    return bool(last) and not _CONTINUED.search(last[-12:])


def literal_secret_pieces(
    pieces: Sequence[str], environ: Mapping[str, str] | None = None, secrets: Secrets | None = None
) -> bool:
    """``literal_secret("".join(pieces))``, reading a piece that repeats (the same object) once.

    A piece that ends a block (:func:`_ends_block`) holds whole blocks, so leaving out its
    repeats leaves out repeated blocks only, as :func:`_distinct_text` does; a secret's forms
    without a line break lie within a line, so within a piece. Where that does not hold (a
    piece that does not end a block, a secret with a line break in it), the joined text is
    checked. Also checks many small files at once: when their pieces show no secret, none of
    them holds one."""
    if not pieces:
        return False
    if secrets is None:
        secrets = _secrets_of(frozenset(secret_named_values(environ)))
    body: dict[int, str] = {}
    for piece in pieces[:-1]:
        body.setdefault(id(piece), piece)
    if secrets.span_lines() or not all(map(_ends_block, body.values())):
        return literal_secret("".join(pieces), secrets=secrets)
    # Each repeat left out already: no need to look for repeated blocks again.
    text = "".join(body.values()) + pieces[-1]
    return _literal_secret(text, text, secrets=secrets)


def literal_secret_each(
    texts: Sequence[str], environ: Mapping[str, str] | None = None, secrets: Secrets | None = None
) -> list[bool]:
    """``[literal_secret(text) for text in texts]``, reading most texts in a few passes: the
    texts that end a block are checked together (:func:`literal_secret_pieces`), and where
    that finds something, each half again, down to a few texts checked one by one. (A whole
    catalog's codex export writes ~7,800 profile files, and a model id such as
    ``pt-sk/ll-3.2-1B`` looks like a key.)"""
    if secrets is None:
        secrets = _secrets_of(frozenset(secret_named_values(environ)))
    found = [False] * len(texts)
    together = [i for i, text in enumerate(texts) if _ends_block(text)]
    for i in set(range(len(texts))) - set(together):
        found[i] = literal_secret(texts[i], secrets=secrets)
    halves = [together]
    while halves:
        part = halves.pop()
        if len(part) <= 4:
            for i in part:
                found[i] = literal_secret(texts[i], secrets=secrets)
        elif literal_secret_pieces([texts[i] for i in part], secrets=secrets):
            halves += [part[: len(part) // 2], part[len(part) // 2 :]]
    return found


def _describe_char(char: str) -> str:
    names = {"\r": "a carriage return (\\r)", "\n": "a line break (\\n)", "\t": "a tab", " ": "a space"}
    if char in names:
        return names[char]
    name = unicodedata.name(char, "")
    return f"the character U+{ord(char):04X}" + (f" ({name.lower()})" if name else "")


def key_problem(variable: str, value: str) -> str | None:
    """Why ``value`` (of ``variable``) cannot be sent as a key, naming the variable only; or None.

    A key is visible ASCII: no space, line break or other control character, nothing outside
    ASCII (a non-breaking space, a typographic quote copied from a web page).
    """
    for i, char in enumerate(value):
        if not "\x21" <= char <= "\x7e":
            where = "at its start" if i == 0 else ("at its end" if i == len(value) - 1 else f"at character {i + 1}")
            hint = (
                " (a file saved with Windows line endings adds one)"
                if char == "\r"
                else " (copied with the line break?)"
                if char == "\n"
                else ""
            )
            return (
                f"{variable} holds {_describe_char(char)} {where}{hint}: a key is ASCII letters, digits and "
                f"punctuation only - set {variable} again without it"
            )
    return None


def value_problem(variable: str, value: str) -> str | None:
    """Why ``value`` cannot go into an HTTP header (a line break, a control or non-ASCII
    character, surrounding spaces), naming the variable only; or None."""
    for i, char in enumerate(value):
        if not (" " <= char <= "\x7e"):
            return (
                f"{variable} holds {_describe_char(char)} at character {i + 1}: a header value is printable "
                f"ASCII only - set {variable} again without it"
            )
    if value != value.strip():
        return f"{variable} starts or ends with a space: set {variable} again without it"
    return None
