"""What the command line prints and accepts: options after the command, token counts, removed
rows, tables that fit the terminal, plurals, and a busy port."""

from __future__ import annotations

import json
import socket
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import answer
from fake_providers import Route

from vexy_catalog.cli import cli
from vexy_catalog.query import format_tokens, parse_tokens
from vexy_catalog.timeutil import utcnow


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli, list(args), env=env)


def test_db_and_providers_file_are_accepted_after_the_command(fetched, tmp_path):
    providers_file, db_path = fetched
    before = run("--db", str(db_path), "models", "--json")
    after = run("models", "--json", "--db", str(db_path))
    assert after.exit_code == 0 and json.loads(after.stdout) == json.loads(before.stdout)
    # After the command it wins over the one before it (and over VEXY_DB).
    wins = run("--db", str(tmp_path / "other.db"), "stats", "--db", str(db_path), env={"VEXY_DB": "nowhere.db"})
    assert wins.exit_code == 0 and "groq" in wins.stdout
    fetch = run("fetch", "groq", "--db", str(db_path), "--providers-file", str(providers_file))
    assert fetch.exit_code == 0 and str(db_path) in fetch.stderr
    check = run("providers", "check", "groq", "--providers-file", str(providers_file))
    assert check.exit_code == 0, check.output
    nested = run("providers", "--db", str(db_path), "--json")
    assert {r["name"]: r["last_status"] for r in json.loads(nested.stdout)}["groq"] == "unchanged"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (128_000, "128k"),
        (131_072, "131k"),
        (32_768, "32.8k"),
        (32_000, "32k"),
        (200_000, "200k"),
        (1_000_000, "1M"),
        (1_048_576, "1.05M"),
        (8_192, "8,192"),
    ],
)
def test_token_counts_print_in_decimal_units_and_read_back(value, text):
    assert format_tokens(value) == text
    assert abs(parse_tokens(text) - value) <= value * 0.005  # what a table shows, a filter reads


def test_128k_and_131072_are_told_apart():
    assert format_tokens(128_000) != format_tokens(131_072)
    assert parse_tokens("128k") == 128_000 and parse_tokens("1m") == 1_000_000 and parse_tokens("128,000") == 128_000
    with pytest.raises(ValueError, match="not a token count"):
        parse_tokens("lots")


def test_min_context_accepts_what_tables_print(fetched):
    _, db_path = fetched

    def ids(*args: str) -> set[str]:
        result = run("--db", str(db_path), "models", "--json", *args)
        assert result.exit_code == 0, result.output
        return {r["model_id"] for r in json.loads(result.stdout)}

    assert ids("--min-context", "128k") == ids("--min-context", "128000") != set()
    assert ids("--min-context", "1m") == ids("--min-context", "1000000")
    assert ids("--min-context", "131k") == ids("--min-context", "131000")
    bad = run("--db", str(db_path), "models", "--min-context", "big")
    assert bad.exit_code == 2 and "not a token count" in bad.stderr


def test_include_removed_marks_removed_rows(fetched, server):
    providers_file, db_path = fetched
    data = answer("groq")["data"]
    server.routes["groq"].body = {"object": "list", "data": data[1:]}
    assert run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq").exit_code == 0
    gone = data[0]["id"]
    table = run("--db", str(db_path), "models", "--provider", "groq", "--include-removed")
    header, _, *lines = table.stdout.splitlines()
    assert header.split()[-1] == "removed"
    (row,) = [line for line in lines if line.split()[1] == gone]
    (removed_at,) = (
        sqlite3.connect(db_path).execute("select removed_at from models where model_id = ?", [gone]).fetchone()
    )
    assert row.split()[-1] == removed_at[:10]
    listed = [line for line in lines if line.split()[1] != gone]
    assert listed and all(not line.rstrip().endswith(removed_at[:10]) for line in listed)
    assert "removed" not in run("--db", str(db_path), "models", "--provider", "groq").stdout.splitlines()[0]


def test_tables_fit_the_terminal(fetched):
    _, db_path = fetched
    wide = run("--db", str(db_path), "models", "--provider", "openrouter")  # not a terminal: nothing cut
    assert max(len(line) for line in wide.stdout.splitlines()) > 80
    assert "…" not in wide.stdout
    narrow = run("--db", str(db_path), "models", "--provider", "openrouter", env={"COLUMNS": "80"})
    lines = narrow.stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines), lines
    assert "…" in narrow.stdout, "long cells are cut, and say so"
    assert lines[0].split()[:3] == ["provider", "model", "context"], "headers stay readable"
    providers = run("--db", str(db_path), "providers", env={"COLUMNS": "80"})
    table = providers.stdout.split("\n\n", 1)[0]  # the notes below it are prose
    assert all(len(line) <= 80 for line in table.splitlines())


def test_one_change_is_one_change(fetched, server):
    providers_file, db_path = fetched
    since = utcnow()
    data = answer("groq")["data"]
    server.routes["groq"].body = {"object": "list", "data": [*data, {"id": "one-more", "object": "model"}]}
    run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "groq")
    result = run("--db", str(db_path), "changes", "--since", since, "--provider", "groq")
    assert result.stdout.splitlines() == ["groq (1 change)", "  + groq one-more"]
    assert result.stderr.startswith("1 change since ")


def test_a_change_is_never_shown_as_the_same_value(fetched, server):
    providers_file, db_path = fetched
    data = answer("openrouter")["data"]
    first = dict(data[0], context_length=131_072)
    first["top_provider"] = dict(first.get("top_provider") or {}, context_length=131_072)
    server.routes["openrouter"].body = {"data": [first, *data[1:]]}
    run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "openrouter")
    since = utcnow()
    first = dict(first, context_length=131_000, top_provider=dict(first["top_provider"], context_length=131_000))
    server.routes["openrouter"].body = {"data": [first, *data[1:]]}
    run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "openrouter")
    lines = run("--db", str(db_path), "changes", "--since", since).stdout.splitlines()
    assert lines[1] == f"  ~ openrouter {first['id']} context 131,072 -> 131,000", lines


def test_a_busy_port_is_one_line_and_exit_1(fetched):
    _, db_path = fetched
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("--db", str(db_path), "serve", "--port", str(port))
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: Port {port} on 127.0.0.1 is already in use (another 'vexy serve'?) - choose another with --port\n"
    )
    assert "INFO" not in result.output


def test_fetch_progress_and_summary_for_a_suspect_answer_uses_one_line_each(fetched, server):
    providers_file, db_path = fetched
    server.set("openrouter", Route(body={"data": []}))
    result = run("--db", str(db_path), "--providers-file", str(providers_file), "fetch", "openrouter")
    assert result.exit_code == 1
    assert [line.split()[:2] for line in result.stderr.splitlines() if line.startswith("  ")] == [
        ["suspect", "openrouter"]
    ]
