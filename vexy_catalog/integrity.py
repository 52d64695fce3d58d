"""``vexy verify``: check that the catalog is what its hashes and stored answers say it is.

Checks, in order: SQLite's ``PRAGMA integrity_check`` and ``foreign_key_check``; every payload's
hash recomputed from its body; every model's ``content_hash`` recomputed from its ``raw``; and,
for each provider, its listed models against the answer they were stored from (the payload its
``providers.payload_hash`` names): the same ids, the same records.

Repair uses the payload store as the source of truth: a model whose record (or hash) was altered
is restored from the newest stored answer that lists it; a model the stored answer lists but the
table lost or marked removed is restored; a listed model the answer does not hold is marked
removed. A damaged old answer no model comes from is removed (its hash stays in the fetch
history). A provider whose *current* stored answer is damaged or missing can only be repaired
by fetching it again: the report lists it (:attr:`VerifyReport.refetch`), and repair forgets its
HTTP validators so that fetch gets the whole answer rather than "304 Not Modified". A broken
file is reported as not repairable.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlite_utils import Database

from .db import (
    canonical_json,
    fact_columns,
    index_new_models,
    max_model_rowid,
    read_snapshot,
    refresh_facts,
    stored_records,
    write_transaction,
)
from .fetch import utcnow

__all__ = ["Problem", "VerifyReport", "verify"]


@dataclass
class Problem:
    check: str
    detail: str
    provider: str | None = None
    model_id: str | None = None
    repaired: bool = False
    repairable: bool = True
    # Only a new fetch of the provider can repair it (its current stored answer is damaged).
    refetch: bool = False

    def __str__(self) -> str:
        where = "/".join(p for p in (self.provider, self.model_id) if p)
        if self.repaired:
            state = " [repaired]"
        elif self.refetch:
            state = " [refetch to repair]"
        else:
            state = "" if self.repairable else " [cannot repair]"
        return f"{self.check}: {where + ': ' if where else ''}{self.detail}{state}"


@dataclass
class VerifyReport:
    problems: list[Problem] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True when no problem remains (none found, or every one repaired)."""
        return all(p.repaired for p in self.problems)

    @property
    def refetch(self) -> list[str]:
        """Providers whose current stored answer is damaged or missing: a new fetch repairs them."""
        return sorted({p.provider for p in self.problems if p.refetch and not p.repaired and p.provider})

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "problems": [asdict(p) for p in self.problems]}


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _short(digest: str | None) -> str:
    return (digest or "none")[:12]


def verify(db: Database, repair: bool = False) -> VerifyReport:
    """Check the catalog (and with ``repair``, restore what the payload store can).

    Everything is read from one snapshot of the file, so a fetch or a prune writing it meanwhile
    is never reported as a problem; with ``repair`` the check and the repair are one write
    transaction (a fetch waits for it, and nothing changes between what was found and what is
    repaired).
    """
    report = VerifyReport()
    if repair:
        with write_transaction(db):
            _verify(db, report, repair=True, search_stale=_check_search_index(db, report))
    else:
        # FTS5's check is one statement (an INSERT of a command), consistent on its own.
        search_stale = _check_search_index(db, report)
        with read_snapshot(db):
            _verify(db, report, repair=False, search_stale=search_stale)
    return report


def _verify(db: Database, report: VerifyReport, repair: bool, search_stale: Problem | None) -> None:
    integrity = [row[0] for row in db.execute("PRAGMA integrity_check").fetchall()]
    if integrity != ["ok"]:
        report.problems = [p for p in report.problems if p.check != "search_index"]
        for line in integrity[:20]:
            report.problems.append(Problem("integrity_check", line, repairable=False))
        # Reading on from a damaged file can mislead; this is the one thing to fix first.
        return
    for table, rowid, parent, _ in db.execute("PRAGMA foreign_key_check").fetchall():
        report.problems.append(
            Problem("foreign_key", f"{table} row {rowid} points at a missing {parent} row", repairable=False)
        )

    bad_payloads = _check_payloads(db, report)
    stored = _check_model_hashes(db, report)
    fixes = _check_against_payloads(db, report, bad_payloads, stored)
    old_bad = [p for p in report.problems if p.check == "payload_hash" and p.repairable]
    if repair and old_bad:
        with write_transaction(db):
            db.conn.executemany(
                "delete from payloads where hash = ? and hash not in "
                "(select payload_hash from providers where payload_hash is not null)",
                [(digest,) for digest in sorted(bad_payloads)],
            )
        for problem in old_bad:
            problem.repaired = True
            problem.detail += ": removed"
    if repair and report.refetch:
        # The damaged answer must not come back as "304 Not Modified": forget its validators,
        # so the next fetch of these providers gets (and stores) the whole answer again.
        with write_transaction(db):
            db.conn.executemany(
                "update providers set http_etag = null, http_last_modified = null where name = ?",
                [(name,) for name in report.refetch],
            )
    if repair and fixes:
        with write_transaction(db):
            providers = _apply_fixes(db, fixes)
            refresh_facts(db, sorted(providers))
        for problem, _fix in fixes:
            problem.repaired = True
    if repair and search_stale is not None:
        with write_transaction(db):
            db.execute("insert into models_fts (models_fts) values ('rebuild')")
        search_stale.repaired = True


