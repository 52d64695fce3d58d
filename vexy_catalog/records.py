"""Finding the model records, and each record's id, in a decoded answer: by meaning, not by name.

Providers wrap their model list in many ways. The rules, in order (the first that applies wins,
and the rule that matched is recorded as the fetch's ``shape``):

1. ``list_path`` from the providers file: the list, or the object of records keyed by id, at
   that dotted path (``result.items``). A ``*`` segment stands for every entry of an object
   (or every item of a list) at that point, for catalogs grouped by provider: ``*.models``
   reads models.dev's ``{provider: {..., models: {id: record}}}``.
2. A nested catalog: a list, or an object of at least two entries, whose entries are all
   objects holding their model records under one shared name (``data``, ``models`` or
   ``result``), as a list or a map keyed by id of objects that carry an id-like field:
   models.dev's ``api.json``, Catwalk's provider list. Read as ``*.<name>``.
3. A top-level list: shape ``[]``.
4. A list under ``data``, ``models`` or ``result`` (the common names; an empty list counts, so
   an empty answer is an empty list, not an error).
5. Otherwise the largest list of objects that carry an id-like field, found anywhere within a
   few levels of wrapping objects (``{"payload": {"items": [...]}}``), unless
6. the answer is an object of at least two entries whose values are all objects, keyed by model id (LiteLLM's price
   file; its ``sample_spec`` entry documents the fields and is not a model) and holding more
   entries than that list.
7. An empty list under one of the common names inside wrappers (``{"result": {"models": []}}``).

Each record's id is ``id_field`` when the providers file names one; otherwise the first of
``id``, ``model_id``, ``model``, ``model_slug``, ``slug``, ``model_name``, ``name`` (matched by
meaning: case, ``_`` and ``-`` aside, so ``modelId`` and ``modelName`` count) that at least half
of the list's records carry (so one list uses one field), falling back record by record through the same
names. Strings in a list are ids themselves. In an object keyed by id, the key is the id (unless
``id_field`` names a field). Records found through a ``*`` are *qualified* by the entry they sit
in: ``<entry key>/<id>`` (``groq/llama-3.3-70b-versatile``; in a list, the entry's own id
stands for its key), so the same model id under two providers stays two records.

A shape is written ``<path>[].<id field>`` (``data[].id``, ``[].name``,
``result.models[].modelId``, ``*.models[].id``), ``<path>[]`` for a list of id strings, or
``<path>{}`` for an object keyed by id (``{}`` at the top, ``*.models{}``);
:func:`parse_shape` reads it back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .errors import AnswerShapeError

__all__ = [
    "ID_FIELDS",
    "NOT_MODELS",
    "WILDCARD",
    "Found",
    "configured_reading",
    "extract_records",
    "find_records",
    "keep_records",
    "parse_shape",
    "shape_rule",
]

ID_FIELDS = ("id", "model_id", "model", "model_slug", "slug", "model_name", "name")
# Id fields are matched by meaning: case, '_' and '-' aside (model_id, modelId, Model-ID, modelName).
_ID_RANK = {name.replace("_", ""): rank for rank, name in enumerate(ID_FIELDS)}


def _id_rank(key: Any) -> int | None:
    """The priority of a record key as an id field (0 is best), or None when it is not one."""
    return _ID_RANK.get(key.replace("_", "").replace("-", "").lower()) if isinstance(key, str) else None


def _id_keys(record: dict[Any, Any]) -> list[Any]:
    """The record's own keys that name its id, best first."""
    ranked = [(rank, key) for key in record if (rank := _id_rank(key)) is not None]
    return [key for _, key in sorted(ranked, key=lambda rk: rk[0])]
# The names most providers put their list under, in the order they are tried.
LIST_KEYS = ("data", "models", "result")
# Names an empty list may hide under inside wrappers (rule 7).
_EMPTY_LIST_KEYS = (*LIST_KEYS, "items", "results", "modelSummaries", "publisherModels")
# How deep rule 5 looks for a list inside wrapping objects.
MAX_DEPTH = 4
# litellm's price file documents its fields in an entry that is not a model.
NOT_MODELS = frozenset({"sample_spec"})
KEYED = "{}"
# A list_path segment standing for every entry of an object (or item of a list).
WILDCARD = "*"
# Fields of an answer that say more pages exist (used to warn when paging is not configured).
_MORE_PAGES_FIELDS = ("next_page_token", "nextPageToken", "next_cursor", "nextCursor", "next_page", "cursor")

# A group of records: the keys qualifying its ids (one per ``*`` passed), and the list or the
# object keyed by id that holds them.
_Group = tuple[tuple[str, ...], Any]


