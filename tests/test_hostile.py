"""Hostile providers, odd keys and broken disks (issue 17): one bad provider never takes down a
fetch, a key never leaks in any shape, text is made safe where it crosses a boundary.

Every test runs real fetches against the loopback servers of fake_providers.py and checks the
outcome a user sees: every provider's final status, the exit code, and a search for every form
of the key (plain, stripped, repr-escaped, JSON-escaped, URL-encoded, its first 12 characters)
in the database and its WAL, stdout, stderr and the served pages.
"""

from __future__ import annotations

import json
import os
import resource
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from click.testing import CliRunner
from conftest import KEYS
from fake_providers import FakeProviders, Route, bomb

from vexy_catalog.cli import cli
from vexy_catalog.text import MAX_DEPTH

ROOT = Path(__file__).parent.parent
# A key of a made-up provider, read from a variable whose name does not look secret.
ODD_KEY = "odd-7f3a9c2e5b1d4f6a8c0e"


def key_forms(key: str) -> set[str]:
    """Every shape a key may leak in: as is, stripped, escaped, encoded, and its start."""
    stripped = key.strip()
    forms = {
        key,
        stripped,
        repr(key)[1:-1],
        repr(key.encode())[2:-1],
        json.dumps(key)[1:-1],
        quote(key, safe=""),
        quote_plus(key),
        stripped[:12],
    }
    return {f for f in forms if len(f) >= 8}


def leaks(key: str, *texts: str | bytes) -> list[str]:
    """The forms of ``key`` found in any of ``texts``."""
    found = []
    for text in texts:
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
        found += [form for form in key_forms(key) if form.encode("utf-8", "surrogateescape") in data]
    return found


def stored_bytes(db_path: Path) -> bytes:
    """Every byte of the catalog, its WAL included."""
    return b"".join(p.read_bytes() for p in db_path.parent.glob(db_path.name + "*") if p.is_file())


def rows(db_path: Path, sql: str, params: list | None = None) -> list[tuple]:
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(sql, params or []).fetchall()
    finally:
        conn.close()


def statuses(db_path: Path) -> dict[str, str]:
    """Each provider's latest fetch status."""
    return dict(
        rows(
            db_path, "select provider, status from fetches where id in (select max(id) from fetches group by provider)"
        )
    )


def vexy(db_path: Path, providers_file: Path, *args: str):
    return CliRunner().invoke(cli, ["--db", str(db_path), "--providers-file", str(providers_file), *args])


def add_providers(providers_file: Path, text: str) -> None:
    with providers_file.open("a", encoding="utf-8") as f:
        f.write(text)


GOOD = {"data": [{"id": "good-1"}, {"id": "good-2"}]}


# --------------------------------------------------------------------------- limits on what arrives


@pytest.mark.parametrize("encodings", [("gzip",), ("gzip", "gzip"), ("deflate", "gzip", "gzip")])
def test_a_decompression_bomb_stops_at_the_cap_and_fails_only_its_provider(providers, server, encodings):
    providers_file, db_path = providers
    # 256 MB of zeros in a few hundred KB (a few KB when stacked): the cap is 2 MB, decoded.
    server.set("groq", Route(raw=bomb(256 << 20, encodings), encodings=encodings, raw_encoded=True))
    result = vexy(db_path, providers_file, "fetch", "--max-bytes", str(2 << 20))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    final = statuses(db_path)
    assert final.pop("groq") == "failed"
    assert set(final.values()) <= {"ok", "skipped"} and final["openai"] == "ok"
    error = rows(db_path, "select last_error from providers where name = 'groq'")[0][0]
    assert "passed the 2,097,152-byte limit (counted decoded)" in error


def test_stacked_encodings_of_a_real_answer_are_read(providers, server):
    providers_file, db_path = providers
    server.set("groq", Route(body=GOOD, encodings=("gzip", "deflate", "gzip"), key=KEYS["groq"]))
    assert vexy(db_path, providers_file, "fetch", "groq").exit_code == 0
    assert rows(db_path, "select count(*) from models where provider = 'groq'")[0][0] == 2
    # Only what vexy decodes itself is asked for.
    assert server.seen("groq")[-1].headers["accept-encoding"] == "gzip, deflate"


