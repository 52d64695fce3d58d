"""Finding the model records, and each record's id, in a decoded answer: by meaning, not by name.

Providers wrap their model list in many ways. The rules, in order (the first that applies wins,
and the rule that matched is recorded as the fetch's ``shape``):

1. ``list_path`` from the providers file: the list at that dotted path (``result.items``).
2. A top-level list: shape ``[]``.
3. A list under ``data``, ``models`` or ``result`` (the common names; an empty list counts, so
   an empty answer is an empty list, not an error).
4. Otherwise the largest list of objects that carry an id-like field, found anywhere within a
   few levels of wrapping objects (``{"payload": {"items": [...]}}``), unless
5. the answer is an object whose values are all objects, keyed by model id (LiteLLM's price
   file; its ``sample_spec`` entry documents the fields and is not a model) and holding more
   entries than that list.
6. An empty list under one of the common names inside wrappers (``{"result": {"models": []}}``).

Each record's id is ``id_field`` when the providers file names one; otherwise the first of
``id``, ``model_id``, ``modelId``, ``model``, ``slug``, ``name`` that at least half of the
list's records carry (so one list uses one field), falling back record by record through the same
names. Strings in a list are ids themselves. A shape is written ``<path>[].<id field>``
(``data[].id``, ``[].name``, ``result.models[].modelId``), ``<path>[]`` for a list of id strings,
or ``{}`` for an object keyed by id; :func:`parse_shape` reads it back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import AnswerShapeError

__all__ = ["ID_FIELDS", "NOT_MODELS", "Found", "extract_records", "find_records", "parse_shape"]

ID_FIELDS = ("id", "model_id", "modelId", "model", "slug", "name")
# The names most providers put their list under, in the order they are tried.
LIST_KEYS = ("data", "models", "result")
# Names an empty list may hide under inside wrappers (rule 6).
_EMPTY_LIST_KEYS = (*LIST_KEYS, "items", "results", "modelSummaries", "publisherModels")
# How deep rule 4 looks for a list inside wrapping objects.
MAX_DEPTH = 4
# litellm's price file documents its fields in an entry that is not a model.
NOT_MODELS = frozenset({"sample_spec"})
KEYED = "{}"
# Fields of an answer that say more pages exist (used to warn when paging is not configured).
_MORE_PAGES_FIELDS = ("next_page_token", "nextPageToken", "next_cursor", "nextCursor", "next_page", "cursor")


@dataclass
class Found:
    """The records of one answer and how they were found."""

    records: list[tuple[str, Any]]
    unidentified: int
    duplicates: int
    # The rule that matched, as a shape string (see the module docstring).
    shape: str
    # Keys from the top of the answer down to the list; None for an object keyed by id.
    path: tuple[str, ...] | None
    # The raw items of the list (before ids were taken), for merging pages.
    items: list[Any]


def parse_shape(shape: str | None) -> tuple[str | None, str | None, bool]:
    """``(list_path, id_field, strict)`` of a stored shape, to read a stored answer the same way again.

    ``strict`` is true when the id field came from the configuration (records without it have no
    id) rather than from detection (records without it fall back to the other id names).

    >>> parse_shape("result.models[].modelId (2 pages, cursor next_page_token -> page_token)")
    ('result.models', 'modelId', False)
    """
    if not shape or "[]" not in shape.split(" ", 1)[0]:
        return None, None, False
    rule, _, notes = shape.partition(" ")
    path, _, rest = rule.partition("[]")
    field = rest[1:] or None if rest.startswith(".") else None
    return path, field, "id_field from" in notes


def _id_value(value: Any) -> str | None:
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _dotted(record: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def _list_id_field(items: list[Any]) -> str | None:
    """The id field that at least half of the list's objects carry, by priority."""
    dicts = [r for r in items if isinstance(r, dict)]
    if not dicts:
        return None
    for name in ID_FIELDS:
        carried = sum(1 for r in dicts if _id_value(r.get(name)) is not None)
        if carried and carried * 2 >= len(dicts):
            return name
    return None


def _identify(items: list[Any], id_field: str | None, fallback: bool) -> Iterator[tuple[str | None, Any]]:
    for record in items:
        if isinstance(record, str):
            yield (record or None), record
        elif isinstance(record, dict):
            model_id = _id_value(_dotted(record, id_field)) if id_field else None
            if model_id is None and fallback:
                model_id = next((v for v in map(_id_value, map(record.get, ID_FIELDS)) if v is not None), None)
            yield model_id, record
        else:
            yield None, record


def _dedupe(items: Iterable[tuple[str | None, Any]]) -> tuple[list[tuple[str, Any]], int, int]:
    records: dict[str, Any] = {}
    unidentified = duplicates = 0
    for model_id, record in items:
        if model_id is None:
            unidentified += 1
        elif model_id in records:
            duplicates += 1
        else:
            records[model_id] = record
    return list(records.items()), unidentified, duplicates


def _has_id(record: Any) -> bool:
    return isinstance(record, dict) and any(_id_value(record.get(name)) is not None for name in ID_FIELDS)