@dataclass
class Found:
    """The records of one answer and how they were found."""

    records: list[tuple[str, Any]]
    unidentified: int
    duplicates: int
    # The rule that matched, as a shape string (see the module docstring).
    shape: str
    # Keys from the top of the answer down to the list; None when the records are not one list
    # (an object keyed by id, or groups found through a ``*``): such an answer cannot be paged.
    path: tuple[str, ...] | None
    # The raw items of the list (before ids were taken), for merging pages.
    items: list[Any]


def parse_shape(shape: str | None) -> tuple[str | None, str | None, bool]:
    """``(list_path, id_field, strict)`` of a stored shape, to read a stored answer the same way again.

    ``strict`` is true when the id field came from the configuration (records without it have no
    id) rather than from detection (records without it fall back to the other id names). A
    top-level object keyed by id (``{}``) gives no path: detection finds it again.

    >>> parse_shape("result.models[].modelId (2 pages, cursor next_page_token -> page_token)")
    ('result.models', 'modelId', False)
    >>> parse_shape("*.models{}")
    ('*.models', None, False)
    """
    rule = shape_rule(shape)
    marker = "[]" if "[]" in rule else KEYED if KEYED in rule else None
    if marker is None:
        return None, None, False
    path, _, rest = rule.partition(marker)
    field = rest[1:] or None if rest.startswith(".") else None
    strict = "id_field from" in (shape or "").partition(" ")[2]
    return (None if marker == KEYED and not path else path), field, strict


def shape_rule(shape: str | None) -> str:
    """The rule of a stored shape without its notes (``data[].id`` of ``data[].id (2 pages...)``):
    two fetches with the same rule read an answer the same way."""
    return (shape or "").split(" ", 1)[0]


def configured_reading(shape: str | None) -> tuple[str | None, str | None] | None:
    """``(list_path, id_field)`` that a stored shape says came from the configuration (None for
    each that was detected), or None when the shape says nothing (no fetch read an answer).

    >>> configured_reading("*.models{} (list_path from the configuration)")
    ('*.models', None)
    """
    if not shape or not shape_rule(shape):
        return None
    path, field, _ = parse_shape(shape)
    notes = shape.partition(" ")[2]
    said = re.search(r"\(((?:list_path|id_field)(?: and id_field)?) from the configuration\)", notes)
    names = said.group(1).split(" and ") if said else []
    return (path or "" if "list_path" in names else None), (field if "id_field" in names else None)


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
    # The id-like keys the list's objects use (their first 50 tell), best first.
    names = sorted({k for r in dicts[:50] for k in _id_keys(r)}, key=lambda k: _id_rank(k))
    for name in names:
        carried = sum(1 for r in dicts if _id_value(r.get(name)) is not None)
        if carried and carried * 2 >= len(dicts):
            return name
    return None


def _own_id(record: Any) -> str | None:
    """A record's id by the first id-like field it carries."""
    if not isinstance(record, dict):
        return None
    return next((v for v in map(_id_value, map(record.get, _id_keys(record))) if v is not None), None)


def _identify(items: list[Any], id_field: str | None, fallback: bool) -> Iterator[tuple[str | None, Any]]:
    for record in items:
        if isinstance(record, str):
            yield (record or None), record
        elif isinstance(record, dict):
            model_id = _id_value(_dotted(record, id_field)) if id_field else None
            if model_id is None and fallback:
                model_id = _own_id(record)
            yield model_id, record
        else:
            yield None, record


def _keyed_entries(mapping: dict[Any, Any]) -> list[tuple[str, Any]]:
    return [(str(k), v) for k, v in mapping.items() if k not in NOT_MODELS]


def _identify_keyed(
    mapping: dict[Any, Any], id_field: str | None, fallback: bool
) -> Iterator[tuple[str | None, Any]]:
    for key, record in _keyed_entries(mapping):
        if id_field is None:
            yield key, record
            continue
        model_id = _id_value(_dotted(record, id_field)) if isinstance(record, dict) else None
        yield (key if model_id is None and fallback else model_id), record


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
    return _own_id(record) is not None


def _record_list(value: Any) -> bool:
    """A list of records: most of its objects carry an id-like field (or it is empty)."""
    return isinstance(value, list) and sum(1 for r in value if _has_id(r)) * 2 >= len(value)


def _record_map(value: Any) -> bool:
    """An object keyed by id: every entry (``sample_spec`` aside) is an object."""
    return isinstance(value, dict) and all(isinstance(v, dict) for _, v in _keyed_entries(value))


