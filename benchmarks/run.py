"""vexy's benchmark: everything issue 14 asks to be fast, each row against its limit.

    python benchmarks/run.py                 # the full run (several minutes); writes docs/benchmarks.md
    python benchmarks/run.py --quick         # smaller sizes, about a minute (tests/test_benchmarks.py)
    python benchmarks/run.py --json          # the rows as JSON on stdout
    python benchmarks/run.py --before a.json --after b.json   # runs side by side (markdown)
    python benchmarks/run.py --from run.json                  # report a saved run (and write the docs)

Sections, in the order they run:

- **fetch**: `vexy fetch` with its default options against the bare concurrent GET + parse of the
  same answers (`_ref_fetch.py`), each provider on a loopback address of its own (127.0.0.2,
  127.0.0.3, ...) answering after 300 ms: into an empty catalog, again with nothing changed, and
  again with one record of a reference list (litellm) changed. Reference and vexy alternate.
- **ingest**: the same fetch with answers at once, less the bare GET + parse: what storing costs
  per model, all work included.
- **scale**: one provider of 10k, 100k and 300k models, fetched and stored; time and peak memory.
- **exports**: every format of `vexy export` for the whole catalog of the fetch (10k models), as
  a command (`vexy export TOOL -o DIR`) and as the web download.
- **serving**: the pages and routes of `vexy serve` on 100k models, p95 of each.

Everything is served on loopback by tests/fake_providers.py; nothing leaves the machine. The
answers are the recordings in shared/snapshots (``$VEXY_SNAPSHOTS``) where present, synthetic
answers of the same sizes otherwise (answers.py). To measure another checkout, put it first on
``PYTHONPATH``: the header names the package that was imported.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import answers as answers_mod

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
DOCS = ROOT / "docs" / "benchmarks.md"
LATENCY = 0.3  # seconds the fake servers wait before each answer, like a distant provider
SEARCH_TERM = "llama"
CONFIG_PROVIDER = "openrouter"  # the one-provider download (326 models in the recording)
MB = 1024 * 1024
# What marks the generated part of docs/benchmarks.md (the rest is written by hand).
DOC_START = "<!-- benchmark results: written by benchmarks/run.py -->"
DOC_END = "<!-- end of benchmark results -->"


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- rows -------------------------------------------------------------------------------------


@dataclass
class Row:
    id: str
    measurement: str
    value: float | None
    unit: str
    reference: str
    reference_value: float | None
    target: str
    # How pass/fail is decided: which number ("value" or "ratio"), compared how, with what.
    check_on: str = "value"
    check_op: str = "<="
    check_value: float | None = None
    ratio: float | None = None
    status: str = "info"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # How far from the limit: the number checked over the limit (0.5: half the limit).
    of_limit: float | None = None

    def __post_init__(self) -> None:
        if self.ratio is None and self.value is not None and self.reference_value:
            self.ratio = self.value / self.reference_value
        if self.status != "info" or self.check_value is None:
            return
        number = self.ratio if self.check_on == "ratio" else self.value
        if number is None:
            self.status = "error"
            return
        ok = {"<=": number <= self.check_value, "<": number < self.check_value, ">=": number >= self.check_value}
        self.status = "pass" if ok[self.check_op] else "fail"
        # A limit of 0 (rows written by an unchanged refetch): how far is the number itself.
        self.of_limit = number / self.check_value if self.check_value else float(number)


def error_row(row_id: str, measurement: str, target: str, exc: BaseException) -> Row:
    return Row(row_id, measurement, None, "", "-", None, target, status="error", notes=f"{type(exc).__name__}: {exc}")


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms" if value < 1000 else f"{value / 1000:.2f} s"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "us/model":
        return f"{value:.1f} us/model"
    if unit in ("rows", "count"):
        return f"{value:,.0f}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}".strip()


def how_far(row: Row) -> str:
    """The checked number against its limit, in words a reader compares at a glance."""
    if row.of_limit is None:
        return "-"
    if row.check_value == 0:
        return "at the limit" if row.status == "pass" else f"{row.of_limit:g} over"
    return f"{row.of_limit:.2f} of the limit"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


# --- machine and processes --------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import vexy_catalog

    # The package measured is the one imported (PYTHONPATH can point at another checkout).
    source = Path(vexy_catalog.__file__).resolve().parent.parent
    try:
        rev = subprocess.run(
            ["git", "-C", str(source), "describe", "--always", "--dirty"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        rev = ""
    return {
        "vexy_revision": f"{rev or 'unknown revision'} at {source}",
        # Another process busy on the same cores slows every row: the load says whether one was.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": ram_gb,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "platform": platform.platform(),
    }


def child_env(keys: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a vexy process: none of the developer's keys, base-URL overrides or
    vexy settings (they would send requests elsewhere), plus the benchmark's keys."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not (k.startswith("VEXY_") or k.endswith(("_API_KEY", "_API_OPENAI", "_TOKEN", "_KEY")))
    }
    env.update(keys or {})
    return env


@dataclass
class ChildResult:
    wall: float
    returncode: int
    stdout: str
    stderr: str
    max_rss_mb: float

    def json(self) -> Any:
        if self.returncode != 0:
            raise RuntimeError(f"child exited {self.returncode}: {self.stderr.strip()[-800:]}")
        return json.loads(self.stdout)


def run_child(cmd: list[str], env: dict[str, str], workdir: Path, timeout: float) -> ChildResult:
    """Run ``cmd``, timing it and reading its own peak RSS (wait4 gives that child's rusage,
    where RUSAGE_CHILDREN would give the largest of every child so far)."""
    out_path, err_path = workdir / "child.out", workdir / "child.err"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=workdir)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                wall = time.perf_counter() - t0
                break
            if time.perf_counter() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                proc.returncode = -9
                raise TimeoutError(f"{' '.join(cmd[:4])}... still running after {timeout:.0f}s; killed")
            time.sleep(0.002)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ChildResult(
        wall,
        proc.returncode,
        out_path.read_text(encoding="utf-8", errors="replace"),
        err_path.read_text(encoding="utf-8", errors="replace"),
        usage.ru_maxrss / 1024,  # Linux reports KiB
    )


def vexy_cmd(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db), *args]


def fake_providers_module() -> Any:
    sys.path.insert(0, str(ROOT / "tests"))
    import fake_providers

    return fake_providers


# --- the served providers ---------------------------------------------------------------------


@dataclass
class Served:
    """The fake servers with the benchmark's providers on them, and how to reach them."""

    servers: dict[str, Any]  # provider -> its FakeProviders
    answers: dict[str, answers_mod.Answer]
    keys: dict[str, str]  # key variable -> value, for the child's environment
    headers: dict[str, dict[str, str]]  # provider -> request headers, for the reference
    providers_file: Path
    own_addresses: bool  # each provider on a loopback address of its own (else ports of 127.0.0.1)

    def set_delay(self, seconds: float) -> None:
        for name, server in self.servers.items():
            server.routes[name].delay = seconds


