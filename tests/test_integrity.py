"""Crash safety, concurrent runs, `vexy verify`, `vexy health` and `vexy providers check`."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import answer
from fake_providers import Route

from vexy_catalog import ModelCatalog, ProviderConfig
from vexy_catalog.cli import cli
from vexy_catalog.db import migrations, open_db
from vexy_catalog.health import check_provider_health, check_system_health
from vexy_catalog.validation import ProviderValidator, ValidationSeverity

NAMES = ["openai", "groq", "mistral", "anthropic", "openrouter", "litellm", "llm7"]
# Distinct ids the fixtures list: mistral repeats one id, litellm's sample_spec is no model.
TOTAL = (
    len(answer("openai")["data"])
    + len(answer("groq")["data"])
    + len({r["id"] for r in answer("mistral")["data"]})
    + len(answer("anthropic")["data"])
    + len(answer("openrouter")["data"])
    + len(answer("litellm"))
    - 1
    + len(answer("llm7"))
)


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def sql(db_path: Path, query: str, params=()):
    conn = sqlite3.connect(db_path)
    try:
        rows = conn.execute(query, params).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


@pytest.fixture
def fetched(providers):
    providers_file, db_path = providers
    ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(NAMES)
    return providers_file, db_path


# --- verify -----------------------------------------------------------------------------------


def test_verify_clean_catalog(fetched):
    _, db_path = fetched
    result = invoke("--db", str(db_path), "verify", "--json")
    assert result.exit_code == 0
    report = json.loads(result.stdout)
    assert report["ok"] is True and report["problems"] == []
    assert report["checked"]["models"] == sql(db_path, "select count(*) from models")[0][0]
    assert report["checked"]["payloads"] == len(NAMES)


def test_verify_finds_and_repairs_tampering(fetched):
    _, db_path = fetched
    pristine = dict(sql(db_path, "select provider || '/' || model_id, raw || content_hash from models"))
    sql(
        db_path,
        "update models set raw = json_set(raw, '$.context_window', 1) "
        "where provider = 'groq' and model_id = 'allam-2-7b'",
    )
    sql(db_path, 'update models set raw = \'{"id":"gemma2-9b-it","evil":1}\' where model_id = \'gemma2-9b-it\'')
    sql(db_path, "update models set content_hash = 'deadbeef' where provider = 'openai' and model_id = 'babbage-002'")
    sql(db_path, "delete from models where provider = 'llm7' and model_id = 'bidara'")
    sql(
        db_path,
        "update models set removed_at = '2026-01-01T00:00:00.000Z' where provider = 'anthropic' "
        "and model_id = 'claude-3-haiku-20240307'",
    )
    result = invoke("--db", str(db_path), "verify")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    found = {(line.split(":")[0], line.split(": ")[1]) for line in lines}
    assert ("raw_mismatch", "groq/allam-2-7b") in found
    assert ("raw_mismatch", "groq/gemma2-9b-it") in found
    assert ("content_hash", "openai/babbage-002") in found
    assert ("missing_model", "llm7/bidara") in found
    assert ("removed_but_listed", "anthropic/claude-3-haiku-20240307") in found
    assert len(lines) == 5
    assert "run 'vexy verify --repair'" in result.stderr
    repaired = invoke("--db", str(db_path), "verify", "--repair")
    assert repaired.exit_code == 0, repaired.output
    assert all(line.endswith("[repaired]") for line in repaired.stdout.splitlines())
    assert invoke("--db", str(db_path), "verify").exit_code == 0
    restored = dict(sql(db_path, "select provider || '/' || model_id, raw || content_hash from models"))
    assert restored == pristine


def test_verify_reports_what_it_cannot_repair(fetched):
    _, db_path = fetched
    payload = sql(db_path, "select payload_hash from providers where name = 'groq'")[0][0]
    sql(db_path, "update payloads set body = replace(body, 'allam', 'ALLAM') where hash = ?", [payload])
    result = invoke("--db", str(db_path), "verify", "--repair", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert [(p["check"], p["repairable"], p["repaired"]) for p in report["problems"]] == [
        ("payload_hash", False, False)
    ]
    # The models themselves were left as they were: a bad payload is no source for a repair.
    assert sql(db_path, "select count(*) from models where provider = 'groq' and model_id = 'allam-2-7b'")[0][0] == 1


def test_verify_repairs_a_removed_model_from_an_older_answer(fetched, server):
    providers_file, db_path = fetched
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    server.routes["llm7"].body = answer("llm7")[1:]  # bidara disappears
    catalog.fetch(["llm7"])
    original = sql(db_path, "select raw from models where model_id = 'bidara'")[0][0]
    sql(db_path, "update models set raw = '{}' where model_id = 'bidara'")
    assert invoke("--db", str(db_path), "verify", "--repair").exit_code == 0
    assert sql(db_path, "select raw, removed_at is not null from models where model_id = 'bidara'")[0] == (original, 1)


def test_verify_without_a_database(tmp_path):
    result = invoke("--db", str(tmp_path / "nope.db"), "verify")
    assert result.exit_code == 1 and "run 'vexy fetch' first" in result.stderr


# --- crashes and concurrency ------------------------------------------------------------------


def _fetch_command(db_path: Path, providers_file: Path, *names: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vexy_catalog.cli",
        "--db",
        str(db_path),
        "--providers-file",
        str(providers_file),
        "fetch",
        "--retries",
        "0",
        *names,
    ]


def test_two_fetches_at_once_both_finish_with_nothing_lost(providers, server):
    providers_file, db_path = providers
    for route in server.routes.values():
        route.delay = 0.05
    env = dict(os.environ)
    procs = [
        subprocess.Popen(_fetch_command(db_path, providers_file, *NAMES), env=env, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    statuses = sql(db_path, "select status, count(*) from fetches group by status order by status")
    # One run stored every answer; the other found them already there (or its own the same).
    assert sum(n for _, n in statuses) == 2 * len(NAMES)
    assert dict(statuses).keys() <= {"ok", "unchanged"}
    assert sql(db_path, "select count(*) from models")[0][0] == TOTAL
    assert sql(db_path, "pragma integrity_check")[0][0] == "ok"


def test_a_new_catalog_opened_while_another_process_is_creating_it(tmp_path):
    # What the second of two `vexy fetch` run at once on a new catalog meets: the first holds
    # the new file's write lock (rollback mode, before it is switched to WAL), and switching it
    # to WAL fails at once with "database is locked" instead of waiting for the lock.
    path = tmp_path / "vexy.db"
    first = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    first.execute("PRAGMA user_version = 0")
    first.execute("BEGIN IMMEDIATE")
    first.execute("PRAGMA user_version = 1")
    committed: list[float] = []

    def commit() -> None:
        first.execute("COMMIT")
        committed.append(time.monotonic())

    timer = threading.Timer(0.5, commit)
    timer.start()
    try:
        started = time.monotonic()
        db = open_db(path)
    finally:
        timer.join()
        first.close()
    # The lock was still held when open_db began: it waited for it rather than failing.
    assert committed[0] > started
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert not migrations.pending(db)
    db.close()


def test_sigkill_at_any_moment_leaves_a_good_catalog(providers, server):
    providers_file, db_path = providers
    ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(NAMES)
    good = sql(db_path, "select provider, model_id, content_hash, removed_at from models order by 1, 2")
    # Next answers: a big one, so the kill can land while it is being written.
    big = {"data": [{"id": f"big-{i}", "context_length": i, "pad": "x" * 200} for i in range(20_000)]}
    server.routes["openrouter"].body = big
    env = dict(os.environ)
    for delay in (0.05, 0.3, 0.6, 0.9, 1.2):
        proc = subprocess.Popen(
            _fetch_command(db_path, providers_file, "openrouter"),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert sql(db_path, "pragma integrity_check")[0][0] == "ok"
        openrouter = sql(db_path, "select count(*) from models where provider = 'openrouter' and removed_at is null")
        # Either the whole answer landed, or none of it did.
        assert openrouter[0][0] in (3, 20_000), delay
        others = sql(
            db_path,
            "select provider, model_id, content_hash, removed_at from models "
            "where provider != 'openrouter' order by 1, 2",
        )
        assert others == [row for row in good if row[0] != "openrouter"]
    # One kill that surely lands after the fetch row is written (on a loaded machine the fixed
    # delays above may all land before the interpreter has even started).
    last_id = sql(db_path, "select max(id) from fetches")[0][0]
    proc = subprocess.Popen(
        _fetch_command(db_path, providers_file, "openrouter"),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not sql(db_path, f"select count(*) from fetches where status = 'running' and id > {last_id}")[0][0]:
        assert proc.poll() is None and time.monotonic() < deadline, "the fetch never wrote its running row"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert sql(db_path, "pragma integrity_check")[0][0] == "ok"
    # The killed runs are in the history as what they were, once the next run looks.
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["groq"])
    assert summary.ok
    statuses = [s for (s,) in sql(db_path, "select status from fetches where provider = 'openrouter' order by id")]
    assert statuses[0] == "ok"
    assert "running" not in statuses
    interrupted = [s for s in statuses[1:] if s == "interrupted"]
    assert interrupted, statuses
    assert set(statuses[1:]) <= {"interrupted", "ok", "unchanged"}
    errors = sql(db_path, "select error from fetches where status = 'interrupted'")
    assert all("interrupted before it finished" in e for (e,) in errors)
    assert invoke("--db", str(db_path), "verify").exit_code == 0


def test_readers_keep_reading_while_a_fetch_writes(fetched, server):
    providers_file, db_path = fetched
    server.routes["openrouter"].body = {"data": [{"id": f"w-{i}", "pad": "y" * 300} for i in range(30_000)]}
    proc = subprocess.Popen(
        _fetch_command(db_path, providers_file, "openrouter"), env=dict(os.environ), stderr=subprocess.PIPE, text=True
    )
    reads = 0
    reader = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.5)
    while proc.poll() is None and reads < 10_000:
        count = reader.execute("select count(*) from models where provider = 'groq'").fetchone()[0]
        assert count == 4  # never blocked, never half-written
        reads += 1
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert reads > 0


# --- health -----------------------------------------------------------------------------------


def test_health_when_everything_is_fresh(fetched):
    _, db_path = fetched
    status = check_system_health(db_path)
    assert status.overall_health is True and status.problems == []
    assert set(status.provider_health) == set(NAMES)
    assert status.system_metrics["quick_check"] == "ok"
    assert status.system_metrics["models_listed"] == TOTAL
    assert check_provider_health("groq", db_path) is True
    result = invoke("--db", str(db_path), "health")
    assert result.exit_code == 0 and result.stderr.strip().endswith("healthy")


def test_health_with_failures_and_staleness(fetched, server):
    providers_file, db_path = fetched
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    server.routes["groq"] = Route(status=500)
    catalog.fetch(["groq"], retries=0)
    catalog.fetch(["groq"], retries=0)
    result = invoke("--db", str(db_path), "health", "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    groq = next(p for p in report["providers"] if p["name"] == "groq")
    assert (groq["healthy"], groq["consecutive_failures"], groq["last_status"]) == (False, 2, "failed")
    assert groq["model_count"] == 4  # the last good data is still there
    assert any(p.startswith("groq: last 2 fetches failed: HTTP 500") for p in report["problems"])
    assert check_provider_health("groq", db_path) is False
    assert check_provider_health("openai", db_path) is True
    stale = invoke("--db", str(db_path), "health", "--max-age", "0s", "--json")
    assert all(not p["healthy"] for p in json.loads(stale.stdout)["providers"])


def test_health_without_a_database(tmp_path):
    result = invoke("--db", str(tmp_path / "none.db"), "health")
    assert result.exit_code == 1
    assert "does not exist - run 'vexy fetch' first" in result.stderr


# --- providers check --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "config,env,severity,message",
    [
        (
            dict(base_url="https://api.example.com/v1", api_key_env="EX_KEY"),
            {"EX_KEY": "k-123456"},
            ValidationSeverity.OK,
            None,
        ),
        (
            dict(base_url="http://127.0.0.1:8080/v1", api_key_env="EX_KEY"),
            {"EX_KEY": "k-123456"},
            ValidationSeverity.OK,
            None,
        ),
        (
            dict(base_url="http://api.example.com/v1", api_key_env="EX_KEY"),
            {"EX_KEY": "k-123456"},
            ValidationSeverity.ERROR,
            "would travel unencrypted",
        ),
        (
            dict(base_url="http://api.example.com/v1", api_key_env="EX_KEY", allow_http=True),
            {},
            ValidationSeverity.WARNING,
            "allowed by allow_http",
        ),
        (
            dict(base_url="https://api.example.com/v1", api_key_env="EX_KEY"),
            {},
            ValidationSeverity.WARNING,
            "EX_KEY is not set",
        ),
        (
            dict(base_url="https://api.example.com/v1", api_key_env="EX_KEY"),
            {"EX_KEY": " k-123456\n"},
            ValidationSeverity.ERROR,
            "EX_KEY holds a space at its start",
        ),
        (
            dict(base_url="https://api.example.com/v1", api_key_env="EX_KEY"),
            {"EX_KEY": "\u201ck-123456\u201d"},
            ValidationSeverity.ERROR,
            "EX_KEY holds the character U+201C (left double quotation mark) at its start",
        ),
        (
            dict(base_url="https://api.example.com/v1", headers={"X-Key": "sk-literal1234567890"}),
            {},
            ValidationSeverity.ERROR,
            "holds a literal secret",
        ),
        (
            dict(base_url="https://api.example.com/v1", headers={"X-Key": "${TEAM_KEY}"}),
            {},
            ValidationSeverity.WARNING,
            "uses ${TEAM_KEY}, which is not set",
        ),
        (dict(base_url="https://me:pw@api.example.com/v1"), {}, ValidationSeverity.ERROR, "credentials in the URL"),
    ],
)
def test_provider_validation(config, env, severity, message):
    result = ProviderValidator(environ=env).validate_provider(ProviderConfig(name="ex", **config))
    assert result.severity == severity
    assert result.is_valid == (severity != ValidationSeverity.ERROR)
    if message:
        assert any(message in m for m in result.messages), result.messages
    else:
        assert result.messages == []


def test_providers_check_cli(providers, server):
    providers_file, _ = providers
    with providers_file.open("a", encoding="utf-8") as f:
        f.write("lan:\n  base_url: http://othello.local:1234/v1\n  api_key_env: LAN_KEY\n")
    offline = invoke("--providers-file", str(providers_file), "providers", "check", "groq", "lan")
    assert offline.exit_code == 1  # plain http to a host that is not loopback, with a key variable
    assert "error    lan" in offline.stdout and "ok       groq" in offline.stdout
    assert "would travel unencrypted" in offline.stdout
    assert server.requests == []  # no request without --online
    server.routes["mistral"] = Route(status=401)
    online = invoke(
        "--providers-file", str(providers_file), "providers", "check", "groq", "mistral", "--online", "--json"
    )
    report = {r["name"]: r for r in json.loads(online.stdout)}
    assert online.exit_code == 1
    assert report["groq"]["online"] == {
        "status": "ok",
        "models": 4,
        "error": None,
        "shape": "data[].id",
        "pages": 1,
        "unidentified": 0,
    }
    assert report["mistral"]["online"]["status"] == "failed" and "HTTP 401" in report["mistral"]["online"]["error"]


def test_verify_repairs_the_search_index(fetched):
    _, db_path = fetched
    # Remove groq's entries from the index the way a lost write would leave it.
    sql(
        db_path,
        "insert into models_fts (models_fts, rowid, model_id, name, description) "
        "select 'delete', rowid, model_id, name, description from models where provider = 'groq'",
    )
    assert sql(db_path, "select count(*) from models_fts where models_fts match 'gemma2'")[0][0] == 0
    result = invoke("--db", str(db_path), "verify", "--json")
    assert result.exit_code == 1
    (problem,) = json.loads(result.stdout)["problems"]
    assert problem["check"] == "search_index"
    assert invoke("--db", str(db_path), "verify", "--repair").exit_code == 0
    found = sql(db_path, "select count(*) from models_fts where models_fts match 'gemma2'")[0][0]
    assert found == 1
