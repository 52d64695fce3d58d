"""The vexy command line, through Click's CliRunner, against the loopback providers."""

from __future__ import annotations

import json
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import KEYS
from fake_providers import Route

from vexy_catalog import __version__
from vexy_catalog.cli import cli


def run(*args: str, **kwargs):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False, **kwargs)


def test_version():
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"vexy, version {__version__}"


def test_fetch_reports_progress_and_summary(providers):
    providers_file, db_path = providers
    result = run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq", "litellm")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    progress = sorted(line.split()[:2] for line in lines if line.startswith("  "))
    assert progress == [["ok", "groq"], ["ok", "litellm"]]
    assert "4 models" in next(line for line in lines if "groq" in line)
    assert lines[-1].startswith("Fetched 2 providers (2 ok): 8 models listed, 8 added, 0 removed, 0 changed")
    assert str(db_path) in lines[-1]


def test_fetch_json_summary(providers):
    providers_file, db_path = providers
    args = ["--db", str(db_path), "--providers-file", str(providers_file), "fetch", "--json", "groq", "openrouter"]
    run(*args)
    result = run(*args)
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert data["counts"] == {
        "ok": 0,
        "unchanged": 2,
        "failed": 0,
        "suspect": 0,
        "interrupted": 0,
        "skipped": 0,
        "fresh": 0,
    }
    assert data["totals"] == {"models": 7, "added": 0, "removed": 0, "changed": 0}
    assert {f["provider"]: f["status"] for f in data["fetches"]} == {"groq": "unchanged", "openrouter": "unchanged"}


def test_fetch_exit_1_when_a_provider_fails(providers, server):
    providers_file, db_path = providers
    server.routes["openrouter"] = Route(status=503, raw=b"try later")
    result = run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq", "openrouter")
    assert result.exit_code == 1
    assert "Failed openrouter: HTTP 503" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_provider_is_a_usage_error_with_suggestions(providers):
    providers_file, db_path = providers
    result = run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "grok")
    assert result.exit_code == 2
    assert "Unknown provider 'grok' - did you mean 'groq'?" in result.stderr
    assert not db_path.exists()


def test_broken_providers_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("groq:\n  kind: soap\n", encoding="utf-8")
    result = run("--db", str(tmp_path / "v.db"), "--providers-file", str(bad), "fetch")
    assert result.exit_code == 2
    assert f"{bad}: provider 'groq', field 'kind'" in result.stderr
    assert "Traceback" not in result.output


def test_providers_file_from_environment(providers, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.setenv("VEXY_PROVIDERS_FILE", str(providers_file))
    monkeypatch.setenv("VEXY_DB", str(db_path))
    result = run("fetch", "llm7")
    assert result.exit_code == 0
    assert sqlite3.connect(db_path).execute("select count(*) from models").fetchone()[0] == 4


def test_skipped_providers_are_summarised(providers, monkeypatch):
    providers_file, db_path = providers
    result = run("--db", str(db_path), "--providers-file", str(providers_file), "fetch")
    assert result.exit_code == 0, result.stderr
    skipped_line = next(line for line in result.stderr.splitlines() if line.startswith("Skipped"))
    assert skipped_line.startswith("Skipped 47 without a key: aihorde, atlascloud, avian, azure, baseten, bedrock,")
    # A skip for another reason says why, on a line of its own.
    assert "Skipped ollama: nothing is listening at http://127.0.0.1:9" in result.stderr
    verbose = run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "-v", "--max-age", "1h")
    assert "  skipped   xai" in verbose.stderr
    assert "Not due (fetched within --max-age): anthropic, groq, litellm" in verbose.stderr


def test_bad_max_age(tmp_path):
    result = run("--db", str(tmp_path / "v.db"), "fetch", "--max-age", "soon")
    assert result.exit_code == 2
    assert "'soon' is not an age" in result.stderr


def test_failed_only(providers, server):
    providers_file, db_path = providers
    base = ["--db", str(db_path), "--providers-file", str(providers_file), "fetch"]
    assert run(*base, "--failed").stderr.startswith("Nothing to fetch")
    server.routes["groq"] = Route(status=500)
    run(*base, "groq", "llm7")
    server.routes["groq"] = Route(body={"data": [{"id": "back"}]}, key=KEYS["groq"])
    result = run(*base, "--failed")
    assert result.exit_code == 0
    assert [line.split()[1] for line in result.stderr.splitlines() if line.startswith("  ")] == ["groq"]


def test_providers_lists_key_state_never_values(providers, monkeypatch):
    providers_file, db_path = providers
    run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq")
    result = run("--db", str(db_path), "--providers-file", str(providers_file), "providers", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert len(rows) == 58
    assert rows["groq"]["key"] == "set" and rows["groq"]["last_status"] == "ok" and rows["groq"]["model_count"] == 4
    assert rows["xai"]["key"] == "not set" and rows["xai"]["last_status"] is None
    assert rows["litellm"]["key"] == "not needed"
    assert rows["openrouter"]["key"] == "optional"
    for key in KEYS.values():
        assert key not in result.stdout
    table = run("--db", str(db_path), "--providers-file", str(providers_file), "providers")
    header, rule, *lines = table.stdout.splitlines()
    assert header.split() == [
        "name",
        "kind",
        "models",
        "URL",
        "auth",
        "paging",
        "variables",
        "last",
        "status",
        "models",
    ]
    groq = next(line for line in lines if line.startswith("groq "))
    assert groq.split()[-6:] == ["bearer", "none", "GROQ_API_KEY:", "set", "ok", "4"]


def test_providers_without_a_database_does_not_create_one(tmp_path):
    result = run("--db", str(tmp_path / "none.db"), "providers")
    assert result.exit_code == 0
    assert not (tmp_path / "none.db").exists()


def test_not_a_database(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_text("this is not sqlite " * 100)
    result = run("--db", str(bogus), "fetch", "litellm")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bogus} is not a SQLite file, so not a vexy catalog - check --db (or VEXY_DB)\n"
    assert bogus.read_text() == "this is not sqlite " * 100


@pytest.mark.parametrize("command", ["fetch", "providers"])
def test_help_has_an_example(command):
    result = run(command, "--help")
    assert result.exit_code == 0
    assert "Example" in result.output and f"vexy {command}" in result.output