def _check_search_index(db: Database, report: VerifyReport) -> Problem | None:
    """The full-text index must match the models' rows (inserts are indexed in bulk)."""
    if not db["models_fts"].exists():
        return None
    try:
        # FTS5's own check compares the index with the content table (models).
        db.execute("insert into models_fts (models_fts, rank) values ('integrity-check', 1)")
    except sqlite3.DatabaseError as e:
        if "readonly" not in str(e):
            problem = Problem("search_index", f"the search index does not match the models table ({e})")
            report.problems.append(problem)
            return problem
        # FTS5's check is an INSERT, which a read-only connection refuses: compare which rows
        # the index holds instead (a lost or extra entry; --repair runs the full check).
        missing, extra = db.execute(
            "select (select count(*) from models where rowid not in (select id from models_fts_docsize)), "
            "(select count(*) from models_fts_docsize where id not in (select rowid from models))"
        ).fetchone()
        if missing or extra:
            problem = Problem(
                "search_index", f"the search index misses {missing:,} models and holds {extra:,} rows of no model"
            )
            report.problems.append(problem)
            return problem
    return None


def _check_payloads(db: Database, report: VerifyReport) -> set[str]:
    bad = set()
    count = 0
    current = {}
    for name, digest in db.execute("select name, payload_hash from providers where payload_hash is not null"):
        current.setdefault(digest, []).append(name)
    for digest, body in db.execute("select hash, body from payloads"):
        count += 1
        actual = _sha(body)
        if actual != digest:
            bad.add(digest)
            detail = f"payload {_short(digest)} does not match its body (body hashes to {_short(actual)})"
            if digest not in current:
                # No provider's models come from it, and no fetch can bring the old answer
                # back: --repair removes it (the fetch history keeps its hash, as after a prune).
                detail += "; an old answer no model comes from"
                report.problems.append(Problem("payload_hash", detail))
            for name in current.get(digest, []):
                report.problems.append(
                    Problem(
                        "payload_hash",
                        f"{detail}; it is the provider's current answer: fetching it again repairs it",
                        name,
                        repairable=False,
                        refetch=True,
                    )
                )
    report.checked["payloads"] = count
    return bad


