"""Times and ages as the catalog stores and shows them.

The catalog stores every time as ISO 8601 UTC with milliseconds and a ``Z``
(``2026-11-27T11:05:03.123Z``). This module is the floor every other module may stand on: it
imports nothing of vexy, so fetching, storing, history, health and the Datasette plugin share
one reading of ages and times without importing each other.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

__all__ = ["format_age", "format_time", "parse_age", "parse_time", "utcnow"]

_AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def format_time(moment: datetime) -> str:
    """``moment`` as the catalog stores times: ISO 8601 UTC with milliseconds and a ``Z``."""
    moment = moment.astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def utcnow() -> str:
    """The current time as ISO 8601 UTC with milliseconds: ``2026-11-27T11:05:03.123Z``."""
    return format_time(datetime.now(timezone.utc))


def parse_time(value: str) -> datetime:
    """A stored ISO 8601 time as an aware datetime (a time without a zone is taken as UTC).

    Python 3.10's ``fromisoformat`` does not accept the ``Z`` the catalog writes, hence the
    replace. Raises ``ValueError`` for text that is not such a time.
    """
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


# The longest age accepted: older than any catalog, far from the limits of datetime.
MAX_AGE_SECONDS = 100 * 365 * 86400


def parse_age(value: str | timedelta | None) -> timedelta | None:
    """``90s``, ``30m``, ``1h``, ``2d``, ``1w`` (or a bare number of seconds) as a timedelta."""
    if value is None or isinstance(value, timedelta):
        return value
    text = value.strip().lower()
    number, unit = (text[:-1], text[-1]) if text and text[-1] in _AGE_UNITS else (text, "s")
    try:
        amount = float(number)
    except ValueError:
        raise ValueError(f"'{value}' is not an age: use a number and a unit, such as 90s, 30m, 1h or 2d") from None
    if amount < 0:
        raise ValueError(f"'{value}' is not an age: it must not be negative")
    seconds = amount * _AGE_UNITS[unit]
    if not seconds <= MAX_AGE_SECONDS:  # also NaN and infinity
        raise ValueError(f"'{value}' is not an age vexy can use: at most 100 years (36500d)")
    return timedelta(seconds=seconds)


def format_age(seconds: float | None) -> str:
    """3725 -> '1h 2m', 86400 -> '1d': an age a reader takes in at a glance."""
    if seconds is None:
        return "never"
    seconds = int(seconds)
    if seconds < 60:
        return f"{seconds}s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
        if len(parts) == 2:
            break
    return " ".join(parts)