def start_server(fp: Any, stack: ExitStack, host: str = "127.0.0.1") -> Any:
    return stack.enter_context(fp.FakeProviders(host=host))


def loopback_addresses(count: int) -> list[str] | None:
    """``count`` loopback addresses a server can listen on (127.0.0.2, ...), or None where the
    system only has 127.0.0.1 (macOS without aliases)."""
    import socket

    hosts = [f"127.0.{(i + 2) // 250}.{(i + 2) % 250 or 250}" for i in range(count)]
    probe = socket.socket()
    try:
        probe.bind((hosts[-1], 0))
    except OSError:
        return None
    finally:
        probe.close()
    return hosts


def route_for(fp: Any, answer: answers_mod.Answer, key: str | None, delay: float) -> Any:
    # page_size 1000: vexy asks Anthropic for limit=1000, so its records come in one page, as
    # from the real API; the fake server's default of 3 would add sequential round trips.
    body = answer.body if answer.kind == "anthropic" else None
    raw = None if answer.kind == "anthropic" else answer.encoded()
    return fp.Route(body=body, raw=raw, kind=answer.kind, key=key, delay=delay, page_size=1000)


def serve_answers(fp: Any, stack: ExitStack, answers: dict[str, answers_mod.Answer], workdir: Path) -> Served:
    """Each provider on a server of its own, on a loopback address of its own where the system
    has them: its own origin and host, as every real provider has (vexy limits concurrent
    requests per host)."""
    import yaml

    from vexy_catalog.providers import load_providers

    builtins = load_providers(environ={})
    hosts = loopback_addresses(len(answers))
    servers: dict[str, Any] = {}
    keys: dict[str, str] = {}
    headers: dict[str, dict[str, str]] = {}
    text = ""
    for i, (name, answer) in enumerate(answers.items()):
        provider = builtins[name]
        key = f"bench-{name}-key-0123456789" if provider.api_key_env else None
        server = servers[name] = start_server(fp, stack, hosts[i] if hosts else "127.0.0.1")
        server.set(name, route_for(fp, answer, key, LATENCY))
        text += server.providers_yaml([name])
        if key and provider.api_key_env:
            keys[provider.api_key_env] = key
        if answer.kind == "anthropic":
            headers[name] = {"x-api-key": key or "", "anthropic-version": "2023-06-01"}
        elif key:
            headers[name] = {"Authorization": f"Bearer {key}"}
        else:
            headers[name] = {}
    # Built-ins not served are disabled, so a public list (openrouter, llm7...) that is not
    # served never goes out to the internet.
    disabled = {name: {"enabled": False} for name in builtins if name not in answers}
    if disabled:
        text += yaml.safe_dump(disabled, sort_keys=True)
    path = workdir / "providers.yaml"
    path.write_text(text, encoding="utf-8")
    return Served(servers, answers, keys, headers, path, hosts is not None)


def reference_spec(served: Served) -> list[dict[str, Any]]:
    specs = []
    for name, answer in served.answers.items():
        base = served.servers[name].base_url(name)
        url = base if answer.kind == "url" else base + "/models"
        params = {"limit": "1000"} if answer.kind == "anthropic" else {}
        specs.append({"url": url, "params": params, "headers": served.headers[name]})
    return specs


# --- fetch: fresh, unchanged, one reference record changed --------------------------------------


def changed_reference(answer: answers_mod.Answer) -> answers_mod.Answer:
    """The litellm answer with one record's input price changed."""
    body = json.loads(json.dumps(answer.body))
    for record in body.values():
        if isinstance(record, dict) and isinstance(record.get("input_cost_per_token"), int | float):
            record["input_cost_per_token"] = record["input_cost_per_token"] * 1.5 + 1e-9
            break
    return answers_mod.Answer(answer.provider, answer.kind, body, answer.records, answer.source)


def copy_catalog(source: Path, target: Path) -> None:
    """A copy of a catalog as a user's catalog is when a fetch starts: on disk. A fresh copy's
    pages are still dirty in the page cache, and the refetch's checkpoint, which syncs the file,
    would pay for writing them (~15 ms for a 40 MB catalog here), a cost of the benchmark's
    copy that no user's refetch has."""
    shutil.copy(source, target)
    with open(target, "rb+") as copied:
        os.fsync(copied.fileno())


def count_model_writes(db: Path) -> None:
    """A trigger on the benchmark's copy counts every INSERT or UPDATE of a models row, even one
    writing the same values back (a before/after comparison would miss it)."""
    conn = sqlite3.connect(db)
    conn.executescript(
        """
        create table if not exists _bench_model_writes (n integer);
        delete from _bench_model_writes;
        insert into _bench_model_writes values (0);
        create trigger if not exists _bench_models_update after update on models
            begin update _bench_model_writes set n = n + 1; end;
        create trigger if not exists _bench_models_insert after insert on models
            begin update _bench_model_writes set n = n + 1; end;
        """
    )
    conn.close()


