"""``vexy import DIR``: bring in the earlier tool's dump folder, so migrating users keep their past.

Each ``models_<name>.json`` becomes a fetch of ``<name>`` with source ``import``, dated by the
file's modification time; ``failed_models.json`` (provider name to error) becomes failed fetches.
Files are applied oldest first. An answer older than what the catalog already holds for that
provider is kept as history only (its payload and fetch row): it never overwrites newer data.
Importing the same folder again changes nothing.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from .db import canonical_json, record_fetch, refresh_changed, write_transaction
from .fetch import AnswerShapeError, FetchError, FetchResult, decode_json
from .providers import ProviderConfig
from .records import find_records
from .security import mask_sensitive_data

__all__ = ["ImportReport", "import_dump"]


@dataclass
class ImportReport:
    imported: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already imported
    history_only: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"imported": self.imported, "skipped": self.skipped, "history_only": self.history_only}


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _sha(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _already(db: Database, provider: str, at: str, payload_hash: str | None, error: str | None) -> bool:
    return (
        db.execute(
            "select 1 from fetches where provider = ? and source = 'import' and started_at = ? "
            "and (payload_hash = ? or (payload_hash is null and error = ?))",
            [provider, at, payload_hash, error],
        ).fetchone()
        is not None
    )


def _failed_entries(data: Any) -> list[tuple[str, str]]:
    if isinstance(data, dict):
        return [(str(k), v if isinstance(v, str) else json.dumps(v)) for k, v in data.items()]
    if isinstance(data, list):
        entries = []
        for item in data:
            if isinstance(item, dict):
                name = item.get("provider") or item.get("name")
                if isinstance(name, str):
                    entries.append((name, str(item.get("error") or item.get("message") or "failed")))
            elif isinstance(item, str):
                entries.append((item, "failed"))
        return entries
    return []


def find_dump(directory: str | os.PathLike[str]) -> tuple[list[Path], Path | None]:
    """The dump folder's ``models_<name>.json`` files (oldest first) and ``failed_models.json``.

    Raises FileNotFoundError when ``directory`` is not a dump folder, before anything is opened
    or created."""
    folder = Path(directory)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder} is not a folder - pass the earlier tool's dump folder")
    files = sorted(folder.glob("models_*.json"), key=lambda p: (p.stat().st_mtime, p.name))
    failed_file = folder / "failed_models.json"
    if not files and not failed_file.exists():
        raise FileNotFoundError(f"{folder} holds no models_<name>.json files - is it the earlier tool's dump folder?")
    return files, failed_file if failed_file.exists() else None


def import_dump(db: Database, directory: str | os.PathLike[str], providers: dict[str, ProviderConfig]) -> ImportReport:
    """Import a dump folder into ``db``; ``providers`` supplies known providers' settings."""
    files, failed_file = find_dump(directory)
    report = ImportReport()
    for path in files:
        name = path.stem[len("models_") :]
        provider = providers.get(name) or ProviderConfig(name=name, source="import")
        at = _iso(path.stat().st_mtime)
        body = path.read_bytes()
        result = FetchResult(
            provider=name, status="ok", url=str(path), started_at=at, finished_at=at, duration_ms=0, bytes=len(body)
        )
        try:
            result.payload = decode_json(body)
            found = find_records(result.payload, provider.list_path, provider.id_field)
            result.records, result.unidentified, result.duplicates = found.records, found.unidentified, found.duplicates
            result.shape = found.shape
        except (FetchError, AnswerShapeError) as e:
            result.status, result.error, result.payload = "failed", f"{path.name}: {e}", None
        payload_hash = _sha(canonical_json(result.payload)) if result.status == "ok" else None
        if _already(db, name, at, payload_hash, result.error):
            report.skipped.append(path.name)
            continue
        newest = db.execute("select last_success_at from providers where name = ?", [name]).fetchone()
        if result.status == "ok" and newest and newest[0] and newest[0] > at:
            _store_history_only(db, provider, result, payload_hash)
            report.history_only.append(path.name)
            continue
        row = record_fetch(db, provider, result, source="import")
        report.imported.append({"file": path.name, **row})
    if failed_file is not None:
        at = _iso(failed_file.stat().st_mtime)
        try:
            entries = _failed_entries(json.loads(failed_file.read_text(encoding="utf-8")))
        except (ValueError, UnicodeDecodeError) as e:
            raise ValueError(f"{failed_file} is not valid JSON: {e}") from None
        for name, error in entries:
            error = mask_sensitive_data(f"imported from {failed_file.name}: {error}")
            if _already(db, name, at, None, error):
                report.skipped.append(f"{failed_file.name}:{name}")
                continue
            provider = providers.get(name) or ProviderConfig(name=name, source="import")
            result = FetchResult(
                provider=name,
                status="failed",
                url=str(failed_file),
                started_at=at,
                finished_at=at,
                duration_ms=0,
                error=error,
            )
            newest = db.execute("select last_fetch_at from providers where name = ?", [name]).fetchone()
            if newest and newest[0] and newest[0] > at:
                # An old failure must not mark a provider as failing now.
                with write_transaction(db):
                    db["fetches"].insert(_history_row(name, result, None, "failed"))
                report.history_only.append(f"{failed_file.name}:{name}")
                continue
            row = record_fetch(db, provider, result, source="import")
            report.imported.append({"file": failed_file.name, **row})
    # Facts are decided per provider and against the references, as after a fetch.
    moved = {
        r["provider"] for r in report.imported if r["status"] == "ok" and (r["added"] or r["removed"] or r["changed"])
    }
    refresh_changed(db, moved)
    return report


def _history_row(name: str, result: FetchResult, payload_hash: str | None, status: str) -> dict[str, Any]:
    return {
        "provider": name,
        "source": "import",
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "duration_ms": 0,
        "status": status,
        "error": result.error,
        "model_count": len(result.records) if status == "ok" else None,
        "payload_hash": payload_hash,
        "bytes": result.bytes or None,
    }


def _store_history_only(db: Database, provider: ProviderConfig, result: FetchResult, payload_hash: str | None) -> None:
    from .db import _provider_row

    with write_transaction(db):
        db["providers"].upsert(_provider_row(provider), pk="name")
        db["payloads"].insert({"hash": payload_hash, "body": canonical_json(result.payload)}, pk="hash", ignore=True)
        db["fetches"].insert(_history_row(provider.name, result, payload_hash, "ok"))
