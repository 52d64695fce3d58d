"""The ``vexy`` command line: thin Click code over :mod:`vexy_catalog`'s plain functions.

Heavy imports (httpx, anyio, sqlite-utils) happen inside commands, so ``vexy --help`` is quick.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import click

from . import __version__
from .gcpause import no_collection_at_exit
from .text import json_text, terminal

if sys.version_info < (3, 11):  # pragma: no cover - anyio depends on the backport there
    from exceptiongroup import BaseExceptionGroup


# SQLite's largest integer: a larger number on the command line is a usage error, not a crash.
_MAX_INTEGER = 2**63 - 1

# Set by main() (the console script): the process ends once the command returns.
_ENDS_AFTER_COMMAND = False


class ConfigError(click.ClickException):
    """A usage problem found in configuration rather than on the command line (exit 2)."""

    exit_code = 2


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn expected failures into one clear line each, never a traceback; an error that
    arrives wrapped in an exception group (from a task group) is unwrapped first."""
    from .catalog import first_cause

    try:
        yield
    except BaseExceptionGroup as group:
        _explain(first_cause(group))
    except Exception as e:
        _explain(e)


def _explain(e: BaseException) -> None:
    """Raise the one-line Click error for ``e``, or ``e`` itself when it is not expected."""
    import sqlite3

    from .catalog import UnknownProviderError
    from .db import CatalogLocked
    from .files import CatalogFileError, describe_os_error, describe_sqlite_error
    from .providers import ProvidersFileError

    if isinstance(e, ProvidersFileError):
        raise ConfigError(f"{e}\nFix the providers file, or point --providers-file elsewhere.") from None
    if isinstance(e, UnknownProviderError):
        raise click.UsageError(str(e)) from None
    if isinstance(e, CatalogLocked):
        raise click.ClickException(str(e)) from None
    if isinstance(e, CatalogFileError):
        raise click.ClickException(str(e)) from None
    if isinstance(e, FileNotFoundError):
        if e.filename is None:  # our own message, which names the path and the fix
            raise click.ClickException(str(e)) from None
        raise click.ClickException(describe_os_error(e)) from None
    if isinstance(e, OSError):
        raise click.ClickException(describe_os_error(e)) from None
    if isinstance(e, sqlite3.Error):
        ctx = click.get_current_context(silent=True)
        path = (ctx.obj or {}).get("db", "the catalog") if ctx is not None else "the catalog"
        message = str(e)
        if isinstance(e, sqlite3.OperationalError) and ("full" in message or "disk i/o" in message.lower()):
            # A write that the disk refused (full, a quota, a size limit): the file is intact.
            raise click.ClickException(
                f"Cannot write the catalog {path}: {message} - free some disk space (or check the disk) and run "
                "the command again; what was stored before is intact"
            ) from None
        raise click.ClickException(describe_sqlite_error(e, path)) from None
    raise e


def _catalog(ctx: click.Context):  # -> ModelCatalog
    from .catalog import ModelCatalog

    return ModelCatalog(db_path=ctx.obj["db"], providers_file=ctx.obj["providers_file"])


def _to_terminal() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):  # replaced or closed
        return False


def _terminal_width() -> int | None:
    """The terminal's width, or None when the output is not a terminal (a pipe or a file keeps
    every character; COLUMNS, when set, wins either way)."""
    import os
    import shutil

    if os.environ.get("COLUMNS") or sys.stdout.isatty():
        return shutil.get_terminal_size().columns
    return None