def _walk(value: Any, path: tuple[str, ...], depth: int) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Every list reachable through objects, with its path."""
    if depth > MAX_DEPTH or not isinstance(value, dict):
        return
    for key, child in value.items():
        if isinstance(child, list):
            yield (*path, str(key)), child
        elif isinstance(child, dict):
            yield from _walk(child, (*path, str(key)), depth + 1)


def _locate(payload: Any) -> tuple[str, tuple[str, ...], list[Any]] | None:
    """Rules 2 to 6: ``(rule, path, items)`` with rule "list" or "keyed"; None when none applies."""
    if isinstance(payload, list):
        return "list", (), payload
    if not isinstance(payload, dict):
        return None
    for key in LIST_KEYS:
        value = payload.get(key)
        if isinstance(value, list):
            return "list", (key,), value
    lists = list(_walk(payload, (), 1))
    candidates = [(p, items) for p, items in lists if items and sum(1 for r in items if _has_id(r)) * 2 >= len(items)]
    best = max(candidates, key=lambda c: (len(c[1]), -len(c[0])), default=None)
    entries = [v for k, v in payload.items() if k not in NOT_MODELS]
    keyed = bool(entries) and "error" not in payload and all(isinstance(v, dict) for v in entries)
    empty = next((p for p, items in lists if not items and p[-1] in _EMPTY_LIST_KEYS), None)
    if keyed and (len(entries) > len(best[1]) if best else empty is None):
        return "keyed", (), entries
    if best is not None:
        return "list", best[0], best[1]
    if empty is not None:
        return "list", empty, []
    return None


def _describe(payload: dict[str, Any], limit: int = 12) -> str:
    """The keys of an answer, one level of nesting deep, for an error message."""
    parts = []
    for key, value in list(payload.items())[:limit]:
        if isinstance(value, dict):
            inner = ", ".join(map(str, list(value)[:6]))
            parts.append(f"{key} (an object with {inner or 'no keys'})")
        elif isinstance(value, list):
            parts.append(f"{key} (a list of {len(value)})")
        else:
            parts.append(f"{key} ({type(value).__name__})")
    more = f" and {len(payload) - limit} more" if len(payload) > limit else ""
    return ", ".join(parts) + more


def _excerpt(value: Any, limit: int = 200) -> str:
    from .security import mask_sensitive_data

    text = " ".join(json.dumps(value, ensure_ascii=False).split())
    if len(text) > limit:
        text = text[:limit] + "..."
    return mask_sensitive_data(text)


def _no_list(payload: Any) -> AnswerShapeError:
    if not isinstance(payload, dict):
        return AnswerShapeError(f"the answer is not a model list (got a JSON {type(payload).__name__})")
    if payload.get("error") or payload.get("errors"):
        return AnswerShapeError(f"the answer is an error: {_excerpt(payload.get('error') or payload.get('errors'))}")
    return AnswerShapeError(
        "the answer is not a model list: no list of records with an id, model or name was found "
        f"(the answer has keys: {_describe(payload) or 'none'}); set list_path (and id_field) for this "
        "provider in the providers file"
    )


def find_records(
    payload: Any, list_path: str | None = None, id_field: str | None = None, fallback: bool | None = None
) -> Found:
    """The model records of an answer, how they were found, and the list they came from.

    ``list_path`` and ``id_field`` (from the providers file) replace detection; a record without
    a configured id field has no id unless ``fallback`` is true. Raises
    :class:`AnswerShapeError` naming the keys the answer has when no list is found.
    """
    if list_path is not None:
        path: tuple[str, ...] = tuple(list_path.split(".")) if list_path else ()
        items = _dotted(payload, list_path) if path else payload
        if not isinstance(items, list):
            seen = f"the answer has keys: {_describe(payload)}" if isinstance(payload, dict) else "it is not an object"
            raise AnswerShapeError(f"list_path '{list_path}' is not a list in the answer ({seen})")
    else:
        located = _locate(payload)
        if located is None:
            raise _no_list(payload)
        rule, path, items = located
        if rule == "keyed":
            entries = [(str(k), v) for k, v in payload.items() if k not in NOT_MODELS]
            records, unidentified, duplicates = _dedupe(entries)
            return Found(records, unidentified, duplicates, KEYED, None, items)
    field = id_field or _list_id_field(items)
    if fallback is None:
        fallback = id_field is None
    records, unidentified, duplicates = _dedupe(_identify(items, field, fallback))
    shape = f"{'.'.join(path)}[]" + (f".{field}" if field else "")
    return Found(records, unidentified, duplicates, shape, path, items)


def more_pages_hint(payload: Any) -> str | None:
    """The field of an answer that says more pages exist, when one is set: a paging not configured."""
    if not isinstance(payload, dict):
        return None
    for name in _MORE_PAGES_FIELDS:
        if payload.get(name):
            return name
    if payload.get("has_more") is True:
        return "has_more"
    return None


def merged(path: tuple[str, ...], items: list[Any]) -> Any:
    """Every page's records in order, under the path the pages hold them at.

    For Anthropic's pages (``data``) this is ``{"data": [...]}``, the form the hash contract names.
    """
    value: Any = items
    for key in reversed(path):
        value = {key: value}
    return value


def extract_records(
    payload: Any, list_path: str | None = None, id_field: str | None = None
) -> tuple[list[tuple[str, Any]], int, int]:
    """``(records, unidentified, duplicates)``: the distinct ``(id, record)`` pairs of an answer
    with the first occurrence of a repeated id kept, how many records had no id, and how many
    repeated an earlier id. See :func:`find_records`."""
    found = find_records(payload, list_path, id_field)
    return found.records, found.unidentified, found.duplicates
