"""Hostile inputs, measured (issue 17): the memory a fetch of a hostile answer takes, and how the
pages of `vexy serve --public` answer while config downloads run.

    python benchmarks/hostile.py            # everything, ~2-4 minutes
    python benchmarks/hostile.py --quick    # smaller sizes

Each `vexy fetch` runs in a process of its own that reports its peak RSS when it exits; the
server is a real `vexy serve --public` (uvicorn) on a free loopback port. To measure another
checkout, put it first on PYTHONPATH (the fake providers of this checkout's tests/ are used
either way: only their raw bodies and headers, which every version reads the same).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_providers import FakeProviders, Route, bomb  # noqa: E402

# Runs vexy's CLI and prints the process's peak RSS (kB) on stderr as it exits.
_CHILD = """
import atexit, resource, sys
atexit.register(lambda: print(f"PEAK_RSS_KB {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}", file=sys.stderr))
from vexy_catalog.cli import cli
cli(sys.argv[1:], prog_name="vexy")
"""


def vexy_child(args: list[str], env: dict[str, str], timeout: float = 600) -> tuple[int, float, float, str]:
    """(exit status, seconds, peak RSS in MB, last stderr line) of one `vexy` process."""
    started = time.perf_counter()
    # Run from a folder of its own: `python -c` puts the current folder first on sys.path.
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, *args], capture_output=True, text=True, env=env, timeout=timeout, cwd=env["HOME"]
    )
    seconds = time.perf_counter() - started
    peak = re.search(r"PEAK_RSS_KB (\d+)", done.stderr)
    lines = [line for line in done.stderr.splitlines() if line.strip() and not line.startswith("PEAK_RSS_KB")]
    return done.returncode, seconds, int(peak.group(1)) / 1024 if peak else float("nan"), (lines or [""])[-1]


def fetch_rows(quick: bool) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp, FakeProviders() as server:
        tmp_path = Path(tmp)
        env = {**os.environ, "HOME": tmp, "VEXY_DB": str(tmp_path / "v.db")}
        decoded = (256 if quick else 1024) << 20
        body = bomb(decoded, ("gzip", "gzip"))
        server.set("bomb", Route(raw=body, headers={"Content-Encoding": "gzip, gzip"}))
        record = {"description": "x" * 50_000}
        pages = 60 if quick else 200
        server.set(
            "pages",
            Route(kind="anthropic", body=[{"id": f"m{i:05d}", **record} for i in range(pages * 20)], page_size=20),
        )
        server.set("fine", Route(body={"data": [{"id": "m1"}, {"id": "m2"}]}))
        providers = tmp_path / "providers.yaml"
        providers.write_text(
            "".join(
                f"{name}:\n  base_url: {server.base_url(name)}\n  kind: {server.routes[name].kind}\n"
                "  key_required: false\n  api_key_env: null\n"
                for name in ("bomb", "pages", "fine")
            ),
            encoding="utf-8",
        )
        common = ["--providers-file", str(providers), "fetch", "--retries", "0"]
        for name, what in (
            ("bomb", f"gzip, gzip answer: {len(body):,} bytes that decode to {decoded >> 20:,} MB"),
            ("pages", f"Anthropic paging: {pages} pages of ~1 MB each"),
        ):
            status, seconds, peak, last = vexy_child([*common, name, "fine"], env)
            rows.append(
                {
                    "measurement": f"`vexy fetch` of a {what}",
                    "exit": status,
                    "seconds": round(seconds, 2),
                    "peak_rss_mb": round(peak),
                    "last line": last[:160],
                }
            )
    return rows


def build_catalog(path: Path, models: int) -> None:
    with FakeProviders() as server:
        records = [
            {
                "id": f"org{i % 50}/model-{i}",
                "name": f"Model {i}",
                "context_length": 8192 + i,
                "pricing": {"prompt": "0.000001", "completion": "0.000002"},
                "description": "d" * 200,
            }
            for i in range(models)
        ]
        server.set("big", Route(body={"data": records}))
        providers = path.with_suffix(".yaml")
        providers.write_text(f"big:\n  base_url: {server.base_url('big')}\n  key_required: false\n", encoding="utf-8")
        env = {**os.environ, "HOME": str(path.parent)}
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "vexy_catalog.cli",
                "--db",
                str(path),
                "--providers-file",
                str(providers),
                "fetch",
                "big",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            cwd=path.parent,
        )
        assert done.returncode == 0, done.stderr


def get(url: str, timeout: float = 300) -> tuple[int, float, int]:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as e:
        body, status = e.read(), e.code
    return status, time.perf_counter() - started, len(body)


def serve_rows(quick: bool) -> list[dict]:
    rows = []
    models = 2_000 if quick else 10_000
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "catalog.db"
        build_catalog(db, models)
        process = subprocess.Popen(
            [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db), "serve", "--public", "--port", "0"],
            stdout=subprocess.DEVNULL,  # uvicorn's access log
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "HOME": tmp},
            cwd=tmp,
        )
        try:
            port = None
            deadline = time.monotonic() + 60
            while port is None and time.monotonic() < deadline:
                line = process.stderr.readline()
                found = re.search(r"http://[^:]+:(\d+)/", line) or re.search(r"127\.0\.0\.1:(\d+)", line)
                if found:
                    port = int(found.group(1))
            assert port, "the server did not say where it listens"
            # Keep reading what it says, so a full pipe never stalls it.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            base = f"http://127.0.0.1:{port}"
            get(base + "/vexy/providers")  # warm
            quiet = [get(base + "/vexy/providers")[1] for _ in range(10)]
            results: list[tuple[int, float, int]] = []

            def download(path: str) -> None:
                results.append(get(base + path))

            for label, path in (
                (f"the whole catalog ({models:,} models)", "/-/vexy/config/litellm"),
                ("1,111 models (?q=model-1)", "/-/vexy/config/litellm?q=model-1"),
            ):
                results.clear()
                threads = [threading.Thread(target=download, args=(path,)) for _ in range(6)]
                for t in threads:
                    t.start()
                time.sleep(0.05)
                loaded = []
                while any(t.is_alive() for t in threads):
                    loaded.append(get(base + "/vexy/providers")[1])
                for t in threads:
                    t.join()
                statuses = sorted(r[0] for r in results)
                rows.append(
                    {
                        "measurement": f"6 LiteLLM config downloads at once of {label}, --public",
                        "download statuses": statuses,
                        "slowest download s": round(max(r[1] for r in results), 2),
                        "/vexy/providers p50 s meanwhile": round(statistics.median(loaded or [0]), 3),
                        "/vexy/providers max s meanwhile": round(max(loaded or [0]), 3),
                        "/vexy/providers p50 s quiet": round(statistics.median(quiet), 3),
                    }
                )
            health = [get(base + "/-/vexy/health.json")[1] for _ in range(5)]
            rows.append(
                {
                    "measurement": "/-/vexy/health.json, 5 in a row (quick check cached after the first)",
                    "seconds": [round(h, 3) for h in health],
                }
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--only", choices=["fetch", "serve"], help="one part only")
    args = parser.parse_args(argv)
    import vexy_catalog

    print(f"# vexy from {Path(vexy_catalog.__file__).parent}", file=sys.stderr)
    rows = []
    if args.only in (None, "fetch"):
        rows += fetch_rows(args.quick)
    if args.only in (None, "serve"):
        rows += serve_rows(args.quick)
    for row in rows:
        print(json.dumps(row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
