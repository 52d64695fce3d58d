"""The ``vexy`` console script (``vexy_catalog.cli:main``, also ``python -m vexy_catalog.cli``)
skips the interpreter's teardown once a command has left nothing open: its output is all there,
its exit status and exit handlers are as ever, and a file or thread left behind gets the
interpreter's full exit."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys

# Runs main() with a line written only by the interpreter's full exit, and an exit handler; two
# commands of the probe's own leave a file open (unflushed) or a thread running.
_PROBE = """
import atexit, os, sys, threading, time

import click

from vexy_catalog.cli import cli, main

# Run by the interpreter's own exit only (before its exit handlers), never by main's quick one.
threading._register_atexit(lambda: os.write(2, b"torn down\\n"))
atexit.register(lambda: sys.stderr.write("exit handlers ran\\n"))
left = []

@cli.command("leave-a-file-open")
@click.argument("path")
def leave_a_file_open(path):
    left.append(open(path, "w", encoding="utf-8"))
    left[0].write("written")

@cli.command("leave-a-thread-running")
def leave_a_thread_running():
    threading.Thread(target=time.sleep, args=(0.3,)).start()

sys.argv = ["vexy", *sys.argv[1:]]
main()
"""


def _probe(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, timeout=120)


def test_a_command_that_left_nothing_open_exits_without_the_teardown():
    done = _probe("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vexy, version ")
    assert "exit handlers ran" in done.stderr
    assert "torn down" not in done.stderr


def test_the_exit_status_and_the_error_line_are_kept():
    done = _probe("fetch", "--concurrency", "0")
    assert done.returncode == 2
    assert "Invalid value for '--concurrency'" in done.stderr
    assert "exit handlers ran" in done.stderr
    assert "torn down" not in done.stderr


def test_a_file_left_open_gets_the_full_exit(tmp_path):
    path = tmp_path / "left-open.txt"
    done = _probe("leave-a-file-open", str(path))
    assert done.returncode == 0, done.stderr
    assert "torn down" in done.stderr


def test_a_thread_still_running_gets_the_full_exit():
    done = _probe("leave-a-thread-running")
    assert done.returncode == 0, done.stderr
    assert "torn down" in done.stderr


def test_a_fetch_leaves_nothing_open_and_its_catalog_is_complete(providers):
    """A fetch closes every file, connection and thread it opened, so it exits quickly; and what
    it stored is in the file when the process is gone."""
    providers_file, db_path = providers
    args = ["--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq", "openrouter", "--json"]
    for _ in range(2):  # into a new catalog, then again (nothing changed)
        done = _probe(*args)
        assert done.returncode == 0, done.stderr
        summary = json.loads(done.stdout)
        assert "torn down" not in done.stderr, done.stderr
    assert summary["counts"]["unchanged"] == 2
    conn = sqlite3.connect(db_path)
    try:
        statuses = conn.execute("select status, count(*) from fetches group by status order by status").fetchall()
        models = conn.execute("select count(*) from models where removed_at is null").fetchone()[0]
    finally:
        conn.close()
    assert statuses == [("ok", 2), ("unchanged", 2)]
    assert models == summary["totals"]["models"] > 0


def test_only_a_fetch_command_leaves_what_it_lets_go_of_to_the_process_end():
    """`vexy fetch` ends the process: its caches are not freed one by one. Any other command
    (serve --fetch serves on after its fetch) frees what it lets go of, as in a library call."""
    probe = _PROBE.replace(
        'sys.argv = ["vexy"',
        "@cli.command('let-go')\n"
        "def let_go_command():\n"
        "    import weakref\n"
        "    from vexy_catalog.gcpause import let_go\n"
        "    cache = type('Cache', (), {})()\n"
        "    gone = weakref.ref(cache)\n"
        "    let_go(cache)\n"
        "    del cache\n"
        "    print('freed:', gone() is None)\n\n"
        'sys.argv = ["vexy"',
    )
    done = subprocess.run([sys.executable, "-c", probe, "let-go"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "freed: True"
    assert "torn down" not in done.stderr


def test_a_profiled_command_gets_the_full_exit_and_its_profile_is_written(tmp_path):
    """cProfile writes its profile once the program returns: under a profiler (or a debugger,
    or a tracer) the command gets the interpreter's exit."""
    script, profile = tmp_path / "probe.py", tmp_path / "out.prof"
    script.write_text(_PROBE, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(profile), str(script), "--version"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "torn down" in done.stderr
    assert profile.stat().st_size > 0
