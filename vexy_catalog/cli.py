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


class ConfigError(click.ClickException):
    """A usage problem found in configuration rather than on the command line (exit 2)."""

    exit_code = 2


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn expected failures into one clear line each, never a traceback."""
    import sqlite3

    from .catalog import UnknownProviderError
    from .providers import ProvidersFileError

    try:
        yield
    except ProvidersFileError as e:
        raise ConfigError(f"{e}\nFix the providers file, or point --providers-file elsewhere.") from None
    except UnknownProviderError as e:
        raise click.UsageError(str(e)) from None
    except FileNotFoundError as e:
        raise click.ClickException(str(e)) from None
    except sqlite3.DatabaseError as e:
        raise click.ClickException(
            f"Cannot use the catalog database: {e} - check --db / VEXY_DB points at a vexy catalog"
        ) from None


def _catalog(ctx: click.Context):  # -> ModelCatalog
    from .catalog import ModelCatalog

    return ModelCatalog(db_path=ctx.obj["db"], providers_file=ctx.obj["providers_file"])


def _table(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> str:
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(headers)]
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


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--failed", is_flag=True, help="Only providers whose last fetch failed.")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 64),
    default=8,
    show_default=True,
    help="How many providers to fetch at once.",
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
    type=click.IntRange(1024),
    default=50 * 1024 * 1024,
    show_default=True,
    help="Largest answer accepted from one provider, in bytes.",
)
@click.option(
    "--max-age",
    metavar="AGE",
    help="Skip providers fetched successfully within this age, such as 30m, 1h or 2d.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Also list skipped providers and every retried attempt.")
@click.pass_context
def fetch(
    ctx: click.Context,
    names: tuple[str, ...],
    failed: bool,
    concurrency: int,
    timeout: float,
    retries: int,
    max_bytes: int,
    max_age: str | None,
    as_json: bool,
    verbose: bool,
) -> None:
    """Fetch model lists from providers into the catalog.

    With no NAMES, every configured provider: those whose key variable is unset are skipped
    (no request is sent); public lists such as openrouter and litellm need no key.
    Exit status: 0 when no provider failed, 1 when one did, 2 for usage errors.

    \b
    Examples:
        vexy fetch
        vexy fetch groq openrouter --timeout 10
        vexy fetch --failed
        vexy fetch --max-age 1h --json
    """
    from .timeutil import parse_age

    if max_age is not None:
        try:
            parse_age(max_age)
        except ValueError as e:
            raise click.BadParameter(str(e), param_hint="--max-age") from None
    if verbose:
        _log_to_stderr()
    catalog = _catalog(ctx)
    with _user_errors():
        summary = catalog.fetch(
            list(names),
            failed=failed,
            max_age=max_age,
            timeout=timeout,
            concurrency=concurrency,
            retries=retries,
            max_bytes=max_bytes,
            on_fetch=_progress(verbose),
        )
    if as_json:
        click.echo(json.dumps(summary.as_dict(), indent=2))
    _print_summary(summary, names_given=bool(names), failed_only=failed)
    if not summary.ok:
        ctx.exit(1)


def _log_to_stderr() -> None:
    import logging

    from .security import mask_sensitive_data

    class Masked(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            return mask_sensitive_data(super().format(record))

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
            detail = row["error"] or ""
        click.echo(f"  {status:<9} {row['provider']:<14} {_seconds(row['duration_ms']):>7}  {detail}", err=True)

    return show


def _print_summary(summary: Any, names_given: bool, failed_only: bool) -> None:
    counts = {s: summary.count(s) for s in ("ok", "unchanged", "failed", "skipped")}
    attempted = counts["ok"] + counts["unchanged"] + counts["failed"]
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
        line = "Nothing to fetch" + (" (no provider's last fetch failed)" if failed_only else "")
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
            click.echo(f"Skipped {f['provider']}: {f['error']}", err=True)
    if summary.fresh:
        click.echo(f"Not due (fetched within --max-age): {', '.join(summary.fresh)}", err=True)
    for name, error in summary.failed.items():
        click.echo(f"Failed {name}: {error}", err=True)


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
    validator = ProviderValidator()
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
        results = {r.provider: r for r in anyio.run(ModelFetcher(timeout=timeout, retries=1).fetch_all, reachable)}
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
                click.echo(f"         - {message}")
        errors = sum(1 for e in report if not e["valid"])
        click.echo(f"{len(report)} provider{'s' if len(report) != 1 else ''} checked, {errors} with errors", err=True)
    if any(not e["valid"] for e in report):
        ctx.exit(1)


@cli.command()
@click.option("--repair", is_flag=True, help="Restore what the stored answers can restore.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_context
def verify(ctx: click.Context, repair: bool, as_json: bool) -> None:
    """Check the catalog's integrity: SQLite, hashes, and models against stored answers.

    Every content_hash is recomputed from raw, every payload hash from its body, and each
    provider's listed models are compared with the answer they came from. Exit status 0 when
    nothing is wrong (or everything found was repaired), 1 otherwise.

    \b
    Examples:
        vexy verify
        vexy verify --repair
    """
    from .integrity import verify as run_verify

    catalog = _catalog(ctx)
    with _user_errors():
        db = catalog._read_db()
        try:
            report = run_verify(db, repair=repair)
        finally:
            db.close()
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        for problem in report.problems:
            click.echo(str(problem))
        checked = ", ".join(f"{n:,} {what}" for what, n in report.checked.items())
        if not report.problems:
            click.echo(f"OK: checked {checked}", err=True)
        else:
            repaired = sum(p.repaired for p in report.problems)
            left = len(report.problems) - repaired
            hint = "" if repair or not left else " - run 'vexy verify --repair'"
            click.echo(
                f"{len(report.problems)} problem{'s' if len(report.problems) != 1 else ''} "
                f"({repaired} repaired, {left} left) after checking {checked}{hint}",
                err=True,
            )
    if not report.ok:
        ctx.exit(1)


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
            click.echo(f"problem: {problem}", err=True)
        click.echo("healthy" if status.overall_health else "UNHEALTHY", err=True)
    if not status.overall_health:
        ctx.exit(1)


@cli.command()
@click.option("--since", default="7d", show_default=True, help="An age (7d, 12h) or a date (2026-03-01).")
@click.option("-p", "--provider", "providers", multiple=True, help="Only this provider (repeatable).")
@click.option("--limit", type=click.IntRange(1), help="At most this many changes.")
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
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
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
            click.echo(f"  {describe_change(row)}")
    click.echo(f"{len(rows)} changes since {moment}", err=True)


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
    from .importer import import_dump

    catalog = _catalog(ctx)
    with _user_errors():
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
        detail = f"{row['model_count']:,} models" if row["status"] != "failed" else row["error"]
        click.echo(f"  {row['status']:<9} {row['provider']:<14} {row['started_at']}  {detail}", err=True)
    click.echo(
        f"Imported {len(report.imported)} file(s); {len(report.skipped)} already imported; "
        f"{len(report.history_only)} older than the catalog's data, kept as history",
        err=True,
    )


@cli.command()
@click.option("--keep", type=click.IntRange(1), required=True, help="Distinct answers to keep per provider.")
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
        db = catalog._read_db()
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


def model_filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The model filters of ``vexy models``, shared by every command that selects models."""
    from .query import MODEL_TYPES

    options = [
        click.option("-p", "--provider", "providers", multiple=True, help="Only this provider (repeatable)."),
        click.option("--min-context", type=click.IntRange(0), help="At least this many tokens of context."),
        click.option("--max-input-price", type=click.FloatRange(0), help="At most this many USD per 1M input tokens."),
        click.option("--tools", is_flag=True, help="Only models known to support tool calling."),
        click.option("--vision", is_flag=True, help="Only models known to accept images."),
        click.option("--reasoning", is_flag=True, help="Only models known to reason."),
        click.option("--type", "model_type", type=click.Choice(MODEL_TYPES), help="Only models of this type."),
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
@click.option("--limit", type=click.IntRange(1), help="At most this many models (the table shows 50 by default).")
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
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    if as_csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else [])
        if rows:
            writer.writeheader()
            for row in rows:
                writer.writerow({k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()})
        return
    if not rows:
        click.echo("No models match.", err=True)
        return
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
                for r in rows
            ],
            ["provider", "model", "context", "max out", "$in/1M", "$out/1M", "supports", "type"],
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
    from another host's record. Exit status 1 when a price dispute or a suspect unit exists.

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
        click.echo(json.dumps([r.as_dict() for r in reports], indent=2, ensure_ascii=False))
    else:
        click.echo(render(reports) if reports else "No models in the catalog yet.")
        bad = [r.provider for r in reports if r.problems]
        if bad:
            click.echo(f"Price disputes or suspect units at: {', '.join(bad)}", err=True)
    if any(r.problems for r in reports):
        ctx.exit(1)