def bench_fetch(served: Served, workdir: Path, repeats: int, refetches: int) -> tuple[list[Row], Path]:
    spec_path = workdir / "reference.json"
    env = child_env(served.keys)
    expected = sum(a.records for a in served.answers.values())
    n = len(served.answers)
    times: dict[str, dict[str, list[float]]] = {
        s: {"vexy": [], "ref": [], "inner": [], "ref_inner": []} for s in ("fresh", "unchanged", "changed")
    }
    fresh_db: Path | None = None
    writes: dict[str, Any] = {}
    litellm = served.answers.get("litellm")

    def reference(scenario: str) -> None:
        spec_path.write_text(json.dumps(reference_spec(served)), encoding="utf-8")
        got = run_child([sys.executable, str(HERE / "_ref_fetch.py"), str(spec_path)], env, workdir, 120)
        parsed = got.json()
        if parsed["records"] < expected * 0.99:
            raise RuntimeError(f"reference parsed {parsed['records']} records, expected about {expected}")
        times[scenario]["ref"].append(got.wall)
        times[scenario]["ref_inner"].append(parsed["seconds"])

    def vexy(scenario: str, db: Path) -> dict[str, Any]:
        cmd = vexy_cmd(db, "--providers-file", str(served.providers_file), "fetch", "--json")
        res = run_child(cmd, env, workdir, 300)
        summary = res.json()
        counts = summary["counts"]
        if counts.get("failed") or counts.get("ok", 0) + counts.get("unchanged", 0) != n:
            raise RuntimeError(f"vexy fetch did not fetch every provider: {summary['counts']} {res.stderr[-800:]}")
        times[scenario]["vexy"].append(res.wall)
        times[scenario]["inner"].append(summary["duration_ms"] / 1000)
        return summary

    for i in range(repeats):
        # Reference and vexy alternate, so drift on the machine hits both alike.
        db = workdir / f"fetch-{i}" / "vexy.db"
        db.parent.mkdir()
        reference("fresh")
        summary = vexy("fresh", db)
        fresh_db = fresh_db or db
        models = summary["totals"]["models"]

        # A refetch costs tens of ms, so one run of it is within the machine's noise: each fresh
        # catalog is refetched `refetches` times, each time a copy of it.
        for j in range(refetches):
            again = workdir / f"fetch-{i}" / f"unchanged-{j}.db"
            copy_catalog(db, again)
            first = i == 0 and j == 0
            if first:
                count_model_writes(again)
            before = sqlite3.connect(again).execute("select max(id) from fetches").fetchone()[0]
            reference("unchanged")
            vexy("unchanged", again)
            if first:
                conn = sqlite3.connect(again)
                writes = {
                    "rows_written": conn.execute("select n from _bench_model_writes").fetchone()[0],
                    "models": conn.execute("select count(*) from models").fetchone()[0],
                    "fetches": dict(
                        conn.execute("select status, count(*) from fetches where id > ? group by status", [before])
                    ),
                }
                conn.close()

            if litellm is not None:
                changed = workdir / f"fetch-{i}" / f"changed-{j}.db"
                copy_catalog(db, changed)
                fp = fake_providers_module()
                server = served.servers["litellm"]
                key = server.routes["litellm"].key
                server.set("litellm", route_for(fp, changed_reference(litellm), key, LATENCY))
                try:
                    reference("changed")
                    vexy("changed", changed)
                finally:
                    server.set("litellm", route_for(fp, litellm, key, LATENCY))
    assert fresh_db is not None
    where = (
        "each on a loopback address of its own"
        if served.own_addresses
        else "each on its own port of 127.0.0.1 (no other loopback address here)"
    )
    label = f"{n} recorded providers, {models:,} models, {LATENCY * 1000:.0f} ms latency, {where}"

    def fetch_row(row_id: str, scenario: str, what: str, limit: float, goal: str = "") -> Row:
        t = times[scenario]
        return Row(
            row_id,
            f"`vexy fetch` (default options), {what}: {label}",
            statistics.median(t["vexy"]),
            "s",
            "bare concurrent GET + json.loads (process)",
            statistics.median(t["ref"]),
            f"ratio <= {limit}" + (f" ({goal})" if goal else ""),
            check_on="ratio",
            check_value=limit,
            notes=f"median of {len(t['vexy'])}, process wall time, start-up included; in-process "
            f"{statistics.median(t['inner']):.3f} s vs {statistics.median(t['ref_inner']):.3f} s after imports",
            extra={"runs": t["vexy"], "reference_runs": t["ref"], "inner": t["inner"], "ref_inner": t["ref_inner"]},
        )

    rows = [fetch_row("fetch_fresh", "fresh", "into an empty catalog", 1.3, "goal 1.1")]
    rows.append(fetch_row("fetch_unchanged", "unchanged", "again, nothing changed", 1.1))
    if litellm is not None:
        rows.append(fetch_row("fetch_reference_changed", "changed", "again, one litellm record changed", 1.2))
    rows += [
        Row(
            "refetch_rows_written",
            "unchanged refetch: models rows written (trigger count)",
            float(writes["rows_written"]),
            "rows",
            "models rows in the catalog",
            float(writes["models"]),
            "= 0",
            check_op="<=",
            check_value=0,
            ratio=writes["rows_written"] / writes["models"] if writes["models"] else None,
            notes=f"fetches rows added: {writes['fetches']} for {n} providers",
        ),
        Row(
            "refetch_fetches_rows",
            "unchanged refetch: fetches rows added with status unchanged",
            float(writes["fetches"].get("unchanged", 0)),
            "rows",
            "providers fetched",
            float(n),
            "= providers",
            check_on="ratio",
            check_op=">=",
            check_value=1.0,
        ),
    ]
    return rows, fresh_db


# --- ingest -------------------------------------------------------------------------------------


def bench_ingest(served: Served, workdir: Path, repeats: int) -> list[Row]:
    """The fetch with answers at once (no latency), less the bare GET + parse of the same
    answers: what vexy spends per model beyond receiving the answers."""
    env = child_env(served.keys)
    spec_path = workdir / "reference-ingest.json"
    spec_path.write_text(json.dumps(reference_spec(served)), encoding="utf-8")
    vexy_s, ref_s, store_s, facts_s = [], [], [], []
    models = 0
    served.set_delay(0)
    try:
        for i in range(repeats):
            ref = run_child([sys.executable, str(HERE / "_ref_fetch.py"), str(spec_path)], env, workdir, 120).json()
            ref_s.append(ref["seconds"])
            db = workdir / f"ingest-{i}" / "vexy.db"
            db.parent.mkdir()
            cmd = [sys.executable, str(HERE / "_fetch_child.py"), "--db", str(db)]
            got = run_child([*cmd, "--providers-file", str(served.providers_file)], env, workdir, 300).json()
            if got["errors"]:
                raise RuntimeError(f"ingest fetch failed: {got['errors']}")
            vexy_s.append(got["seconds"])
            store_s.append(got["db_seconds"])
            facts_s.append(got.get("facts_seconds", 0.0))
            models = got["totals"]["models"]
    finally:
        served.set_delay(LATENCY)
    per_model = [(v - r) / models * 1e6 for v, r in zip(vexy_s, ref_s, strict=True)]
    return [
        Row(
            "ingest_per_model",
            f"ingest: a fetch of {models:,} models with answers at once, less the bare GET + parse, per model",
            statistics.median(per_model),
            "us/model",
            "vexy's whole fetch, per model",
            statistics.median(vexy_s) / models * 1e6,
            "<= 60 us/model",
            check_value=60,
            notes=f"median of {repeats}: fetch {statistics.median(vexy_s):.3f} s in process, bare GET + parse "
            f"{statistics.median(ref_s):.3f} s; of the fetch, storing the answers (facts "
            f"decided as each is stored) {statistics.median(store_s):.3f} s and re-enrichment after the last "
            f"{statistics.median(facts_s):.3f} s",
            extra={"runs_us": per_model},
        )
    ]


