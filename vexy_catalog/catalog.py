"""``ModelCatalog``: the Python API over providers, fetching and the catalog database."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from .providers import ProviderConfig, load_providers
from .timeutil import parse_age, parse_time, utcnow

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup

__all__ = ["FetchInterrupted", "FetchSummary", "ModelCatalog", "UnknownProviderError", "first_cause", "parse_age"]

DEFAULT_DB = "vexy.db"


class UnknownProviderError(KeyError):
    """A provider name that is not configured; the message suggests close names."""

    def __init__(self, name: str, known: Iterable[str]):
        import difflib  # only for this message: not on every fetch's way to its requests

        self.name = name
        close = difflib.get_close_matches(name, list(known), n=3, cutoff=0.6)
        hint = f" - did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        self.message = f"Unknown provider '{name}'{hint} ('vexy providers' lists them)"
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


@dataclass
class FetchSummary:
    """The outcome of one ``fetch``: a ``fetches`` row per provider attempted or skipped."""

    db_path: Path
    fetches: list[dict[str, Any]] = field(default_factory=list)
    # Providers not fetched because their data is younger than max_age (not recorded as fetches).
    fresh: list[str] = field(default_factory=list)
    duration_ms: int = 0
    # Model rows whose facts the enrichment pass after the fetch changed.
    facts_updated: int = 0
    # Bundled snapshots loaded because no provider could be reached (see vexy_catalog.bundled).
    bundled: list[dict[str, Any]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for f in self.fetches if f["status"] == status)

    @property
    def failed(self) -> dict[str, str]:
        return {f["provider"]: f["error"] or "failed" for f in self.fetches if f["status"] == "failed"}

    @property
    def suspect(self) -> dict[str, str]:
        """Providers whose answer would have emptied their list (nothing stored), with why."""
        return {f["provider"]: f["error"] or "suspect" for f in self.fetches if f["status"] == "suspect"}

    @property
    def interrupted(self) -> list[str]:
        return [f["provider"] for f in self.fetches if f["status"] == "interrupted"]

    @property
    def ok(self) -> bool:
        """True when no provider failed, answered suspiciously or was interrupted."""
        return not self.failed and not self.suspect and not self.interrupted

    def totals(self) -> dict[str, int]:
        done = [f for f in self.fetches if f["status"] in ("ok", "unchanged")]
        return {
            "models": sum(f["model_count"] or 0 for f in done),
            "added": sum(f["added"] or 0 for f in done),
            "removed": sum(f["removed"] or 0 for f in done),
            "changed": sum(f["changed"] or 0 for f in done),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "db": str(self.db_path),
            "duration_ms": self.duration_ms,
            "ok": self.ok,
            "counts": {s: self.count(s) for s in STATUSES} | {"fresh": len(self.fresh)},
            "totals": self.totals(),
            "fetches": self.fetches,
            "fresh": self.fresh,
            "facts_updated": self.facts_updated,
            "bundled": self.bundled,
        }


# The outcomes a fetch summary counts, in the order they are reported.
STATUSES = ("ok", "unchanged", "failed", "suspect", "interrupted", "skipped")


class FetchInterrupted(KeyboardInterrupt):
    """A fetch stopped by Ctrl-C: ``summary`` holds what was stored before, and the providers
    that were still under way (status ``interrupted``)."""

    def __init__(self, summary: FetchSummary):
        super().__init__("fetch interrupted")
        self.summary = summary


def _store_error(e: BaseException) -> str:
    from .security import mask_sensitive_data
    from .text import one_line

    detail = one_line(mask_sensitive_data(str(e)))[:300]
    return f"the answer could not be stored: {type(e).__name__}" + (f": {detail}" if detail else "")


def _try(function: Callable[..., Any], *args: Any) -> None:
    """Best effort: recording a failure must not hide the failure (a full disk refuses both)."""
    import sqlite3

    try:
        function(*args)
    except sqlite3.Error:
        pass


def first_cause(group: BaseExceptionGroup) -> BaseException:
    """The exception that ended a task group: the first that is not a cancellation."""
    import anyio

    cancelled = anyio.get_cancelled_exc_class()
    leaves: list[BaseException] = []

    def walk(e: BaseException) -> None:
        if isinstance(e, BaseExceptionGroup):
            for inner in e.exceptions:
                walk(inner)
        elif not isinstance(e, cancelled):
            leaves.append(e)

    walk(group)
    return leaves[0] if leaves else group


class ModelCatalog:
    """The catalog: its providers and its SQLite file.

    >>> catalog = ModelCatalog(db_path="vexy.db")      # doctest: +SKIP
    >>> summary = catalog.fetch(["openrouter", "litellm"])  # doctest: +SKIP

    ``db_path`` defaults to ``storage_root / "vexy.db"`` when ``storage_root`` is given, else
    to ``$VEXY_DB``, else ``./vexy.db``. ``providers_file`` defaults to ``$VEXY_PROVIDERS_FILE``.
    """

    def __init__(
        self,
        storage_root: str | os.PathLike[str] | None = None,
        db_path: str | os.PathLike[str] | None = None,
        providers_file: str | os.PathLike[str] | None = None,
    ):
        if db_path is None:
            if storage_root is not None:
                db_path = Path(storage_root) / DEFAULT_DB
            else:
                db_path = os.environ.get("VEXY_DB") or DEFAULT_DB
        self.db_path = Path(db_path)
        self.storage_root = Path(storage_root) if storage_root is not None else self.db_path.parent
        self.providers_file = providers_file
        self._providers: dict[str, ProviderConfig] | None = None

    @property
    def providers(self) -> dict[str, ProviderConfig]:
        """Enabled providers by name (built-ins, base-URL variables, the providers file)."""
        if self._providers is None:
            self._providers = load_providers(self.providers_file)
        return self._providers

    def list_providers(self) -> list[ProviderConfig]:
        return list(self.providers.values())

    def get_provider(self, name: str) -> ProviderConfig:
        try:
            return self.providers[name]
        except KeyError:
            raise UnknownProviderError(name, self.providers) from None

    def open_db(self, create: bool = True, readonly: bool = False):  # -> sqlite_utils.Database
        """The catalog, created and migrated as needed; ``readonly`` never writes (see
        :func:`vexy_catalog.db.open_db`)."""
        from .db import open_db

        return open_db(self.db_path, create=create, readonly=readonly)

    def provider_status(self) -> dict[str, dict[str, Any]]:
        """The ``providers`` rows of the database by name (empty when there is no database), each
        with ``data_source``: "bundled snapshot of <date>" while its models are a snapshot
        shipped with vexy, else None."""
        if not self.db_path.exists():
            return {}
        from .bundled import current

        db = self.open_db(readonly=True)
        try:
            snapshots = current(db)
            return {
                row["name"]: row | {"data_source": snapshots.get(row["name"], {}).get("label")}
                for row in db.query("select * from providers")
            }
        finally:
            db.close()

    def _read_db(self):  # -> sqlite_utils.Database
        """The catalog opened read-only: never created, written or migrated."""
        return self.open_db(readonly=True)

    def models(
        self,
        query: str | None = None,
        *,
        providers: Iterable[str] = (),
        min_context: int | None = None,
        max_input_price: float | None = None,
        tools: bool = False,
        vision: bool = False,
        reasoning: bool = False,
        model_type: str | None = None,
        include_removed: bool = False,
        sort: str = "name",
        limit: int | None = None,
        raw: bool = False,
    ) -> list[dict[str, Any]]:
        """Models matching every criterion given, the same query as ``vexy models``.

        >>> catalog.models(min_context=128_000, tools=True, max_input_price=1.0, sort="input_price")  # doctest: +SKIP
        """
        from .query import ModelFilter, query_models

        model_filter = ModelFilter(
            query=query,
            providers=list(providers),
            min_context=min_context,
            max_input_price=max_input_price,
            tools=tools,
            vision=vision,
            reasoning=reasoning,
            model_type=model_type,
            include_removed=include_removed,
        )
        db = self._read_db()
        try:
            return query_models(db, model_filter, sort=sort, limit=limit, raw=raw)
        finally:
            db.close()

    def stats(self) -> list[dict[str, Any]]:
        """Per provider completeness: see :func:`vexy_catalog.query.stats`."""
        from .query import stats

        db = self._read_db()
        try:
            return stats(db)
        finally:
            db.close()

    def get_failed_providers(self) -> dict[str, str]:
        """Provider name to error, for providers whose latest fetch failed, was suspect (kept
        the stored models) or was interrupted."""
        from .health import NOT_DONE

        return {
            name: row["last_error"] or row["last_status"]
            for name, row in self.provider_status().items()
            if row["last_status"] in NOT_DONE
        }

    def select(self, names: Iterable[str] | None = None, failed: bool = False) -> list[ProviderConfig]:
        """The providers named (all when none), or only those whose last fetch failed."""
        names = list(names or [])
        chosen = [self.get_provider(n) for n in dict.fromkeys(names)] if names else self.list_providers()
        if failed:
            failing = self.get_failed_providers()
            chosen = [p for p in chosen if p.name in failing]
        return chosen

    def fetch(self, names: Iterable[str] | None = None, **kwargs: Any) -> FetchSummary:
        """Fetch and store providers; see :meth:`afetch`.

        Ctrl-C raises :class:`FetchInterrupted` (a ``KeyboardInterrupt``) with the summary so
        far: what was stored stays stored, providers under way are recorded as interrupted."""
        from . import tlscontext

        tlscontext.prepare()  # while the fetch's modules load (see vexy_catalog.tlscontext)
        import anyio

        summary = FetchSummary(self.db_path)
        try:
            return anyio.run(lambda: self.afetch(names, _summary=summary, **kwargs))
        except KeyboardInterrupt:
            raise FetchInterrupted(summary) from None

    def _load_bundled(self, db: Any, failed: set[str]) -> list[dict[str, Any]]:
        """Store the bundled list of each provider in ``failed`` that has one (see
        :mod:`vexy_catalog.bundled`); returns their ``fetches`` rows."""
        from . import bundled
        from .db import record_fetch, write_transaction
        from .fetch import FetchResult, extract_records

        rows = []
        for snapshot in bundled.bundled_lists():
            provider = self.providers.get(snapshot.provider)
            if provider is None or snapshot.provider not in failed:
                continue
            payload = snapshot.payload()
            records, unidentified, duplicates = extract_records(payload)
            now = utcnow()
            result = FetchResult(
                provider=snapshot.provider,
                status="ok",
                url=f"{bundled.SOURCE}:{snapshot.file}",
                started_at=now,
                finished_at=now,
                duration_ms=0,
                payload=payload,
                records=records,
                unidentified=unidentified,
                duplicates=duplicates,
            )
            row = record_fetch(db, provider, result, source=bundled.SOURCE)
            with write_transaction(db):
                # Not news: a snapshot of an earlier day is no change anyone saw happen.
                db.execute("delete from model_changes where fetch_id = ?", [row["id"]])
            rows.append({**row, "label": snapshot.label, "title": snapshot.title})
        return rows

    def _after_fetch(self, db: Any, prepared: dict[str, Any], summary: FetchSummary) -> int:
        """What is left once every answer is stored: the bundled snapshots when no provider
        could be reached on a new catalog, and the facts of providers whose ``facts:`` map
        changed but whose answer was not stored again. Returns the model rows re-enriched."""
        from .db import write_transaction

        unreachable = self._unreachable(summary)
        if unreachable and not db.execute("select exists(select 1 from models where removed_at is null)").fetchone()[0]:
            # Offline on a new catalog: something to browse, labelled as what it is.
            summary.bundled = self._load_bundled(db, unreachable)
        ingest = prepared["ingest"]
        applied = {f["provider"] for f in summary.fetches if f["status"] == "ok"}
        # A provider whose facts: map changed is read again, whatever its answer did.
        remapped = sorted(prepared["remapped"] - applied)
        updated = 0
        if remapped:
            with write_transaction(db):
                updated = sum(ingest.resolve_stored(name) for name in remapped)
        return updated + ingest.settle()

    @staticmethod
    def _unreachable(summary: FetchSummary) -> set[str]:
        """The providers tried, when every one of them failed (no network, as far as vexy can
        tell); empty when any answered. Only a bundled list whose own provider is among them is
        loaded: 'vexy fetch acme' failing says nothing about LiteLLM's list."""
        tried = [f for f in summary.fetches if f["status"] != "skipped"]
        if tried and all(f["status"] == "failed" for f in tried):
            return {f["provider"] for f in tried}
        return set()

    async def afetch(
        self,
        names: Iterable[str] | None = None,
        *,
        failed: bool = False,
        max_age: str | timedelta | None = None,
        timeout: float | None = None,
        concurrency: int | None = None,
        retries: int | None = None,
        max_bytes: int | None = None,
        on_fetch: Callable[[dict[str, Any]], None] | None = None,
        environ: dict[str, str] | None = None,
        on_wait: Callable[[str], None] | None = None,
        force: bool = False,
        accept_shrink: bool = False,
        _summary: FetchSummary | None = None,
    ) -> FetchSummary:
        """Fetch the providers named (all when none) concurrently and store each as it completes.

        ``on_fetch`` is called with each stored ``fetches`` row, for progress output, and
        ``on_wait`` with a line when a write waits for another process's write lock (and when it
        got it, saying how long it waited).
        ``failed`` fetches only the providers whose latest fetch failed, was suspect or was
        interrupted. ``force`` sends no conditional request (stored ETag / Last-Modified are
        ignored), so every provider answers in full. ``accept_shrink`` stores an answer that
        empties a provider (or halves it) instead of recording it as ``suspect``.
        ``concurrency`` (default: every provider at once) caps the providers fetched at once;
        each host's own cap applies too (see :mod:`vexy_catalog.ratelimit`).

        The requests leave first: the catalog is opened, migrated and prepared while they are
        out (only the stored validators are read before). The reference catalogs' answers
        (litellm, OpenRouter, models.dev) are stored first, then every other answer with its
        final facts as it arrives, so no pass over the catalog follows the last answer.

        Each provider is a fault domain: an answer that cannot be stored fails its provider only.
        An error of the catalog file itself (disk full, an I/O error, a lock held too long) ends
        the run with that error (a ``sqlite3.Error``); what was stored before stays stored.
        """
        import time

        from . import tlscontext

        tlscontext.prepare()  # while the fetch's modules load (see vexy_catalog.tlscontext)
        import anyio
        from anyio import to_thread

        from .conditional import read_stored
        from .fetch import DEFAULT_MAX_BYTES, DEFAULT_RETRIES, DEFAULT_TIMEOUT, FetchResult, ModelFetcher
        from .gcpause import let_go

        t0 = time.perf_counter()
        providers = self.select(names, failed=failed)
        age = parse_age(max_age)
        summary = _summary if _summary is not None else FetchSummary(self.db_path)
        stored = read_stored(Path(self.db_path), providers)
        db: Any = None
        if stored is None:
            # Not readable as a current catalog: opened (migrated, or refused) before anything
            # is sent.
            from .conditional import known_answers, validators

            db = self.open_db()
            stored = (
                validators(db, providers),
                dict(db.execute("select name, last_success_at from providers")),
                known_answers(db, providers),
            )
        validators_found, last_success, known = stored
        if age is not None:
            now = datetime.now(timezone.utc)
            fresh = {
                p.name for p in providers if last_success.get(p.name) and now - parse_time(last_success[p.name]) < age
            }
            summary.fresh = sorted(fresh)
            providers = [p for p in providers if p.name not in fresh]
        by_name = {p.name: p for p in providers}
        running: dict[str, int] = {}
        ready = anyio.Event()
        write_lock = anyio.Lock()
        prepared: dict[str, Any] = {}
        # Each provider whose answer came in: whether it may change the catalog (an ok answer
        # that is not the stored one).
        arrived: dict[str, bool] = {}

        def prepare_catalog() -> None:
            nonlocal db
            from . import db as dbmod

            if db is None:
                db = self.open_db()
            if on_wait is not None:
                dbmod.watch_lock(db, on_wait)
            prepared["remapped"] = dbmod.sync_providers(db, providers)
            dbmod.mark_interrupted(db)
            running.update(dbmod.begin_fetches(db, list(by_name), utcnow()))
            prepared["ingest"] = dbmod.Ingest(db)
            prepared["ingest"].reread = prepared["remapped"]
            if not force:
                # While the requests are out rather than when the same answers are back (not
                # for those asked with validators: a 304 stores no answer).
                prepared["ingest"].check_stored_answers((set(known) & set(by_name)) - set(validators_found))
            # Known here rather than before the requests: the facts package is no light import.
            references_due.update(name for name in by_name if name in dbmod.REFERENCE_PROVIDERS)
            # Still waiting on the network: what a changed reference answer needs of the catalog,
            # given up once every reference has answered and none changed.
            due = set(references_due)
            prepared["ingest"].warm(due, stop=lambda: due <= arrived.keys() and not any(arrived[name] for name in due))

        def record(result: FetchResult, fetch_id: int, unchanged: bool = False) -> dict[str, Any] | None:
            """Store one answer (see Ingest.record); with ``unchanged``, only if it changes no
            model row (see Ingest.record_unchanged), else None."""
            from . import db as dbmod

            provider = by_name[result.provider]
            ingest = prepared["ingest"]
            try:
                if unchanged:
                    row = ingest.record_unchanged(provider, result, fetch_id)
                    if row is None:
                        return None
                else:
                    row = ingest.record(provider, result, fetch_id, accept_shrink=accept_shrink)
            except Exception as e:
                if dbmod.is_catalog_failure(e):
                    # The file itself (disk full, I/O error, a lock held too long): no other
                    # provider can be stored either, so the run ends here.
                    _try(dbmod.fail_fetch, db, provider, result, fetch_id, _store_error(e))
                    raise
                # This answer's data (too big, not encodable): this provider fails, the
                # others go on.
                row = dbmod.fail_fetch(db, provider, result, fetch_id, _store_error(e))
            return row

        def write(result: FetchResult, fetch_id: int) -> dict[str, Any]:
            row = record(result, fetch_id)
            assert row is not None
            # In the summary as soon as it is stored, even if Ctrl-C comes next.
            summary.fetches.append(row)
            return row

        def write_unchanged(batch: list[tuple[FetchResult, int]]) -> list[dict[str, Any] | None]:
            # The answers that arrived while the writer was busy, in one transaction: each is a
            # savepoint of its own in it, so one that fails fails alone.
            from . import db as dbmod

            try:
                with dbmod.write_transaction(db):
                    rows = [record(result, fetch_id, unchanged=True) for result, fetch_id in batch]
            except BaseException:
                # Nothing of the batch was stored: said so in the history as the run ends.
                running.update((result.provider, fetch_id) for result, fetch_id in batch)
                raise
            summary.fetches.extend(row for row in rows if row is not None)
            return rows

        def write_references(results: list[tuple[FetchResult, int]]) -> list[dict[str, Any]]:
            # Applied to the reference indexes together, so each is stored against the others'
            # new records; then what their changes can match elsewhere is enriched again.
            ingest = prepared["ingest"]
            ingest.prepare([(by_name[r.provider], r) for r, _ in results], accept_shrink=accept_shrink)
            rows = [write(result, fetch_id) for result, fetch_id in results]
            summary.facts_updated += ingest.settle()
            return rows

        # The references among the providers, filled in by prepare_catalog (before ``ready``).
        references_due: set[str] = set()
        references_stored = anyio.Event()
        reference_results: list[FetchResult] = []

        def done(result: FetchResult, row: dict[str, Any]) -> None:
            # Stored: the decoded answer need not stay in memory for the rest of the run.
            result.payload, result.records, result.undecoded = None, [], None
            if on_fetch is not None:
                on_fetch(row)

        async def store_references() -> None:
            batch = [(r, running.pop(r.provider)) for r in reference_results]
            rows: list[dict[str, Any]] = []
            try:
                if batch:
                    async with write_lock:
                        rows = await to_thread.run_sync(write_references, batch)
            finally:
                references_stored.set()
            for (r, _), row in zip(batch, rows, strict=True):
                done(r, row)

        # Answers that change no model row, waiting for the writer; and the rows of those written.
        unchanged: list[tuple[FetchResult, int]] = []
        unchanged_rows: dict[int, dict[str, Any] | None] = {}

        async def store_unchanged(result: FetchResult) -> dict[str, Any] | None:
            fetch_id = running.pop(result.provider)
            unchanged.append((result, fetch_id))
            async with write_lock:
                if any(r is result for r, _ in unchanged):
                    # Not written yet: this one and all that came while the writer was busy.
                    batch = unchanged[:]
                    unchanged.clear()
                    rows = await to_thread.run_sync(write_unchanged, batch)
                    unchanged_rows.update((id(r), row) for (r, _), row in zip(batch, rows, strict=True))
            row = unchanged_rows.pop(id(result))
            if row is None:
                running[result.provider] = fetch_id
            return row

        async def store(result: FetchResult) -> None:
            # One connection, one writer at a time; the write runs off the event loop so
            # other providers' answers keep arriving meanwhile.
            arrived[result.provider] = result.status == "ok" and result.undecoded is None
            await ready.wait()
            name = result.provider
            if result.status != "ok" or result.undecoded is not None:
                # A failure, a 304 or the bytes of the stored answer: no model row changes, so
                # nothing waits for the references (unless the catalog changed meanwhile).
                row = await store_unchanged(result)
                if row is not None:
                    done(result, row)
                    if name in references_due:
                        references_due.discard(name)
                        if not references_due:
                            await store_references()
                    return
            if name in references_due:
                reference_results.append(result)
                references_due.discard(name)
                if not references_due:
                    await store_references()
                return
            # Other answers wait for the references: their models are enriched from them.
            await references_stored.wait()
            async with write_lock:
                row = await to_thread.run_sync(write, result, running.pop(name))
            done(result, row)

        requests_out = anyio.Event()

        async def open_catalog() -> None:
            # After the requests left: its imports and writes would hold them back. Not set
            # when it fails: the error ends the run, and the stores waiting are cancelled.
            await requests_out.wait()
            await to_thread.run_sync(prepare_catalog)
            if not references_due:
                references_stored.set()
            ready.set()

        fetcher = ModelFetcher(
            timeout=timeout or DEFAULT_TIMEOUT,
            concurrency=concurrency or max(1, len(providers)),
            retries=DEFAULT_RETRIES if retries is None else retries,
            max_bytes=max_bytes or DEFAULT_MAX_BYTES,
            environ=environ,
            configured=self.providers.values(),
        )
        try:
            try:
                async with anyio.create_task_group() as tg:
                    tg.start_soon(open_catalog)
                    await fetcher.fetch_all(
                        providers,
                        on_result=store,
                        validators={} if force else validators_found,
                        on_sent=requests_out.set,
                        known={} if force else known,
                    )
            except BaseExceptionGroup as group:
                # anyio wraps what escapes its task group: the run's one cause, as itself.
                raise first_cause(group) from None
            finally:
                if running and db is not None:
                    # Cancelled, interrupted (Ctrl-C) or the catalog failed: say so in the history.
                    from . import db as dbmod

                    with anyio.CancelScope(shield=True):
                        _try(dbmod.mark_interrupted, db, list(running.values()))
                        summary.fetches += [
                            {"provider": name, "status": "interrupted", "error": "interrupted before it finished"}
                            | dict.fromkeys(("model_count", "added", "removed", "changed", "duration_ms"))
                            for name in running
                        ]
            summary.facts_updated += await to_thread.run_sync(self._after_fetch, db, prepared, summary)
        finally:
            if db is not None:
                db.close()
            let_go(prepared)
        order = {p.name: i for i, p in enumerate(providers)}
        summary.fetches.sort(key=lambda f: order.get(f["provider"], 0))
        summary.duration_ms = round((time.perf_counter() - t0) * 1000)
        return summary