def _fit(widths: list[int], headers: Sequence[str], limit: int) -> list[int]:
    """Narrow the widest columns until the table fits ``limit`` characters (a column keeps at
    least its header's width, or 5; when that is still too wide, the lines wrap)."""
    widths = list(widths)
    floors = [min(w, max(5, len(h))) for w, h in zip(widths, headers, strict=True)]
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        shrinkable = [i for i, w in enumerate(widths) if w > floors[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    # Ids, names and errors come from providers: no control character reaches the terminal.
    cells = [[("" if v is None else terminal(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
    limit = _terminal_width()
    if limit:
        widths = _fit(widths, headers, limit)
        headers = [_clip(h, w) for h, w in zip(headers, widths, strict=True)]
        cells = [[_clip(c, w) for c, w in zip(r, widths, strict=True)] for r in cells]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells)
    return "\n".join(lines)


def _seconds(ms: int | None) -> str:
    if ms is None:
        return ""
    return f"{ms}ms" if ms < 1000 else f"{ms / 1000:.1f}s"


@click.group()
@click.version_option(__version__, prog_name="vexy")
@click.option(
    "--db",
    "db_path",
    envvar="VEXY_DB",
    default="vexy.db",
    show_default=True,
    type=click.Path(dir_okay=False),
    help="The catalog's SQLite file (env VEXY_DB).",
)
@click.option(
    "--providers-file",
    envvar="VEXY_PROVIDERS_FILE",
    type=click.Path(dir_okay=False),
    help="A YAML file of providers to add or override (env VEXY_PROVIDERS_FILE).",
)
@click.pass_context
def cli(ctx: click.Context, db_path: str, providers_file: str | None) -> None:
    """vexy: a live catalog of the AI models that many providers serve, in SQLite.

    \b
    Quick start:
        vexy fetch          # every provider you have a key for, plus the public lists
        vexy providers      # what is configured, and how each fetch went
    """
    ctx.obj = {"db": db_path, "providers_file": providers_file}
    no_collection_at_exit()


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--failed", is_flag=True, help="Only providers whose last fetch failed, was suspect or was interrupted.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    help="How many providers to fetch at once (default: all of them; at most 4 requests per host either way).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(0.1, 600),
    default=30.0,
    show_default=True,
    help="Seconds to wait on each request.",
)
@click.option(
    "--retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    help="Retries of a request that got 429, 5xx, a reset or a timeout (with backoff).",
)
@click.option(
    "--max-bytes",
    type=click.IntRange(1024, _MAX_INTEGER),
    default=50 * 1024 * 1024,
    show_default=True,
    help="Largest answer accepted from one provider, in bytes.",
)
@click.option(
    "--max-age",
    metavar="AGE",
    help="Skip providers fetched successfully within this age, such as 30m, 1h or 2d.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Ignore stored ETag / Last-Modified: every provider answers in full (no 304).",
)
@click.option(
    "--accept-shrink",
    is_flag=True,
    help="Store an answer with no models, or fewer than half of those listed, instead of calling it suspect.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Also list skipped providers and every retried attempt.")
@click.pass_context
def fetch(ctx: click.Context, names: tuple[str, ...], as_json: bool, verbose: bool, **options: Any) -> None:
    """Fetch model lists from providers into the catalog.

    With no NAMES, every configured provider: those whose key variable is unset are skipped
    (no request is sent); public lists such as openrouter and litellm need no key.
    An answer that would empty a provider (no models, or fewer than half of those listed) is
    "suspect": nothing of it is stored unless --accept-shrink. Ctrl-C stops the fetch and
    prints what was stored so far (exit status 130); --failed fetches again the providers
    whose last fetch failed, was suspect or was interrupted.
    Exit status: 0 when every provider fetched was ok, 1 when one failed, was suspect or was
    interrupted, 2 for usage errors.

    \b
    Examples:
        vexy fetch
        vexy fetch groq openrouter --timeout 10
        vexy fetch --failed
        vexy fetch --max-age 1h --json
        vexy fetch groq --force
    """
    from . import tlscontext

    tlscontext.prepare()  # while the fetch's modules load (see vexy_catalog.tlscontext)
    if _ENDS_AFTER_COMMAND:
        # Nothing runs after this fetch (unlike serve --fetch's): what it lets go of is not freed
        # one object at a time (see vexy_catalog.gcpause.let_go).
        from .gcpause import process_ends_after

        process_ends_after()
    summary = _run_fetch(ctx, list(names), verbose=verbose, as_json=as_json, **options)
    if not summary.ok:
        ctx.exit(1)


def _run_fetch(
    ctx: click.Context,
    names: list[str],
    *,
    verbose: bool = False,
    as_json: bool = False,
    failed: bool = False,
    max_age: str | None = None,
    **options: Any,
) -> Any:  # -> FetchSummary
    """Fetch with progress on stderr and the summary at the end (also after Ctrl-C, exit 130)."""
    from .catalog import FetchInterrupted
    from .timeutil import parse_age

    if max_age is not None:
        try:
            parse_age(max_age)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--max-age") from None
    catalog = _catalog(ctx)
    with _user_errors():
        if verbose:
            from .fetch import run_secrets

            _log_to_stderr(run_secrets(catalog.list_providers())[0])
        try:
            summary = catalog.fetch(
                names,
                failed=failed,
                max_age=max_age,
                on_fetch=_progress(verbose),
                on_wait=lambda line: click.echo(f"  {line}", err=True),
                **options,
            )
        except FetchInterrupted as e:
            show = _progress(verbose)
            for row in e.summary.interrupted:
                show(next(f for f in e.summary.fetches if f["provider"] == row))
            if as_json:
                click.echo(json.dumps(e.summary.as_dict(), indent=2))
            _print_summary(e.summary, names_given=bool(names), failed_only=failed)
            click.echo("Interrupted: what was stored above stays stored.", err=True)
            ctx.exit(130)
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    _print_summary(summary, names_given=bool(names), failed_only=failed)
    return summary


def _log_to_stderr(secrets: Any = None) -> None:
    """Log lines on stderr, masked with ``secrets`` (a :class:`~vexy_catalog.security.Secrets`:
    every configured secret, whatever its variable is called) and shown without control
    characters."""
    import logging

    from .security import Secrets, mask_sensitive_data

    mask = (secrets or Secrets()).mask

    class Masked(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return terminal(mask(mask_sensitive_data(super().format(record))))

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(Masked("  %(message)s"))
    logger = logging.getLogger("vexy")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False


def _progress(verbose: bool) -> Callable[[dict[str, Any]], None]:
    def show(row: dict[str, Any]) -> None:
        status = row["status"]
        if status == "skipped" and not verbose:
            return
        if status in ("ok", "unchanged"):
            delta = " ".join(
                f"{sign}{row[key]:,}" for sign, key in (("+", "added"), ("-", "removed"), ("~", "changed")) if row[key]
            )
            detail = f"{row['model_count']:>6,} models" + (f"  ({delta})" if delta else "")
        else:
            detail = terminal(row["error"] or "")
        click.echo(f"  {status:<9} {row['provider']:<14} {_seconds(row['duration_ms']):>7}  {detail}", err=True)

    return show


def _print_summary(summary: Any, names_given: bool, failed_only: bool) -> None:
    from .catalog import STATUSES

    counts = {s: summary.count(s) for s in STATUSES}
    attempted = sum(n for s, n in counts.items() if s != "skipped")
    totals = summary.totals()
    parts = [f"{n} {s}" for s, n in counts.items() if n]
    if summary.fresh:
        parts.append(f"{len(summary.fresh)} fresh")
    line = f"Fetched {attempted} provider{'s' if attempted != 1 else ''}"
    if parts:
        line += f" ({', '.join(parts)})"
    line += (
        f": {totals['models']:,} models listed, {totals['added']:,} added, "
        f"{totals['removed']:,} removed, {totals['changed']:,} changed "
        f"in {_seconds(summary.duration_ms)} -> {summary.db_path}"
    )
    if not summary.fetches and not summary.fresh:
        line = "Nothing to fetch" + (
            " (no provider's last fetch failed, was suspect or was interrupted)" if failed_only else ""
        )
    click.echo(line, err=True)
    skipped = [f for f in summary.fetches if f["status"] == "skipped"]
    unset = [f["provider"] for f in skipped if (f["error"] or "").endswith("not set")]
    if unset and not names_given:
        click.echo(
            f"Skipped {len(unset)} without a key: {', '.join(unset)}. "
            "Set their key variables to fetch them ('vexy providers' lists the variables).",
            err=True,
        )
    for f in skipped:
        if names_given or f["provider"] not in unset:
            click.echo(f"Skipped {f['provider']}: {terminal(f['error'])}", err=True)
    if summary.fresh:
        click.echo(f"Not due (fetched within --max-age): {', '.join(summary.fresh)}", err=True)
    for name, error in summary.failed.items():
        click.echo(f"Failed {name}: {terminal(error)}", err=True)
    for name, error in summary.suspect.items():
        click.echo(f"Suspect {name}: {terminal(error)}", err=True)
    for row in summary.bundled:
        click.echo(
            f"No provider could be reached: loaded the {row['label']} of {row['title']} as {row['provider']} "
            f"({row['model_count']:,} models), to browse until a fetch succeeds; the first successful "
            "'vexy fetch' replaces it.",
            err=True,
        )
    if summary.interrupted:
        click.echo(
            f"Interrupted {len(summary.interrupted)} before they finished: {', '.join(summary.interrupted)} "
            "(nothing of them stored; 'vexy fetch --failed' fetches them again)",
            err=True,
        )


@cli.group(invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def providers(ctx: click.Context, as_json: bool) -> None:
    """List configured providers: how each list is requested, its variables, its last fetch.

    For each provider: the models URL (with its ${VARIABLE} placeholders), the authentication
    and paging, every environment variable it reads and whether it is set (never its value),
    and the outcome of its last fetch. A provider with no endpoint that lists models says so.

    \b
    Examples:
        vexy providers
        vexy providers --json
    """
    if ctx.invoked_subcommand is not None:
        return
    catalog = _catalog(ctx)
    with _user_errors():
        configured = catalog.list_providers()
        status = catalog.provider_status()
    rows = [_provider_row(p, status.get(p.name, {})) for p in configured]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(
        _table(
            [
                (
                    r["name"],
                    r["kind"],
                    r["list"]["url"],
                    r["list"]["auth"],
                    r["list"]["paging"],
                    _variables_cell(r),
                    r["last_status"] or "-",
                    "" if r["model_count"] is None else f"{r['model_count']:,}",
                )
                for r in rows
            ],
            ["name", "kind", "models URL", "auth", "paging", "variables", "last status", "models"],
        )
    )
    notes = [f"{r['name']}: {r['note']}" for r in rows if r["note"]]
    notes += [
        f"{r['name']}: source: {r['data_source']} - no fetch of it has succeeded yet; the first successful "
        "'vexy fetch' replaces it"
        for r in rows
        if r["data_source"]
    ]
    if notes:
        click.echo("\n" + "\n".join(notes))


def _provider_row(p: Any, st: dict[str, Any]) -> dict[str, Any]:
    """One provider as `vexy providers --json` shows it: configuration, readiness, last fetch."""
    if not p.api_key_env:
        key_set = "not needed"
    elif p.has_key():
        key_set = "set"
    else:
        key_set = "not set" if p.needs_key else "optional"
    missing = p.missing_variables()
    return {
        "name": p.name,
        "kind": p.kind.value,
        "base_url": p.base_url,
        "models_url": p.models_url,
        "api_key_env": p.api_key_env,
        "key": key_set,
        "source": p.source,
        "list": p.describe_listing(),
        "listable": p.listable,
        "list_path": p.list_path,
        "id_field": p.id_field,
        "params": dict(p.params),
        "header_names": sorted(p.all_headers),
        "variables": p.variables(),
        "missing": missing,
        "ready": p.listable and not missing,
        "note": p.note if p.listable else ("no endpoint lists its models" + (f"; {p.note}" if p.note else "")),
        "docs": p.docs,
        "last_status": st.get("last_status"),
        "last_success_at": st.get("last_success_at"),
        "model_count": st.get("model_count"),
        "data_source": st.get("data_source"),
    }


def _variables_cell(row: dict[str, Any]) -> str:
    if not row["listable"]:
        return "no list endpoint"
    parts = []
    for v in row["variables"]:
        state = "set" if v["set"] else ("not set" if v["required"] else "optional")
        parts.append(f"{v['name']}: {state}")
    return ", ".join(parts) or "-"


@providers.command("check")
@click.argument("names", nargs=-1)
@click.option("--online", is_flag=True, help="Also request each model list, paging and all (nothing is stored).")
@click.option(
    "--timeout", type=click.FloatRange(0.1, 600), default=15.0, show_default=True, help="Seconds per request."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@click.pass_context
def providers_check(ctx: click.Context, names: tuple[str, ...], online: bool, timeout: float, as_json: bool) -> None:
    """Check provider settings: URLs, https, variables, credentials, headers, paging.

    Without --online no request is sent. With it, each model list is requested exactly as
    'vexy fetch' requests it (credentials, every page, the list found in the answer) and
    nothing is stored. Exit status 1 when a provider has an error (or, with --online, its
    endpoint fails).

    \b
    Examples:
        vexy providers check
        vexy providers check groq openrouter --online
    """
    from .validation import ProviderValidator

    catalog = _catalog(ctx)
    with _user_errors():
        chosen = catalog.select(list(names))
    validator = ProviderValidator(configured=catalog.list_providers())
    report = []
    for provider in chosen:
        result = validator.validate_provider(provider)
        report.append(
            {
                "name": provider.name,
                "valid": result.is_valid,
                "severity": result.severity.value,
                "messages": result.messages,
            }
        )
    if online:
        import anyio

        from .fetch import ModelFetcher

        reachable = [p for p, r in zip(chosen, report, strict=True) if r["valid"]]
        fetcher = ModelFetcher(timeout=timeout, retries=1, configured=catalog.list_providers())
        results = {r.provider: r for r in anyio.run(fetcher.fetch_all, reachable)}
        for entry in report:
            result = results.get(entry["name"])
            if result is None:
                continue
            entry["online"] = {
                "status": result.status,
                "models": len(result.records),
                "error": result.error,
                "shape": result.shape,
                "pages": result.pages,
                "unidentified": result.unidentified,
            }
            if result.status == "failed":
                entry["valid"] = False
                entry["severity"] = "error"
                entry["messages"].append(f"online: {result.error}")
            elif result.status == "skipped":
                entry["messages"].append(f"online: not tried ({result.error})")
            else:
                found = f", found at {result.shape}" if result.shape else ""
                no_id = f", {result.unidentified:,} records without an id" if result.unidentified else ""
                entry["messages"].append(f"online: {result.status}, {len(result.records):,} models{found}{no_id}")
    if as_json:
        click.echo(json.dumps(report, indent=2))
    else:
        for entry in report:
            click.echo(f"{entry['severity']:<8} {entry['name']}")
            for message in entry["messages"]:
                click.echo(f"         - {terminal(message)}")
        errors = sum(1 for e in report if not e["valid"])
        click.echo(f"{len(report)} provider{'s' if len(report) != 1 else ''} checked, {errors} with errors", err=True)
    if any(not e["valid"] for e in report):
        ctx.exit(1)


@cli.command()
@click.option("--repair", is_flag=True, help="Restore what the stored answers can restore.")
@click.option(
    "--refetch/--no-refetch",
    default=None,
    help="With --repair: fetch again the providers whose current stored answer is damaged (asked "
    "interactively when neither is given).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def verify(ctx: click.Context, repair: bool, refetch: bool | None, as_json: bool) -> None:
    """Check the catalog's integrity: SQLite, hashes, and models against stored answers.

    Every content_hash is recomputed from raw, every payload hash from its body, and each
    provider's listed models are compared with the answer they came from. --repair restores
    what the stored answers can restore; a provider whose current stored answer is damaged is
    repaired by fetching it again (--refetch, or answer the question). Without --repair
    nothing is written. Exit status 0 when nothing is wrong (or everything found was
    repaired), 1 otherwise.

    \b
    Examples:
        vexy verify
        vexy verify --repair
        vexy verify --repair --refetch
    """
    from .integrity import verify as run_verify

    if refetch is not None and not repair:
        raise click.UsageError("--refetch works with --repair.")
    catalog = _catalog(ctx)

    def check() -> Any:
        with _user_errors():
            # Only --repair writes; a plain check opens the catalog read-only.
            db = catalog.open_db(create=False) if repair else catalog._read_db()
            try:
                return run_verify(db, repair=repair)
            finally:
                db.close()

    report = check()
    final = report
    if repair and report.refetch:
        names = report.refetch
        if refetch is None:
            refetch = sys.stdin.isatty() and click.confirm(
                f"The stored answer of {', '.join(names)} is damaged; fetch {'them' if len(names) > 1 else 'it'} "
                "again now?",
                default=True,
                err=True,
            )
        if refetch:
            summary = _run_fetch(ctx, names, force=True)
            final = check()
            for problem in report.problems:
                if problem.refetch and problem.provider not in final.refetch and problem.provider not in summary.failed:
                    problem.repaired = True
            seen = {str(p) for p in report.problems}
            report.problems += [p for p in final.problems if not p.refetch and str(p) not in seen]
    if as_json:
        click.echo(json.dumps(report.as_dict() | {"ok": final.ok and report.ok}, indent=2))
    else:
        _print_verify(report, repair)
    if not (report.ok and final.ok):
        ctx.exit(1)


def _print_verify(report: Any, repair: bool) -> None:
    for problem in report.problems:
        click.echo(terminal(problem))
    checked = ", ".join(f"{n:,} {what}" for what, n in report.checked.items())
    if not report.problems:
        click.echo(f"OK: checked {checked}", err=True)
        return
    left = [p for p in report.problems if not p.repaired]
    if not repair and any(p.repairable or p.refetch for p in left):
        hint = " - run 'vexy verify --repair'"
    elif repair and report.refetch:
        names = " ".join(report.refetch)
        hint = f" - fetch their answers again: 'vexy verify --repair --refetch' (or 'vexy fetch {names}')"
    else:
        hint = ""
    click.echo(
        f"{len(report.problems)} problem{'s' if len(report.problems) != 1 else ''} "
        f"({len(report.problems) - len(left)} repaired, {len(left)} left) after checking {checked}{hint}",
        err=True,
    )


@cli.command()
@click.option(
    "--max-age",
    metavar="AGE",
    default="1d",
    show_default=True,
    help="A provider whose last success is older than this is stale (30m, 6h, 2d).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def health(ctx: click.Context, max_age: str, as_json: bool) -> None:
    """Is the catalog healthy? Per provider freshness and failures, and the file's integrity.

    Exit status 0 when healthy, 1 when not: suitable for monitoring and cron.

    \b
    Examples:
        vexy health
        vexy health --max-age 6h --json
    """
    from .health import check_system_health
    from .timeutil import parse_age

    try:
        age = parse_age(max_age)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--max-age") from None
    with _user_errors():
        status = check_system_health(ctx.obj["db"], age)
    if as_json:
        click.echo(json.dumps(status.as_dict(), indent=2))
    else:
        if status.providers:
            click.echo(
                _table(
                    [
                        (
                            r["name"],
                            "ok" if r["healthy"] else ("stale" if r["last_status"] != "failed" else "failing"),
                            r["last_status"],
                            r["last_success_at"] or "never",
                            _duration(r["age_seconds"]),
                            r["consecutive_failures"],
                            "" if r["model_count"] is None else f"{r['model_count']:,}",
                        )
                        for r in status.providers
                    ],
                    ["provider", "health", "last status", "last success", "age", "failures", "models"],
                )
            )
        metrics = status.system_metrics
        if metrics:
            click.echo(
                f"catalog: integrity {metrics['quick_check']}, schema {metrics['schema_version']}, "
                f"{metrics['models_listed']:,} models listed ({metrics['models_removed']:,} removed), "
                f"{metrics['fetches']:,} fetches, {(metrics['size_bytes'] or 0) / 1e6:.1f} MB"
            )
        for problem in status.problems:
            click.echo(f"problem: {terminal(problem)}", err=True)
        click.echo("healthy" if status.overall_health else "UNHEALTHY", err=True)
    if not status.overall_health:
        ctx.exit(1)


@cli.command()
@click.option("--since", default="7d", show_default=True, help="An age (7d, 12h) or a date (2026-03-01).")
@click.option("-p", "--provider", "providers", multiple=True, help="Only this provider (repeatable).")
@click.option("--limit", type=click.IntRange(1, _MAX_INTEGER), help="At most this many changes.")
@click.option("--json", "as_json", is_flag=True, help="Print the change rows as JSON.")
@click.pass_context
def changes(ctx: click.Context, since: str, providers: tuple[str, ...], limit: int | None, as_json: bool) -> None:
    """What changed: models added, removed, back, and facts that changed, by provider.

    \b
    Examples:
        vexy changes
        vexy changes --since 2026-03-01 --provider groq
        vexy changes --since 24h --json
    """
    from .history import describe_change, list_changes, parse_since

    try:
        moment = parse_since(since)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--since") from None
    catalog = _catalog(ctx)
    with _user_errors():
        db = catalog._read_db()
        try:
            _check_providers(catalog, providers, db)
            rows = list_changes(db, moment, providers, limit)
        finally:
            db.close()
    if as_json:
        click.echo(json_text(rows))
        return
    if not rows:
        click.echo(f"No changes since {moment}.", err=True)
        return
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for row in reversed(rows):  # oldest first within a provider
        by_provider.setdefault(row["provider"], []).append(row)
    for provider in sorted(by_provider):
        group = by_provider[provider]
        click.echo(f"{provider} ({len(group)} change{'s' if len(group) != 1 else ''})")
        for row in group:
            click.echo(f"  {terminal(describe_change(row))}")
    click.echo(f"{len(rows)} change{'s' if len(rows) != 1 else ''} since {moment}", err=True)


@cli.command(name="import")
@click.argument("directory", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print what was imported as JSON.")
@click.pass_context
def import_(ctx: click.Context, directory: str, as_json: bool) -> None:
    """Import the earlier tool's dump folder (models_<name>.json, failed_models.json).

    Each file becomes a fetch with source "import", dated by the file's modification time, so
    your past is kept. Importing the same folder again changes nothing.

    \b
    Example:
        vexy import ~/models
    """
    from .importer import find_dump, import_dump

    catalog = _catalog(ctx)
    with _user_errors():
        find_dump(directory)  # not a dump folder: say so before a catalog file is created
        try:
            db = catalog.open_db()
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        try:
            report = import_dump(db, directory, catalog.providers)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        finally:
            db.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
        return
    for row in report.imported:
        detail = f"{row['model_count']:,} models" if row["status"] != "failed" else terminal(row["error"])
        click.echo(f"  {row['status']:<9} {row['provider']:<14} {row['started_at']}  {detail}", err=True)
    click.echo(
        f"Imported {len(report.imported)} file(s); {len(report.skipped)} already imported; "
        f"{len(report.history_only)} older than the catalog's data, kept as history",
        err=True,
    )


@cli.command()
@click.option(
    "--keep", type=click.IntRange(1, _MAX_INTEGER), required=True, help="Distinct answers to keep per provider."
)
@click.option("--vacuum", is_flag=True, help="Also give the freed space back to the file system.")
@click.pass_context
def prune(ctx: click.Context, keep: int, vacuum: bool) -> None:
    """Delete old stored answers, keeping the last N distinct ones per provider.

    Fetch and change history stays, and so does every answer a provider's current models came
    from; 'vexy verify' still passes afterwards.

    \b
    Example:
        vexy prune --keep 5 --vacuum
    """
    from .history import prune as run_prune

    catalog = _catalog(ctx)
    with _user_errors():
        db = catalog.open_db(create=False)
        try:
            result = run_prune(db, keep)
            if vacuum:
                db.execute("VACUUM")
        finally:
            db.close()
    click.echo(
        f"Deleted {result['deleted']:,} stored answers ({result['bytes_freed'] / 1e6:.1f} MB), kept {result['kept']:,}",
        err=True,
    )


def _duration(seconds: int | None) -> str:
    from .timeutil import format_age

    return "" if seconds is None else format_age(seconds)


class TokenCount(click.ParamType):
    """A token count as tables print it: 128000, 128,000, 128k, 1m."""

    name = "tokens"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        from .query import parse_tokens

        try:
            return parse_tokens(str(value))
        except ValueError as e:
            self.fail(str(e), param, ctx)


TOKENS = TokenCount()


class LazyChoice(click.Choice):
    """A ``click.Choice`` whose choices are read when first needed: defining the commands then
    imports nothing heavy, so ``vexy fetch`` sends its requests before query and export load."""

    def __init__(self, load: Callable[[], Sequence[str]]) -> None:
        self._load = load
        self._choices: tuple[str, ...] | None = None
        super().__init__((), case_sensitive=True)  # whatever else click sets up, it does

    @property  # type: ignore[override]
    def choices(self) -> tuple[str, ...]:
        if self._choices is None:
            self._choices = tuple(self._load())
        return self._choices

    @choices.setter
    def choices(self, value: Sequence[str]) -> None:
        # click's own __init__ sets them (empty, here): ours are loaded when first read.
        if value:
            self._choices = tuple(value)


def _model_types() -> tuple[str, ...]:
    from .query import MODEL_TYPES

    return MODEL_TYPES


def model_filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The model filters of ``vexy models``, shared by every command that selects models."""
    options = [
        click.option("-p", "--provider", "providers", multiple=True, help="Only this provider (repeatable)."),
        click.option(
            "--min-context",
            type=TOKENS,
            metavar="TOKENS",
            help="At least this many tokens of context: 128000, 128k or 1m (k = 1,000).",
        ),
        click.option("--max-input-price", type=click.FloatRange(0), help="At most this many USD per 1M input tokens."),
        click.option("--tools", is_flag=True, help="Only models known to support tool calling."),
        click.option("--vision", is_flag=True, help="Only models known to accept images."),
        click.option("--reasoning", is_flag=True, help="Only models known to reason."),
        click.option("--type", "model_type", type=LazyChoice(_model_types), help="Only models of this type."),
        click.option("--include-removed", is_flag=True, help="Also models their provider no longer lists."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _model_filter(query: str | None, **kwargs: Any):  # -> ModelFilter
    from .query import ModelFilter

    return ModelFilter(query=query, providers=list(kwargs.pop("providers") or ()), **kwargs)


def _check_providers(catalog: Any, names: Sequence[str], db: Any) -> None:
    """Unknown names are usage errors; names known to the open catalog (a provider since
    removed from the configuration, say) are fine."""
    from .catalog import UnknownProviderError

    if not names:
        return
    known = set(catalog.providers) | {name for (name,) in db.execute("select name from providers")}
    for name in names:
        if name not in known:
            raise UnknownProviderError(name, known)


def _as_of(value: str | None) -> str | None:
    """``--as-of`` as an ISO 8601 UTC moment."""
    if value is None:
        return None  # without importing history (and sqlite-utils with it): ~70 ms of an export
    from .history import parse_since

    try:
        return parse_since(value)
    except ValueError as e:
        raise click.BadParameter(str(e), param_hint="--as-of") from None


def _price(value: float | None) -> str:
    from .query import format_price

    return "" if value is None else format_price(value)


def _tokens(value: int | None) -> str:
    from .query import format_tokens

    return "" if value is None else format_tokens(value)


def _flags(row: dict[str, Any]) -> str:
    marks = [("tools", "supports_tools"), ("vision", "supports_vision"), ("reasoning", "supports_reasoning")]
    return ",".join(label for label, column in marks if row[column])


@cli.command()
@click.argument("query", required=False)
@model_filter_options
@click.option(
    "--sort",
    type=click.Choice(["name", "context", "input_price", "output_price", "provider", "first_seen"]),
    default="name",
    show_default=True,
    help="Order: by name, largest context first, cheapest first, by provider, or newest first.",
)
@click.option(
    "--limit",
    type=click.IntRange(1, _MAX_INTEGER),
    help="At most this many models (the table shows 50 by default).",
)
@click.option("--as-of", metavar="DATE", help="The models listed at this moment, with their facts then (2026-03-01).")
@click.option("--json", "as_json", is_flag=True, help="Print every matching model as a JSON array.")
@click.option("--csv", "as_csv", is_flag=True, help="Print every matching model as CSV.")
@click.pass_context
def models(
    ctx: click.Context,
    query: str | None,
    sort: str,
    limit: int | None,
    as_of: str | None,
    as_json: bool,
    as_csv: bool,
    **filters: Any,
) -> None:
    """List models in the catalog, with their normalized facts.

    QUERY matches a part of the model id or name, case-insensitively. Prices are USD per
    1M tokens. A model whose fact is unknown never passes a filter on that fact.

    \b
    Examples:
        vexy models llama --provider groq
        vexy models --min-context 128000 --tools --max-input-price 1 --sort input_price
        vexy models --type embedding --json
        vexy models llama-3.3 --provider groq --as-of 2026-03-01
    """
    from .query import count_models, query_models

    if as_json and as_csv:
        raise click.UsageError("Use --json or --csv, not both.")
    catalog = _catalog(ctx)
    model_filter = _model_filter(query, **filters)
    with _user_errors():
        db = catalog._read_db()
        try:
            _check_providers(catalog, model_filter.providers, db)
            shown = limit if (limit or as_json or as_csv) else 50
            moment = _as_of(as_of)
            if moment is not None:
                from .history import models_as_of

                rows = models_as_of(db, moment, model_filter, sort=sort)
                total = len(rows)
                rows = rows[:shown] if shown else rows
            else:
                rows = query_models(db, model_filter, sort=sort, limit=shown)
                total = count_models(db, model_filter) if not (as_json or as_csv) else len(rows)
        finally:
            db.close()
    if as_json:
        click.echo(json_text(rows))
        return
    if as_csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [])
        # To a file or a pipe, every value as stored; on a terminal, control characters shown
        # as escapes (a provider's id must not drive the terminal).
        shown = _to_terminal()
        if rows:
            writer.writeheader()
            for row in rows:
                cells = {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()}
                if shown:
                    cells = {k: terminal(v, keep_lines=True) if isinstance(v, str) else v for k, v in cells.items()}
                writer.writerow(cells)
        return
    if not rows:
        click.echo("No models match.", err=True)
        return
    removed = model_filter.include_removed
    click.echo(
        _table(
            [
                (
                    r["provider"],
                    r["model_id"],
                    _tokens(r["context_window"]),
                    _tokens(r["max_output_tokens"]),
                    _price(r["input_price"]),
                    _price(r["output_price"]),
                    _flags(r),
                    r["model_type"] or "",
                )
                + (((r.get("removed_at") or "")[:10],) if removed else ())
                for r in rows
            ],
            ["provider", "model", "context", "max out", "$in/1M", "$out/1M", "supports", "type"]
            + (["removed"] if removed else []),
        )
    )
    if total > len(rows):
        click.echo(f"Showing {len(rows):,} of {total:,} models - use --limit N or --json for more.", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
def stats(ctx: click.Context, as_json: bool) -> None:
    """How complete the catalog is, per provider.

    For the models each provider lists: the share with a context window, a price, a tools
    flag and a vision flag (stored facts only: a disputed price does not count), how many
    facts came from enrichment (reference catalogs), how many stated values were disputed
    or dropped as placeholders, and how many fact-like keys vexy could not read
    ('vexy doctor' says which).

    \b
    Examples:
        vexy stats
        vexy stats --json
    """
    catalog = _catalog(ctx)
    with _user_errors():
        rows = catalog.stats()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return

    def pct(share: float) -> str:
        return f"{share * 100:.0f}%"

    total = sum(r["models"] for r in rows)
    click.echo(
        _table(
            [
                (
                    r["provider"],
                    f"{r['models']:,}",
                    pct(r["with_context_share"]),
                    pct(r["with_price_share"]),
                    pct(r["with_tools_flag_share"]),
                    pct(r["with_vision_flag_share"]),
                    f"{r['enriched_models']:,}",
                    f"{r['enriched_facts']:,}",
                    f"{r['disputed_facts'] + r['placeholders_dropped']:,}",
                    f"{r['unread_keys']:,}",
                )
                for r in rows
            ]
            + [
                (
                    "(all)",
                    f"{total:,}",
                    pct(sum(r["with_context"] for r in rows) / (total or 1)),
                    pct(sum(r["with_price"] for r in rows) / (total or 1)),
                    pct(sum(r["with_tools_flag"] for r in rows) / (total or 1)),
                    pct(sum(r["with_vision_flag"] for r in rows) / (total or 1)),
                    f"{sum(r['enriched_models'] for r in rows):,}",
                    f"{sum(r['enriched_facts'] for r in rows):,}",
                    f"{sum(r['disputed_facts'] + r['placeholders_dropped'] for r in rows):,}",
                    f"{sum(r['unread_keys'] for r in rows):,}",
                )
            ],
            [
                "provider",
                "models",
                "context",
                "price",
                "tools",
                "vision",
                "enriched models",
                "enriched facts",
                "not stored",
                "unread keys",
            ],
        )
    )


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the reports as JSON.")
@click.pass_context
def doctor(ctx: click.Context, names: tuple[str, ...], as_json: bool) -> None:
    """What vexy could not read or did not trust, per provider.

    For each provider (all with listed models when no NAMES): fact-like keys of its records
    that vexy could not read (with an example value), disputes (suspect units, implausible
    values, disagreeing sources), placeholders dropped, prices not in USD, and facts filled
    from another host's record, and answers that were not a model list vexy could read. Exit
    status 1 when a price dispute, a suspect unit or an unreadable answer exists.

    \b
    Examples:
        vexy doctor
        vexy doctor groq my-gateway --json
    """
    from .doctor import doctor as diagnose
    from .doctor import render

    catalog = _catalog(ctx)
    with _user_errors():
        db = catalog._read_db()
        try:
            _check_providers(catalog, list(names), db)
            reports = diagnose(db, list(dict.fromkeys(names)) or None)
        finally:
            db.close()
    if as_json:
        click.echo(json_text([r.as_dict() for r in reports]))
    else:
        # Model ids and answer keys come from providers: no control character reaches the terminal.
        click.echo(terminal(render(reports), keep_lines=True) if reports else "No models in the catalog yet.")
        bad = [r.provider for r in reports if r.problems]
        if bad:
            click.echo(f"Price disputes, suspect units or unreadable answers at: {', '.join(bad)}", err=True)
    if any(r.problems for r in reports):
        ctx.exit(1)


def _export_tools() -> tuple[str, ...]:
    from .export import TOOLS

    return TOOLS


@cli.command(name="export")
@click.argument("tool", metavar="TOOL", type=LazyChoice(_export_tools))
@click.argument("query", required=False)
@model_filter_options
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Write here instead of stdout: a file or directory for one-file formats, a directory for "
    "codex, json and txt (for codex also DIR/config.toml). An existing file vexy did not write is "
    "refused without --merge or --force.",
)
@click.option(
    "--merge",
    "merge_path",
    type=click.Path(dir_okay=False),
    help="Merge into this config (aichat config.yaml, codex config.toml, mods.yml, the llm or LiteLLM "
    "file, opencode.json, crush.json), keeping everything else in it; rewritten in place (the previous "
    "file kept as a numbered .bak), or written to -o.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace existing files vexy did not write (each is kept as a numbered .bak first).",
)
@click.option(
    "--replace-settings",
    is_flag=True,
    help="With --merge: also reset settings you changed in vexy's entries (base URLs, key variables, "
    "mods' max-input-chars) to vexy's values.",
)
@click.option("--as-of", metavar="DATE", help="The models listed at this moment, with their facts then (2026-03-01).")
@click.pass_context
def export_command(
    ctx: click.Context,
    tool: str,
    query: str | None,
    output: str | None,
    merge_path: str | None,
    force: bool,
    replace_settings: bool,
    as_of: str | None,
    **filters: Any,
) -> None:
    """Export models as configuration for an AI client, or as a catalog feed.

    TOOL is a client config: aichat, codex, mods, llm, litellm, opencode, crush, or
    json / txt (the earlier tool's models_<provider>.json / .txt files); or a catalog
    feed a client reads in place of its own list: modelsdev (OpenCode), catwalk
    (Crush), litellm-costmap (LiteLLM), aichat-models (aichat). QUERY and the filters
    select models as 'vexy models' does. codex, json and txt write a directory; the
    others are one file, printed on stdout unless -o is given. Files name key
    variables, never a key's value.

    No user file is lost: -o onto a file vexy did not write is refused (use --merge to
    add to it, --force to replace it); a replaced file is kept as <name>.bak, then
    <name>.bak.2, ...; a merge keeps the settings you changed. Exit status 1, and
    nothing written, when no selected model fits the format.

    \b
    Examples:
        vexy export aichat --tools --min-context 128k -o ~/.config/aichat/config.yaml
        vexy export aichat --merge ~/.config/aichat/config.yaml
        vexy export codex --provider groq --merge ~/.codex/config.toml
        vexy export codex --tools -o codex-home/
        vexy export mods --merge ~/.config/mods/mods.yml
        vexy export llm > "$(dirname "$(llm logs path)")/extra-openai-models.yaml"
        vexy export litellm -o litellm-config.yaml
        vexy export opencode --merge ~/.config/opencode/opencode.json
        vexy export modelsdev --tools -o api.json    # OPENCODE_MODELS_PATH=api.json
        vexy export litellm-costmap --as-of 2026-03-01 -o prices.json
        vexy export json -o models/
    """
    from pathlib import Path

    from .export import (
        MERGEABLE,
        SINGLE_FILE,
        ExportWriteError,
        MergeError,
        build_export,
        export_destination,
        read_merge_target,
        write_files,
    )
    from .query import count_models

    if merge_path and tool not in MERGEABLE:
        raise click.UsageError(f"--merge works with {', '.join(MERGEABLE)}, not {tool}.")
    if replace_settings and not merge_path:
        raise click.UsageError("--replace-settings works with --merge.")
    single = tool in SINGLE_FILE
    if not single and not output and not merge_path:
        raise click.UsageError(f"{tool} writes several files: give a directory with -o DIR.")
    merge_file = Path(merge_path).expanduser() if merge_path else None
    catalog = _catalog(ctx)
    model_filter = _model_filter(query, **filters)
    moment = _as_of(as_of)
    if tool == "codex":
        from .export import codex_catalog

        # Codex's listing of its models (~0.1 s) runs while the catalog opens and the rows load;
        # an export that fails first waits for it (no process or folder of it is left behind).
        codex_catalog.start_reading_instructions()
        ctx.call_on_close(codex_catalog.finish_reading_instructions)
    with _user_errors():
        try:
            current = read_merge_target(tool, merge_file) if merge_file else {}
        except MergeError as e:
            raise click.ClickException(f"Cannot merge into {merge_file}: {e}") from None
        db = catalog._read_db()
        try:
            _check_providers(catalog, model_filter.providers, db)
            selected = count_models(db, model_filter) if moment is None else None
            export = build_export(
                db,
                tool,
                model_filter,
                merge_into=current,
                as_of=moment,
                replace_settings=replace_settings,
                spliced=True,
            )
        except MergeError as e:
            raise click.ClickException(f"Cannot merge into {merge_file}: {e}") from None
        finally:
            db.close()
    if export.empty:
        if selected is None:  # --as-of: the selection is counted as of then, by the export
            reason = "no model of the selection fits the format at that moment"
        elif not selected:
            reason = "no model matches the selection"
        else:
            reason = (
                f"none of the {selected:,} selected model{'s' if selected != 1 else ''} can go into a {tool} "
                "export (the README's table says what each format takes)"
            )
        raise click.ClickException(f"Nothing exported: {reason}. Nothing was written.")
    if single and not output and not merge_file:
        click.echo(next(iter(export.files.values())), nl=False)
    else:
        try:
            folder, names = export_destination(tool, list(export.files), output, merge_file)
            files = {names[name]: text for name, text in export.files.items()}
            merged_from = [merge_file.parent / names.get(name, name) for name in current] if merge_file else []
            if merge_file is not None and folder.resolve() != merge_file.parent.resolve():
                merged_from = []  # merged into a copy elsewhere: the originals are not touched
            results = write_files(
                folder, files, tool=tool, merged_from=merged_from, force=force, merge_ok=tool in MERGEABLE
            )
        except ExportWriteError as e:
            raise click.ClickException(str(e)) from None
        _report_written(results, folder, single)
    if export.kept:
        shown = ", ".join(export.kept[:5]) + (f" and {len(export.kept) - 5} more" if len(export.kept) > 5 else "")
        click.echo(
            f"Kept {len(export.kept)} value{'s' if len(export.kept) != 1 else ''} you set ({shown}); "
            "--replace-settings resets them to vexy's.",
            err=True,
        )
    if export.hint:
        click.echo(export.hint, err=True)


def _report_written(results: list[Any], folder: Any, single: bool) -> None:
    changed = [r for r in results if r.status != "unchanged"]
    backups = [r.backup for r in results if r.backup is not None]
    kept = f" (the previous file is {backups[0]})" if len(backups) == 1 else ""
    if len(backups) > 1:
        kept = f" ({len(backups)} replaced files kept as numbered .bak files)"
    if single:
        (result,) = results
        message = f"Wrote {result.path}{kept}" if changed else f"{result.path} is up to date"
    elif changed:
        message = f"Wrote {len(changed)} of {len(results)} files to {folder}{kept}"
    else:
        message = f"{folder} is up to date ({len(results)} files)"
    click.echo(message, err=True)


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (0.0.0.0: every interface).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8001,
    show_default=True,
    help="Port to listen on (0: any free port, shown when the server starts).",
)
@click.option(
    "--public",
    is_flag=True,
    help="Preset for exposing the catalog: no arbitrary SQL (canned queries stay), no CSV streaming, no "
    "database download, 1s SQL time limit, time and size limits on every vexy page, robots blocked.",
)
@click.option(
    "--allow-host",
    "allow_hosts",
    multiple=True,
    metavar="NAME",
    help="Also answer requests for this host name (repeatable; .example.com for its subdomains, * for any). "
    "Without it only this machine's loopback names and --host are answered.",
)
@click.option("--cors", is_flag=True, help="Send CORS headers, so pages on other sites can read the JSON API.")
@click.option("--open", "open_browser", is_flag=True, help="Open the catalog in a web browser.")
@click.option(
    "--fetch",
    "fetch_first",
    is_flag=True,
    help="Run 'vexy fetch' first (progress and failures on stderr), then serve whatever the catalog holds.",
)
@click.option(
    "--get",
    "get_path",
    metavar="PATH",
    help="Print the response to one request for PATH and exit (0 for status 200, else 1); no server starts.",
)
@click.pass_context
def serve(
    ctx: click.Context,
    host: str,
    port: int,
    public: bool,
    allow_hosts: tuple[str, ...],
    cors: bool,
    open_browser: bool,
    fetch_first: bool,
    get_path: str | None,
) -> None:
    """Browse the catalog in Datasette and serve its JSON API.

    The catalog (--db) is served as the database "vexy" with vexy's metadata and plugin:
    search and facets on models, canned queries, /-/vexy/health, config downloads at
    /-/vexy/config, the catalog feeds clients read (/-/vexy/models.dev for OpenCode,
    /-/vexy/catwalk for Crush, /-/vexy/litellm/... for LiteLLM, /-/vexy/aichat/models.yaml)
    and, with the mcp extra, an MCP server at /-/mcp. Nothing is written while serving; without --public a catalog whose
    schema is older than this vexy is upgraded first. A missing catalog is not created.

    With --fetch, every provider is fetched first, as 'vexy fetch' does; the catalog is
    served whatever the outcome (a provider that failed keeps its last good data; with no
    network at all, a new catalog gets the bundled snapshot of LiteLLM's price file, labelled
    on every page until a fetch succeeds).

    \b
    Examples:
        vexy serve --fetch                           # fetch, then http://127.0.0.1:8001/
        vexy serve                                   # http://127.0.0.1:8001/
        vexy serve --public --host 0.0.0.0 --port 8080 --allow-host models.example.com
        vexy serve --get '/vexy/models.json?_search=llama&_shape=array'
        vexy serve --get /-/vexy/health.json
    """
    from . import serve as serving

    if fetch_first:
        summary = _run_fetch(ctx, [])
        if not summary.ok:
            click.echo("Serving the catalog as it is: see above for what failed.", err=True)
    with _user_errors():
        try:
            listen = None if get_path is not None else host
            ds = serving.build_datasette(ctx.obj["db"], public=public, cors=cors, host=listen, allow_hosts=allow_hosts)
        except serving.CatalogError as e:
            raise click.ClickException(str(e)) from None
    if get_path is not None:
        response = serving.get(ds, get_path)
        if response.is_text:
            text = response.body.decode("utf-8", "replace")
            # A page to a terminal shows control characters as escapes; to a file, as served.
            click.echo(terminal(text, keep_lines=True) if _to_terminal() else text)
        else:
            click.echo(response.body, nl=False)
        ctx.exit(0 if response.status == 200 else 1)
    if serving.CATALOG_DB not in ds.databases:
        click.echo(f"No catalog at {ctx.obj['db']} yet: the page says to run 'vexy fetch'.", err=True)
    if public:
        click.echo(
            "Public preset: read-only snapshots of the catalog (a fetch may write it meanwhile), no arbitrary SQL, "
            "no CSV streaming, no database download, limits on every vexy page, robots blocked.",
            err=True,
        )
    if host in ("0.0.0.0", "::") and not allow_hosts:
        click.echo(
            "Answering requests for any host name: give --allow-host NAME to answer only for your server's name.",
            err=True,
        )
    try:
        sock = serving.listen(host, port)
    except serving.CatalogError as e:
        raise click.ClickException(str(e)) from None
    port = sock.getsockname()[1]  # the port given, or the free one --port 0 got
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else (f"[{host}]" if ":" in host else host)
    click.echo(f"Serving the catalog at http://{shown}:{port}/ (Ctrl-C to stop)", err=True)
    serving.run(ds, host, port, open_browser, sock=sock)


def _catalog_option(key: str, *decls: str, **kwargs: Any) -> click.Option:
    def remember(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:  # given after the command: it wins over the one before it
            ctx.ensure_object(dict)[key] = value

    return click.Option(list(decls), expose_value=False, callback=remember, is_eager=True, **kwargs)


def _accept_catalog_options_after(group: click.Group) -> None:
    """``--db`` and ``--providers-file`` work after the command too (``vexy fetch --db x.db``)."""
    for command in group.commands.values():
        command.params += [
            _catalog_option(
                "db",
                "--db",
                type=click.Path(dir_okay=False),
                help="The catalog's SQLite file (as before the command; env VEXY_DB).",
            ),
            _catalog_option(
                "providers_file",
                "--providers-file",
                type=click.Path(dir_okay=False),
                help="A YAML file of providers to add or override (as before the command).",
            ),
        ]
        if isinstance(command, click.Group):
            _accept_catalog_options_after(command)


_accept_catalog_options_after(cli)


@cli.command(name="mcp")
@click.option(
    "--public",
    is_flag=True,
    help="Read-only canned tools only (no arbitrary SQL), as serve --public.",
)
@click.pass_context
def mcp_command(ctx: click.Context, public: bool) -> None:
    """Serve the catalog to an MCP client (an agent) over stdin/stdout.

    The tools are vexy's (search_models, compare_models, price_history, changes_since,
    cheapest) and the datasette-mcp plugin's (the schema, canned queries and, without
    --public, read-only SQL). 'vexy serve' offers the same tools over HTTP at /-/mcp.
    Needs the mcp extra: pip install 'vexy[mcp]' (Python 3.11 or later).

    \b
    Example (an MCP client's server command):
        vexy --db ~/vexy.db mcp
    """
    from . import serve as serving

    if not serving.mcp_available():
        raise click.ClickException(serving.MCP_MISSING)
    with _user_errors():
        try:
            ds = serving.build_datasette(ctx.obj["db"], public=public)
        except serving.CatalogError as e:
            raise click.ClickException(str(e)) from None
    if serving.CATALOG_DB not in ds.databases:
        raise click.ClickException(f"No catalog at {ctx.obj['db']}: run 'vexy fetch' first, or point --db at one.")
    serving.run_mcp_stdio(ds)


def main() -> None:
    """The ``vexy`` console script (and ``python -m vexy_catalog.cli``): :func:`cli`, then an exit
    that skips the interpreter's teardown when the command left nothing to tear down."""
    global _ENDS_AFTER_COMMAND
    _ENDS_AFTER_COMMAND = True
    before = _open_descriptors()
    try:
        cli(prog_name="vexy")
    except SystemExit as done:
        if isinstance(done.code, int | None) and _nothing_left(before):
            _exit_now(done.code or 0)
        raise


def _open_descriptors() -> frozenset[tuple[str, str]] | None:
    """The process's open file descriptors with what each is open on, where the system lists
    them (Linux); else None."""
    import os

    try:
        listed = os.listdir("/proc/self/fd")
        found = set()
        for fd in listed:
            try:
                found.add((fd, os.readlink(f"/proc/self/fd/{fd}")))
            except FileNotFoundError:  # the listing's own descriptor, closed since
                pass
        return frozenset(found)
    except OSError:
        return None


def _nothing_left(before: frozenset[tuple[str, str]] | None) -> bool:
    """Whether the command ended with no thread but the main one and no file or connection it
    opened still open (each descriptor open now was open on the same thing before it started). Threads told to
    stop (anyio's workers, as a fetch's event loop ends) get a moment to end."""
    import threading
    import time

    if before is None or sys.gettrace() is not None or sys.getprofile() is not None:
        return False  # (or a debugger, tracer or profiler is attached: it may have work left)
    deadline = time.monotonic() + _THREADS_ENDING_S
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:  # daemons: never waited for
            thread.join(max(0.0, deadline - time.monotonic()))
    if threading.active_count() != 1:
        return False
    after = _open_descriptors()
    return after is not None and after <= before


# How long the quick exit waits for threads that are ending before it leaves the exit to the
# interpreter (which waits for them however long they take).
_THREADS_ENDING_S = 0.02


def _exit_now(status: int) -> None:
    """End the process without the interpreter's teardown, as mypy does: freeing every module
    and object one by one takes 10-15 ms that a user waits for after each command (a quarter of
    what an unchanged refetch adds to its bare requests). Only once nothing is left to tear down
    (see :func:`_nothing_left`): every file and connection the command opened is closed, so
    nothing unwritten is lost; the exit handlers still run and the standard streams are
    flushed. Never in :func:`cli` itself, which tests and other programs call in process."""
    import atexit
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):  # a closed pipe: the interpreter's exit reports it, as ever
        return
    atexit._run_exitfuncs()  # logging's flush, gc.freeze, temporary folders' clean-up, ...
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        status = 120  # what the interpreter exits with when it cannot flush them
    os._exit(status)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