def test_an_encoding_vexy_did_not_ask_for_is_refused(providers, server):
    providers_file, db_path = providers
    server.set("groq", Route(raw=b"\x1b\x00\x00", headers={"Content-Encoding": "br"}, key=KEYS["groq"]))
    result = vexy(db_path, providers_file, "fetch", "groq")
    assert result.exit_code == 1
    assert "encoded as 'br', which vexy did not ask for" in result.stderr


def test_the_cap_is_on_the_whole_answer_over_all_its_pages(providers, server):
    providers_file, db_path = providers
    # 40 pages of ~50 KB each: every page is far under the cap, the answer is not.
    records = [{"id": f"m{i:03d}", "description": "x" * 16_000} for i in range(120)]
    server.set("anthropic", Route(body=records, kind="anthropic", key=KEYS["anthropic"], page_size=3))
    result = vexy(db_path, providers_file, "fetch", "anthropic", "--max-bytes", str(500_000))
    assert result.exit_code == 1
    error = rows(db_path, "select last_error from providers where name = 'anthropic'")[0][0]
    assert "passed the 500,000-byte limit over" in error and "pages" in error
    assert len(server.seen("anthropic")) < 40  # it stopped asking once over


def test_nesting_is_capped_and_a_record_at_the_cap_renders_on_every_page(providers, server):
    providers_file, db_path = providers
    # {"data": [{"id": ..., "a": [[...]]}]}: the answer is three levels deeper than "a".
    at_cap = json.loads("[" * (MAX_DEPTH - 3) + "]" * (MAX_DEPTH - 3))
    server.set("openrouter", Route(body={"data": [{"id": "deep", "a": at_cap}]}))
    over = json.loads("[" * (MAX_DEPTH - 2) + "]" * (MAX_DEPTH - 2))
    server.set("llm7", Route(body={"data": [{"id": "too-deep", "a": over}]}))
    result = vexy(db_path, providers_file, "fetch", "openrouter", "llm7", "groq")
    assert result.exit_code == 1
    assert statuses(db_path) == {"openrouter": "ok", "llm7": "failed", "groq": "ok"}
    assert f"nests more than {MAX_DEPTH} levels deep" in result.stderr
    for path in ["/vexy/models", "/vexy/models/openrouter,deep", "/vexy/models.json?_shape=array"]:
        page = CliRunner().invoke(cli, ["--db", str(db_path), "serve", "--get", path])
        assert page.exit_code == 0, (path, page.output[-500:])


# --------------------------------------------------------------------------- text at the boundary


@pytest.mark.parametrize("header", ["ETag", "Last-Modified"])
@pytest.mark.parametrize("value", ['"caf\xe9"', 'W/"\xc3\xa9t\xc3\xa9"', '"tab\there"'])
def test_a_validator_that_is_not_visible_ascii_is_never_stored_nor_sent(providers, server, header, value):
    providers_file, db_path = providers
    server.set("groq", Route(body=GOOD, key=KEYS["groq"], headers={header: value}))
    for _ in range(3):  # every later fetch works too
        result = vexy(db_path, providers_file, "fetch", "groq", "openai")
        assert result.exit_code == 0, result.output
        assert set(statuses(db_path).values()) <= {"ok", "unchanged"}
    assert rows(db_path, "select http_etag, http_last_modified from providers where name = 'groq'") == [(None, None)]
    assert all("if-none-match" not in r.headers and "if-modified-since" not in r.headers for r in server.seen("groq"))


def test_a_bad_validator_stored_by_an_older_vexy_is_not_sent(providers, server):
    providers_file, db_path = providers
    server.set("groq", Route(body=GOOD, key=KEYS["groq"], etag=True))
    assert vexy(db_path, providers_file, "fetch", "groq").exit_code == 0
    conn = sqlite3.connect(db_path)
    conn.execute(
        "update providers set http_etag = ?, http_last_modified = ? where name = 'groq'", ['"\u00e9t\u00e9"', "x\r\ny"]
    )
    conn.commit()
    conn.close()
    result = vexy(db_path, providers_file, "fetch", "groq", "openai")
    assert result.exit_code == 0, result.output
    assert statuses(db_path) == {"groq": "unchanged", "openai": "ok"}
    assert "if-none-match" not in server.seen("groq")[-1].headers


