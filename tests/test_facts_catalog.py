"""Facts in the catalog: fact_sources, disputes and unread_keys after a real fetch, `vexy doctor`,
`vexy stats`, models.dev as a reference, and the providers file's `facts:` map."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import answer
from facts_quality import rows
from fake_providers import Route

from vexy_catalog.cli import cli
from vexy_catalog.providers import ProvidersFileError, load_providers_file

# A gateway never seen before: its facts sit in its own places, one of them unreadable.
GATEWAY = {
    "data": [
        {
            "id": f"gw/model-{n}",
            "created": 1757327372,
            "specs": {"ctx": f"{n * 32}K", "max_output_length": 4096},
            "pricing": {"in": 0.0005 * n, "out": 0.0015 * n, "unit": "USD per 1K tokens"},
            "flags": {"supportsFunctionCalling": n % 2 == 0},
        }
        for n in (1, 2, 3)
    ]
}


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def gateway(providers, server, tmp_path):
    """The conftest providers (references included) plus the gateway, in one providers file."""
    providers_file, db_path = providers
    server.set("gateway", Route(body=GATEWAY))
    entries = yaml.safe_load(providers_file.read_text(encoding="utf-8"))
    entries["gateway"] = {"base_url": server.base_url("gateway"), "api_key_env": None}
    providers_file.write_text(yaml.safe_dump(entries), encoding="utf-8")
    base = ("--db", str(db_path), "--providers-file", str(providers_file))
    assert run(*base, "fetch").exit_code == 0
    return base, db_path, providers_file, entries


def test_facts_sources_and_disputes_are_stored(gateway):
    _, db_path, _, _ = gateway
    (model,) = rows(db_path, "select * from models where provider = 'gateway' and model_id = 'gw/model-2'")
    # The explicit unit field says per 1K tokens.
    assert (model["input_price"], model["output_price"]) == (1.0, 3.0)
    assert model["max_output_tokens"] == 4096 and model["supports_tools"] == 1
    # "64K" is stated but not read: unknown, and no reference may fill it.
    assert model["context_window"] is None
    sources = json.loads(model["sources"])
    assert sources["input_price"] == "provider" and "context_window" not in sources
    # One created for all: a placeholder, said so.
    assert model["created"] is None and "same created" in sources["_notes"]["created"]
    (price,) = rows(
        db_path,
        "select * from fact_sources where provider = 'gateway' and model_id = 'gw/model-2' and fact = 'input_price'",
    )
    assert (price["source"], price["path"], price["raw_value"], price["unit"], price["chosen"]) == (
        "provider",
        "pricing.in",
        "0.001",
        "USD per 1K tokens",
        1,
    )
    assert json.loads(price["value"]) == 1.0
    (unread,) = rows(db_path, "select * from unread_keys where provider = 'gateway'")
    assert (unread["path"], json.loads(unread["facts"]), unread["models"]) == ("specs.ctx", ["context_window"], 3)
    assert json.loads(unread["example"]) == "32K"
    placeholder = rows(db_path, "select * from disputes where provider = 'gateway' and kind = 'placeholder'")
    assert {(d["model_id"], d["fact"]) for d in placeholder} == {(f"gw/model-{n}", "created") for n in (1, 2, 3)}


def test_reference_records_are_kept_with_their_host(gateway):
    _, db_path, _, _ = gateway
    got = rows(
        db_path,
        "select source, host, level, same_host, chosen, reason, value from fact_sources "
        "where provider = 'groq' and model_id = 'groq/compound' and fact = 'context_window' order by source",
    )
    by_source = {r["source"]: r for r in got}
    assert by_source["provider"]["chosen"] == 1
    own = by_source["modelsdev:groq/groq/compound"]
    assert (own["host"], own["level"], own["same_host"], own["chosen"]) == ("groq", "qualified", 1, 0)
    assert own["reason"] == "the provider states this fact"
    # groq states no tools flag for it: models.dev's record of groq's own deployment does.
    (model,) = rows(
        db_path, "select supports_tools, sources from models where provider = 'groq' and model_id = 'groq/compound'"
    )
    assert model["supports_tools"] == 0
    assert json.loads(model["sources"])["supports_tools"] == "modelsdev:groq/groq/compound"


def test_doctor_names_what_it_could_not_read(gateway):
    base, _, _, _ = gateway
    result = run(*base, "doctor", "gateway")
    assert result.exit_code == 0, result.output
    assert 'specs.ctx (context_window) on 3 model(s), e.g. "32K"' in result.output
    assert "placeholder dropped: created on 3 model(s)" in result.output
    data = json.loads(run(*base, "doctor", "gateway", "--json").output)
    assert data[0]["provider"] == "gateway" and data[0]["problems"] is False
    assert data[0]["unread"][0]["example_model"] == "gw/model-1"
    assert run(*base, "doctor", "no-such-provider").exit_code == 2


def test_doctor_names_an_answer_it_could_not_read_at_all(gateway, server):
    base, _, _, _ = gateway
    server.set("gateway", Route(body={"object": "list", "result": {"total": 3, "pages": 1}}))
    assert run(*base, "fetch", "gateway").exit_code == 1
    result = run(*base, "doctor")  # found without being named: its answer was not read
    assert result.exit_code == 1
    assert "gateway (3 models): PROBLEMS" in result.output
    assert "last answer not read: the answer is not a model list" in result.output
    assert "result (an object with total, pages)" in result.output
    (report,) = [r for r in json.loads(run(*base, "doctor", "--json").output) if r["provider"] == "gateway"]
    assert report["problems"] is True and "list_path" in report["unreadable"]
    # Once the answer is read again, the doctor has nothing to say about it.
    server.set("gateway", Route(body=GATEWAY))
    assert run(*base, "fetch", "gateway").exit_code == 0
    assert json.loads(run(*base, "doctor", "gateway", "--json").output)[0]["unreadable"] is None


def test_a_suspect_unit_makes_doctor_fail_until_the_facts_map_fixes_it(gateway, server):
    base, db_path, providers_file, entries = gateway
    # The gateway now sends bare numbers whose unit nothing states and no magnitude decides.
    body = json.loads(json.dumps(GATEWAY))
    for record in body["data"]:
        del record["pricing"]["unit"]
        record["pricing"]["in"] *= 10_000_000
    server.set("gateway", Route(body=body))
    assert run(*base, "fetch", "gateway").exit_code == 0
    result = run(*base, "doctor", "gateway")
    assert result.exit_code == 1
    assert "suspect unit" in result.output
    (model,) = rows(db_path, "select input_price from models where provider = 'gateway' and model_id = 'gw/model-1'")
    assert model["input_price"] is None
    stats = {r["provider"]: r for r in json.loads(run(*base, "stats", "--json").output)}
    # Three models, each an input and an output price of no decidable unit.
    assert stats["gateway"]["disputed_facts"] == 6 and stats["gateway"]["unread_keys"] == 1
    assert stats["gateway"]["with_price"] == 0
    # The user says where the context is and what the prices are in; the answer is unchanged.
    entries["gateway"]["facts"] = {
        "context_window": "specs.max_output_length",
        "input_price": {"path": "pricing.in", "unit": "usd_per_1m_tokens"},
    }
    providers_file.write_text(yaml.safe_dump(entries), encoding="utf-8")
    assert run(*base, "fetch", "gateway").exit_code == 0
    (model,) = rows(db_path, "select * from models where provider = 'gateway' and model_id = 'gw/model-1'")
    assert model["context_window"] == 4096
    assert model["input_price"] is None  # 5,000 USD per 1M: out of bounds, disputed, not stored
    assert rows(db_path, "select facts_map from providers where name = 'gateway'")[0]["facts_map"]


def test_stats_counts_only_stored_prices(gateway):
    base, _, _, _ = gateway
    stats = {r["provider"]: r for r in json.loads(run(*base, "stats", "--json").output)}
    assert stats["gateway"]["with_price"] == 3
    assert stats["gateway"]["placeholders_dropped"] == 3
    text = run(*base, "stats").output
    assert "not stored" in text and "unread keys" in text


def test_models_dev_is_a_public_reference_of_one_row_per_model(gateway):
    base, db_path, _, _ = gateway
    listed = rows(db_path, "select * from models where provider = 'modelsdev' and removed_at is null")
    data = answer("modelsdev")
    expected = {f"{provider}/{model_id}" for provider, entry in data.items() for model_id in entry["models"]}
    # Every model of every provider of models.dev, qualified by that provider; no provider rows.
    assert {r["model_id"] for r in listed} == expected and not set(data) & {r["model_id"] for r in listed}
    (fetch,) = rows(db_path, "select shape, model_count, payload_hash from fetches where provider = 'modelsdev'")
    assert fetch["shape"] == "*.models{} (list_path from the configuration)"
    assert fetch["model_count"] == len(expected)
    # The hash contract: the payload is the whole answer, as sent.
    (payload,) = rows(db_path, "select body from payloads where hash = ?", [fetch["payload_hash"]])
    assert json.loads(payload["body"]) == data
    # Each row is the model's own record, read like any other provider's.
    (row,) = [r for r in listed if r["model_id"] == "groq/llama-3.3-70b-versatile"]
    assert json.loads(row["raw"]) == data["groq"]["models"]["llama-3.3-70b-versatile"]
    assert (row["context_window"], row["input_price"], row["supports_tools"]) == (131072, 0.59, 1)
    assert json.loads(row["sources"])["context_window"] == "provider"
    assert rows(db_path, "select * from unread_keys where provider = 'modelsdev'") == []
    status = rows(db_path, "select kind, api_key_env, last_status from providers where name = 'modelsdev'")
    assert status == [{"kind": "url", "api_key_env": None, "last_status": "ok"}]
    stats = {r["provider"]: r for r in json.loads(run(*base, "stats", "--json").output)}
    assert stats["modelsdev"]["models"] == len(expected)
    assert stats["modelsdev"]["with_context"] == len(expected)


def test_every_modelsdev_source_names_a_stored_row(gateway):
    _, db_path, _, _ = gateway
    named = {
        value.partition(":")[2]
        for (sources,) in [tuple(r.values()) for r in rows(db_path, "select sources from models")]
        for value in json.loads(sources or "{}").values()
        if isinstance(value, str) and value.startswith("modelsdev:")
    }
    named |= {
        r["source"].partition(":")[2]
        for r in rows(db_path, "select source from fact_sources where source like 'modelsdev:%'")
    }
    stored = {r["model_id"] for r in rows(db_path, "select model_id from models where provider = 'modelsdev'")}
    assert named and named <= stored


def test_a_catalog_holding_modelsdev_providers_as_rows_is_read_again(providers, server):
    """A catalog from before models.dev was read through its providers holds one fact-less row
    per provider of models.dev; the next fetch reads the same (even unmodified) answer again."""
    providers_file, db_path = providers
    server.set("modelsdev", Route(body=answer("modelsdev"), kind="url", etag=True))
    entries = yaml.safe_load(providers_file.read_text(encoding="utf-8"))
    old = {**entries, "modelsdev": {**entries["modelsdev"], "list_path": ""}}
    base = ("--db", str(db_path), "--providers-file", str(providers_file))
    providers_file.write_text(yaml.safe_dump(old), encoding="utf-8")
    assert run(*base, "fetch").exit_code == 0
    conn = sqlite3.connect(db_path)  # the shape the earlier version recorded
    conn.execute("update fetches set shape = '{}' where provider = 'modelsdev'")
    conn.commit()
    conn.close()
    assert {r["model_id"] for r in rows(db_path, "select model_id from models where provider = 'modelsdev'")} == set(
        answer("modelsdev")
    )
    providers_file.write_text(yaml.safe_dump(entries), encoding="utf-8")
    assert run(*base, "fetch").exit_code == 0
    listed = rows(db_path, "select model_id from models where provider = 'modelsdev' and removed_at is null")
    assert len(listed) == 20 and all("/" in r["model_id"] for r in listed)
    gone = rows(db_path, "select model_id from models where provider = 'modelsdev' and removed_at is not null")
    assert {r["model_id"] for r in gone} == set(answer("modelsdev"))
    (groq,) = rows(db_path, "select sources from models where provider = 'groq' and model_id = 'groq/compound'")
    assert json.loads(groq["sources"])["supports_tools"] == "modelsdev:groq/groq/compound"
    # The answer never changed: one payload for both readings.
    hashes = rows(db_path, "select distinct payload_hash from fetches where provider = 'modelsdev'")
    assert len(hashes) == 1


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ("limits.context", "expected a mapping of fact to path"),
        ({"context": "limits.context"}, "unknown fact 'context'"),
        ({"context_window": "limits..context"}, "is not a dotted path"),
        ({"context_window": {"path": "a.b", "unit": "usd_per_token"}}, "unit 'usd_per_token' is not understood"),
        ({"input_price": {"path": "a.b", "unit": "per banana"}}, "unit 'per banana' is not understood"),
        ({"input_price": {"path": "a.b", "scale": 2}}, "expected a path or {path: ..., unit: ...}"),
    ],
)
def test_a_broken_facts_map_names_file_provider_and_fact(tmp_path, facts, message):
    path = tmp_path / "providers.yaml"
    path.write_text(yaml.safe_dump({"gw": {"base_url": "https://gw.example/v1", "facts": facts}}), encoding="utf-8")
    with pytest.raises(ProvidersFileError) as caught:
        load_providers_file(path)
    assert str(path) in str(caught.value) and "provider 'gw'" in str(caught.value)
    assert message in str(caught.value)


def test_a_facts_map_is_parsed(tmp_path):
    path = tmp_path / "providers.yaml"
    facts = {"context_window": "specs.ctx", "input_price": {"path": "pricing.0.in", "unit": "usd_per_token"}}
    path.write_text(yaml.safe_dump({"gw": {"base_url": "https://gw.example/v1", "facts": facts}}), encoding="utf-8")
    parsed = load_providers_file(path)["gw"].facts
    assert parsed == {
        "context_window": {"path": ["specs", "ctx"], "unit": None},
        "input_price": {"path": ["pricing", "0", "in"], "unit": "usd_per_token"},
    }


def test_modelsdev_fixture_is_in_api_json_shape():
    data = answer("modelsdev")
    for provider_id, entry in data.items():
        assert entry["id"] == provider_id and entry["name"] and isinstance(entry["env"], list)
        for model_id, model in entry["models"].items():
            assert model["id"] == model_id
            assert set(model["limit"]) >= {"context", "output"}
            assert {"input", "output"} <= set(model["modalities"])