def _walk(value: Any, path: tuple[str, ...], depth: int) -> Iterator[tuple[tuple[str, ...], list[Any]]]:
    """Every list reachable through objects, with its path."""
    if depth > MAX_DEPTH or not isinstance(value, dict):
        return
    for key, child in value.items():
        if isinstance(child, list):
            yield (*path, str(key)), child
        elif isinstance(child, dict):
            yield from _walk(child, (*path, str(key)), depth + 1)


def _entries(value: Any) -> list[tuple[str | None, Any]] | None:
    """What a ``*`` stands for at ``value``: each entry's key (a list item's own id) and value."""
    if isinstance(value, dict):
        return [(k, v) for k, v in _keyed_entries(value)]
    if isinstance(value, list):
        return [(_own_id(item), item) for item in value]
    return None


def _nested(payload: Any) -> tuple[tuple[str, ...], list[_Group]] | None:
    """Rule 2: the groups of a catalog grouped by provider, or None when the answer is not one.

    Every entry must be an object that carries its records under the same name, as a list or a
    map of objects most of which carry an id-like field, and at least one group must hold a
    record: a model record does not hold other model records (a map of plain objects such as
    ``{"pricing": {...}, "limits": {...}}`` is no list of records), so such an answer is
    unambiguous. An object of one entry is a wrapper (``{"data": {"models": [...]}}``), not a
    catalog, and a list's groups must name themselves (an id-like field) to qualify their
    models' ids.
    """
    entries = _entries(payload)
    if not entries or isinstance(payload, dict) and (len(entries) < 2 or "error" in payload):
        return None
    if not all(isinstance(v, dict) and k is not None for k, v in entries):
        return None
    for name in LIST_KEYS:
        held = [v.get(name) for _, v in entries]
        if all(_record_list(c) or _record_map(c) and _record_list(list(c.values())) for c in held) and any(held):
            return (WILDCARD, name), [((str(k),), c) for (k, _), c in zip(entries, held, strict=True)]
    return None


def _locate(payload: Any) -> tuple[tuple[str, ...], list[_Group]] | None:
    """Rules 2 to 7: ``(path, groups)``; None when none applies."""
    nested = _nested(payload)
    if nested is not None:
        return nested
    if isinstance(payload, list):
        return (), [((), payload)]
    if not isinstance(payload, dict):
        return None
    for key in LIST_KEYS:
        value = payload.get(key)
        if isinstance(value, list):
            return (key,), [((), value)]
    lists = list(_walk(payload, (), 1))
    candidates = [(p, items) for p, items in lists if items and _record_list(items)]
    best = max(candidates, key=lambda c: (len(c[1]), -len(c[0])), default=None)
    entries = _keyed_entries(payload)
    # One entry is a wrapper ({"result": {...}}), not a catalog of one model.
    keyed = len(entries) >= 2 and "error" not in payload and _record_map(payload)
    empty = next((p for p, items in lists if not items and p[-1] in _EMPTY_LIST_KEYS), None)
    if keyed and (len(entries) > len(best[1]) if best else empty is None):
        return (), [((), payload)]
    if best is not None:
        return best[0], [((), best[1])]
    if empty is not None:
        return empty, [((), [])]
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


def _configured_groups(payload: Any, list_path: str) -> list[_Group]:
    """The groups at a configured ``list_path``; raises naming the path and the answer's keys."""
    path = tuple(list_path.split(".")) if list_path else ()
    groups: list[_Group] = [((), payload)]
    for segment in path:
        deeper: list[_Group] = []
        for qualifiers, value in groups:
            if segment == WILDCARD:
                for key, child in _entries(value) or []:
                    # A list item that names itself by no id-like field cannot qualify its
                    # records' ids: its records are counted as without an id below.
                    deeper.append(((*qualifiers, key), child) if key is not None else ((*qualifiers, ""), child))
            elif isinstance(value, dict):
                deeper.append((qualifiers, value.get(segment)))
        groups = deeper
    wild = WILDCARD in path
    # Under a "*", an entry without the named list (a provider with no models) is skipped;
    # a configured path without one at all is wrong.
    found = [(q, c) for q, c in groups if isinstance(c, list) or _record_map(c)]
    if not found or not wild and len(found) != len(groups):
        seen = f"the answer has keys: {_describe(payload)}" if isinstance(payload, dict) else "it is not an object"
        what = "matches no list or object of records" if wild else "is not a list in the answer"
        raise AnswerShapeError(f"list_path '{list_path}' {what} ({seen})")
    return found