def _check_model_hashes(db: Database, report: VerifyReport) -> dict[tuple[str, str], dict[str, Any]]:
    """Every model's hash against its raw record; returns the rows by (provider, model_id)."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for provider, model_id, raw, digest, removed_at in db.execute(
        "select provider, model_id, raw, content_hash, removed_at from models"
    ):
        rows[(provider, model_id)] = {"raw": raw, "content_hash": digest, "removed_at": removed_at, "bad": False}
        try:
            actual = _sha(canonical_json(json.loads(raw)))
        except (TypeError, ValueError):
            actual = None
        if actual != digest:
            rows[(provider, model_id)]["bad"] = True
            detail = (
                "raw is not valid JSON"
                if actual is None
                else f"content_hash {_short(digest)} does not match raw (which hashes to {_short(actual)})"
            )
            report.problems.append(Problem("content_hash", detail, provider, model_id))
    report.checked["models"] = len(rows)
    return rows


@dataclass
class _Fix:
    provider: str
    model_id: str
    action: str  # restore, unremove, remove
    raw: Any = None


def _payload_records(db: Database, digest: str, provider: str) -> dict[str, Any] | None:
    records = stored_records(db, provider, digest)
    return None if records is None else dict(records)


def _check_against_payloads(
    db: Database,
    report: VerifyReport,
    bad_payloads: set[str],
    stored: dict[tuple[str, str], dict[str, Any]],
) -> list[tuple[Problem, _Fix]]:
    fixes: list[tuple[Problem, _Fix]] = []
    checked = 0
    for provider, digest in db.execute(
        "select name, payload_hash from providers where payload_hash is not null order by name"
    ).fetchall():
        if digest in bad_payloads:
            continue
        records = _payload_records(db, digest, provider)
        if records is None:
            report.problems.append(
                Problem(
                    "payload_missing",
                    f"stored answer {_short(digest)} is missing or unreadable; fetching it again repairs it",
                    provider,
                    repairable=False,
                    refetch=True,
                )
            )
            continue
        checked += 1
        listed = {m for (p, m), row in stored.items() if p == provider and row["removed_at"] is None}
        for model_id, raw in records.items():
            row = stored.get((provider, model_id))
            expected = canonical_json(raw)
            if row is None:
                problem = Problem(
                    "missing_model", f"listed in answer {_short(digest)} but not in models", provider, model_id
                )
                fixes.append((problem, _Fix(provider, model_id, "restore", raw)))
            elif row["raw"] != expected:
                problem = Problem(
                    "raw_mismatch", f"raw differs from the record in answer {_short(digest)}", provider, model_id
                )
                fixes.append((problem, _Fix(provider, model_id, "restore", raw)))
            elif row["bad"]:
                # The record is the answer's; only its hash was altered.
                problem = next(
                    p
                    for p in report.problems
                    if p.check == "content_hash" and (p.provider, p.model_id) == (provider, model_id)
                )
                fixes.append((problem, _Fix(provider, model_id, "restore", raw)))
                continue
            elif row["removed_at"] is not None:
                problem = Problem(
                    "removed_but_listed", f"marked removed but listed in answer {_short(digest)}", provider, model_id
                )
                fixes.append((problem, _Fix(provider, model_id, "unremove")))
            else:
                continue
            report.problems.append(problem)
        for model_id in sorted(listed - set(records)):
            problem = Problem("listed_not_in_answer", f"listed but not in answer {_short(digest)}", provider, model_id)
            report.problems.append(problem)
            fixes.append((problem, _Fix(provider, model_id, "remove")))
    report.checked["providers"] = checked
    # A removed model whose record was altered: find it in the newest older answer that has it.
    fixed = {(f.provider, f.model_id) for _, f in fixes}
    for (provider, model_id), row in stored.items():
        if not row["bad"] or (provider, model_id) in fixed:
            continue
        problem = next(p for p in report.problems if (p.provider, p.model_id) == (provider, model_id))
        raw = _find_in_history(db, provider, model_id, bad_payloads)
        if raw is None:
            problem.repairable = False
            problem.detail += "; no stored answer holds this model"
        else:
            fixes.append((problem, _Fix(provider, model_id, "restore", raw)))
    # The content_hash problems that the payload comparison also caught are one problem each.
    for problem, fix in fixes:
        duplicate = [
            p
            for p in report.problems
            if p is not problem
            and p.check == "content_hash"
            and (p.provider, p.model_id) == (fix.provider, fix.model_id)
        ]
        for p in duplicate:
            report.problems.remove(p)
            problem.detail = f"{p.detail}; {problem.detail}"
    return fixes


def _find_in_history(db: Database, provider: str, model_id: str, bad_payloads: set[str]) -> Any | None:
    for (digest,) in db.execute(
        "select payload_hash from fetches where provider = ? and payload_hash is not null group by payload_hash "
        "order by max(id) desc",
        [provider],
    ).fetchall():
        if digest in bad_payloads:
            continue
        records = _payload_records(db, digest, provider)
        if records and model_id in records:
            return records[model_id]
    return None


def _apply_fixes(db: Database, fixes: list[tuple[Problem, _Fix]]) -> set[str]:
    from .facts import normalize_record

    now = utcnow()
    providers = set()
    last = max_model_rowid(db)
    for _, fix in fixes:
        providers.add(fix.provider)
        if fix.action == "restore":
            raw_json = canonical_json(fix.raw)
            row = {
                "provider": fix.provider,
                "model_id": fix.model_id,
                "raw": raw_json,
                "content_hash": _sha(raw_json),
                **fact_columns(normalize_record(fix.provider, fix.model_id, fix.raw)),
            }
            exists = db.execute(
                "select removed_at from models where provider = ? and model_id = ?", [fix.provider, fix.model_id]
            ).fetchone()
            if exists is None:
                row.update(first_seen=now, updated_at=now, removed_at=None)
            db["models"].upsert(row, pk=("provider", "model_id"))
        elif fix.action == "unremove":
            db.execute(
                "update models set removed_at = null where provider = ? and model_id = ?", [fix.provider, fix.model_id]
            )
        elif fix.action == "remove":
            db.execute(
                "update models set removed_at = ? where provider = ? and model_id = ?",
                [now, fix.provider, fix.model_id],
            )
    index_new_models(db, last)
    return providers
