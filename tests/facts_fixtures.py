"""Shared by the tests of vexy_catalog.facts: the trimmed real answers of tests/fixtures/normalize."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vexy_catalog.facts import normalize_record

FIXTURES = Path(__file__).parent / "fixtures" / "normalize"


def records(provider: str) -> dict[str, Any]:
    """(id -> raw record) of a fixture, read the way each answer shape is read."""
    answer = json.loads((FIXTURES / f"{provider}.json").read_text(encoding="utf-8"))
    if provider == "litellm":
        return {k: v for k, v in answer.items() if k != "sample_spec"}
    rows = answer if isinstance(answer, list) else answer["data"]
    found: dict[str, Any] = {}
    for row in rows:
        found.setdefault(row["id"], row)
    return found


def facts_of(provider: str, model_id: str) -> dict[str, object]:
    return normalize_record(provider, model_id, records(provider)[model_id])
