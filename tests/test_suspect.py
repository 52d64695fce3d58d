"""An answer that would empty a provider's list is suspect: stored as evidence, applied to nothing."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from click.testing import CliRunner
from fake_providers import Route

from vexy_catalog import ModelCatalog
from vexy_catalog.cli import cli


def models(n: int, prefix: str = "m") -> dict:
    return {"object": "list", "data": [{"id": f"{prefix}{i:03d}", "object": "model"} for i in range(n)]}


def snapshot(db_path) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute("select * from models order by provider, model_id").fetchall()
    finally:
        conn.close()


def provider_row(db_path, name: str) -> dict:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return dict(conn.execute("select * from providers where name = ?", [name]).fetchone())
    finally:
        conn.close()


@pytest.fixture
def run(providers):
    providers_file, db_path = providers

    def invoke(*args: str):
        return CliRunner().invoke(cli, ["--db", str(db_path), "--providers-file", str(providers_file), *args])

    return invoke


@pytest.fixture
def sixty_two(providers, server, run):
    """openrouter lists 62 models in the catalog."""
    server.set("openrouter", Route(body=models(62), etag=True))
    assert run("fetch", "openrouter").exit_code == 0
    return providers[1]


@pytest.mark.parametrize("answer", [{"data": []}, [], {"object": "list", "data": []}])
def test_an_empty_answer_changes_no_model_and_fails_the_run(sixty_two, server, run, answer):
    db_path = sixty_two
    before, provider_before = snapshot(db_path), provider_row(db_path, "openrouter")
    server.set("openrouter", Route(body=answer, etag=True))
    result = run("fetch", "openrouter")
    assert result.exit_code == 1, result.output
    assert "suspect   openrouter" in result.stderr
    assert "Suspect openrouter: suspect answer: 0 models where 62 were listed - kept the stored models" in (
        result.stderr
    )
    assert "Fetched 1 provider (1 suspect)" in result.stderr
    assert snapshot(db_path) == before, "no model row changed"
    after = provider_row(db_path, "openrouter")
    assert after["last_status"] == "suspect"
    for column in ("last_success_at", "model_count", "payload_hash", "http_etag"):
        assert after[column] == provider_before[column], column
    conn = sqlite3.connect(db_path)
    status, count, payload = conn.execute(
        "select status, model_count, payload_hash from fetches where provider = 'openrouter' order by id desc"
    ).fetchone()
    assert (status, count) == ("suspect", 0)
    assert conn.execute("select count(*) from payloads where hash = ?", [payload]).fetchone()[0] == 1, "evidence"
    # vexy health says so, and fails.
    health = run("health", "--json")
    assert health.exit_code == 1
    report = json.loads(health.stdout)
    (row,) = [r for r in report["providers"] if r["name"] == "openrouter"]
    assert row["healthy"] is False and row["last_status"] == "suspect"
    assert any(p.startswith("openrouter: suspect answer: 0 models where 62") for p in report["problems"])


def test_fewer_than_half_is_suspect_half_is_not(sixty_two, server, run):
    db_path = sixty_two
    server.set("openrouter", Route(body=models(30)))
    assert run("fetch", "openrouter").exit_code == 1
    assert provider_row(db_path, "openrouter")["model_count"] == 62
    server.set("openrouter", Route(body=models(31)))
    result = run("fetch", "openrouter")
    assert result.exit_code == 0, result.output
    row = provider_row(db_path, "openrouter")
    assert (row["last_status"], row["model_count"]) == ("ok", 31)
    assert run("health").exit_code == 0


def test_accept_shrink_stores_it(sixty_two, server, run):
    db_path = sixty_two
    server.set("openrouter", Route(body={"data": []}))
    assert run("fetch", "openrouter").exit_code == 1
    # --failed picks a suspect provider up again; --accept-shrink stores the answer.
    result = run("fetch", "--failed", "--accept-shrink")
    assert result.exit_code == 0, result.output
    assert "openrouter" in result.stderr and "-62" in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute(
        "select count(*) from models where provider = 'openrouter' and removed_at is not null"
    ).fetchone() == (62,)
    assert provider_row(db_path, "openrouter")["last_status"] == "ok"
    assert run("health").exit_code == 0


def test_a_suspect_answers_validators_are_not_kept(sixty_two, server, run):
    db_path = sixty_two
    server.set("openrouter", Route(body={"data": []}, etag=True))
    run("fetch", "openrouter")
    run("fetch", "openrouter")
    # The second request did not ask "changed since the empty answer?" (a 304 would turn it
    # into "unchanged"): it got it in full, and it is still suspect.
    empty_tag = '"' + hashlib.sha256(json.dumps({"data": []}).encode()).hexdigest()[:16] + '"'
    assert server.seen("openrouter")[-1].headers.get("if-none-match") != empty_tag
    assert provider_row(db_path, "openrouter")["last_status"] == "suspect"


def test_a_first_fetch_and_a_small_list_are_never_suspect(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    server.set("openrouter", Route(body={"data": []}))
    assert catalog.fetch(["openrouter"]).fetches[0]["status"] == "ok"  # nothing listed before
    server.set("openrouter", Route(body=models(2)))
    assert catalog.fetch(["openrouter"]).fetches[0]["status"] == "ok"
    server.set("openrouter", Route(body=models(1)))
    assert catalog.fetch(["openrouter"]).fetches[0]["status"] == "ok"  # 1 of 2 is half, not fewer
    server.set("openrouter", Route(body=models(3, "n")))
    # All new ids but as many models: a renaming, stored (removed and added).
    summary = catalog.fetch(["openrouter"])
    assert summary.fetches[0]["status"] == "ok" and summary.fetches[0]["removed"] == 1
