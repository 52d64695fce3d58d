"""The earlier vexy-co-model-catalog's files: ``models_<name>.json`` and ``models_<name>.txt``.

``models_<name>.json`` is the provider's raw answer: the stored payload of its latest successful
fetch (``providers.payload_hash`` -> ``payloads``; with ``as_of``, of its latest one then),
pretty-printed. When a model filter narrows
the selection (more than ``--provider`` and ``--include-removed``), the answer keeps its shape
but only the selected models' records. ``txt`` is one
model id a line, in the order of the answer (models only listed earlier, selected with
``--include-removed``, follow in id order). Every provider with an answer is exported,
``litellm``'s price file included.
"""

from __future__ import annotations

from typing import Any

from ..text import bounded_name, one_line
from .common import ExportData, load_payload
from .merge import dump_json

# How a stored answer is read: (list_path, id_field, strict), see vexy_catalog.records.parse_shape.
Reading = tuple[str | None, str | None, bool]
DETECTED: Reading = (None, None, False)


def filter_payload(payload: Any, keep: set[str], reading: Reading = DETECTED) -> Any:
    """``payload`` in the same shape, with only the records whose id is in ``keep`` (ids read
    as the fetch read them: a provider's list_path, models.dev's ``<provider>/<id>``)."""
    from ..errors import AnswerShapeError
    from ..records import keep_records

    list_path, id_field, strict = reading
    try:
        return keep_records(payload, keep, list_path, id_field, fallback=not strict)
    except AnswerShapeError:
        return payload


def answer_ids(payload: Any, reading: Reading = DETECTED) -> list[str]:
    from ..errors import AnswerShapeError
    from ..records import find_records

    list_path, id_field, strict = reading
    try:
        return [model_id for model_id, _ in find_records(payload, list_path, id_field, fallback=not strict).records]
    except AnswerShapeError:
        return []


def render(db: Any, data: ExportData, tool: str) -> dict[str, str]:
    from ..db import stored_reading
    from ..history import answer_as_of

    selected: dict[str, list[str]] = {}
    for row in data.models:
        selected.setdefault(row["provider"], []).append(row["model_id"])
    files: dict[str, str] = {}
    for name, provider in sorted(data.providers.items()):
        ids = selected.get(name, [])
        if not ids:
            continue
        digest = provider.payload_hash
        if data.as_of is not None:
            # The answer the provider's catalog was read from then, not its latest.
            then = answer_as_of(db, name, data.as_of)
            digest = then[0] if then else None
        payload = load_payload(db, digest)
        reading = stored_reading(db, name, digest) if payload is not None else DETECTED
        if tool == "json":
            if payload is None:
                continue
            if data.narrowed:
                payload = filter_payload(payload, set(ids), reading)
            files[f"models_{bounded_name(name)}.json"] = dump_json(payload)
        else:
            wanted = set(ids)
            order = [i for i in answer_ids(payload, reading) if i in wanted] if payload is not None else []
            rest = sorted(wanted - set(order))
            # One id a line: an id holding a line break (or another control character) shows it escaped.
            files[f"models_{bounded_name(name)}.txt"] = "".join(f"{one_line(i)}\n" for i in order + rest)
    return files