# --- scale --------------------------------------------------------------------------------------


def bench_scale_one(fp: Any, server: Any, n: int, workdir: Path, timeout: float) -> dict[str, Any]:
    name = f"scale{n}"
    body = answers_mod.scale_body(n)
    server.set(name, fp.Route(raw=body))
    path = workdir / f"{name}.yaml"
    path.write_text(
        f"{name}:\n  base_url: {server.base_url(name)}\n  api_key_env: null\n  key_required: false\n", encoding="utf-8"
    )
    db = workdir / name / "vexy.db"
    db.parent.mkdir()
    cmd = [sys.executable, str(HERE / "_fetch_child.py"), "--db", str(db), "--providers-file", str(path)]
    capped = len(body) > 50 * MB
    if capped:
        cmd += ["--max-bytes", str(len(body) + MB)]
    nbytes = len(body)
    del body
    try:
        res = run_child([*cmd, name], child_env(), workdir, timeout)
    finally:
        server.routes.pop(name, None)
    got = res.json()
    if got["errors"] or got["totals"]["models"] != n:
        raise RuntimeError(f"scale {n}: {got}")
    return {
        "n": n,
        "wall": res.wall,
        "seconds": got["seconds"],
        "db_seconds": got["db_seconds"],
        "facts_seconds": got.get("facts_seconds", 0.0),
        "rss_mb": res.max_rss_mb,
        "bytes": nbytes,
        "cap_raised": capped,
        "db": db,
    }


def label(n: int) -> str:
    return f"{n // 1000}k" if n < 1_000_000 else f"{n // 1_000_000}M"


def bench_scale(fp: Any, server: Any, workdir: Path, quick: bool) -> tuple[list[Row], Path]:
    small_n, main_n = (1_000, 2_000) if quick else (10_000, 100_000)
    small = bench_scale_one(fp, server, small_n, workdir, 120)
    main = bench_scale_one(fp, server, main_n, workdir, 300)
    large_n = 4_000 if quick else 1_000_000
    note = ""
    skipped = None
    if not quick:
        # Project the 1M run linearly from 100k (x1.15 for the larger heap); fall back to 300k
        # when it would pass ~2 minutes or ~4 GB, and skip that too past the same limits.
        for n in (1_000_000, 300_000):
            projected_s = main["wall"] * n / main_n * 1.15
            projected_mb = main["rss_mb"] * n / main_n
            if projected_s <= 120 and projected_mb <= 4000:
                large_n = n
                break
            note += f"{label(n)} skipped: projected {projected_s:.0f} s / {projected_mb:,.0f} MB from 100k; "
        else:
            skipped = note.rstrip("; ")
    large = bench_scale_one(fp, server, large_n, workdir, 600) if skipped is None else None

    def per_model(r: dict[str, Any]) -> float:
        return r["seconds"] / r["n"] * 1e6

    def detail(r: dict[str, Any]) -> str:
        return (
            f"{r['n']:,} models, {r['bytes'] / MB:.0f} MB answer: in-process {r['seconds']:.2f} s "
            f"(storing {r['db_seconds']:.2f} s, re-enrichment {r['facts_seconds']:.2f} s), "
            f"{per_model(r):.1f} us/model, peak RSS {r['rss_mb']:,.0f} MB"
            + ("; answer cap raised from 50 MB (--max-bytes) for this size" if r["cap_raised"] else "")
        )

    rows = [
        Row(
            "scale_small",
            f"scale: fetch + store one provider of {label(small_n)} models (process wall)",
            small["wall"],
            "s",
            "-",
            None,
            "info (see growth)",
            notes=detail(small),
        ),
        Row(
            "scale_main",
            f"scale: fetch + store one provider of {label(main_n)} models (process wall)",
            main["wall"],
            "s",
            f"{label(small_n)} run",
            small["wall"],
            "< 10 s",
            check_op="<",
            check_value=10,
            notes=detail(main),
        ),
        Row(
            "scale_main_rss",
            f"scale: peak RSS of the {label(main_n)} fetch process",
            main["rss_mb"],
            "MB",
            f"{label(small_n)} run",
            small["rss_mb"],
            "< 400 MB",
            check_op="<",
            check_value=400,
        ),
        Row(
            "scale_growth",
            f"scale: growth, in-process time {label(main_n)} / {label(small_n)}",
            main["seconds"] / small["seconds"],
            "x",
            "linear",
            main_n / small_n,
            "<= 1.2 x linear",
            check_on="ratio",
            check_value=1.2,
            notes=f"per model: {per_model(small):.1f} -> {per_model(main):.1f} us",
        ),
    ]
    if large is None:
        for row_id, what in (("scale_large", "time"), ("scale_large_rss", "peak RSS")):
            rows.append(
                Row(
                    row_id,
                    f"scale: {what} of 300k or 1M models",
                    None,
                    "s",
                    "-",
                    None,
                    "-",
                    status="n/a",
                    notes=skipped,
                )
            )
        return rows, main["db"]
    rows += [
        Row(
            "scale_large",
            f"scale: fetch + store one provider of {label(large_n)} models (process wall)",
            large["wall"],
            "s",
            f"{label(main_n)} run x {large_n // main_n}",
            main["wall"] * large_n / main_n,
            "<= 1.2 x linear",
            check_on="ratio",
            check_value=1.2,
            notes=note + detail(large),
        ),
        Row(
            "scale_large_rss",
            f"scale: peak RSS of the {label(large_n)} fetch process",
            large["rss_mb"],
            "MB",
            f"{label(main_n)} run",
            main["rss_mb"],
            "< 4,000 MB",
            check_op="<",
            check_value=4000,
        ),
    ]
    return rows, main["db"]


# --- start-up -----------------------------------------------------------------------------------


