"""Fault injection on the loopback providers: retries, rate limits, hostile answers, credentials."""

from __future__ import annotations

import json
import socket
import sqlite3
import time
from email.utils import formatdate

import anyio
import pytest
from click.testing import CliRunner
from conftest import KEYS, answer
from fake_providers import FakeProviders, Route

from vexy_catalog import ModelCatalog, ModelFetcher, ProviderConfig, ProviderKind, mask_sensitive_data
from vexy_catalog.cli import cli
from vexy_catalog.fetch import parse_retry_after
from vexy_catalog.ratelimit import RateLimiter

GOOD = {"data": [{"id": "m1"}, {"id": "m2"}]}


def provider(server: FakeProviders, name: str, **kwargs) -> ProviderConfig:
    return ProviderConfig(
        name=name, kind=ProviderKind(server.routes[name].kind), base_url=server.base_url(name), **kwargs
    )


def fetch(p: ProviderConfig, **kwargs):
    return anyio.run(ModelFetcher(**kwargs).fetch, p)


def test_429_with_retry_after_is_waited_for_then_ok(server):
    server.set_sequence("p", [Route(status=429, headers={"Retry-After": "1"}), Route(body=GOOD)])
    started = time.monotonic()
    result = fetch(provider(server, "p"))
    assert result.status == "ok"
    assert len(server.seen("p")) == 2
    assert time.monotonic() - started >= 0.95  # the server's Retry-After, not the tiny test backoff


def test_503_then_ok(server):
    server.set_sequence("p", [Route(status=503), Route(status=502), Route(body=GOOD)])
    result = fetch(provider(server, "p"))
    assert result.status == "ok" and [i for i, _ in result.records] == ["m1", "m2"]
    assert len(server.seen("p")) == 3


def test_retries_give_up_and_say_how_often(server):
    server.set("p", Route(status=500, raw=b"boom"))
    result = fetch(provider(server, "p"), retries=2)
    assert result.status == "failed"
    assert result.error.startswith(f"HTTP 500 Internal Server Error from {server.base_url('p')}/models: boom")
    assert result.error.endswith("(after 3 attempts)")
    assert len(server.seen("p")) == 3


@pytest.mark.parametrize("status", [400, 401, 403, 404, 422])
def test_client_errors_are_not_retried(server, status):
    server.set("p", Route(status=status))
    result = fetch(provider(server, "p"))
    assert result.status == "failed" and result.http_status == status
    assert len(server.seen("p")) == 1


def test_a_hanging_server_times_out_on_every_attempt(server):
    server.set("p", Route(body=GOOD, delay=1.5))
    result = fetch(provider(server, "p"), timeout=0.2, retries=1)
    assert result.status == "failed"
    assert "timed out" in result.error and "(after 2 attempts)" in result.error
    assert server.base_url("p") in result.error


def test_a_trickling_server_hits_the_deadline(server):
    body = json.dumps({"data": [{"id": f"m{i}"} for i in range(200)]}).encode()
    server.set("p", Route(raw=body, trickle=0.02))
    started = time.monotonic()
    result = fetch(provider(server, "p"), timeout=1, deadline=0.6)
    assert result.status == "failed"
    assert "no complete answer within 0.6s" in result.error
    assert time.monotonic() - started < 3


def test_connection_reset_is_retried(server):
    server.set_sequence("p", [Route(reset=True), Route(body=GOOD)])
    result = fetch(provider(server, "p"))
    assert result.status == "ok"
    assert len(server.seen("p")) == 2


def test_connection_refused_fails_cleanly():
    p = ProviderConfig(name="gone", base_url="http://127.0.0.1:9/v1")
    result = fetch(p, retries=1)
    assert result.status == "failed"
    assert "connection failed" in result.error and "http://127.0.0.1:9/v1/models" in result.error


@pytest.mark.parametrize("errno", [socket.EAI_NONAME, socket.EAI_AGAIN], ids=["unknown-name", "resolver-down"])
def test_a_name_that_does_not_resolve_is_asked_once_more_not_at_length(monkeypatch, errno):
    # Offline: the resolver answers at once that it cannot. The resolver is the one part
    # replaced here (no test may send a DNS query); everything above it is real.
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else host  # asyncio passes IDNA bytes
        if name == "models.offline.test":
            asked.append(name)
            raise socket.gaierror(errno, "Temporary failure in name resolution")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    p = ProviderConfig(name="far", base_url="https://models.offline.test/v1")
    result = fetch(p, retries=3)
    assert result.status == "failed"
    assert "connection failed" in result.error and "(after 2 attempts)" in result.error
    assert asked == ["models.offline.test"] * 2


