"""Measuring stored facts against facts read off records by hand (tests/fixtures/heldout/).

Each held-out fixture is a real, published model-list answer of a provider that is not in the
development snapshots, with the facts a person read off each record (see its ``source``). The
numbers of issue 12:

- ``read``: of the context windows and token prices the records state, how many are stored,
  from the provider, in the right unit (equal within 0.1%);
- ``wrong_prices``: prices stored (from any source) 2x or more away from the stated one;
- ``contradictions``: stated facts (of any kind) whose stored value differs and comes from a
  reference catalog instead of the provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conftest import query as rows

HELDOUT = Path(__file__).parent / "fixtures" / "heldout"
MEASURED = ("context_window", "input_price", "output_price", "cache_read_price")
PRICES = ("input_price", "output_price", "cache_read_price")
FLAGS = ("supports_tools", "supports_vision", "supports_reasoning")


def heldout(name: str) -> dict[str, Any]:
    return json.loads((HELDOUT / f"{name}.json").read_text(encoding="utf-8"))


def heldout_names() -> list[str]:
    return sorted(p.stem for p in HELDOUT.glob("*.json"))


@dataclass
class Quality:
    stated: int = 0
    read: int = 0
    wrong_prices: list[str] = field(default_factory=list)
    contradictions: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def read_rate(self) -> float:
        return self.read / self.stated if self.stated else 1.0

    def add(self, other: Quality) -> None:
        self.stated += other.stated
        self.read += other.read
        self.wrong_prices += other.wrong_prices
        self.contradictions += other.contradictions
        self.misses += other.misses


def _same(fact: str, stored: Any, stated: Any) -> bool:
    if stored is None:
        return False
    if fact in FLAGS:
        return bool(stored) == bool(stated)
    if fact in ("input_modalities", "output_modalities"):
        return sorted(json.loads(stored)) == sorted(stated)
    if isinstance(stated, int | float) and isinstance(stored, int | float):
        return abs(stored - stated) <= 1e-3 * max(abs(stated), 1e-9)
    return stored == stated


def measure(db_path: Path, provider: str, expected: dict[str, dict[str, Any]]) -> Quality:
    """Compare the catalog's rows of ``provider`` with the facts read by hand."""
    quality = Quality()
    by_id = {r["model_id"]: r for r in rows(db_path, "select * from models where provider = ?", [provider])}
    for model_id, facts in expected.items():
        row = by_id.get(model_id)
        assert row is not None, f"{provider}/{model_id} was not stored"
        sources = json.loads(row["sources"] or "{}")
        for fact, stated in facts.items():
            stored = row[fact]
            same = _same(fact, stored, stated)
            where = f"{provider}/{model_id} {fact}: stated {stated!r}, stored {stored!r} ({sources.get(fact)})"
            if fact in MEASURED:
                quality.stated += 1
                if same and sources.get(fact) == "provider":
                    quality.read += 1
                else:
                    quality.misses.append(where)
            if fact in PRICES and isinstance(stored, int | float) and isinstance(stated, int | float):
                if stated > 0 and not 0.5 < stored / stated < 2 or stated == 0 and stored > 0:
                    quality.wrong_prices.append(where)
            if stored is not None and not same and sources.get(fact) not in (None, "provider"):
                quality.contradictions.append(where)
        for fact in PRICES:
            # A price stored where the record states none (free or per image) is wrong too.
            if fact not in facts and row[fact] not in (None,) and sources.get(fact) == "provider":
                quality.wrong_prices.append(f"{provider}/{model_id} {fact}: none stated, stored {row[fact]!r}")
    return quality
