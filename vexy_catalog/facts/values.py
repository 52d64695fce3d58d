"""Parsers of single values: tokens, times, flags, text, modalities, numbers.

Each returns None for anything it cannot read with certainty, never a guess and never 0 for
unknown. ``tokens`` takes positive whole numbers up to 1e9 (``True`` is not 1, ``"128k"`` is not
read: 128,000 or 131,072?). ``timestamp`` takes ISO strings (naive ones are UTC, a bare date is
midnight UTC) and Unix seconds, milliseconds (>= 1e11) or microseconds (>= 1e14); years outside
1990-2199 and ``0`` are placeholders. ``flag`` takes booleans and the strings ``"true"`` /
``"false"``. ``decimal`` takes numbers and numeric strings, for prices, which units.py scales.
"""

from __future__ import annotations

import math
import re
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from .schema import MODALITIES

__all__ = [
    "MAX_TOKENS",
    "decimal",
    "flag",
    "iso",
    "modalities",
    "modality_arrow",
    "text",
    "timestamp",
    "tokens",
    "type_from_outputs",
    "union",
]

# datetime.UTC is 3.11+, and the package still supports 3.10.
UTC = timezone(timedelta(0))
MAX_TOKENS = 1_000_000_000
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def tokens(value: object) -> int | None:
    # bool is an int subclass: True must not become a context window of 1.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            return None
        number = int(value)
    elif isinstance(value, str) and _DIGITS.fullmatch(value.strip()) and len(value.strip()) <= 12:
        number = int(value.strip())
    else:
        return None
    return number if 0 < number <= MAX_TOKENS else None


def decimal(value: object) -> Decimal | None:
    """A non-negative finite number from a number or a numeric string; None otherwise."""
    if isinstance(value, bool) or not isinstance(value, float | int | str):
        return None
    try:
        # repr() is the shortest round-trip text, so 5.9e-07 * 1e6 gives 0.59, not 0.59000001.
        amount = Decimal(value.strip() if isinstance(value, str) else repr(value))
    except (InvalidOperation, ValueError):
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount


def flag(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    return None


def iso(moment: datetime) -> str | None:
    try:
        moment = moment.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    if not 1990 <= moment.year < 2200:
        return None
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp(value: object) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        stripped = value.strip()
        if _NUMBER.fullmatch(stripped):
            value = float(stripped)
        else:
            try:
                # Python 3.10's fromisoformat does not accept the "Z" that most APIs send.
                moment = datetime.fromisoformat(stripped[:-1] + "+00:00" if stripped.endswith(("Z", "z")) else stripped)
            except ValueError:
                return None
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return iso(moment)
    if not isinstance(value, int | float):
        return None
    try:
        if not math.isfinite(value) or value <= 0:
            return None
        seconds = float(value)
        # No model was made after year 5138 (1e11 s), so bigger numbers are finer units.
        if seconds >= 1e14:
            seconds /= 1e6
        elif seconds >= 1e11:
            seconds /= 1e3
        # time.gmtime reads the same moment as datetime.fromtimestamp(..., tz=UTC), for a
        # fraction of its cost (an answer of 100k models has as many timestamps).
        utc = time.gmtime(int(seconds))
    except (OverflowError, OSError, ValueError):
        return None
    if not 1990 <= utc.tm_year < 2200:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", utc)


_MODALITY_ALIASES: dict[str, str] = {
    "text": "text",
    "code": "text",
    "image": "image",
    "images": "image",
    "vision": "image",
    "audio": "audio",
    "speech": "audio",
    "video": "video",
    "file": "file",
    "files": "file",
    "pdf": "file",
    "document": "file",
}


def modalities(value: object) -> list[str] | None:
    """``["Text", "PDF"]`` or ``"text+image"`` -> ``["text", "file"]`` / ``["text", "image"]``."""
    if isinstance(value, str):
        found = _modalities_of_text(value)
    elif isinstance(value, list | tuple):
        found = _modalities_of(tuple(item for item in value if isinstance(item, str)))
    else:
        return None
    return list(found) or None


# Records repeat a few modality spellings: each is read once (as a tuple: callers get a list
# of their own).
@lru_cache(maxsize=1024)
def _modalities_of_text(value: str) -> tuple[str, ...]:
    return _modalities_of(tuple(re.split(r"[+,\s]+", value)))


@lru_cache(maxsize=1024)
def _modalities_of(items: tuple[str, ...]) -> tuple[str, ...]:
    found = {_MODALITY_ALIASES.get(item.strip().lower()) for item in items}
    return tuple(m for m in MODALITIES if m in found)


def modality_arrow(value: object) -> tuple[list[str] | None, list[str] | None]:
    """Split OpenRouter's "text+image->text" into input and output lists."""
    if not isinstance(value, str) or "->" not in value:
        return None, None
    inputs, _, outputs = value.partition("->")
    return modalities(inputs), modalities(outputs)


def union(*lists: list[str] | None) -> list[str] | None:
    found = {m for items in lists if items for m in items}
    return [m for m in MODALITIES if m in found] or None


def type_from_outputs(outputs: object) -> str | None:
    if not isinstance(outputs, list) or not outputs:
        return None
    if "text" in outputs:
        return "chat"
    if outputs == ["image"]:
        return "image"
    if outputs == ["audio"]:
        return "audio"
    return None
