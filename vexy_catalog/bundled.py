"""Reference lists shipped inside vexy, so a first run without network still ends in a catalog.

Each bundled list is a pair of package-data files in ``vexy_catalog/snapshots/``:
``<provider>.json.gz`` (the provider's answer as recorded, gzip-compressed) and
``<provider>.about.json`` (title, date, source URL, licence and copyright, the sha256 of the
answer's canonical JSON, which is its payload hash). Adding a list is dropping such a pair
there; it is used for the configured provider of that name.

When a fetch reaches no provider (every one it tried failed) and the catalog lists no model,
``ModelCatalog.afetch`` stores each bundled list as a fetch of its provider with source
``bundled``. That
fetch changes the provider's models and count, and nothing else: its last status stays the
failure, it gets no last success, and the load is not logged as model changes. Everything that
shows the catalog labels such a provider "bundled snapshot of <date>" (:func:`current`) until a
fetch of it succeeds; that fetch replaces the snapshot's models (:func:`forget`) instead of
recording them as removed or changed.
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database

__all__ = [
    "CURRENT_SQL",
    "SOURCE",
    "BundledList",
    "bundled_lists",
    "current",
    "current_rows",
    "forget",
    "is_current",
]

SOURCE = "bundled"
PACKAGE_DIR = "snapshots"


@dataclass(frozen=True)
class BundledList:
    provider: str
    title: str
    date: str
    file: str
    source_url: str
    licence: str
    copyright: str
    payload_sha256: str
    models: int
    folder: Any = field(default=None, compare=False, repr=False)  # where its files are

    @property
    def label(self) -> str:
        return f"bundled snapshot of {self.date}"

    def payload(self) -> Any:
        data = (self.folder / self.file).read_bytes()
        return json.loads(gzip.decompress(data).decode("utf-8"))


_FIELDS = [f for f in BundledList.__dataclass_fields__ if f != "folder"]


def read_lists(folder: Any) -> tuple[BundledList, ...]:
    """The lists in ``folder`` (a path or a package resource): one per ``*.about.json``."""
    found = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".about.json"):
            about = json.loads(entry.read_text(encoding="utf-8"))
            found.append(BundledList(**{k: about[k] for k in _FIELDS}, folder=folder))
    return tuple(found)


@cache
def bundled_lists() -> tuple[BundledList, ...]:
    """Every list shipped in the package (``vexy_catalog/snapshots/``)."""
    return read_lists(files("vexy_catalog") / PACKAGE_DIR)


def _by_hash() -> dict[str, BundledList]:
    return {b.payload_sha256: b for b in bundled_lists()}


# Providers whose latest model-changing fetch is a bundled load, with no success since. Driven
# by the few providers rows, so each lookup uses the (provider, started_at) index of fetches.
CURRENT_SQL = """
select p.name, f.payload_hash, f.finished_at
from providers as p
join fetches as f on f.id = (
  select max(g.id) from fetches as g where g.provider = p.name and g.status in ('ok', 'unchanged')
)
where f.source = 'bundled' and f.status = 'ok'
"""


def current_rows(rows: list[tuple[str, str | None, str | None]]) -> dict[str, dict[str, Any]]:
    """:func:`current` from the rows of :data:`CURRENT_SQL` (for callers with their own connection)."""
    known = _by_hash()
    out = {}
    for provider, payload_hash, loaded_at in rows:
        snapshot = known.get(payload_hash or "")
        out[provider] = {
            "label": snapshot.label if snapshot else "bundled snapshot",
            "date": snapshot.date if snapshot else None,
            "title": snapshot.title if snapshot else None,
            "source_url": snapshot.source_url if snapshot else None,
            "licence": snapshot.licence if snapshot else None,
            "loaded_at": loaded_at,
        }
    return out


def current(db: Database) -> dict[str, dict[str, Any]]:
    """Providers whose models are (still) a bundled snapshot: provider -> label, date, source."""
    if not db["fetches"].exists():
        return {}
    return current_rows(db.execute(CURRENT_SQL).fetchall())


def is_current(db: Database, provider: str) -> bool:
    """Whether ``provider``'s models are (still) a bundled snapshot."""
    row = db.execute(
        "select source, status from fetches where provider = ? and status in ('ok', 'unchanged') "
        "order by id desc limit 1",
        [provider],
    ).fetchone()
    return row is not None and row[0] == SOURCE and row[1] == "ok"


def forget(db: Database, provider: str) -> int:
    """Delete the models a bundled snapshot put in (inside the caller's transaction), so the
    first successful fetch replaces them rather than recording them as removed. Returns how
    many rows went."""
    loads = [i for (i,) in db.execute("select id from fetches where provider = ? and source = ?", [provider, SOURCE])]
    if not loads:
        return 0
    marks = ", ".join("?" for _ in loads)
    cursor = db.execute(
        f"delete from models where provider = ? and first_seen in "
        f"(select finished_at from fetches where id in ({marks}))",
        [provider, *loads],
    )
    return cursor.rowcount