def timed_runs(cmd: list[str], runs: int) -> list[float]:
    subprocess.run(cmd, capture_output=True, check=True, timeout=60)  # warm the page cache
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, check=True, timeout=60)
        out.append(time.perf_counter() - t0)
    return out


def bench_startup(runs: int) -> list[Row]:
    script = Path(sys.executable).parent / "vexy"
    # The console script next to this interpreter is what `vexy` runs; pyenv-style shims on
    # PATH would add their own start-up, which is not vexy's. Another checkout on PYTHONPATH
    # is measured through `python -m`.
    use_script = script.exists() and not os.environ.get("PYTHONPATH")
    cmd = [str(script), "--help"] if use_script else [sys.executable, "-m", "vexy_catalog.cli", "--help"]
    vexy = timed_runs(cmd, runs)
    bare = timed_runs([sys.executable, "-c", "pass"], runs)
    return [
        Row(
            "startup_help",
            f"vexy --help, best of {runs}",
            min(vexy),
            "s",
            "python -c pass, best",
            min(bare),
            "< 0.3 s",
            check_op="<",
            check_value=0.3,
            notes=f"median {statistics.median(vexy):.3f} s vs {statistics.median(bare):.3f} s; ran {' '.join(cmd)}",
        )
    ]


# --- exports ------------------------------------------------------------------------------------


def export_formats() -> tuple[str, ...]:
    from vexy_catalog.export import TOOLS

    return tuple(TOOLS)


def bench_exports(catalog: Path, workdir: Path, runs: int) -> list[Row]:
    """Every format for the whole catalog: `vexy export TOOL -o DIR` (the process, writing the
    files) into a folder not there yet, as a first export is, and, as the reference column, the
    export built in this process (no start-up, no files written). Then Codex's again over its
    own previous export, as after each fetch.

    The folders are deleted only after the last export: on a file system such as ext4, files
    created right after thousands were deleted cost many times more (each create passes over
    the freed inodes of its block group), which would measure the benchmark's own clean-up
    rather than the export. docs/benchmarks.md shows that case with no vexy at all."""
    from vexy_catalog.db import open_db
    from vexy_catalog.export import build_export

    folder = workdir / "exports"
    folder.mkdir()
    db_path = folder / "vexy.db"
    # On disk before the first export: Codex's export ends with one syncfs of the file system,
    # which would otherwise write the benchmark's copy of the catalog too.
    copy_catalog(catalog, db_path)
    open_db(db_path).close()  # migrated before the read-only commands
    env = child_env()
    models = sqlite3.connect(db_path).execute("select count(*) from models where removed_at is null").fetchone()[0]
    rows = []
    db = open_db(db_path, readonly=True)
    try:
        for tool in export_formats():
            inner, walls = [], []
            size = files = 0
            for i in range(runs):
                t0 = time.perf_counter()
                export = build_export(db, tool)
                inner.append(time.perf_counter() - t0)
                size = sum(len(t.encode("utf-8")) for t in export.files.values())
                files = len(export.files)
                out = folder / f"{tool}-{i}"
                res = run_child(vexy_cmd(db_path, "export", tool, "-o", f"{out}/"), env, workdir, 300)
                if res.returncode != 0:
                    raise RuntimeError(f"vexy export {tool}: {res.stderr.strip()[-500:]}")
                walls.append(res.wall)
            rows.append(
                _under_a_second(
                    f"export_{tool.replace('-', '_')}",
                    f"export `{tool}` of the whole catalog ({models:,} models): `vexy export {tool} -o DIR`",
                    walls,
                    f"median of {runs}; {files:,} file{'s' if files != 1 else ''}, {size / MB:.1f} MB",
                    "built in process (no start-up, no files)",
                    statistics.median(inner),
                )
            )
            if tool == "codex":
                rows.append(_bench_reexport(db_path, folder / f"{tool}-0", tool, models, runs, env, workdir))
    finally:
        db.close()
        for out in folder.iterdir():
            if out.is_dir():
                shutil.rmtree(out, ignore_errors=True)
    return rows


def _bench_reexport(
    db_path: Path, out: Path, tool: str, models: int, runs: int, env: dict[str, str], workdir: Path
) -> Row:
    """`vexy export TOOL -o DIR` over the previous export of the same catalog: what a user runs
    after each fetch (nothing changed here, so every file is compared and none rewritten)."""
    walls = []
    for _ in range(runs):
        res = run_child(vexy_cmd(db_path, "export", tool, "-o", f"{out}/"), env, workdir, 300)
        if res.returncode != 0:
            raise RuntimeError(f"vexy export {tool} again: {res.stderr.strip()[-500:]}")
        walls.append(res.wall)
    return _under_a_second(
        f"export_{tool.replace('-', '_')}_again",
        f"export `{tool}` of the whole catalog ({models:,} models) again over its previous export, nothing changed",
        walls,
        f"median of {runs}",
    )


def _under_a_second(
    row_id: str,
    measurement: str,
    times: list[float],
    notes: str,
    reference: str = "-",
    reference_value: float | None = None,
) -> Row:
    """An export row: the median of ``times`` against issue 14's limit for any export, < 1 s."""
    return Row(
        row_id,
        measurement,
        statistics.median(times),
        "s",
        reference,
        reference_value,
        "< 1 s",
        check_op="<",
        check_value=1.0,
        notes=notes,
    )


async def _download(db_path: Path, path: str, runs: int) -> tuple[list[float], int, int]:
    from vexy_catalog.serve import build_datasette

    ds = build_datasette(db_path)
    await ds.invoke_startup()
    times = []
    status = size = 0
    for _ in range(runs):
        t0 = time.perf_counter()
        response = await ds.client.get(path)
        times.append(time.perf_counter() - t0)
        status, size = response.status_code, len(response.content)
    return times, status, size


def bench_web_download(catalog: Path, workdir: Path, runs: int) -> list[Row]:
    """The config page's download of the whole catalog (no filter): LiteLLM's config, the
    slowest before (issue 14: 14.2 s)."""
    folder = workdir / "web-download"
    folder.mkdir()
    db_path = folder / "vexy.db"
    shutil.copy(catalog, db_path)
    path = "/-/vexy/config/litellm"
    times, status, size = asyncio.run(_download(db_path, path, runs))
    if status != 200:
        raise RuntimeError(f"GET {path}: HTTP {status}")
    return [
        _under_a_second(
            "export_web_whole_catalog",
            f"web download of the whole catalog, `{path}` (no filter)",
            times,
            f"median of {runs} through `vexy serve`'s Datasette (in process); {size / MB:.1f} MB",
        )
    ]