def test_a_lone_surrogate_is_replaced_and_the_run_goes_on(providers, server):
    providers_file, db_path = providers
    server.set(
        "openrouter", Route(raw=b'{"data": [{"id": "half-\\ud800", "name": "\\udfff"}, {"id": "pair-\\ud83d\\ude00"}]}')
    )
    result = vexy(db_path, providers_file, "fetch")
    assert result.exit_code == 0, result.output
    final = statuses(db_path)
    assert final["openrouter"] == "ok" and final["openai"] == "ok" and "running" not in final.values()
    ids = {r[0] for r in rows(db_path, "select model_id from models where provider = 'openrouter'")}
    assert ids == {"half-\ufffd", "pair-\U0001f600"}
    # Every later fetch works: nothing stays "running".
    assert vexy(db_path, providers_file, "fetch", "openrouter").exit_code == 0
    assert rows(db_path, "select count(*) from fetches where status = 'running'") == [(0,)]


def test_control_characters_never_reach_the_terminal(providers, server):
    providers_file, db_path = providers
    evil = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202eevil\r"
    server.set("openrouter", Route(body={"data": [{"id": f"m-{evil}", "name": evil}]}))
    server.set("groq", Route(status=500, raw=f"boom {evil}".encode(), key=KEYS["groq"]))
    fetched = vexy(db_path, providers_file, "fetch", "--retries", "0", "-v")
    shown = [fetched.output]
    for args in (["models"], ["changes"], ["verify"], ["health"], ["providers"], ["doctor"], ["stats"]):
        shown.append(vexy(db_path, providers_file, *args).output)
    for text in shown:
        assert not any(c in text for c in "\x1b\x07\x9b\u202e\r"), text
    assert "\\x1b" in shown[1]  # shown, as an escape
    # Stored as sent: the record is the provider's.
    (raw,) = rows(db_path, "select raw from models where provider = 'openrouter'")[0]
    assert json.loads(raw)["name"] == evil


def _on_a_terminal(args: list[str]) -> str:
    """What ``vexy ARGS`` prints with its standard output on a real pseudo-terminal."""
    import pty

    leader, follower = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        # Read as it is written: a terminal's buffer is a few kB, a page is more.
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the other end is closed: all was read
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "vexy_catalog.cli", *args],
            stdout=follower,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            timeout=60,
        )
    finally:
        os.close(follower)
    reader.join(10)
    os.close(leader)
    assert done.returncode == 0, done.stderr
    return b"".join(chunks).decode("utf-8", "replace")


def test_json_and_csv_output_keep_the_value_but_never_drive_a_terminal(providers, server):
    providers_file, db_path = providers
    evil = "\x1b]0;pwned\x07\x9b31m\u2028\u202eevil"
    server.set("openrouter", Route(body={"data": [{"id": f"m-{evil}", "name": evil}]}))
    assert vexy(db_path, providers_file, "fetch", "openrouter").exit_code == 0
    common = ["--db", str(db_path), "--providers-file", str(providers_file)]
    # JSON: the same value, every such character escaped, to a pipe as to a terminal.
    piped = vexy(db_path, providers_file, "models", "--provider", "openrouter", "--json").output
    assert not any(c in piped for c in "\x1b\x07\x9b\u202e\u2028"), piped
    assert [m["name"] for m in json.loads(piped)] == [evil]
    # CSV to a pipe (or a file) holds the value as stored ...
    piped_csv = vexy(db_path, providers_file, "models", "--provider", "openrouter", "--csv").output
    assert evil in piped_csv
    # ... and on a terminal, shows it escaped.
    shown = _on_a_terminal([*common, "models", "--provider", "openrouter", "--csv"])
    assert "m-\\x1b]0;pwned\\x07" in shown
    assert not any(c in shown for c in "\x1b\x07\x9b\u202e\u2028"), shown
    page = _on_a_terminal([*common, "serve", "--get", "/vexy/models?provider=openrouter"])
    assert "pwned" in page and not any(c in page for c in "\x1b\x07\x9b\u202e"), page


# --------------------------------------------------------------------------- masking