def _export_tools() -> tuple[str, ...]:
    from .export import TOOLS

    return TOOLS


@cli.command(name="export")
@click.argument("tool", metavar="TOOL", type=click.Choice(_export_tools()))
@click.argument("query", required=False)
@model_filter_options
@click.option(
    "-o",
    "--output",
    type=click.Path(),
    help="Write here instead of stdout: a file or directory for one-file formats, a directory for "
    "codex, json and txt. A replaced file is kept as <name>.bak.",
)
@click.option(
    "--merge",
    "merge_path",
    type=click.Path(dir_okay=False),
    help="Merge into this config (aichat config.yaml, codex config.toml, mods.yml, the llm or LiteLLM "
    "file, opencode.json, crush.json), keeping everything else in it; rewritten in place with a .bak, "
    "or written to -o.",
)
@click.option("--as-of", metavar="DATE", help="The models listed at this moment, with their facts then (2026-03-01).")
@click.pass_context
def export_command(
    ctx: click.Context,
    tool: str,
    query: str | None,
    output: str | None,
    merge_path: str | None,
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

    \b
    Examples:
        vexy export aichat --tools --min-context 128000 -o ~/.config/aichat/config.yaml
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

    from .export import MERGEABLE, SINGLE_FILE, MergeError, build_export, read_merge_target, write_export
    from .export.storage import atomic_write_text
    from .query import count_models

    if merge_path and tool not in MERGEABLE:
        raise click.UsageError(f"--merge works with {', '.join(MERGEABLE)}, not {tool}.")
    single = tool in SINGLE_FILE
    if not single and not output and not merge_path:
        raise click.UsageError(f"{tool} writes several files: give a directory with -o DIR.")
    merge_file = Path(merge_path).expanduser() if merge_path else None
    catalog = _catalog(ctx)
    model_filter = _model_filter(query, **filters)
    moment = _as_of(as_of)
    with _user_errors():
        current = read_merge_target(tool, merge_file) if merge_file else {}
        db = catalog._read_db()
        try:
            _check_providers(catalog, model_filter.providers, db)
            if moment is None and not count_models(db, model_filter):
                click.echo("No models match: the export lists none.", err=True)
            export = build_export(db, tool, model_filter, merge_into=current, as_of=moment)
        except MergeError as e:
            raise click.ClickException(f"Cannot merge into {merge_file}: {e}") from None
        finally:
            db.close()
    if single and not output and not merge_file:
        click.echo(next(iter(export.files.values())), nl=False)
    elif single:
        ((filename, text),) = export.files.items()
        target = Path(output).expanduser() if output else merge_file
        assert target is not None
        if target.is_dir() or (output or "").endswith(("/", "\\")):
            target = target / (merge_file.name if merge_file else filename)
        bak = target.with_name(target.name + ".bak")
        if atomic_write_text(target, text, backup=True):
            click.echo(f"Wrote {target}" + (f" (the previous file is {bak})" if bak.exists() else ""), err=True)
        else:
            click.echo(f"{target} is up to date", err=True)
    else:
        directory = Path(output).expanduser() if output else merge_file.parent  # type: ignore[union-attr]
        if tool == "codex" and merge_file is not None and not output:
            export.files[merge_file.name] = export.files.pop("config.toml")
        changed = write_export(export, directory)
        backups = [p for p in changed if p.with_name(p.name + ".bak").exists()]
        if changed:
            click.echo(
                f"Wrote {len(changed)} of {len(export.files)} files to {directory}"
                + (f" ({len(backups)} replaced, kept as .bak)" if backups else ""),
                err=True,
            )
        else:
            click.echo(f"{directory} is up to date ({len(export.files)} files)", err=True)
    if export.hint:
        click.echo(export.hint, err=True)


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
    help="Preset for exposing the catalog: immutable file, no arbitrary SQL (canned queries stay), "
    "no CSV streaming, 1s SQL time limit, robots blocked.",
)
@click.option("--cors", is_flag=True, help="Send CORS headers, so pages on other sites can read the JSON API.")
@click.option("--open", "open_browser", is_flag=True, help="Open the catalog in a web browser.")
@click.option(
    "--get",
    "get_path",
    metavar="PATH",
    help="Print the response to one request for PATH and exit (0 for status 200, else 1); no server starts.",
)
@click.pass_context
def serve(
    ctx: click.Context, host: str, port: int, public: bool, cors: bool, open_browser: bool, get_path: str | None
) -> None:
    """Browse the catalog in Datasette and serve its JSON API.

    The catalog (--db) is served as the database "vexy" with vexy's metadata and plugin:
    search and facets on models, canned queries, /-/vexy/health, config downloads at
    /-/vexy/config, the catalog feeds clients read (/-/vexy/models.dev for OpenCode,
    /-/vexy/catwalk for Crush, /-/vexy/litellm/... for LiteLLM, /-/vexy/aichat/models.yaml)
    and, with the mcp extra, an MCP server at /-/mcp. Nothing is written while serving; without --public a catalog whose
    schema is older than this vexy is upgraded first. A missing catalog is not created.

    \b
    Examples:
        vexy serve                                   # http://127.0.0.1:8001/
        vexy serve --public --host 0.0.0.0 --port 8080
        vexy serve --get '/vexy/models.json?_search=llama&_shape=array'
        vexy serve --get /-/vexy/health.json
    """
    from . import serve as serving

    with _user_errors():
        try:
            ds = serving.build_datasette(ctx.obj["db"], public=public, cors=cors)
        except serving.CatalogError as e:
            raise click.ClickException(str(e)) from None
    if get_path is not None:
        response = serving.get(ds, get_path)
        if response.is_text:
            click.echo(response.body.decode("utf-8", "replace"))
        else:
            click.echo(response.body, nl=False)
        ctx.exit(0 if response.status == 200 else 1)
    if serving.CATALOG_DB not in ds.databases:
        click.echo(f"No catalog at {ctx.obj['db']} yet: the page says to run 'vexy fetch'.", err=True)
    if public:
        click.echo("Public preset: immutable catalog, no arbitrary SQL, no CSV streaming, robots blocked.", err=True)
    serving.run(ds, host, port, open_browser)


@cli.command(name="mcp")
@click.option(
    "--public",
    is_flag=True,
    help="Read-only canned tools only (no arbitrary SQL), on the catalog opened as immutable, as serve --public.",
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


def main() -> None:  # pragma: no cover - console-script convenience
    cli(prog_name="vexy")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
