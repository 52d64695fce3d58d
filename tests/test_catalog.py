"""Fetching into a real SQLite file: rows, hashes, history, removal and failure."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest
from conftest import KEYS, answer
from fake_providers import Route

from vexy_catalog import ModelCatalog, UnknownProviderError, canonical_json, content_hash
from vexy_catalog.providers import builtin_providers

NAMES = ["openai", "groq", "mistral", "anthropic", "openrouter", "litellm", "llm7"]


def rows(db_path, sql, params=()):
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute(sql, params)]
    finally:
        conn.close()


def models(db_path, provider):
    return {r["model_id"]: r for r in rows(db_path, "select * from models where provider = ?", [provider])}


def test_hash_contract_is_sha256_of_sorted_compact_utf8_json():
    value = {"b": [1, 2.5, None], "a": "é✓", "c": {"z": True, "y": "x"}}
    text = '{"a":"é✓","b":[1,2.5,null],"c":{"y":"x","z":true}}'
    assert canonical_json(value) == text
    assert content_hash(value) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    # Key order in the source never changes the hash.
    assert content_hash({"c": value["c"], "a": "é✓", "b": [1, 2.5, None]}) == content_hash(value)


def test_fetch_stores_every_distinct_id_with_raw_and_hash(providers):
    providers_file, db_path = providers
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(NAMES)
    assert summary.ok, summary.failed
    expected = {
        "openai": [r["id"] for r in answer("openai")["data"]],
        "groq": [r["id"] for r in answer("groq")["data"]],
        "mistral": ["codestral-latest", "mistral-large-latest", "voxtral-mini-2507"],
        "anthropic": [r["id"] for r in answer("anthropic")["data"]],
        "openrouter": [r["id"] for r in answer("openrouter")["data"]],
        "litellm": [k for k in answer("litellm") if k != "sample_spec"],
        "llm7": [r["id"] for r in answer("llm7")],
    }
    for name, ids in expected.items():
        stored = models(db_path, name)
        assert sorted(stored) == sorted(ids), name
        for row in stored.values():
            raw = json.loads(row["raw"])
            digest = hashlib.sha256(
                json.dumps(raw, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
            ).hexdigest()
            assert row["content_hash"] == digest
            assert row["removed_at"] is None
            assert row["first_seen"] == row["updated_at"]
    # Raw is the record as sent: litellm's value, without an injected id.
    assert json.loads(models(db_path, "litellm")["gpt-4o"]["raw"]) == answer("litellm")["gpt-4o"]
    # Of a repeated id, the first record is kept.
    assert json.loads(models(db_path, "mistral")["voxtral-mini-2507"]["raw"])["max_context_length"] == 32768
    assert models(db_path, "anthropic")["claude-opus-4-1-20250805"]["name"] == "Claude Opus 4.1"


def test_payloads_hold_each_answer_once_under_its_hash(providers):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    catalog.fetch(NAMES)
    fetches = rows(db_path, "select provider, payload_hash from fetches where status = 'ok'")
    assert len(fetches) == len(NAMES)
    payloads = {r["hash"]: r["body"] for r in rows(db_path, "select * from payloads")}
    assert len(payloads) == len(NAMES)
    for f in fetches:
        body = payloads[f["payload_hash"]]
        assert hashlib.sha256(body.encode("utf-8")).hexdigest() == f["payload_hash"]
    by_provider = {f["provider"]: json.loads(payloads[f["payload_hash"]]) for f in fetches}
    assert by_provider["groq"] == answer("groq")
    assert by_provider["litellm"] == answer("litellm")  # sample_spec included: the whole answer
    assert by_provider["anthropic"] == {"data": answer("anthropic")["data"]}  # every page merged


def test_unchanged_refetch_changes_no_model_row_and_adds_fetch_rows(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    before = rows(db_path, "select rowid, * from models order by provider, model_id")
    second = catalog.fetch(NAMES)
    after = rows(db_path, "select rowid, * from models order by provider, model_id")
    assert after == before
    statuses = {f["provider"]: (f["status"], f["http_status"]) for f in second.fetches}
    assert statuses["groq"] == ("unchanged", 304)  # ETag
    assert statuses["mistral"] == ("unchanged", 304)  # Last-Modified
    assert statuses["openai"] == ("unchanged", 200)  # same payload hash
    assert all(f["added"] == f["removed"] == f["changed"] == 0 for f in second.fetches)
    history = rows(db_path, "select provider, status from fetches order by id")
    assert len(history) == 2 * len(NAMES)
    assert server.seen("groq")[1].headers["if-none-match"]
    providers_rows = {r["name"]: r for r in rows(db_path, "select * from providers")}
    assert providers_rows["groq"]["last_status"] == "unchanged"
    assert providers_rows["groq"]["model_count"] == 4


def test_removal_change_and_return(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    original = answer("openrouter")
    catalog.fetch(["openrouter"])
    first = models(db_path, "openrouter")
    gone_id, kept_id, edited_id = (r["id"] for r in original["data"])

    edited = json.loads(json.dumps(original))
    edited["data"] = [r for r in edited["data"] if r["id"] != gone_id]
    edited["data"][-1]["pricing"]["prompt"] = "0.000009"
    server.routes["openrouter"].body = edited
    summary = catalog.fetch(["openrouter"])
    (f,) = summary.fetches
    assert (f["status"], f["added"], f["removed"], f["changed"], f["model_count"]) == ("ok", 0, 1, 1, 2)
    second = models(db_path, "openrouter")
    assert second[gone_id]["removed_at"] is not None
    assert second[gone_id]["raw"] == first[gone_id]["raw"]  # removed, not deleted
    assert second[kept_id] == first[kept_id]
    assert second[edited_id]["content_hash"] != first[edited_id]["content_hash"]
    assert second[edited_id]["first_seen"] == first[edited_id]["first_seen"]
    assert second[edited_id]["updated_at"] > first[edited_id]["updated_at"]

    server.routes["openrouter"].body = original
    summary = catalog.fetch(["openrouter"])
    (f,) = summary.fetches
    assert (f["added"], f["removed"], f["changed"], f["model_count"]) == (1, 0, 1, 3)
    third = models(db_path, "openrouter")
    assert third[gone_id]["removed_at"] is None
    assert third[gone_id]["first_seen"] == first[gone_id]["first_seen"]
    assert third[edited_id]["content_hash"] == first[edited_id]["content_hash"]


def test_failed_fetch_keeps_the_last_good_data(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(["groq"])
    before_models = models(db_path, "groq")
    before_provider = rows(db_path, "select * from providers where name = 'groq'")[0]
    server.routes["groq"] = Route(status=500, raw=b"upstream exploded")
    summary = catalog.fetch(["groq"])
    assert not summary.ok and "HTTP 500" in summary.failed["groq"]
    assert models(db_path, "groq") == before_models
    after_provider = rows(db_path, "select * from providers where name = 'groq'")[0]
    assert after_provider["last_status"] == "failed"
    assert "upstream exploded" in after_provider["last_error"]
    assert after_provider["last_success_at"] == before_provider["last_success_at"]
    assert after_provider["model_count"] == before_provider["model_count"] == 4
    assert catalog.get_failed_providers() == {"groq": after_provider["last_error"]}
    # An answer that is JSON but not a list fails too, and touches nothing.
    server.routes["groq"] = Route(body={"error": {"message": "rate limited"}})
    catalog.fetch(["groq"])
    assert models(db_path, "groq") == before_models
    # --failed retries just that one; a good answer clears the failure.
    server.routes["groq"] = Route(body=answer("groq"), key=KEYS["groq"])
    retry = catalog.fetch(failed=True)
    assert [f["provider"] for f in retry.fetches] == ["groq"]
    assert catalog.get_failed_providers() == {}


def test_providers_without_keys_are_skipped_and_recorded(providers, server, monkeypatch):
    providers_file, db_path = providers
    monkeypatch.delenv("GROQ_API_KEY")
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["groq", "openrouter"])
    assert {f["provider"]: f["status"] for f in summary.fetches} == {"groq": "skipped", "openrouter": "ok"}
    assert server.seen("groq") == []
    assert rows(db_path, "select status, error from fetches where provider = 'groq'") == [
        {"status": "skipped", "error": "GROQ_API_KEY is not set"}
    ]
    assert models(db_path, "groq") == {}


def test_all_providers_by_default(providers, server):
    providers_file, db_path = providers
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch()
    statuses = {f["provider"]: f["status"] for f in summary.fetches}
    assert len(statuses) == len(builtin_providers())
    public = {"pollinations", "ovhcloud", "modelsdev"}
    assert {n for n, s in statuses.items() if s == "ok"} == {*NAMES, *public}
    # Only our loopback server was asked; every other provider had no key (or, for ollama, no
    # server running) and was skipped.
    assert {n for n, s in statuses.items() if s == "skipped"} == set(statuses) - {*NAMES, *public}
    assert len(rows(db_path, "select * from providers")) == len(builtin_providers())


def test_max_age_skips_recent_successes(providers, server):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    server.routes["mistral"] = Route(status=500)
    catalog.fetch(["groq", "openrouter", "mistral"])
    summary = catalog.fetch(["groq", "openrouter", "mistral"], max_age="1h")
    assert summary.fresh == ["groq", "openrouter"]
    assert [f["provider"] for f in summary.fetches] == ["mistral"]  # it never succeeded
    assert len(server.seen("groq")) == 1
    assert [f["provider"] for f in catalog.fetch(["groq"], max_age="0s").fetches] == ["groq"]


def test_unknown_provider_suggests_close_names(tmp_path):
    with pytest.raises(UnknownProviderError, match="Unknown provider 'grok' - did you mean 'groq'"):
        ModelCatalog(db_path=tmp_path / "x.db").fetch(["grok"])
    assert not (tmp_path / "x.db").exists()


def test_keys_never_reach_the_database(providers):
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    catalog.fetch(NAMES)
    catalog.fetch(NAMES)
    data = b"".join(p.read_bytes() for p in db_path.parent.glob("vexy.db*"))
    for key in KEYS.values():
        assert key.encode() not in data


def test_storage_root_and_env_choose_the_database(tmp_path, monkeypatch):
    assert ModelCatalog(storage_root=tmp_path / "store").db_path == tmp_path / "store" / "vexy.db"
    monkeypatch.setenv("VEXY_DB", str(tmp_path / "env.db"))
    assert ModelCatalog().db_path == tmp_path / "env.db"
    assert ModelCatalog(db_path=tmp_path / "explicit.db").db_path == tmp_path / "explicit.db"


def test_afetch_from_async_code(providers):
    import anyio

    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)

    async def main():
        return await catalog.afetch(["llm7"])

    summary = anyio.run(main)
    assert summary.fetches[0]["model_count"] == 4