# --- serving ------------------------------------------------------------------------------------


def build_serving_db(scale_db: Path, served: Served, workdir: Path) -> tuple[Path, str]:
    """The scale catalog, then every recorded provider fetched into it, then two of them again
    with new models (so 'added recently' and the home page's changes have rows): ~110k models."""
    folder = workdir / "serving"
    folder.mkdir()
    path = folder / "vexy.db"  # named vexy.db so metadata.yml's `databases: vexy:` applies
    shutil.copy(scale_db, path)
    env = child_env(served.keys)
    cmd = [sys.executable, str(HERE / "_fetch_child.py"), "--db", str(path), "--providers-file"]
    served.set_delay(0)
    fp = fake_providers_module()
    again = [n for n in ("openrouter", "groq") if n in served.answers]
    try:
        got = run_child([*cmd, str(served.providers_file)], env, workdir, 300).json()
        if got["errors"]:
            raise RuntimeError(f"serving catalog: {got['errors']}")
        for name in again:
            answer = served.answers[name]
            body = json.loads(json.dumps(answer.body))
            records = body["data"] if isinstance(body, dict) and isinstance(body.get("data"), list) else None
            if records is None:
                continue
            records += [{**records[0], "id": f"{records[0]['id']}-new-{i}"} for i in range(5)]
            added = answers_mod.Answer(name, answer.kind, body, len(records), answer.source)
            server = served.servers[name]
            server.set(name, route_for(fp, added, server.routes[name].key, 0))
        if again:
            run_child([*cmd, str(served.providers_file), *again], env, workdir, 300).json()
    finally:
        for name in again:
            server = served.servers[name]
            server.set(name, route_for(fp, served.answers[name], server.routes[name].key, LATENCY))
        served.set_delay(LATENCY)
    count = sqlite3.connect(path).execute("select count(*) from models").fetchone()[0]
    return path, f"{count:,} models"


def canned_parameters(today: str) -> dict[str, str]:
    """Each canned query with parameters a user would give (a model name where it asks for one)."""
    return {
        "cheapest_with_context": "min_context=128000&tools=1&type=",
        "models_added_recently": "days=7",
        "model_across_providers": "model=gpt-4o",
        "model_price_on_date": f"provider=openrouter&model=openai%2Fgpt-4o&date={today}",
        "stale_providers": "hours=24",
        "recent_failed_fetches": "days=7&provider=",
    }


def serving_routes(db_path: Path) -> dict[str, tuple[str, str]]:
    """Route id -> (label, path) for every route issue 14 names, and the pages around them."""
    from datetime import datetime, timezone

    from vexy_catalog.serve import load_metadata

    conn = sqlite3.connect(db_path)
    row = (
        conn.execute(
            "select provider, model_id from models where provider = ? and removed_at is null order by model_id limit 1",
            [CONFIG_PROVIDER],
        ).fetchone()
        or conn.execute("select provider, model_id from models limit 1").fetchone()
    )
    conn.close()
    from datasette.utils import tilde_encode

    today = datetime.now(timezone.utc).strftime("%Y-%m-%d")
    p = CONFIG_PROVIDER
    routes = {
        "serve_home": ("home page", "/"),
        "serve_table": ("models table", "/vexy/models"),
        "serve_table_filter": (f"models table, provider={p}", f"/vexy/models?provider={p}"),
        "serve_table_filters": (
            "models table, tools and 100k+ context",
            "/vexy/models?supports_tools=1&context_window__gte=100000",
        ),
        "serve_facet": ("facet by provider", "/vexy/models?_facet=provider"),
        "serve_search": (f"full-text search '{SEARCH_TERM}'", f"/vexy/models?_search={SEARCH_TERM}"),
        "serve_row": (
            "a model's page",
            f"/vexy/models/{tilde_encode(str(row[0]))},{tilde_encode(str(row[1]))}",
        ),
    }
    queries = load_metadata()["databases"]["vexy"].get("queries", {})
    parameters = canned_parameters(today)
    for name in queries:
        routes[f"serve_query_{name}"] = (f"canned query {name}", f"/vexy/{name}?{parameters.get(name, '')}")
    routes["serve_query_wildcard"] = (
        "canned query model_across_providers, model=%llama% (1,000 rows drawn)",
        "/vexy/model_across_providers?model=%25llama%25",
    )
    routes |= {
        "serve_health": ("health page", "/-/vexy/health"),
        "serve_health_json": ("health.json", "/-/vexy/health.json"),
        "serve_config_page": ("config page", "/-/vexy/config"),
        "serve_config_aichat": (f"config download aichat, provider={p}", f"/-/vexy/config/aichat?provider={p}"),
        "serve_config_litellm": (f"config download litellm, provider={p}", f"/-/vexy/config/litellm?provider={p}"),
        "serve_config_codex": (f"config download codex (zip), provider={p}", f"/-/vexy/config/codex?provider={p}"),
        "serve_feed_modelsdev": (f"models.dev feed, provider={p}", f"/-/vexy/models.dev/provider={p}/api.json"),
        "serve_feed_catwalk": (f"Catwalk feed, provider={p}", f"/-/vexy/catwalk/provider={p}/v2/providers"),
        "serve_feed_costmap": (
            f"LiteLLM cost map, provider={p}",
            f"/-/vexy/litellm/model_prices_and_context_window.json?provider={p}",
        ),
        "serve_feed_aichat": (f"aichat models.yaml, provider={p}", f"/-/vexy/aichat/models.yaml?provider={p}"),
    }
    return routes


# Routes that are information, not one of the targets.
INFO_ROUTES = {"serve_query_wildcard"}