@pytest.mark.parametrize(
    "bad,words",
    [
        ("\r", "carriage return"),
        ("\n", "line break"),
        (" ", "space"),
        ("\u00a0", "U+00A0 (no-break space)"),
    ],
)
def test_a_key_that_cannot_be_sent_is_refused_naming_only_its_variable(providers, server, monkeypatch, bad, words):
    providers_file, db_path = providers
    key = KEYS["anthropic"] + bad  # x-api-key: the header that carried the key into httpx's error
    monkeypatch.setenv("ANTHROPIC_API_KEY", key)
    result = vexy(db_path, providers_file, "fetch")
    assert result.exit_code == 1
    final = statuses(db_path)
    assert final.pop("anthropic") == "failed" and final["openai"] == "ok"
    assert (
        f"ANTHROPIC_API_KEY holds a {words}" in result.stderr
        or f"ANTHROPIC_API_KEY holds the character {words}" in result.stderr
    )
    assert server.seen("anthropic") == []  # never sent
    health = vexy(db_path, providers_file, "serve", "--public", "--get", "/-/vexy/health.json")
    check = vexy(db_path, providers_file, "providers", "check", "anthropic")
    assert check.exit_code == 1 and "ANTHROPIC_API_KEY holds" in check.output
    assert not leaks(key, result.output, stored_bytes(db_path), health.output, check.output)


