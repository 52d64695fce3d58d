"""vexy's benchmark: fetch, ingest, refetch, scale, start-up and serving, each against a reference.

    python benchmarks/run.py            # the full run (a few minutes)
    python benchmarks/run.py --quick    # smaller sizes, well under a minute (used by the tests)
    python benchmarks/run.py --json     # the same rows as JSON on stdout

Everything is served on 127.0.0.1 by tests/fake_providers.py; nothing leaves the machine. The
provider answers are the recordings in /work/shared/snapshots (``$VEXY_SNAPSHOTS``) where present,
synthetic answers of the same sizes otherwise (see answers.py). docs/benchmarks.md explains the
rows and the latest results.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
LATENCY = 0.3  # seconds the fake server waits before each answer, like a distant provider
CONFIG_TOOL = "aichat"  # any tool name: the config-download route is probed, not assumed
# A download people make: one provider's models (all 110k models in one aichat file is ~10 MB
# of YAML, which is a batch job, not a page).
CONFIG_QUERY = "provider=openrouter"
SEARCH_TERM = "llama"
MB = 1024 * 1024


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
    # How pass/fail is decided: which number ("value" or "ratio"), compared how, against what.
    check_on: str = "value"
    check_op: str = "<="
    check_value: float | None = None
    ratio: float | None = None
    status: str = "info"
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

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


def error_row(row_id: str, measurement: str, target: str, exc: BaseException) -> Row:
    return Row(row_id, measurement, None, "", "-", None, target, status="error", notes=f"{type(exc).__name__}: {exc}")


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "rows/s":
        return f"{value:,.0f} rows/s"
    if unit == "MB":
        return f"{value:,.0f} MB"
    if unit == "us/model":
        return f"{value:.1f} us/model"
    if unit == "rows" or unit == "count":
        return f"{value:,.0f}"
    if unit == "x":
        return f"{value:.2f}x"
    return f"{value:g} {unit}".strip()


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
    rev = f"{rev or 'unknown revision'} at {source}"
    return {
        "vexy_revision": rev,
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


def start_server(fp: Any, stack: ExitStack) -> Any:
    server = stack.enter_context(fp.FakeProviders())
    # socketserver listens with a backlog of 5: past it the kernel drops SYNs and the client
    # retries a whole second later, which would be timed as the client's cost.
    server.httpd.socket.listen(128)
    return server


def serve_answers(fp: Any, stack: ExitStack, answers: dict[str, answers_mod.Answer], workdir: Path) -> Served:
    """Each provider on its own loopback server, so on its own origin as in real life: vexy
    limits concurrent requests per host (4 by default), and 40 providers sharing one
    127.0.0.1:port would be fetched 4 at a time, which no real set of providers is."""
    from vexy_catalog.providers import load_providers

    builtins = load_providers(environ={})
    servers: dict[str, Any] = {}
    keys: dict[str, str] = {}
    headers: dict[str, dict[str, str]] = {}
    text = ""
    for name, answer in answers.items():
        provider = builtins[name]
        key = f"bench-{name}-key-0123456789" if provider.api_key_env else None
        # page_size 1000: vexy asks Anthropic for limit=1000, so its records come in one page,
        # as from the real API; the fake server's default of 3 would add sequential 300 ms
        # round trips that the reference (one GET) does not make.
        body = answer.body if answer.kind == "anthropic" else None
        raw = None if answer.kind == "anthropic" else answer.encoded()
        server = servers[name] = start_server(fp, stack)
        server.set(name, fp.Route(body=body, raw=raw, kind=answer.kind, key=key, delay=LATENCY, page_size=1000))
        text += server.providers_yaml([name])
        if key and provider.api_key_env:
            keys[provider.api_key_env] = key
        if answer.kind == "anthropic":
            headers[name] = {"x-api-key": key or "", "anthropic-version": "2023-06-01"}
        elif key:
            headers[name] = {"Authorization": f"Bearer {key}"}
        else:
            headers[name] = {}
    import yaml

    # Built-ins not served are disabled, so a public list (openrouter, llm7...) that is not
    # served in --quick never goes out to the internet.
    disabled = {name: {"enabled": False} for name in builtins if name not in answers}
    if disabled:
        text += yaml.safe_dump(disabled, sort_keys=True)
    path = workdir / "providers.yaml"
    path.write_text(text, encoding="utf-8")
    return Served(servers, answers, keys, headers, path)


def reference_spec(served: Served) -> list[dict[str, Any]]:
    specs = []
    for name, answer in served.answers.items():
        base = served.servers[name].base_url(name)
        url = base if answer.kind == "url" else base + "/models"
        params = {"limit": "1000"} if answer.kind == "anthropic" else {}
        specs.append({"url": url, "params": params, "headers": served.headers[name]})
    return specs


# --- 1. full fetch ----------------------------------------------------------------------------


def bench_fetch(served: Served, workdir: Path, repeats: int) -> tuple[list[Row], Path]:
    spec_path = workdir / "reference.json"
    spec_path.write_text(json.dumps(reference_spec(served)), encoding="utf-8")
    env = child_env(served.keys)
    expected = sum(a.records for a in served.answers.values())
    ref_wall, ref_inner, vexy_wall, vexy_inner = [], [], [], []
    first_db: Path | None = None
    for i in range(repeats):
        # Alternate reference and vexy so drift on the machine hits both alike.
        ref = run_child([sys.executable, str(HERE / "_ref_fetch.py"), str(spec_path)], env, workdir, 120)
        got = ref.json()
        if got["records"] < expected * 0.99:
            raise RuntimeError(f"reference parsed {got['records']} records, expected about {expected}")
        ref_wall.append(ref.wall)
        ref_inner.append(got["seconds"])
        db = workdir / f"fetch-{i}" / "vexy.db"
        db.parent.mkdir()
        cmd = [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db)]
        cmd += ["--providers-file", str(served.providers_file)]
        res = run_child([*cmd, "fetch", "--concurrency", "64", "--json"], env, workdir, 300)
        summary = res.json()
        if summary["counts"]["failed"] or summary["counts"]["ok"] != len(served.answers):
            raise RuntimeError(f"vexy fetch did not store every provider: {summary['counts']} {res.stderr[-800:]}")
        vexy_wall.append(res.wall)
        vexy_inner.append(summary["duration_ms"] / 1000)
        first_db = first_db or db
    assert first_db is not None
    n = len(served.answers)
    models = summary["totals"]["models"]
    rows = [
        Row(
            "fetch_full",
            f"vexy fetch, {n} providers, {models:,} models, {LATENCY * 1000:.0f} ms latency (CLI process)",
            statistics.median(vexy_wall),
            "s",
            "httpx gather + json.loads (process)",
            statistics.median(ref_wall),
            "ratio <= 1.3",
            check_on="ratio",
            check_value=1.3,
            notes=f"median of {repeats}; wall time of `python -m vexy_catalog.cli fetch --concurrency 64` "
            "into an empty catalog, start-up and storage included",
            extra={"runs": vexy_wall, "reference_runs": ref_wall},
        ),
        Row(
            "fetch_full_inprocess",
            "the same fetch, inside the process (afetch duration)",
            statistics.median(vexy_inner),
            "s",
            "gather + json.loads after imports",
            statistics.median(ref_inner),
            "ratio <= 1.3",
            check_on="ratio",
            check_value=1.3,
            notes="vexy's own duration_ms (open db .. last store) vs the reference's time after its imports",
        ),
    ]
    return rows, first_db


# --- 2. ingest --------------------------------------------------------------------------------


def fetch_results(answers: dict[str, answers_mod.Answer]) -> list[Any]:
    from vexy_catalog.fetch import FetchResult, extract_records, utcnow

    results = []
    for name, answer in answers.items():
        payload = answer.payload()
        records, unidentified, duplicates = extract_records(payload)
        now = utcnow()
        results.append(
            FetchResult(
                provider=name,
                status="ok",
                url=f"http://127.0.0.1/{name}",
                started_at=now,
                finished_at=now,
                duration_ms=0,
                http_status=200,
                payload=payload,
                records=records,
                bytes=len(answer.encoded()),
                unidentified=unidentified,
                duplicates=duplicates,
            )
        )
    return results


def store_all(db_path: Path, results: list[Any]) -> tuple[float, float | None]:
    """Store ``results`` as a fetch would: seconds in record_fetch, and in the enrichment pass
    that follows a fetch which changed something (None where the package has none)."""
    from vexy_catalog import db as dbmod
    from vexy_catalog.providers import ProviderConfig, load_providers

    configs = load_providers(environ={})
    for name in {r.provider for r in results} - set(configs):
        configs[name] = ProviderConfig(name=name, base_url=f"http://127.0.0.1/{name}", source="user")
    db = dbmod.open_db(db_path)
    try:
        dbmod.sync_providers(db, [configs[r.provider] for r in results])
        t0 = time.perf_counter()
        for result in results:
            dbmod.record_fetch(db, configs[result.provider], result)
        store_s = time.perf_counter() - t0
        refresh = getattr(dbmod, "refresh_facts", None)
        if refresh is None:
            return store_s, None
        t0 = time.perf_counter()
        # As ModelCatalog.afetch does when a reference catalog (litellm, openrouter) changed:
        # every model, in one write transaction.
        with dbmod.write_transaction(db):
            refresh(db, None)
        return store_s, time.perf_counter() - t0
    finally:
        db.close()


def reference_ingest(db_path: Path, results: list[Any]) -> float:
    t0 = time.perf_counter()
    conn = sqlite3.connect(db_path)
    conn.execute("create table models (provider text, model_id text, raw text, primary key (provider, model_id))")
    # json.dumps is in the timed part: the reference too has to turn each record into text.
    rows = [(r.provider, model_id, json.dumps(raw)) for r in results for model_id, raw in r.records]
    with conn:
        conn.executemany("insert into models values (?, ?, ?)", rows)
    conn.close()
    return time.perf_counter() - t0


def bench_ingest(answers: dict[str, answers_mod.Answer], workdir: Path, repeats: int) -> list[Row]:
    results = fetch_results(answers)
    rows_total = sum(len(r.records) for r in results)
    vexy_s, facts_s, ref_s = [], [], []
    for i in range(repeats):
        ref_s.append(reference_ingest(workdir / f"ref-ingest-{i}.db", results))
        store, facts = store_all(workdir / f"ingest-{i}" / "vexy.db", results)
        vexy_s.append(store)
        if facts is not None:
            facts_s.append(facts)
    ref_rate = rows_total / statistics.median(ref_s)
    rows = [
        Row(
            "ingest",
            f"ingest {rows_total:,} models of {len(results)} answers into an empty catalog (record_fetch)",
            rows_total / statistics.median(vexy_s),
            "rows/s",
            "sqlite3 executemany, 1 table",
            ref_rate,
            "ratio >= 0.5",
            check_on="ratio",
            check_op=">=",
            check_value=0.5,
            notes=f"median of {repeats}: vexy {statistics.median(vexy_s):.3f} s, reference "
            f"{statistics.median(ref_s):.3f} s (json.dumps + executemany + commit, default pragmas)",
        )
    ]
    if facts_s:
        total = statistics.median([a + b for a, b in zip(vexy_s, facts_s, strict=True)])
        rows.append(
            Row(
                "ingest_with_facts",
                "the same ingest plus the enrichment pass a fetch runs after it (refresh_facts)",
                rows_total / total,
                "rows/s",
                "sqlite3 executemany, 1 table",
                ref_rate,
                "ratio >= 0.5",
                check_on="ratio",
                check_op=">=",
                check_value=0.5,
                notes=f"median of {repeats}: {total:.3f} s, of which refresh_facts {statistics.median(facts_s):.3f} s",
            )
        )
    else:
        rows.append(
            Row(
                "ingest_with_facts",
                "ingest plus enrichment pass",
                None,
                "rows/s",
                "-",
                None,
                "ratio >= 0.5",
                status="n/a",
                notes="this version of vexy has no refresh_facts",
            )
        )
    return rows


# --- 3. unchanged refetch ---------------------------------------------------------------------


def bench_refetch(served: Served, db_path: Path, workdir: Path) -> list[Row]:
    conn = sqlite3.connect(db_path)
    # A trigger counts every INSERT or UPDATE of a models row, even one that writes the same
    # values back, which a before/after comparison of the rows would miss.
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
    before = dict(((p, m), u) for p, m, u in conn.execute("select provider, model_id, updated_at from models"))
    fetches_before = conn.execute("select count(*) from fetches").fetchone()[0]
    conn.close()

    cmd = [sys.executable, str(HERE / "_fetch_child.py"), "--db", str(db_path)]
    res = run_child([*cmd, "--providers-file", str(served.providers_file)], child_env(served.keys), workdir, 300)
    got = res.json()

    conn = sqlite3.connect(db_path)
    writes = conn.execute("select n from _bench_model_writes").fetchone()[0]
    after = dict(((p, m), u) for p, m, u in conn.execute("select provider, model_id, updated_at from models"))
    new_fetches = conn.execute(
        "select status, count(*) from fetches where id > ? group by status", [fetches_before]
    ).fetchall()
    conn.close()
    changed = sum(1 for k, u in after.items() if before.get(k) != u)
    statuses = dict(new_fetches)
    n = len(served.answers)
    return [
        Row(
            "refetch_rows_written",
            "unchanged refetch: models rows written (trigger count)",
            float(writes),
            "rows",
            "models rows in the catalog",
            float(len(after)),
            "= 0",
            check_op="<=",
            check_value=0,
            ratio=writes / len(after) if after else None,
            notes=f"updated_at changed on {changed} rows; fetches rows added: {statuses} for {n} providers",
            extra={"updated_at_changed": changed, "fetches_added": statuses},
        ),
        Row(
            "refetch_fetches_rows",
            "unchanged refetch: fetches rows added (status unchanged)",
            float(statuses.get("unchanged", 0)),
            "rows",
            "providers fetched",
            float(n),
            "= providers",
            check_on="ratio",
            check_op=">=",
            check_value=1.0,
        ),
        Row(
            "refetch_db_time",
            "unchanged refetch: database time (record_fetch + refresh_facts)",
            got["db_seconds"] + got.get("facts_seconds", 0.0),
            "s",
            "whole refetch (in process)",
            got["seconds"],
            "< 0.5 s",
            check_op="<",
            check_value=0.5,
            notes=f"record_fetch {got['db_seconds']:.3f} s (canonical JSON + sha256 of every answer is how it "
            f"finds it unchanged), refresh_facts {got.get('facts_seconds', 0.0):.3f} s",
        ),
    ]


# --- 4. scale ---------------------------------------------------------------------------------


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


def bench_scale(fp: Any, server: Any, workdir: Path, quick: bool) -> tuple[list[Row], Path]:
    small_n, main_n = (1_000, 2_000) if quick else (10_000, 100_000)
    small = bench_scale_one(fp, server, small_n, workdir, 120)
    main = bench_scale_one(fp, server, main_n, workdir, 300)
    large_n = 4_000 if quick else 1_000_000
    note = ""
    if not quick:
        # Project the 1M run linearly from 100k (x1.15 for the larger heap); fall back to 300k
        # when it would pass ~2 minutes or ~4 GB.
        projected_s = main["wall"] * 10 * 1.15
        projected_mb = main["rss_mb"] * 10
        if projected_s > 120 or projected_mb > 4000:
            large_n = 300_000
            note = f"1M skipped: projected {projected_s:.0f} s / {projected_mb:,.0f} MB from 100k; "
    large = bench_scale_one(fp, server, large_n, workdir, 600)

    def per_model(r: dict[str, Any]) -> float:
        return r["seconds"] / r["n"] * 1e6

    def detail(r: dict[str, Any]) -> str:
        return (
            f"{r['n']:,} models, {r['bytes'] / MB:.0f} MB answer: in-process {r['seconds']:.2f} s "
            f"(record_fetch {r['db_seconds']:.2f} s, refresh_facts {r['facts_seconds']:.2f} s), "
            f"{per_model(r):.1f} us/model, peak RSS {r['rss_mb']:,.0f} MB"
            + ("; answer cap raised from 50 MB (--max-bytes) for this size" if r["cap_raised"] else "")
        )

    label = {1_000: "1k", 2_000: "2k", 4_000: "4k", 10_000: "10k", 100_000: "100k", 300_000: "300k"}
    rows = [
        Row(
            "scale_small",
            f"scale: fetch + store one provider of {label.get(small_n, small_n)} models (process wall)",
            small["wall"],
            "s",
            "-",
            None,
            "info (see growth)",
            notes=detail(small),
        ),
        Row(
            "scale_main",
            f"scale: fetch + store one provider of {label.get(main_n, main_n)} models (process wall)",
            main["wall"],
            "s",
            f"{label.get(small_n, small_n)} run",
            small["wall"],
            "< 10 s",
            check_op="<",
            check_value=10,
            notes=detail(main),
        ),
        Row(
            "scale_main_rss",
            f"scale: peak RSS of the {label.get(main_n, main_n)} fetch process",
            main["rss_mb"],
            "MB",
            f"{label.get(small_n, small_n)} run",
            small["rss_mb"],
            "< 400 MB",
            check_op="<",
            check_value=400,
        ),
        Row(
            "scale_growth",
            f"scale: growth, in-process time {label.get(main_n, main_n)} / {label.get(small_n, small_n)}",
            main["seconds"] / small["seconds"],
            "x",
            "linear",
            main_n / small_n,
            "<= 1.2 x linear",
            check_on="ratio",
            check_value=1.2,
            notes=f"per model: {per_model(small):.1f} -> {per_model(main):.1f} us",
        ),
        Row(
            "scale_large",
            f"scale: fetch + store one provider of {label.get(large_n, f'{large_n:,}')} models (process wall)",
            large["wall"],
            "s",
            f"{label.get(main_n, main_n)} run x {large_n // main_n}",
            main["wall"] * large_n / main_n,
            "<= 1.2 x linear",
            check_on="ratio",
            check_value=1.2,
            notes=note + detail(large),
        ),
        Row(
            "scale_large_rss",
            f"scale: peak RSS of the {label.get(large_n, f'{large_n:,}')} fetch process",
            large["rss_mb"],
            "MB",
            f"{label.get(main_n, main_n)} run",
            main["rss_mb"],
            "< 4,000 MB",
            check_op="<",
            check_value=4000,
        ),
    ]
    return rows, main["db"]


# --- 5. start-up ------------------------------------------------------------------------------


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
    # PATH would add their own start-up, which is not vexy's.
    cmd = [str(script), "--help"] if script.exists() else [sys.executable, "-m", "vexy_catalog.cli", "--help"]
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


# --- 6. serving -------------------------------------------------------------------------------


def build_serving_db(scale_db: Path, answers: dict[str, answers_mod.Answer], workdir: Path) -> tuple[Path, str]:
    """The scale catalog plus every provider's answer: ~110k models over 41 providers."""
    folder = workdir / "serving"
    folder.mkdir()
    path = folder / "vexy.db"  # named vexy.db so metadata.yml's `databases: vexy:` applies
    src = sqlite3.connect(scale_db)
    dst = sqlite3.connect(path)
    src.backup(dst)
    src.close()
    dst.close()
    store_all(path, fetch_results(answers))
    import sqlite_utils

    db = sqlite_utils.Database(path)
    note = "models_fts existed"
    if not db["models_fts"].exists():
        db["models"].enable_fts(["model_id", "name"], create_triggers=False)
        note = "models_fts created by the benchmark (enable_fts on model_id, name)"
    count = db["models"].count
    db.close()
    return path, f"{count:,} models; {note}"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[k]