async def _datasette_times(db_path: Path, paths: dict[str, str], n: int, warmup: int, budget: float) -> dict[str, Any]:
    # Exactly what `vexy serve` serves: our settings, metadata and plugin (loaded by its entry
    # point, so vexy must be installed: pip install -e .).
    from vexy_catalog.serve import build_datasette

    ds = build_datasette(db_path)
    await ds.invoke_startup()
    from vexy_catalog import serve

    # What `vexy serve` does after start-up (a version without it: nothing).
    getattr(serve, "settle_heap", lambda: None)()
    out: dict[str, Any] = {}
    for key, path in paths.items():
        first = await ds.client.get(path)
        if first.status_code != 200:
            out[key] = first.status_code
            continue
        for _ in range(warmup):
            await ds.client.get(path)
        times: list[float] = []
        # n requests, but no more than budget seconds once 5 are in: a slow page still gets a
        # p95 without the run taking many minutes.
        stop = time.perf_counter() + budget
        while len(times) < n and (len(times) < 5 or time.perf_counter() < stop):
            t0 = time.perf_counter()
            response = await ds.client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if response.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
        out[key] = (times, len(first.content))
    # A facet that passes facet_time_limit_ms is dropped from the page silently: check it ran.
    facet = (await ds.client.get("/vexy/models.json?_facet=provider")).json()
    out["facets_timed_out"] = facet.get("facets_timed_out", [])
    return out


def _sql_times(db_path: Path, queries: dict[str, tuple[str, list[Any]]], n: int) -> dict[str, list[float]]:
    conn = sqlite3.connect(db_path)
    out = {}
    for key, (sql, params) in queries.items():
        conn.execute(sql, params).fetchall()
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            conn.execute(sql, params).fetchall()
            times.append((time.perf_counter() - t0) * 1000)
        out[key] = times
    conn.close()
    return out


def bench_serving(db_path: Path, note: str, n: int, budget: float) -> list[Row]:
    routes = serving_routes(db_path)
    got = asyncio.run(_datasette_times(db_path, {k: p for k, (_, p) in routes.items()}, n, 2, budget))
    # The main query of three pages straight on sqlite3: what Datasette adds on top of it.
    sql = _sql_times(
        db_path,
        {
            "serve_table": ("select rowid, * from models order by provider, model_id limit 101", []),
            "serve_search": (
                "select rowid, * from models where rowid in (select rowid from models_fts where models_fts match ?) "
                "order by provider, model_id limit 101",
                [SEARCH_TERM],
            ),
            "serve_facet": ("select provider, count(*) from models group by provider order by count(*) desc", []),
        },
        n,
    )
    rows = []
    for key, (label, path) in routes.items():
        result = got[key]
        measurement = f"serve: {label}, `{path}`"
        target = "info" if key in INFO_ROUTES else "p95 < 100 ms"
        if not isinstance(result, tuple):
            rows.append(Row(key, measurement, None, "ms", "-", None, target, status="n/a", notes=f"HTTP {result}"))
            continue
        times, size = result
        ref = sql.get(key)
        notes = f"p50 {statistics.median(times):.1f} ms of {len(times)}; {size / 1024:,.0f} kB; {note}"
        if ref:
            notes += f"; reference: p95 of the page's main SQL on sqlite3 (p50 {statistics.median(ref):.1f} ms)"
        if key == "serve_facet" and got["facets_timed_out"]:
            notes += f"; facets timed out: {got['facets_timed_out']}"
        rows.append(
            Row(
                key,
                measurement,
                percentile(times, 0.95),
                "ms",
                "the page's main SQL, sqlite3" if ref else "-",
                percentile(ref, 0.95) if ref else None,
                target,
                check_op="<",
                check_value=None if key in INFO_ROUTES else 100,
                notes=notes,
                extra={"p50_ms": statistics.median(times)},
            )
        )
    return rows


# --- main ---------------------------------------------------------------------------------------

QUICK_PROVIDERS = ["anthropic", "chutes", "deepinfra", "gemini", "groq", "litellm", "mistral", "openai", "openrouter"]


