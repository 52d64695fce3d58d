"""The earlier vexy-co-model-catalog's files: ``models_<name>.json`` and ``models_<name>.txt``.

``models_<name>.json`` is the provider's raw answer: the stored payload of its latest successful
fetch (``providers.payload_hash`` -> ``payloads``), pretty-printed. When a model filter narrows
the selection (more than ``--provider`` and ``--include-removed``), the answer keeps its shape
but only the selected models' records. ``txt`` is one
model id a line, in the order of the answer (models only listed earlier, selected with
``--include-removed``, follow in id order). Every provider with an answer is exported,
``litellm``'s price file included.
"""

from __future__ import annotations

from typing import Any

from .common import ExportData, load_payload
from .merge import dump_json


def _record_id(record: Any) -> str | None:
    from ..fetch import AnswerShapeError, extract_records

    try:
        records, _, _ = extract_records([record])
    except AnswerShapeError:
        return None
    return records[0][0] if records else None


def filter_payload(payload: Any, keep: set[str]) -> Any:
    """``payload`` in the same shape, with only the records whose id is in ``keep``."""
    from ..fetch import NOT_MODELS

    if isinstance(payload, list):
        return [r for r in payload if _record_id(r) in keep]
    if isinstance(payload, dict):
        for key in ("data", "models"):
            if isinstance(payload.get(key), list):
                return {**payload, key: [r for r in payload[key] if _record_id(r) in keep]}
        return {k: v for k, v in payload.items() if k not in NOT_MODELS and k in keep}
    return payload


def answer_ids(payload: Any) -> list[str]:
    from ..fetch import AnswerShapeError, extract_records

    try:
        records, _, _ = extract_records(payload)
    except AnswerShapeError:
        return []
    return [model_id for model_id, _ in records]


def render(db: Any, data: ExportData, tool: str) -> dict[str, str]:
    selected: dict[str, list[str]] = {}
    for row in data.models:
        selected.setdefault(row["provider"], []).append(row["model_id"])
    files: dict[str, str] = {}
    for name, provider in sorted(data.providers.items()):
        ids = selected.get(name, [])
        if not ids:
            continue
        payload = load_payload(db, provider.payload_hash)
        if tool == "json":
            if payload is None:
                continue
            if data.narrowed:
                payload = filter_payload(payload, set(ids))
            files[f"models_{name}.json"] = dump_json(payload)
        else:
            wanted = set(ids)
            order = [i for i in answer_ids(payload) if i in wanted] if payload is not None else []
            rest = sorted(wanted - set(order))
            files[f"models_{name}.txt"] = "".join(f"{i}\n" for i in order + rest)
    return files