def test_a_smart_quoted_key_fails_providers_check(providers, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.setenv("GROQ_API_KEY", "\u201c" + KEYS["groq"] + "\u201d")
    result = vexy(db_path, providers_file, "providers", "check", "groq")
    assert result.exit_code == 1
    assert "GROQ_API_KEY holds the character U+201C (left double quotation mark) at its start" in result.output


def test_a_header_variable_with_a_line_break_is_refused(providers, server, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.setenv("CF_ACCESS_CLIENT", ODD_KEY + "\r\n")
    add_providers(
        providers_file,
        f"gated:\n  base_url: {server.origin}/gated/v1\n  headers: {{X-Access: '${{CF_ACCESS_CLIENT}}'}}\n",
    )
    server.set("gated", Route(body=GOOD))
    result = vexy(db_path, providers_file, "fetch", "gated", "openai")
    assert result.exit_code == 1 and statuses(db_path) == {"gated": "failed", "openai": "ok"}
    assert "CF_ACCESS_CLIENT holds a carriage return" in result.stderr
    assert not leaks(ODD_KEY, result.output, stored_bytes(db_path))


def _echo_error(position: int):
    def respond(seen) -> bytes:
        sent = seen.headers.get("authorization", "").removeprefix("Bearer ") or seen.headers.get("x-odd", "")
        return ("e" * position + f" you sent {sent} which is wrong").encode()

    return respond


@pytest.mark.parametrize("position", [150, 175, 185, 190, 195])
def test_a_key_echoed_near_the_cut_of_an_error_leaves_no_prefix(providers, server, monkeypatch, position):
    providers_file, db_path = providers
    monkeypatch.setenv("WEIRDVAR", ODD_KEY)
    add_providers(providers_file, f"odd:\n  base_url: {server.origin}/odd/v1\n  api_key_env: WEIRDVAR\n")
    prefix = "e" * position + " you sent "
    server.set("odd", Route(status=401, raw=f"{prefix}{ODD_KEY} which is wrong".encode()))
    result = vexy(db_path, providers_file, "fetch", "odd", "-v")
    assert result.exit_code == 1
    assert not leaks(ODD_KEY, result.output, stored_bytes(db_path))


def test_retry_lines_mask_keys_whatever_their_variable_is_called(providers, server, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.setenv("WEIRDVAR", ODD_KEY)
    monkeypatch.setenv("CF_ACCESS_CLIENT", "cfa-" + ODD_KEY[::-1])
    add_providers(
        providers_file,
        f"odd:\n  base_url: {server.origin}/odd/v1\n  api_key_env: WEIRDVAR\n"
        "  headers: {X-Access: '${CF_ACCESS_CLIENT}'}\n",
    )
    # Every shape a server (or a proxy) might echo what it was sent in.
    echo = f"{ODD_KEY} {ODD_KEY!r} {json.dumps(ODD_KEY)} {quote('cfa-' + ODD_KEY[::-1])} cfa-{ODD_KEY[::-1]}"
    server.set_sequence(
        "odd", [Route(status=503, raw=echo.encode()), Route(status=503, raw=echo.encode()), Route(body=GOOD)]
    )
    result = vexy(db_path, providers_file, "fetch", "odd", "-v")
    assert result.exit_code == 0, result.output
    assert result.stderr.count("attempt") == 2
    assert not leaks(ODD_KEY, result.output) and not leaks("cfa-" + ODD_KEY[::-1], result.output)


def test_a_key_echoed_inside_a_successful_answer_is_masked_before_storing(providers, server, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.setenv("WEIRDVAR", ODD_KEY)
    add_providers(providers_file, f"echo:\n  base_url: {server.origin}/echo/v1\n  api_key_env: WEIRDVAR\n")

    def respond(seen):
        key = seen.headers["authorization"].removeprefix("Bearer ")
        return {
            "data": [
                {"id": "m1", "owned_by": key, "url": f"https://x.example/?k={quote(key)}"},
                {"id": f"m2-{key}", key: "as a field name", "note": "\\u-escaped below"},
            ]
        }

    server.set("echo", Route(respond=respond, headers={"ETag": f'"{ODD_KEY}"'}))
    result = vexy(db_path, providers_file, "fetch", "echo")
    assert result.exit_code == 0, result.output
    assert rows(db_path, "select count(*) from models where provider = 'echo'") == [(2,)]
    assert rows(db_path, "select http_etag from providers where name = 'echo'") == [(None,)]
    served = [
        vexy(db_path, providers_file, "serve", "--public", "--get", path).output
        for path in ("/vexy/models.json?_shape=array", "/vexy/payloads.json?_shape=array", "/vexy/models")
    ]
    assert not leaks(ODD_KEY, stored_bytes(db_path), result.output, *served)
    # The same key spelled with \u escapes in the JSON text is still the key.
    escaped = "".join(f"\\u{ord(c):04x}" for c in ODD_KEY)
    server.set("echo", Route(raw=f'{{"data": [{{"id": "m3", "owned_by": "{escaped}"}}]}}'.encode()))
    assert vexy(db_path, providers_file, "fetch", "echo").exit_code == 0
    assert not leaks(ODD_KEY, stored_bytes(db_path))


def test_a_header_that_reads_another_providers_key_is_an_error(providers, server):
    providers_file, db_path = providers
    with FakeProviders() as other:
        other.set("elsewhere", Route(body=GOOD))
        add_providers(
            providers_file,
            f"elsewhere:\n  base_url: {other.origin}/elsewhere/v1\n"
            "  headers: {X-Other: 'Bearer ${OPENAI_API_KEY}'}\n",
        )
        check = vexy(db_path, providers_file, "providers", "check", "elsewhere")
        assert check.exit_code == 1
        assert "header X-Other reads OPENAI_API_KEY, the key of provider openai" in check.output
        result = vexy(db_path, providers_file, "fetch", "elsewhere", "openai")
        assert result.exit_code == 1 and statuses(db_path) == {"elsewhere": "failed", "openai": "ok"}
        assert other.requests == []  # the key never left for the other host
    assert not leaks(KEYS["openai"], check.output, result.output, stored_bytes(db_path))


# --------------------------------------------------------------------------- fault domains


def test_every_hostile_provider_fails_on_its_own_and_the_rest_of_the_run_finishes(providers, server, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEYS["anthropic"] + "\r")
    server.set("groq", Route(raw=bomb(64 << 20), encodings=("gzip", "gzip"), raw_encoded=True, key=KEYS["groq"]))
    server.set("mistral", Route(raw=b"[" * 300 + b"]" * 300, key=KEYS["mistral"]))
    server.set("llm7", Route(raw=b'{"data": [{"id": "\xff\xfe"}]}'))
    server.set("pollinations", Route(status=500, raw=b"x" * 5_000_000))
    server.set("ovhcloud", Route(reset=True))
    server.set("openrouter", Route(raw=b'{"data": [{"id": "ok-\\udc00"}]}'))
    result = vexy(db_path, providers_file, "fetch", "--max-bytes", str(4 << 20), "--retries", "1")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    final = statuses(db_path)
    failed = {"groq", "mistral", "llm7", "pollinations", "ovhcloud", "anthropic"}
    assert {name for name, status in final.items() if status == "failed"} == failed
    assert final["openai"] == "ok" and final["openrouter"] == "ok" and final["litellm"] == "ok"
    assert rows(db_path, "select count(*) from fetches where status = 'running'") == [(0,)]
    errors = dict(rows(db_path, "select name, last_error from providers where last_status = 'failed'"))
    assert all("\n" not in e and len(e) < 600 for e in errors.values()), errors
    health = vexy(db_path, providers_file, "health")
    assert health.exit_code == 1
    assert all(f"{name}: last 1 fetch failed" in health.stderr for name in failed)


def _fetch_process(db_path: Path, providers_file: Path, limit: int | None, *names: str) -> subprocess.CompletedProcess:
    """`vexy fetch` in a process of its own, whose files may not grow past ``limit`` bytes (a
    full disk, as far as SQLite can tell: writes past it fail with EFBIG)."""

    def cap() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    command, env = _fetch_command(db_path, providers_file, *names)
    return subprocess.run(command, capture_output=True, text=True, env=env, preexec_fn=cap, timeout=120)


def _fetch_command(db_path: Path, providers_file: Path, *names: str) -> tuple[list[str], dict[str, str]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "vexy_catalog.cli", "--db", str(db_path)]
    command += ["--providers-file", str(providers_file), "fetch", "--retries", "0", *names]
    return command, env


def test_a_full_disk_ends_the_run_with_one_line_and_keeps_what_was_stored(providers, server):
    providers_file, db_path = providers
    assert vexy(db_path, providers_file, "fetch").exit_code == 0
    conn = sqlite3.connect(db_path)
    conn.execute("pragma wal_checkpoint(truncate)")
    before = conn.execute("select provider, model_id, content_hash from models order by 1, 2").fetchall()
    conn.close()
    # A big new answer for groq: its write needs far more room than the file may grow by.
    server.set("groq", Route(body={"data": [{"id": f"m{i}", "d": "x" * 300} for i in range(20_000)]}, key=KEYS["groq"]))
    done = _fetch_process(db_path, providers_file, db_path.stat().st_size + 200_000)
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Error: Cannot write the catalog") and "free some disk space" in last
    # Old data intact, the file sound, and nothing left "running" once a command has looked.
    conn = sqlite3.connect(db_path)
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"
    assert conn.execute("select provider, model_id, content_hash from models order by 1, 2").fetchall() == before
    conn.close()
    # Health says what happened to groq: its failure, or, when the disk stayed too full to
    # write even that, that it never finished.
    health = vexy(db_path, providers_file, "health")
    assert health.exit_code == 1
    assert (
        "groq: last 1 fetch failed: the answer could not be stored: OperationalError: disk I/O error" in health.stderr
        or "groq: the last fetch was interrupted (it never finished" in health.stderr
    ), health.stderr
    # Once there is room again, the next fetch closes the rows the full disk left open.
    server.set("groq", Route(body=GOOD, key=KEYS["groq"]))
    assert _fetch_process(db_path, providers_file, None).returncode == 0
    assert rows(db_path, "select count(*) from fetches where status = 'running'") == [(0,)]
    after = vexy(db_path, providers_file, "health")
    assert after.exit_code == 0, after.output


def test_a_fetch_waiting_for_the_write_lock_says_so_and_how_long(providers, server):
    providers_file, db_path = providers
    assert vexy(db_path, providers_file, "fetch", "groq").exit_code == 0
    holder = sqlite3.connect(db_path)
    holder.execute("begin immediate")
    command, env = _fetch_command(db_path, providers_file, "groq")
    # The lock is let go once the fetch says it waits for it, however late the process starts.
    fetch = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        said = []
        assert fetch.stderr is not None
        for line in fetch.stderr:
            said.append(line)
            if "waiting for the write lock on" in line:
                break
    finally:
        holder.commit()
        holder.close()
    _, rest = fetch.communicate(timeout=120)
    stderr = "".join(said) + rest
    assert fetch.returncode == 0, stderr
    assert "waiting for the write lock on" in stderr and "another vexy command is writing it" in stderr
    assert "got the write lock after waiting" in stderr


def test_a_lock_held_past_the_wait_is_one_line_naming_the_wait(providers, server, monkeypatch):
    import vexy_catalog.db

    providers_file, db_path = providers
    assert vexy(db_path, providers_file, "fetch", "groq").exit_code == 0
    monkeypatch.setattr(vexy_catalog.db, "BUSY_TIMEOUT_MS", 1_500)
    holder = sqlite3.connect(db_path)
    holder.execute("begin immediate")
    try:
        result = vexy(db_path, providers_file, "fetch", "groq")
    finally:
        holder.rollback()
        holder.close()
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert "is locked: another vexy command" in result.stderr and "held its write lock for the 2 s" in result.stderr
    assert "--db" not in result.stderr


# --------------------------------------------------------------------------- exports of hostile ids


def test_hostile_ids_make_valid_files_with_bounded_names(providers, server, tmp_path):
    import xml.etree.ElementTree as ElementTree

    import yaml

    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib

    providers_file, db_path = providers
    long_id = "org/" + "very-long-model-name-" * 20  # ~420 characters: past a file name's 255 bytes
    ids = [
        long_id + "a",
        long_id + "b",  # the same start: the bounded names must stay apart
        "ctl-\x1b[31m-red\x07",
        "line\nbreak\rid",
        "quote\"and'\\back",
        "bidi-\u202eevil",
        "nul-\x00-byte",
    ]
    server.set("openai", Route(body={"data": [{"id": i, "object": "model"} for i in ids]}, key=KEYS["openai"]))
    assert vexy(db_path, providers_file, "fetch", "openai").exit_code == 0
    out = tmp_path / "codex"
    result = vexy(db_path, providers_file, "export", "codex", "--provider", "openai", "-o", str(out))
    assert result.exit_code == 0, result.output
    profiles = sorted(out.glob("*.config.toml"))
    assert len(profiles) == len(ids)
    models = set()
    for path in out.iterdir():
        assert len(path.name.encode()) <= 255
        if path.suffix == ".toml":
            data = tomllib.loads(path.read_text(encoding="utf-8"))  # valid TOML, comments included
            if "model" in data:
                models.add(data["model"])
    assert models == set(ids)  # every id exactly as sent
    for tool in ("aichat", "mods", "llm", "litellm"):
        text = vexy(db_path, providers_file, "export", tool, "--provider", "openai").stdout
        assert yaml.safe_load(text), tool  # every id written so that YAML reads it back
    txt = tmp_path / "txt"
    assert vexy(db_path, providers_file, "export", "txt", "--provider", "openai", "-o", str(txt)).exit_code == 0
    assert len((txt / "models_openai.txt").read_text(encoding="utf-8").splitlines()) == len(ids)
    feed = vexy(db_path, providers_file, "serve", "--get", "/-/vexy/changes.atom?provider=openai")
    assert feed.exit_code == 0
    root = ElementTree.fromstring(feed.stdout.encode("utf-8"))  # well-formed XML
    titles = [e.text for e in root.iter("{http://www.w3.org/2005/Atom}title")]
    assert any("ctl-\\x1b[31m-red\\x07" in (t or "") for t in titles)


# --------------------------------------------------------------------------- hostile providers files


def test_a_billion_laughs_providers_file_is_refused_at_once(tmp_path):
    lol = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
        f"{c}: &{c} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    )
    assert len(lol) < 450  # expands to 9**9 (387 million) values
    path = tmp_path / "providers.yaml"
    path.write_text(lol, encoding="utf-8")
    result = vexy(tmp_path / "v.db", path, "providers")
    assert result.exit_code == 2
    assert "aliases (*name) expand to more than 10,000 values" in result.stderr
    assert len(result.stderr) < 600 and "lol" not in result.stderr
    # Aliases a real file might use are fine.
    path.write_text(
        "groq:\n  headers: &h {X-Team: platform}\nopenai:\n  headers: *h\n",
        encoding="utf-8",
    )
    assert vexy(tmp_path / "v.db", path, "providers").exit_code == 0


def test_values_in_providers_file_errors_are_cut_short(tmp_path):
    path = tmp_path / "providers.yaml"
    path.write_text("groq:\n  base_url: '" + "x" * 100_000 + "'\n", encoding="utf-8")
    result = vexy(tmp_path / "v.db", path, "providers")
    assert result.exit_code == 2
    assert "field 'base_url'" in result.stderr and len(result.stderr) < 1000
    path.write_text('? "' + "Bad Name " * 5_000 + '"\n: {}\n', encoding="utf-8")  # a long key, written out
    result = vexy(tmp_path / "v.db", path, "providers")
    assert result.exit_code == 2
    assert "provider name 'Bad Name" in result.stderr and len(result.stderr) < 1000
    path.write_text("x" * (2 * 1024 * 1024), encoding="utf-8")
    result = vexy(tmp_path / "v.db", path, "providers")
    assert result.exit_code == 2 and "vexy reads at most 1,048,576" in result.stderr


# --------------------------------------------------------------------------- files


@pytest.fixture
def exported(providers, server, tmp_path):
    """A fetched catalog and a folder of the user's dotfiles (real files, linked from a config folder)."""
    providers_file, db_path = providers
    assert vexy(db_path, providers_file, "fetch", "groq", "openai").exit_code == 0
    dotfiles, config = tmp_path / "dotfiles", tmp_path / "config"
    dotfiles.mkdir()
    config.mkdir()
    return db_path, providers_file, dotfiles, config


def test_merge_into_a_symlink_writes_through_it_and_keeps_the_link(exported):
    db_path, providers_file, dotfiles, config = exported
    real = dotfiles / "aichat.yaml"
    real.write_text("# mine\nmodel: openai:gpt-4o\nclients: []\n", encoding="utf-8")
    link = config / "config.yaml"
    link.symlink_to(real)
    result = vexy(db_path, providers_file, "export", "aichat", "--provider", "groq", "--merge", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == real  # still the user's link
    assert "# mine" in real.read_text() and "groq" in real.read_text()
    assert (dotfiles / "aichat.yaml.bak").read_text().startswith("# mine")
    # -o onto a link to vexy's own file: written through too.
    own = dotfiles / "llm.yaml"
    target = config / "extra-openai-models.yaml"
    assert vexy(db_path, providers_file, "export", "llm", "-o", str(own)).exit_code == 0
    target.symlink_to(own)
    again = vexy(db_path, providers_file, "export", "llm", "--provider", "groq", "-o", str(target), "--force")
    assert again.exit_code == 0, again.output
    assert target.is_symlink() and "groq" in own.read_text()


def test_a_symlink_to_nothing_is_refused(exported):
    db_path, providers_file, dotfiles, config = exported
    link = config / "config.yaml"
    link.symlink_to(dotfiles / "gone.yaml")
    result = vexy(db_path, providers_file, "export", "aichat", "-o", str(link))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "is a symbolic link to" in result.stderr and "which does not exist" in result.stderr
    assert link.is_symlink() and not (dotfiles / "gone.yaml").exists()


def _mode_after_export(exported, name: str, *args: str) -> int:
    """Export aichat over an existing world-readable file ``name`` (with ``args``); its mode after."""
    db_path, providers_file, _, config = exported
    target = config / name
    target.write_text("old\n", encoding="utf-8")
    target.chmod(0o644)
    result = vexy(db_path, providers_file, "export", "aichat", *args, "-o", str(target), "--force")
    assert result.exit_code == 0, result.output
    return target.stat().st_mode & 0o777


def test_a_literal_secret_is_written_readable_by_its_owner_only(exported):
    source = exported[2] / "aichat.yaml"
    source.write_text("model: openai:gpt-4o\napi_key: my-literal-key-0123456789\nclients: []\n", encoding="utf-8")
    source.chmod(0o600)
    assert _mode_after_export(exported, "aichat.yaml", "--merge", str(source)) == 0o600
    assert "my-literal-key-0123456789" in (exported[3] / "aichat.yaml").read_text()
    # A key written into a world-readable file the merge reads: what holds it is private.
    source.chmod(0o644)
    assert _mode_after_export(exported, "other.yaml", "--merge", str(source)) == 0o600
    # Without a secret in it, an existing file keeps its mode.
    assert _mode_after_export(exported, "plain.yaml") == 0o644


def test_merge_refuses_a_file_past_the_documented_size(exported):
    db_path, providers_file, dotfiles, _ = exported
    huge = dotfiles / "config.yaml"
    huge.write_text("clients:\n" + "  - {type: openai, name: c}\n" * 120_000, encoding="utf-8")  # ~3.3 MB
    before = huge.read_bytes()
    result = vexy(db_path, providers_file, "export", "aichat", "--merge", str(huge))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "--merge reads files of at most 2,097,152" in result.stderr
    assert huge.read_bytes() == before