@contextmanager
def step(name: str, rows: list[Row], prefix: str) -> Iterator[None]:
    """Run one benchmark step; if it breaks, an error row says so and the others still run."""
    log(f"[bench] {name} ...")
    t0 = time.perf_counter()
    before = len(rows)
    try:
        yield
    except Exception as e:  # noqa: BLE001 - reported as an error row, and the exit status
        del rows[before:]
        rows.append(error_row(f"{prefix}_error", name, "-", e))
        log(f"[bench] {name} failed: {type(e).__name__}: {e}")
    log(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s")


def compile_measured() -> None:
    """Bytecode for the measured checkout, as an installed package has it (pip compiles it at
    install). Without it, where PYTHONDONTWRITEBYTECODE is set (or the checkout is read-only),
    every vexy process would compile each module it imports from source: ~0.13 s of CPU per
    process that no user pays, counted in every process row."""
    import compileall

    import datasette_plugins
    import vexy_catalog

    for package in (vexy_catalog, datasette_plugins):
        compileall.compile_dir(Path(package.__file__).parent, quiet=1)


def run(quick: bool) -> tuple[dict[str, Any], list[Row]]:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    compile_measured()
    fp = fake_providers_module()
    answers = answers_mod.load_answers(QUICK_PROVIDERS if quick else answers_mod.RECORDED)
    info = machine()
    info["mode"] = "quick" if quick else "full"
    info["answers"] = {
        "providers": len(answers),
        "models": sum(a.records for a in answers.values()),
        "from_snapshots": sum(1 for a in answers.values() if a.source == "snapshot"),
        "snapshot_dir": str(answers_mod.snapshot_dir()),
    }
    rows: list[Row] = []
    repeats = 1 if quick else 3
    with tempfile.TemporaryDirectory(prefix="vexy-bench-") as tmp, ExitStack() as stack:
        workdir = Path(tmp)
        served = serve_answers(fp, stack, answers, workdir)
        server = start_server(fp, stack)  # the scale step's provider
        fetched_db: Path | None = None
        scale_db: Path | None = None
        with step("fetch", rows, "fetch"):
            got, fetched_db = bench_fetch(served, workdir, repeats, 1 if quick else 3)
            rows += got
        with step("ingest", rows, "ingest"):
            rows += bench_ingest(served, workdir, repeats)
        with step("scale", rows, "scale"):
            got, scale_db = bench_scale(fp, server, workdir, quick)
            rows += got
        with step("start-up", rows, "startup"):
            rows += bench_startup(3 if quick else 5)
        with step("exports", rows, "export"):
            if fetched_db is None:
                raise RuntimeError("needs the fetch's catalog")
            rows += bench_exports(fetched_db, workdir, 1 if quick else 3)
            rows += bench_web_download(fetched_db, workdir, 1 if quick else 3)
        with step("serving", rows, "serve"):
            if scale_db is None:
                raise RuntimeError("needs the scale step's catalog")
            path, note = build_serving_db(scale_db, served, workdir)
            rows += bench_serving(path, note, 8 if quick else 50, 5 if quick else 30)
    return info, rows


def table_lines(rows: list[Row], markdown: bool) -> list[str]:
    header = ("#", "measurement", "value", "limit", "how far", "reference", "ref value", "ratio", "result")
    body = [
        (
            str(i),
            r.measurement,
            fmt(r.value, r.unit),
            r.target,
            how_far(r),
            r.reference,
            fmt(r.reference_value, r.unit),
            "-" if r.ratio is None else f"{r.ratio:.2f}",
            f"**{r.status}**" if markdown and r.status in ("fail", "error") else r.status,
        )
        for i, r in enumerate(rows, 1)
    ]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    table = [header, *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    lines = []
    for j, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return lines


def header_lines(info: dict[str, Any]) -> list[str]:
    a = info["answers"]
    return [
        f"vexy benchmark ({info['mode']}) - {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, "
        f"Python {info['python']}, SQLite {info['sqlite']}",
        f"vexy {info['vexy_revision']}; load average before {info['load_average']}, after "
        f"{info.get('load_average_after')}; the run took {info.get('seconds')} s",
        f"answers: {a['providers']} providers, {a['models']:,} models, {a['from_snapshots']} recorded "
        f"({a['snapshot_dir']}), the rest synthetic",
    ]


def print_table(info: dict[str, Any], rows: list[Row], out: Callable[[str], None] = print) -> None:
    for line in header_lines(info):
        out(line)
    out("")
    for line in table_lines(rows, markdown=False):
        out(line)
    out("")
    out("Notes:")
    for i, r in enumerate(rows, 1):
        if r.notes:
            out(f"  {i}. {r.id}: {r.notes}")


def write_docs(info: dict[str, Any], rows: list[Row], path: Path) -> None:
    """The results between the markers of ``path`` (the rest of the file is written by hand)."""
    failing = [r for r in rows if r.status in ("fail", "error")]
    lines = [
        DOC_START,
        "",
        *[f"{line}  " for line in header_lines(info)],
        "",
        f"{sum(r.status == 'pass' for r in rows)} rows pass, {len(failing)} miss"
        + (f" ({', '.join(r.id for r in failing)})" if failing else "")
        + '. "how far" is the checked number (the value, or the ratio) over its limit.',
        "",
        *table_lines(rows, markdown=True),
        "",
        "<details><summary>Notes per row</summary>",
        "",
        *[f"{i}. `{r.id}`: {r.notes}" for i, r in enumerate(rows, 1) if r.notes],
        "",
        "</details>",
        "",
        DOC_END,
    ]
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n\n"
    block = "\n".join(lines)
    if DOC_START in text and DOC_END in text:
        before, rest = text.split(DOC_START, 1)
        text = before + block + rest.split(DOC_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def compare(before_paths: list[Path], after_paths: list[Path]) -> str:
    """Markdown: each row's value before and after (the median over the runs given)."""

    def load(paths: list[Path]) -> dict[str, dict[str, Any]]:
        runs = [json.loads(p.read_text(encoding="utf-8"))["rows"] for p in paths]
        out: dict[str, dict[str, Any]] = {}
        for row_id in dict.fromkeys(r["id"] for run in runs for r in run):
            found = [r for run in runs for r in run if r["id"] == row_id and r["value"] is not None]
            if found:
                out[row_id] = {**found[-1], "value": statistics.median(r["value"] for r in found), "n": len(found)}
                ratios = [r["ratio"] for r in found if r["ratio"] is not None]
                out[row_id]["ratio"] = statistics.median(ratios) if ratios else None
        return out

    before, after = load(before_paths), load(after_paths)
    lines = [
        "| measurement | limit | before | after | after / limit | result |",
        "|---|---|---|---|---|---|",
    ]
    for row_id, row in after.items():
        old = before.get(row_id)

        def shown(r: dict[str, Any] | None) -> str:
            if r is None:
                return "-"
            text = fmt(r["value"], r["unit"])
            return text + (f" (ratio {r['ratio']:.2f})" if r["check_on"] == "ratio" and r["ratio"] is not None else "")

        checked = row["ratio"] if row["check_on"] == "ratio" else row["value"]
        far = f"{checked / row['check_value']:.2f}" if row["check_value"] and checked is not None else "-"
        result = Row(
            row_id,
            "",
            row["value"],
            row["unit"],
            "",
            None,
            row["target"],
            check_on=row["check_on"],
            check_op=row["check_op"],
            check_value=row["check_value"],
            ratio=row["ratio"],
        ).status
        lines.append(
            f"| {row['measurement'].replace('|', '/')} | {row['target']} | {shown(old)} | {shown(row)} | {far} | "
            f"{result} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a test (about a minute)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    parser.add_argument(
        "--docs",
        type=Path,
        help=f"write the results into this file (a full run writes {DOCS.relative_to(ROOT)} unless --no-docs)",
    )
    parser.add_argument("--no-docs", action="store_true", help="do not write docs/benchmarks.md")
    parser.add_argument(
        "--from", dest="saved", type=Path, metavar="JSON", help="report a saved run (--json) instead of running"
    )
    parser.add_argument("--before", nargs="+", type=Path, metavar="JSON", help="runs (--json) before a change")
    parser.add_argument(
        "--after", nargs="+", type=Path, metavar="JSON", help="runs after it: print both side by side (markdown)"
    )
    args = parser.parse_args(argv)
    if args.before or args.after:
        if not (args.before and args.after):
            parser.error("--before and --after go together")
        print(compare(args.before, args.after))
        return 0
    if args.saved:
        saved = json.loads(args.saved.read_text(encoding="utf-8"))
        info, rows = saved["machine"], [Row(**row) for row in saved["rows"]]
    else:
        t0 = time.perf_counter()
        info, rows = run(args.quick)
        info["seconds"] = round(time.perf_counter() - t0, 1)
        info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    docs = args.docs or (None if info["mode"] == "quick" or args.no_docs else DOCS)
    if docs is not None:
        write_docs(info, rows, docs)
    if args.json:
        out = []
        for r in rows:
            d = asdict(r)
            d["extra"] = {k: str(v) if isinstance(v, Path) else v for k, v in d["extra"].items()}
            out.append(d)
        print(json.dumps({"machine": info, "rows": out}, indent=2))
    else:
        print_table(info, rows)
    return 1 if any(r.status == "error" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