async def _datasette_times(db_path: Path, paths: dict[str, str], n: int, warmup: int, budget: float) -> dict[str, Any]:
    # Exactly what `vexy serve` serves: our settings, metadata and plugin (loaded by its entry
    # point, so vexy must be installed: pip install -e .).
    from vexy_catalog.serve import build_datasette

    ds = build_datasette(db_path)
    await ds.invoke_startup()
    out: dict[str, Any] = {}
    for key, path in paths.items():
        first = await ds.client.get(path)
        if first.status_code == 404:
            out[key] = None
            continue
        if first.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {first.status_code}")
        for _ in range(warmup):
            await ds.client.get(path)
        times: list[float] = []
        # n requests, but no more than budget seconds once 5 are in: a slow page still gets a
        # p95 without the run taking many minutes.
        stop = time.perf_counter() + budget
        while len(times) < n and (len(times) < 5 or time.perf_counter() < stop):
            t0 = time.perf_counter()
            r = await ds.client.get(path)
            times.append((time.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise RuntimeError(f"GET {path}: HTTP {r.status_code}")
        out[key] = times
    # A facet that passes facet_time_limit_ms is dropped from the page silently: check it ran.
    facet = (await ds.client.get("/vexy/models.json?_facet=provider")).json()
    out["facets_timed_out"] = facet.get("facets_timed_out", [])
    out["facet_values"] = len(facet.get("facet_results", {}).get("provider", {}).get("results", []))
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
    paths = {
        "table": "/vexy/models",
        "search": f"/vexy/models?_search={SEARCH_TERM}",
        "facet": "/vexy/models?_facet=provider",
        "config": f"/-/vexy/config/{CONFIG_TOOL}?{CONFIG_QUERY}",
    }
    # The main query of each page run straight on sqlite3: what Datasette adds on top of it.
    queries = {
        "table": ("select rowid, * from models order by first_seen desc limit 101", []),
        "search": (
            "select rowid, * from models where rowid in (select rowid from models_fts where models_fts match ?) "
            "order by first_seen desc limit 101",
            [SEARCH_TERM],
        ),
        "facet": ("select provider, count(*) from models group by provider order by count(*) desc limit 31", []),
    }
    got = asyncio.run(_datasette_times(db_path, paths, n, warmup=2, budget=budget))
    sql = _sql_times(db_path, queries, n)
    rows = []
    for key, label in (
        ("table", "models table page"),
        ("search", f"FTS search '{SEARCH_TERM}'"),
        ("facet", "facet by provider"),
        ("config", "config download"),
    ):
        times = got[key]
        measurement = f"serve: {label} {paths[key]}" + (f", p95 of {len(times)}" if times else "")
        if key == "config" and times is None:
            rows.append(
                Row(
                    "serve_config",
                    measurement,
                    None,
                    "ms",
                    "-",
                    None,
                    "p95 < 100 ms",
                    status="n/a",
                    notes="n/a - pending exports: the route answers 404",
                )
            )
            continue
        if times is None:
            raise RuntimeError(f"{paths[key]} answered 404")
        ref = sql.get(key)
        notes = f"p50 {statistics.median(times):.1f} ms; {note}"
        if ref:
            notes += f"; reference = p95 of its main SQL on sqlite3 (p50 {statistics.median(ref):.1f} ms)"
        if key == "facet":
            notes += f"; {got['facet_values']} facet values, timed out: {got['facets_timed_out'] or 'none'}"
        rows.append(
            Row(
                f"serve_{key}",
                measurement,
                percentile(times, 0.95),
                "ms",
                "the page's main SQL, sqlite3" if ref else "-",
                percentile(ref, 0.95) if ref else None,
                "p95 < 100 ms",
                check_op="<",
                check_value=100,
                notes=notes,
                extra={"p50_ms": statistics.median(times)},
            )
        )
    return rows


def bench_canned_queries(workdir: Path, quick: bool) -> list[Row]:
    """The slowest canned query of metadata.yml on a 10k-model catalog (see canned_queries.py)."""
    import canned_queries

    models = 2_000 if quick else 10_000
    path = workdir / "canned" / "vexy.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    canned_queries.build_catalog(path, models)
    got = canned_queries.measure(path, 5 if quick else 20)
    shutil.rmtree(path.parent, ignore_errors=True)
    # An interrupted query (over Datasette's 1 s limit) counts as 1000 ms.
    slowest = max(got, key=lambda r: r["datasette_ms"] if r["datasette_ms"] is not None else 1000)
    served = slowest["datasette_ms"] if slowest["datasette_ms"] is not None else 1000.0
    each = ", ".join(
        f"{r['query']} {r['datasette_ms']:.1f}" if r["datasette_ms"] is not None else f"{r['query']} interrupted"
        for r in got
    )
    return [
        Row(
            "serve_canned_queries",
            f"serve: slowest canned query on {models:,} models ({slowest['query']}), median through Datasette",
            served,
            "ms",
            "the same SQL, sqlite3",
            slowest["sqlite_ms"],
            "< 100 ms",
            check_op="<",
            check_value=100,
            notes=f"each query, ms: {each}",
        )
    ]


# --- main -------------------------------------------------------------------------------------

QUICK_PROVIDERS = [
    "anthropic",
    "chutes",
    "deepinfra",
    "gemini",
    "groq",
    "litellm",
    "mistral",
    "openai",
    "openrouter",
    "xai",
]

ROW_IDS = [
    "fetch_full",
    "fetch_full_inprocess",
    "ingest",
    "ingest_with_facts",
    "refetch_rows_written",
    "refetch_fetches_rows",
    "refetch_db_time",
    "scale_small",
    "scale_main",
    "scale_main_rss",
    "scale_growth",
    "scale_large",
    "scale_large_rss",
    "startup_help",
    "serve_table",
    "serve_search",
    "serve_facet",
    "serve_config",
    "serve_canned_queries",
]


@contextmanager
def step(name: str, rows: list[Row], ids: list[str]) -> Iterator[None]:
    """Run one benchmark step; if it breaks, its rows say so and the others still run."""
    log(f"[bench] {name} ...")
    t0 = time.perf_counter()
    try:
        yield
    except Exception as e:  # noqa: BLE001 - reported as error rows, and the exit status
        for row_id in ids:
            if not any(r.id == row_id for r in rows):
                rows.append(error_row(row_id, name, "-", e))
        log(f"[bench] {name} failed: {type(e).__name__}: {e}")
    log(f"[bench] {name} done in {time.perf_counter() - t0:.1f} s")


def run(quick: bool) -> tuple[dict[str, Any], list[Row]]:
    fp = fake_providers_module()
    names = QUICK_PROVIDERS if quick else None
    answers = answers_mod.load_answers(names)
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
        with step("full fetch", rows, ["fetch_full", "fetch_full_inprocess"]):
            got, fetched_db = bench_fetch(served, workdir, repeats)
            rows += got
        with step("ingest", rows, ["ingest", "ingest_with_facts"]):
            rows += bench_ingest(answers, workdir, repeats)
        with step("unchanged refetch", rows, ["refetch_rows_written", "refetch_fetches_rows", "refetch_db_time"]):
            if fetched_db is None:
                raise RuntimeError("needs the full fetch's catalog")
            rows += bench_refetch(served, fetched_db, workdir)
        scale_ids = [i for i in ROW_IDS if i.startswith("scale_")]
        with step("scale", rows, scale_ids):
            got, scale_db = bench_scale(fp, server, workdir, quick)
            rows += got
        with step("start-up", rows, ["startup_help"]):
            rows += bench_startup(3 if quick else 5)
        serve_ids = [i for i in ROW_IDS if i.startswith("serve_")]
        with step("serving", rows, serve_ids):
            if scale_db is None:
                raise RuntimeError("needs the scale step's catalog")
            path, note = build_serving_db(scale_db, answers, workdir)
            rows += bench_serving(path, note, 10 if quick else 50, 5 if quick else 30)
        shutil.rmtree(workdir / "serving", ignore_errors=True)
        with step("canned queries", rows, ["serve_canned_queries"]):
            rows += bench_canned_queries(workdir, quick)
    rows.sort(key=lambda r: ROW_IDS.index(r.id) if r.id in ROW_IDS else len(ROW_IDS))
    return info, rows


def print_table(info: dict[str, Any], rows: list[Row], out: Callable[[str], None] = print) -> None:
    a = info["answers"]
    out(
        f"vexy benchmark ({info['mode']}) - {info['cpu']}, {info['cores']} cores, {info['ram_gb']} GB RAM, "
        f"Python {info['python']}, SQLite {info['sqlite']}"
    )
    out(
        f"vexy {info['vexy_revision']}; load average before {info['load_average']}, after "
        f"{info.get('load_average_after')}"
    )
    out(
        f"answers: {a['providers']} providers, {a['models']:,} models, {a['from_snapshots']} from snapshots "
        f"({a['snapshot_dir']}), the rest synthetic"
    )
    out("")
    table = [("#", "measurement", "value", "reference", "ref value", "ratio", "target", "result")]
    for i, r in enumerate(rows, 1):
        table.append(
            (
                str(i),
                r.measurement,
                fmt(r.value, r.unit),
                r.reference,
                fmt(r.reference_value, r.unit),
                "-" if r.ratio is None else f"{r.ratio:.2f}",
                r.target,
                r.status,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
    for j, row in enumerate(table):
        out("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if j == 0:
            out("  ".join("-" * w for w in widths))
    out("")
    out("Notes:")
    for i, r in enumerate(rows, 1):
        if r.notes:
            out(f"  {i}. {r.id}: {r.notes}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a test (under ~30 s)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    info, rows = run(args.quick)
    info["seconds"] = round(time.perf_counter() - t0, 1)
    info["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.json:
        out = []
        for r in rows:
            d = asdict(r)
            for k, v in d["extra"].items():
                d["extra"][k] = str(v) if isinstance(v, Path) else v
            out.append(d)
        print(json.dumps({"machine": info, "rows": out}, indent=2))
    else:
        print_table(info, rows)
        print(f"\n(ran in {info['seconds']} s)")
    return 1 if any(r.status == "error" for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
