"""Ctrl-C, `--failed`, `--force` and a damaged stored answer: every way out of a bad state."""

from __future__ import annotations

import os
import pty
import signal
import sqlite3
import subprocess
import sys
import threading

from click.testing import CliRunner
from conftest import answer
from fake_providers import Route

from vexy_catalog.cli import cli


def invoke(providers, *args: str, input: str | None = None):
    providers_file, db_path = providers
    return CliRunner().invoke(cli, ["--db", str(db_path), "--providers-file", str(providers_file), *args], input=input)


def sql(db_path, query: str, params=()):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(query, params).fetchall()
    finally:
        conn.close()


def test_ctrl_c_prints_the_summary_so_far_and_failed_picks_up_the_rest(providers, server):
    providers_file, db_path = providers
    server.set("groq", Route(body=answer("groq"), key=server.routes["groq"].key, delay=30))
    lines: list[str] = []
    stored = threading.Event()
    with subprocess.Popen(
        [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db_path), "--providers-file", str(providers_file)]
        + ["fetch", "openrouter", "groq"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    ) as proc:

        def read() -> None:
            for line in proc.stderr:
                lines.append(line)
                if "openrouter" in line:
                    stored.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        assert stored.wait(60), "".join(lines)
        proc.send_signal(signal.SIGINT)
        assert proc.wait(60) == 130
        reader.join(10)
    text = "".join(lines)
    assert "Aborted!" not in text and "Traceback" not in text, text
    assert "interrupted groq" in text
    assert "Fetched 2 providers (1 ok, 1 interrupted)" in text
    assert "Interrupted 1 before they finished: groq" in text and "vexy fetch --failed" in text
    assert sql(db_path, "select status from fetches where provider = 'groq'") == [("interrupted",)]
    assert sql(db_path, "select last_status from providers where name = 'groq'") == [("interrupted",)]
    assert sql(db_path, "select count(*) from models where provider = 'openrouter'")[0][0] > 0, "kept"
    # `vexy health` says so; `--failed` fetches the interrupted provider, and only it.
    health = invoke(providers, "health")
    assert health.exit_code == 1 and "groq: the last fetch was interrupted" in health.stderr
    server.routes["groq"].delay = 0
    again = invoke(providers, "fetch", "--failed")
    assert again.exit_code == 0, again.output
    assert [line.split()[:2] for line in again.stderr.splitlines() if line.startswith("  ")] == [["ok", "groq"]]


def test_force_ignores_the_stored_validators(providers, server):
    _, db_path = providers
    invoke(providers, "fetch", "groq")
    invoke(providers, "fetch", "groq")
    assert "if-none-match" in server.seen("groq")[-1].headers
    assert sql(db_path, "select http_status, status from fetches order by id desc limit 1") == [(304, "unchanged")]
    result = invoke(providers, "fetch", "groq", "--force")
    assert result.exit_code == 0
    assert "if-none-match" not in server.seen("groq")[-1].headers
    assert "if-modified-since" not in server.seen("groq")[-1].headers
    assert sql(db_path, "select http_status, status from fetches order by id desc limit 1") == [(200, "unchanged")]


def damage_groqs_answer(db_path) -> str:
    (digest,) = sql(db_path, "select payload_hash from providers where name = 'groq'")[0]
    conn = sqlite3.connect(db_path)
    conn.execute("update payloads set body = replace(body, 'llama', 'LLAMA') where hash = ?", [digest])
    conn.commit()
    conn.close()
    return digest


def test_a_damaged_stored_answer_is_repaired_by_a_refetch(providers, server):
    _, db_path = providers
    invoke(providers, "fetch", "groq", "openrouter")
    invoke(providers, "fetch", "groq")  # validators stored: the next plain fetch would be a 304
    digest = damage_groqs_answer(db_path)
    check = invoke(providers, "verify")
    assert check.exit_code == 1
    assert "payload_hash: groq:" in check.stdout and "[refetch to repair]" in check.stdout
    assert "run 'vexy verify --repair'" in check.stderr
    # Not interactive and not asked to: it says how, and the validators are gone.
    repair = invoke(providers, "verify", "--repair")
    assert repair.exit_code == 1
    assert "'vexy verify --repair --refetch' (or 'vexy fetch groq')" in repair.stderr
    assert "cannot repair" not in repair.stdout
    assert sql(db_path, "select http_etag from providers where name = 'groq'") == [(None,)]
    refetch = invoke(providers, "verify", "--repair", "--refetch")
    assert refetch.exit_code == 0, refetch.output
    assert "[repaired]" in refetch.stdout
    assert "if-none-match" not in server.seen("groq")[-1].headers
    assert invoke(providers, "verify").exit_code == 0
    body = sql(db_path, "select body from payloads where hash = ?", [digest])[0][0]
    assert "LLAMA" not in body


def test_a_plain_fetch_heals_a_damaged_answer_after_verify_repair(providers, server):
    _, db_path = providers
    invoke(providers, "fetch", "groq")
    damage_groqs_answer(db_path)
    invoke(providers, "verify", "--repair", "--no-refetch")
    assert invoke(providers, "fetch", "groq").exit_code == 0
    assert invoke(providers, "verify").exit_code == 0


def test_verify_repair_asks_before_refetching_in_a_terminal(providers, server):
    providers_file, db_path = providers
    invoke(providers, "fetch", "groq")
    damage_groqs_answer(db_path)
    seen = len(server.seen("groq"))
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db_path), "--providers-file", str(providers_file)]
        + ["verify", "--repair"],
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        env=os.environ.copy(),
    )
    os.close(secondary)
    output = b""
    while b"again now?" not in output:
        chunk = os.read(primary, 4096)
        assert chunk, output
        output += chunk
    assert b"The stored answer of groq is damaged; fetch it again now? [Y/n]" in output
    os.write(primary, b"y\n")
    assert proc.wait(60) == 0
    os.close(primary)
    assert len(server.seen("groq")) == seen + 1
    assert invoke(providers, "verify").exit_code == 0


def test_a_damaged_old_answer_is_removed_by_repair(providers, server):
    _, db_path = providers
    invoke(providers, "fetch", "groq")
    old = damage_groqs_answer(db_path)
    server.routes["groq"].body = {"object": "list", "data": answer("groq")["data"] + [{"id": "new-model"}]}
    invoke(providers, "fetch", "groq")  # groq's current answer is now another one
    check = invoke(providers, "verify")
    assert "an old answer no model comes from" in check.stdout and check.exit_code == 1
    assert invoke(providers, "verify", "--repair").exit_code == 0
    assert sql(db_path, "select count(*) from payloads where hash = ?", [old]) == [(0,)]
    assert sql(db_path, "select count(*) from fetches where payload_hash = ?", [old]) == [(1,)], "history stays"
    assert invoke(providers, "verify").exit_code == 0
