"""Normalized facts in the catalog: stored columns, enrichment after fetch, `vexy models` and `vexy stats`."""

from __future__ import annotations

import csv
import io
import json
import sqlite3

import pytest
from click.testing import CliRunner
from conftest import answer
from fake_providers import Route

from vexy_catalog import ModelCatalog
from vexy_catalog.cli import cli

LLAMA = "llama-3.3-70b-versatile"


def row(db_path, provider, model_id):
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        sql = "select * from models where provider = ? and model_id = ?"
        found = conn.execute(sql, [provider, model_id]).fetchone()
        return dict(found) if found else None
    finally:
        conn.close()


@pytest.fixture
def catalog(providers, server):
    providers_file, db_path = providers
    server.routes["groq"].body = {"object": "list", "data": answer("groq")["data"] + answer("groq-llama")["data"]}
    return ModelCatalog(db_path=db_path, providers_file=providers_file)


def test_facts_are_stored_as_columns(catalog):
    catalog.fetch(["openrouter", "anthropic"])
    r = row(catalog.db_path, "openrouter", "ai21/jamba-large-1.7")
    raw = next(x for x in answer("openrouter")["data"] if x["id"] == "ai21/jamba-large-1.7")
    # Expected values read off the raw record: per-token strings become USD per 1M tokens.
    assert raw["pricing"]["prompt"] == "0.000002" and raw["context_length"] == 256000
    assert r["input_price"] == pytest.approx(2.0)
    assert r["output_price"] == pytest.approx(8.0)
    assert r["context_window"] == 256000
    assert r["max_output_tokens"] == 4096
    assert json.loads(r["input_modalities"]) == ["text"]
    assert json.loads(r["output_modalities"]) == ["text"]
    assert (r["supports_tools"], r["supports_vision"]) == (1, 0)
    assert r["model_type"] == "chat"
    assert r["name"] == "AI21: Jamba Large 1.7"
    assert json.loads(r["sources"])["input_price"] == "provider"
    claude = row(catalog.db_path, "anthropic", "claude-opus-4-1-20250805")
    assert claude["name"] == "Claude Opus 4.1"
    assert claude["created"] == "2025-08-05T00:00:00Z"


def test_enrichment_fills_gaps_with_provenance_and_never_overrides(catalog):
    catalog.fetch(["groq"])
    before = row(catalog.db_path, "groq", LLAMA)
    assert before["context_window"] == 131072  # the provider's own value
    assert before["input_price"] is None and before["supports_tools"] is None  # not known yet
    catalog.fetch(["litellm"])  # a reference arrives: facts improve
    after = row(catalog.db_path, "groq", LLAMA)
    sources = json.loads(after["sources"])
    assert after["input_price"] == pytest.approx(0.59)
    assert after["output_price"] == pytest.approx(0.79)
    assert after["supports_tools"] == 1
    assert after["model_type"] == "chat"
    assert sources["input_price"] == sources["supports_tools"] == "litellm:groq/llama-3.3-70b-versatile"
    # litellm says 128000; groq said 131072 itself, and the provider's value wins.
    assert after["context_window"] == 131072 and sources["context_window"] == "provider"
    assert after["max_output_tokens"] == 32768 and sources["max_output_tokens"] == "provider"
    # Enrichment is not a change of the model's record.
    assert (after["raw"], after["content_hash"], after["updated_at"]) == (
        before["raw"],
        before["content_hash"],
        before["updated_at"],
    )


def test_a_withdrawn_reference_fact_goes_with_it(catalog, server):
    catalog.fetch(["groq", "litellm"])
    assert row(catalog.db_path, "groq", LLAMA)["input_price"] == pytest.approx(0.59)
    without = {k: v for k, v in answer("litellm").items() if k != "groq/llama-3.3-70b-versatile"}
    server.routes["litellm"].body = without
    catalog.fetch(["litellm"])
    after = row(catalog.db_path, "groq", LLAMA)
    assert after["input_price"] is None
    assert "input_price" not in json.loads(after["sources"])


def test_an_unknown_dialect_still_yields_every_id(server, tmp_path, monkeypatch, no_internet):
    server.set("weird", Route(body={"data": [{"id": "a", "ctx": "huge"}, {"id": "b", "limits": [1, 2]}, "c"]}))
    providers_file = tmp_path / "p.yaml"
    providers_file.write_text(server.providers_yaml(["weird"]))
    catalog = ModelCatalog(db_path=tmp_path / "v.db", providers_file=providers_file)
    assert catalog.fetch(["weird"]).ok
    rows = catalog.models(providers=["weird"])
    assert [r["model_id"] for r in rows] == ["a", "b", "c"]
    assert all(r["context_window"] is None and r["input_price"] is None for r in rows)
    assert json.loads(row(catalog.db_path, "weird", "b")["raw"]) == {"id": "b", "limits": [1, 2]}


