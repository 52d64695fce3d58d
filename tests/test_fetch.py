"""ModelFetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json

import anyio
import pytest
from conftest import answer
from fake_providers import FakeProviders, Route

from vexy_catalog import FetchError, ModelFetcher, ProviderConfig, ProviderKind, __version__
from vexy_catalog.fetch import extract_records


def provider(server: FakeProviders, name: str, **kwargs) -> ProviderConfig:
    kind = ProviderKind(server.routes[name].kind)
    return ProviderConfig(name=name, kind=kind, base_url=server.base_url(name), **kwargs)


def fetch(fetcher: ModelFetcher, p: ProviderConfig, validators=None):
    return anyio.run(fetcher.fetch, p, validators)


@pytest.mark.parametrize(
    "name,kind,ids",
    [
        # {"data": [...]}
        ("groq", "openai", ["allam-2-7b", "deepseek-r1-distill-llama-70b", "gemma2-9b-it", "groq/compound"]),
        # a bare list
        ("llm7", "openai", ["bidara", "codestral-2405", "codestral-2501", "deepseek-r1"]),
        # {"models": [...]}
        ("ollama", "openai", ["llama3.2:latest", "qwen2.5-coder:7b"]),
        # an object keyed by model id, without litellm's sample_spec
        (
            "litellm",
            "url",
            ["gpt-4o", "groq/llama-3.3-70b-versatile", "claude-3-5-haiku-20241022", "text-embedding-3-small"],
        ),
    ],
)
def test_every_answer_shape(server, name, kind, ids):
    server.set(name, Route(body=answer(name), kind=kind))
    result = fetch(ModelFetcher(), provider(server, name))
    assert result.status == "ok", result.error
    assert [model_id for model_id, _ in result.records] == ids
    assert result.http_status == 200
    assert result.bytes == len(json.dumps(answer(name)).encode())


def test_keyed_records_are_stored_as_sent():
    records, unidentified, duplicates = extract_records(answer("litellm"))
    raw = dict(records)["gpt-4o"]
    assert raw == answer("litellm")["gpt-4o"]
    assert "id" not in raw
    assert (unidentified, duplicates) == (0, 0)


def test_repeated_ids_keep_the_first_record():
    records, _, duplicates = extract_records(answer("mistral"))
    ids = [i for i, _ in records]
    assert ids == ["codestral-latest", "mistral-large-latest", "voxtral-mini-2507"]
    assert duplicates == 1
    assert dict(records)["voxtral-mini-2507"]["name"] == "voxtral-mini-2507"  # not the transcribe twin


@pytest.mark.parametrize(
    "payload,message",
    [
        ({"error": {"message": "quota"}}, "the answer is an error"),
        ({"object": "list", "data": {"id": "x"}}, "not a model list"),
        ("just a string", "not a model list (got a JSON str)"),
        (42, "not a model list"),
    ],
)
def test_unknown_shapes_are_errors(payload, message):
    with pytest.raises(FetchError, match=message.replace("(", r"\(").replace(")", r"\)")):
        extract_records(payload)


def test_records_without_ids_are_counted_not_stored():
    records, unidentified, _ = extract_records({"data": [{"id": "a"}, {"object": "model"}, "b", None]})
    assert [i for i, _ in records] == ["a", "b"]
    assert unidentified == 2


def test_openai_kind_sends_bearer_and_user_agent(server, monkeypatch):
    server.set("groq", Route(body=answer("groq"), key="gsk_rightkey123456"))
    monkeypatch.setenv("GROQ_API_KEY", "gsk_rightkey123456")
    result = fetch(ModelFetcher(), provider(server, "groq", api_key_env="GROQ_API_KEY"))
    assert result.status == "ok"
    (seen,) = server.seen("groq")
    assert seen.headers["authorization"] == "Bearer gsk_rightkey123456"
    assert seen.headers["user-agent"] == f"vexy/{__version__}"


def test_wrong_key_fails_with_the_variable_named_and_the_key_masked(server, monkeypatch):
    server.set("groq", Route(body=answer("groq"), key="gsk_rightkey123456"))
    monkeypatch.setenv("GROQ_API_KEY", "gsk_wrongkey654321")
    result = fetch(ModelFetcher(), provider(server, "groq", api_key_env="GROQ_API_KEY"))
    assert result.status == "failed"
    assert result.http_status == 401
    assert "HTTP 401" in result.error and "GROQ_API_KEY" in result.error
    assert "gsk_wrongkey654321" not in result.error
    assert result.records == []


def test_no_request_without_the_key(server):
    server.set("groq", Route(body=answer("groq")))
    result = fetch(ModelFetcher(), provider(server, "groq", api_key_env="GROQ_API_KEY"))
    assert (result.status, result.error) == ("skipped", "GROQ_API_KEY is not set")
    assert server.seen("groq") == []


def test_public_list_is_fetched_without_a_key(server):
    server.set("openrouter", Route(body=answer("openrouter")))
    p = provider(server, "openrouter", api_key_env="OPENROUTER_API_KEY", key_required=False)
    result = fetch(ModelFetcher(), p)
    assert result.status == "ok"
    assert "authorization" not in server.seen("openrouter")[0].headers


def test_anthropic_pages_with_after_id_until_has_more_is_false(server, monkeypatch):
    records = answer("anthropic")["data"]
    server.set("anthropic", Route(body=records, kind="anthropic", key="sk-ant-k123456", page_size=4))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-k123456")
    result = fetch(ModelFetcher(), provider(server, "anthropic", api_key_env="ANTHROPIC_API_KEY"))
    assert result.status == "ok", result.error
    assert [i for i, _ in result.records] == [r["id"] for r in records]
    seen = server.seen("anthropic")
    assert len(seen) == 3  # 9 records, 4 a page
    assert [s.query.get("after_id") for s in seen] == [None, [records[3]["id"]], [records[7]["id"]]]
    assert all(s.query["limit"] == ["1000"] for s in seen)
    assert all(s.headers["x-api-key"] == "sk-ant-k123456" for s in seen)
    assert all(s.headers["anthropic-version"] == "2023-06-01" for s in seen)
    assert all("authorization" not in s.headers for s in seen)
    assert result.payload == {"data": records}


def test_anthropic_paging_that_does_not_advance_fails(server, monkeypatch):
    # has_more forever with the same last_id: the server answers the same page every time.
    page = {"data": [{"id": "a"}], "has_more": True, "last_id": "a"}
    server.set("anthropic", Route(raw=json.dumps(page).encode(), kind="url"))
    p = ProviderConfig(
        name="anthropic",
        kind=ProviderKind.ANTHROPIC,
        base_url=server.origin + "/anthropic/v1",
        models_path=server.base_url("anthropic"),
    )
    result = fetch(ModelFetcher(), p)
    assert result.status == "failed"
    assert "paging does not advance" in result.error
    assert len(server.seen("anthropic")) == 2


def test_etag_makes_the_next_fetch_conditional(server):
    server.set("groq", Route(body=answer("groq"), etag=True))
    p = provider(server, "groq")
    first = fetch(ModelFetcher(), p)
    assert first.status == "ok" and first.etag
    second = fetch(ModelFetcher(), p, {"etag": first.etag})
    assert (second.status, second.http_status, second.records) == ("unchanged", 304, [])
    assert server.seen("groq")[1].headers["if-none-match"] == first.etag
    # A changed answer gets a new ETag and a full 200.
    server.routes["groq"].body = {"data": [{"id": "new"}]}
    third = fetch(ModelFetcher(), p, {"etag": first.etag})
    assert third.status == "ok" and [i for i, _ in third.records] == ["new"]


def test_last_modified_makes_the_next_fetch_conditional(server):
    server.set("mistral", Route(body=answer("mistral"), last_modified=True))
    p = provider(server, "mistral")
    first = fetch(ModelFetcher(), p)
    assert first.last_modified == FakeProviders.LAST_MODIFIED
    second = fetch(ModelFetcher(), p, {"last_modified": first.last_modified})
    assert second.status == "unchanged"
    assert server.seen("mistral")[1].headers["if-modified-since"] == FakeProviders.LAST_MODIFIED


@pytest.mark.parametrize(
    "route,message",
    [
        (Route(status=500, raw=b"<html>Internal error</html>", content_type="text/html"), "HTTP 500"),
        (Route(raw=b"<!doctype html><html><body>Login</body></html>", content_type="text/html"), "not valid JSON"),
        (Route(raw=b'{"data": [{"id": "a"},'), "not valid JSON"),
        (Route(raw=b'{"data": [{"id": "a", "x": NaN}]}'), "NaN is not valid JSON"),
        (Route(raw=b'{"data": [{"id": "\xff\xfe"}]}'), "not UTF-8"),
        (Route(raw=b"[" * 100_000 + b"]" * 100_000), "nested too deeply"),
    ],
)
def test_bad_answers_fail_with_a_short_reason(server, route, message):
    server.set("bad", route)
    result = fetch(ModelFetcher(), provider(server, "bad"))
    assert result.status == "failed"
    assert message in result.error
    assert len(result.error) < 400


def test_size_cap(server):
    server.set("huge", Route(body={"data": [{"id": f"m{i}"} for i in range(5000)]}))
    result = fetch(ModelFetcher(max_bytes=10_000), provider(server, "huge"))
    assert result.status == "failed" and "10,000-byte limit" in result.error


def test_timeout(server):
    server.set("slow", Route(body={"data": []}, delay=2))
    result = fetch(ModelFetcher(timeout=0.2), provider(server, "slow"))
    assert result.status == "failed" and "timed out" in result.error


def test_redirect_to_another_origin_is_refused_and_no_credential_leaves(server, monkeypatch):
    with FakeProviders() as elsewhere:
        elsewhere.set("steal", Route(body={"data": [{"id": "evil-model"}]}))
        server.set("anthropic", Route(redirect=elsewhere.base_url("steal") + "/models", kind="anthropic"))
        monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret123456")
        result = fetch(ModelFetcher(), provider(server, "anthropic", api_key_env="ANTHROPIC_API_KEY"))
        assert result.status == "failed"
        assert "another origin" in result.error
        assert elsewhere.requests == []
        assert result.records == []


def test_same_origin_redirect_is_followed(server):
    server.set("moved", Route(body={"data": [{"id": "a"}]}))
    server.set("old", Route(redirect=server.base_url("moved") + "/models"))
    result = fetch(ModelFetcher(), provider(server, "old"))
    assert result.status == "ok" and [i for i, _ in result.records] == ["a"]


def test_concurrency_is_bounded_and_every_provider_reported(server):
    names = [f"p{i}" for i in range(6)]
    for name in names:
        server.set(name, Route(body={"data": [{"id": name}]}, delay=0.2))
    server.set("broken", Route(status=503))
    providers = [provider(server, n) for n in [*names, "broken"]]
    results = anyio.run(ModelFetcher(concurrency=2).fetch_all, providers)
    assert [r.provider for r in results] == [*names, "broken"]
    assert [r.status for r in results] == ["ok"] * 6 + ["failed"]
    assert server.max_in_flight == 2


def test_fetch_models_returns_records_and_raises_on_failure(server):
    server.set("litellm", Route(body=answer("litellm"), kind="url"))
    models = anyio.run(ModelFetcher().fetch_models, provider(server, "litellm"))
    assert models[0]["id"] == "gpt-4o"
    assert models[0]["litellm_provider"] == "openai"
    server.set("down", Route(status=502))
    with pytest.raises(FetchError, match="down: HTTP 502"):
        anyio.run(ModelFetcher().fetch_models, provider(server, "down"))