def test_a_huge_body_without_content_length_is_cut_off_while_streaming(server):
    body = json.dumps({"data": [{"id": "x" * 100} for _ in range(20_000)]}).encode()
    server.set("p", Route(raw=body, no_length=True))
    result = fetch(provider(server, "p"), max_bytes=100_000)
    assert result.status == "failed" and "passed the 100,000-byte limit" in result.error


@pytest.mark.parametrize(
    "value,expected",
    [
        ("3", 3.0),
        ("0", 0.0),
        (formatdate(1_700_000_030, usegmt=True), 30.0),
        (formatdate(1_699_999_000, usegmt=True), 0.0),  # a date in the past: no wait
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_seconds_or_http_date(value, expected):
    assert parse_retry_after(value, now=1_700_000_000) == expected


def test_every_attempt_is_visible_with_verbose(providers, server):
    providers_file, db_path = providers
    server.set_sequence("openrouter", [Route(status=503), Route(status=429), Route(body=answer("openrouter"))])
    result = CliRunner().invoke(
        cli, ["--db", str(db_path), "--providers-file", str(providers_file), "fetch", "-v", "openrouter"]
    )
    assert result.exit_code == 0, result.output
    attempts = [line for line in result.stderr.splitlines() if ": attempt " in line]
    assert len(attempts) == 2
    assert attempts[0].strip().startswith("openrouter: attempt 1 of 4 failed: HTTP 503")
    assert attempts[1].strip().startswith("openrouter: attempt 2 of 4 failed: HTTP 429")


def test_host_concurrency_cap(server):
    names = [f"p{i}" for i in range(4)]
    for name in names:
        server.set(name, Route(body=GOOD, delay=0.15))
    providers = [provider(server, n, max_concurrent=1) for n in names]
    results = anyio.run(ModelFetcher(concurrency=8).fetch_all, providers)
    assert all(r.status == "ok" for r in results)
    assert server.max_in_flight == 1  # all four share one host: 127.0.0.1:port


def test_host_minimum_interval(server):
    names = [f"p{i}" for i in range(3)]
    for name in names:
        server.set(name, Route(body=GOOD))
    # Gaps are read where the server receives each request, which a loaded machine delays unevenly:
    # 0.5 s apart, at least 0.3 s apart on arrival.
    providers = [provider(server, n, min_interval=0.5) for n in names]
    anyio.run(ModelFetcher(concurrency=8).fetch_all, providers)
    seen = sorted(server.requests, key=lambda r: r.at)
    gaps = [b.at - a.at for a, b in zip(seen, seen[1:], strict=False)]
    assert len(gaps) == 2 and min(gaps) >= 0.3


def test_rate_limiter_seed_api(server):
    limiter = RateLimiter()
    server.set("p", Route(body=GOOD))
    p = provider(server, "p", max_concurrent=1, min_interval=60)
    assert limiter.is_allowed("p")  # unknown yet: nothing holds it back
    anyio.run(ModelFetcher(rate_limiter=limiter).fetch, p)
    assert not limiter.is_allowed("p")  # a minute must pass between requests to this host
    limiter.record_request("p", True)
    assert limiter._state("p").successes == 2 and limiter._state("p").failures == 0


def test_a_failed_fetch_never_touches_models(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["openrouter"])

    def snapshot():
        conn = sqlite3.connect(db_path)
        try:
            return conn.execute("select * from models order by provider, model_id").fetchall()
        finally:
            conn.close()

    before = snapshot()
    for route in [
        Route(raw=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"),
        Route(raw=b'{"data": [{"id": "a"}, {"id": "b"'),
        Route(raw=b"\xff\xfe\x00garbage"),
        Route(raw=b'{"data": [{"id": "a", "context_length": NaN}]}'),
        Route(raw=b"[" * 50_000 + b"]" * 50_000),
        Route(body={"error": {"message": "Rate limit exceeded"}}),
        Route(body={"data": "not a list"}),
    ]:
        server.set("openrouter", route)
        summary = catalog.fetch(["openrouter"], retries=0)
        assert summary.fetches[0]["status"] == "failed", route
        assert snapshot() == before
        assert len(summary.fetches[0]["error"]) < 500


def test_credentials_go_only_to_the_providers_origin(providers, server, monkeypatch):
    providers_file, db_path = providers
    with FakeProviders() as thief:
        thief.set("steal", Route(body={"data": [{"id": "stolen-model"}]}))
        # anthropic answers with a redirect to another origin, which records what it receives
        server.set("anthropic", Route(kind="anthropic", redirect=thief.base_url("steal") + "/models"))
        server.set("openai", Route(redirect=thief.base_url("steal") + "/models"))
        result = CliRunner().invoke(
            cli, ["--db", str(db_path), "--providers-file", str(providers_file), "fetch", "-v", "anthropic", "openai"]
        )
        assert result.exit_code == 1
        assert thief.requests == []  # nothing at all reached the other origin
        assert "redirect" in result.stderr and "another origin" in result.stderr
    conn = sqlite3.connect(db_path)
    assert conn.execute("select count(*) from models where model_id = 'stolen-model'").fetchone()[0] == 0
    dump = "\n".join(conn.iterdump())
    for key in KEYS.values():
        assert key not in result.output
        assert key not in dump


def test_keys_are_masked_in_errors_the_server_echoes(providers, server):
    providers_file, db_path = providers
    # A provider that echoes the Authorization header back in its error page.
    server.set("openai", Route(status=401, raw=f"bad token Bearer {KEYS['openai']} for sk-proj-other123456".encode()))
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["openai"])
    error = summary.fetches[0]["error"]
    assert KEYS["openai"] not in error and "sk-proj-other123456" not in error
    assert "HTTP 401" in error and "OPENAI_API_KEY" in error
    stored = sqlite3.connect(db_path).execute("select last_error from providers where name = 'openai'").fetchone()[0]
    assert KEYS["openai"] not in stored


@pytest.mark.parametrize(
    "text,hidden",
    [
        ("API key: sk-1234567890abcdef", "sk-1234567890abcdef"),
        ("x-api-key: sk-ant-api03-abcdefghijkl", "sk-ant-api03-abcdefghijkl"),
        ("groq said gsk_abcdefghijklmnop", "gsk_abcdefghijklmnop"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", "eyJhbGciOiJIUzI1NiJ9.e30.x"),
        ("https://user:hunter2@example.com/v1", "hunter2"),
        ("https://example.com/v1?key=AIzaSyabcdefg123", "AIzaSyabcdefg123"),
    ],
)
def test_mask_sensitive_data(text, hidden):
    masked = mask_sensitive_data(text)
    assert hidden not in masked and "***" in masked


def test_mask_sensitive_data_masks_every_set_key_variable(monkeypatch):
    monkeypatch.setenv("FRIENDLI_TOKEN", "plainlookingvalue42")
    monkeypatch.setenv("MY_CUSTOM_HEADER_VALUE", "not-a-secret-name")
    text = "token plainlookingvalue42 and not-a-secret-name"
    assert mask_sensitive_data(text) == "token *** and not-a-secret-name"
    assert mask_sensitive_data(text, secret_names=["MY_CUSTOM_HEADER_VALUE"]) == "token *** and ***"


def test_hostile_records_are_stored_safely(providers, server):
    providers_file, db_path = providers
    hostile = [
        {"id": "'; drop table models; --"},
        {"id": "x" * 5000},
        {"id": "nul\u0000byte"},
        {"id": "emoji-\U0001f916", "context_length": True, "pricing": {"prompt": "NaN"}},
        {"id": 12345},
        {"id": "deep", "a": json.loads("[" * 200 + "]" * 200)},
        {"id": ["not", "a", "string"]},
    ]
    server.set("openrouter", Route(body={"data": hostile}))
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["openrouter"])
    assert summary.ok
    conn = sqlite3.connect(db_path)
    ids = sorted(r[0] for r in conn.execute("select model_id from models where provider = 'openrouter'"))
    assert ids == sorted(["'; drop table models; --", "x" * 5000, "nul\u0000byte", "emoji-\U0001f916", "12345", "deep"])
    emoji = conn.execute("select context_window, input_price from models where model_id = ?", ["emoji-\U0001f916"])
    assert emoji.fetchone() == (None, None)  # a bool is not a context window; "NaN" is not a price
    assert conn.execute("pragma integrity_check").fetchone()[0] == "ok"


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "a: &a [1,1,1,1]\nb: &b [*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b]\ngroq: [*c,*c,*c,*c]\n",
            "provider 'a': expected a mapping of fields",
        ),
        ("groq: !!python/object/apply:os.system ['echo pwned']\n", "not valid YAML"),
        ('groq:\n  headers: {X-Key: "a\\nInjected: b"}\n', "field 'headers'"),
        ("groq:\n  max_concurrent: 0\n", "field 'max_concurrent'"),
        ("groq:\n  min_interval: -1\n", "field 'min_interval'"),
        ("groq:\n  base_url: 'http://'\n", "field 'base_url'"),
    ],
)
def test_hostile_providers_files(tmp_path, text, expected):
    path = tmp_path / "p.yaml"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "--providers-file", str(path), "fetch"])
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "v.db").exists()


def test_binary_providers_file(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_bytes(b"\x00\xff\xfe\x89PNG garbage")
    result = CliRunner().invoke(cli, ["--providers-file", str(path), "providers"])
    assert result.exit_code == 2
    assert str(path) in result.stderr and "Traceback" not in result.output