def test_models_query_matches_the_filters(catalog):
    catalog.fetch(["groq", "litellm", "openrouter", "mistral", "anthropic", "openai"])
    everything = catalog.models(include_removed=True)
    chosen = catalog.models(min_context=128_000, tools=True, max_input_price=1.0, sort="input_price")
    assert chosen, "the fixtures hold such models"
    expected = [
        r
        for r in everything
        if r["removed_at"] is None
        and r["context_window"] is not None
        and r["context_window"] >= 128_000
        and r["supports_tools"] is True
        and r["input_price"] is not None
        and r["input_price"] <= 1.0
    ]
    assert sorted((r["provider"], r["model_id"]) for r in chosen) == sorted(
        (r["provider"], r["model_id"]) for r in expected
    )
    prices = [r["input_price"] for r in chosen]
    assert prices == sorted(prices)
    assert ("groq", LLAMA) in {(r["provider"], r["model_id"]) for r in chosen}
    embeddings = catalog.models(model_type="embedding")
    assert {(r["provider"], r["model_id"]) for r in embeddings} >= {("litellm", "text-embedding-3-small")}
    assert all(r["model_type"] == "embedding" for r in embeddings)
    assert [r["model_id"] for r in catalog.models("LLAMA-3.3", providers=["groq"])] == [LLAMA]
    by_context = catalog.models(providers=["anthropic", "groq"], sort="context")
    contexts = [r["context_window"] for r in by_context if r["context_window"] is not None]
    assert contexts == sorted(contexts, reverse=True)
    assert by_context[-1]["context_window"] is None or all(r["context_window"] for r in by_context)


def test_vexy_models_cli_outputs(catalog):
    catalog.fetch(["groq", "litellm"])
    base = ["--db", str(catalog.db_path), "--providers-file", str(catalog.providers_file), "models"]
    runner = CliRunner()
    table = runner.invoke(cli, [*base, "llama-3.3", "--provider", "groq"])
    assert table.exit_code == 0, table.output
    header, _rule, line = table.stdout.splitlines()
    assert header.split()[:3] == ["provider", "model", "context"]
    assert line.split() == ["groq", LLAMA, "131k", "32.8k", "0.59", "0.79", "tools", "chat"]
    as_json = json.loads(runner.invoke(cli, [*base, "--provider", "groq", "--json"]).stdout)
    assert [r["model_id"] for r in as_json] == sorted(
        [r["id"] for r in answer("groq")["data"]] + [LLAMA], key=str.lower
    )
    llama = next(r for r in as_json if r["model_id"] == LLAMA)
    assert llama["supports_tools"] is True and llama["supports_vision"] is None
    assert llama["sources"]["input_price"] == "litellm:groq/llama-3.3-70b-versatile"
    as_csv = runner.invoke(cli, [*base, "--provider", "groq", "--tools", "--csv"]).stdout
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert [(r["model_id"], r["input_price"]) for r in rows if r["model_id"] == LLAMA] == [(LLAMA, "0.59")]
    none = runner.invoke(cli, [*base, "no-such-model-anywhere"])
    assert none.exit_code == 0 and "No models match." in none.stderr
    unknown = runner.invoke(cli, [*base, "--provider", "grok"])
    assert unknown.exit_code == 2 and "did you mean 'groq'" in unknown.stderr


def test_models_without_a_database(tmp_path):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "models"])
    assert result.exit_code == 1
    assert "does not exist - run 'vexy fetch' first" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_stats(catalog):
    catalog.fetch(["groq", "litellm", "openrouter"])
    stats = {r["provider"]: r for r in catalog.stats()}
    groq = stats["groq"]
    assert groq["models"] == 5
    # Every groq record carries context_window; only the llama one matches a litellm record.
    assert groq["with_context"] == 5 and groq["with_context_share"] == 1.0
    assert groq["with_price"] == 1
    assert groq["enriched_models"] >= 1
    assert stats["openrouter"]["with_price"] == 3
    result = CliRunner().invoke(cli, ["--db", str(catalog.db_path), "stats", "--json"])
    assert json.loads(result.stdout) == catalog.stats()
    table = CliRunner().invoke(cli, ["--db", str(catalog.db_path), "stats"]).stdout.splitlines()
    assert table[-1].split()[:2] == ["(all)", str(sum(r["models"] for r in stats.values()))]