def _read(
    payload: Any, list_path: str | None, id_field: str | None
) -> tuple[tuple[str, ...], list[_Group], str | None]:
    """``(path, groups, id field of the lists)``: where the records are, by the rules above."""
    if list_path is not None:
        path: tuple[str, ...] = tuple(list_path.split(".")) if list_path else ()
        groups = _configured_groups(payload, list_path)
    else:
        located = _locate(payload)
        if located is None:
            raise _no_list(payload)
        path, groups = located
    lists = [c for _, c in groups if isinstance(c, list)]
    field = id_field or (_list_id_field([r for c in lists for r in c]) if lists else None)
    return path, groups, field


def _group_ids(
    qualifiers: tuple[str, ...], collection: Any, field: str | None, id_field: str | None, fallback: bool
) -> list[tuple[str | None, Any]]:
    """``(id, record)`` of one group, ids qualified by the group's keys ("" marks a group that
    names itself by nothing: its records have no id)."""
    if isinstance(collection, list):
        found = list(_identify(collection, field, fallback))
    else:
        found = list(_identify_keyed(collection, id_field, fallback))
    if "" in qualifiers:
        return [(None, record) for _, record in found]
    if qualifiers:
        return [(None if i is None else "/".join((*qualifiers, i)), r) for i, r in found]
    return found


def find_records(
    payload: Any, list_path: str | None = None, id_field: str | None = None, fallback: bool | None = None
) -> Found:
    """The model records of an answer, how they were found, and the list they came from.

    ``list_path`` and ``id_field`` (from the providers file) replace detection; a record without
    a configured id field has no id unless ``fallback`` is true. Raises
    :class:`AnswerShapeError` naming the keys the answer has when no list is found.
    """
    path, groups, field = _read(payload, list_path, id_field)
    if fallback is None:
        fallback = id_field is None
    identified: list[tuple[str | None, Any]] = []
    items: list[Any] = []
    for qualifiers, collection in groups:
        items.extend(collection if isinstance(collection, list) else (v for _, v in _keyed_entries(collection)))
        identified.extend(_group_ids(qualifiers, collection, field, id_field, fallback))
    records, unidentified, duplicates = _dedupe(identified)
    where = ".".join(path)
    if any(isinstance(c, list) for _, c in groups):
        shape = f"{where}[]" + (f".{field}" if field else "")
    else:
        shape = f"{where}{KEYED}" + (f".{id_field}" if id_field else "")
    one_list = len(groups) == 1 and isinstance(groups[0][1], list) and WILDCARD not in path
    return Found(records, unidentified, duplicates, shape, path if one_list else None, items)


def keep_records(
    payload: Any,
    keep: Container[str],
    list_path: str | None = None,
    id_field: str | None = None,
    fallback: bool | None = None,
) -> Any:
    """The answer in its own shape holding only the records whose id (as :func:`find_records`
    reads it) is in ``keep``: wrappers and their other keys stay, a group (under a ``*``) left
    without records goes. Raises :class:`AnswerShapeError` as :func:`find_records` does."""
    path, _, field = _read(payload, list_path, id_field)
    if fallback is None:
        fallback = id_field is None

    def pruned(value: Any, rest: tuple[str, ...], qualifiers: tuple[str, ...]) -> Any:
        if not rest:
            ids = _group_ids(qualifiers, value, field, id_field, fallback)
            if isinstance(value, list):
                return [record for (model_id, record) in ids if model_id in keep]
            kept = {k for (k, _), (model_id, _) in zip(_keyed_entries(value), ids, strict=True) if model_id in keep}
            return {k: v for k, v in value.items() if str(k) in kept}
        segment, deeper = rest[0], rest[1:]
        if segment != WILDCARD:
            if not isinstance(value, dict) or not isinstance(value.get(segment), list | dict):
                return value
            return {**value, segment: pruned(value[segment], deeper, qualifiers)}
        entries = _entries(value) or []
        groups = [pruned(child, deeper, (*qualifiers, "" if key is None else key)) for key, child in entries]
        held = [_read_back(group, deeper) for group in groups]
        if isinstance(value, dict):
            return {key: group for (key, _), group, h in zip(entries, groups, held, strict=True) if h}
        return [group for group, h in zip(groups, held, strict=True) if h]

    return pruned(payload, path, ())


def _read_back(value: Any, path: tuple[str, ...]) -> bool:
    """Whether an entry (after a ``*``) still holds a record at ``path``, for :func:`keep_records`."""
    for n, segment in enumerate(path):
        if segment == WILDCARD:
            return any(_read_back(child, path[n + 1 :]) for _, child in _entries(value) or [])
        value = value.get(segment) if isinstance(value, dict) else None
    return isinstance(value, list | dict) and bool(value)


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
