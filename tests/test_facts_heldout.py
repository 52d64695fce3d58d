"""The numbers of issue 12, on real answers of providers that are not in the snapshots.

tests/fixtures/heldout/ holds published model-list answers of 11 providers never used to write
the readers (Venice, Together, xAI, Novita, Vercel, Kilo, Google's native list, Cloudflare
Workers AI and AI Gateway, NVIDIA, Ollama), each with the facts read off its records by hand
and its source. They are served on loopback as openai-kind providers from a providers file,
fetched like any user's provider, and the catalog is compared with the hand-read facts:

- at least 95% of the stated context windows and token prices read, in the right unit;
- no price 2x or more away from the stated one stored as a fact;
- no stated fact contradicted by enrichment.

Each provider is served under the name a user would give it and under a name no reader knows,
with and without the reference catalogs (litellm, OpenRouter, models.dev trimmed to a few
records). Without references, a name no reader knows and prices in an unnamed unit (xAI's and
Novita's 1/10,000 USD) cannot be decided: they become disputes, never wrong facts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from conftest import answer
from facts_quality import Quality, heldout, heldout_names, measure
from fake_providers import FakeProviders, Route

from vexy_catalog.catalog import ModelCatalog
from vexy_catalog.db import open_db
from vexy_catalog.doctor import doctor
from vexy_catalog.providers import builtin_providers

REFERENCES = {"litellm": "url", "openrouter": "openai", "modelsdev": "url"}


def fetch_heldout(
    server: FakeProviders, tmp_path: Path, *, neutral: bool, references: bool
) -> tuple[Path, dict[str, str]]:
    entries: dict[str, dict] = {}
    names = {}
    for fixture in heldout_names():
        name = f"unseen-{fixture}" if neutral else fixture
        names[fixture] = name
        server.set(name, Route(body=heldout(fixture)["answer"]))
        entries[name] = {"base_url": server.base_url(name), "kind": "openai", "api_key_env": None}
    if references:
        for public, kind in REFERENCES.items():
            server.set(public, Route(body=answer(public), kind=kind))
            entries[public] = {"base_url": server.base_url(public), "kind": kind}
    # Every other built-in is off: only the held-out answers (and the references) are fetched.
    for builtin in builtin_providers():
        entries.setdefault(builtin, {"enabled": False})
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text(yaml.safe_dump(entries), encoding="utf-8")
    db_path = tmp_path / "vexy.db"
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch()
    assert summary.ok, summary.failed
    return db_path, names


def quality(db_path: Path, names: dict[str, str]) -> Quality:
    total = Quality()
    for fixture, name in names.items():
        total.add(measure(db_path, name, heldout(fixture)["facts"]))
    return total


@pytest.mark.parametrize("references", [False, True], ids=["alone", "with-references"])
def test_heldout_providers_under_their_own_names(server, tmp_path, no_internet, references):
    db_path, names = fetch_heldout(server, tmp_path, neutral=False, references=references)
    total = quality(db_path, names)
    assert total.stated >= 60
    assert total.read_rate >= 0.95, total.misses
    assert total.wrong_prices == []
    assert total.contradictions == []


def test_heldout_providers_under_names_no_reader_knows(server, tmp_path, no_internet):
    db_path, names = fetch_heldout(server, tmp_path, neutral=True, references=True)
    total = quality(db_path, names)
    assert total.read_rate >= 0.95, total.misses
    assert total.wrong_prices == []
    assert total.contradictions == []


def test_without_evidence_a_unit_is_a_dispute_never_a_guess(server, tmp_path, no_internet):
    db_path, names = fetch_heldout(server, tmp_path, neutral=True, references=False)
    total = quality(db_path, names)
    assert total.wrong_prices == []
    assert total.contradictions == []
    assert total.read_rate >= 0.85
    db = open_db(db_path)
    try:
        reports = {r.provider: r for r in doctor(db, [names["xai"], names["venice"]])}
    finally:
        db.close()
    xai = reports[names["xai"]]
    assert xai.problems and {d["fact"] for d in xai.suspect_units} == {
        "input_price",
        "output_price",
        "cache_read_price",
    }
    assert not reports[names["venice"]].problems


def test_heldout_fixtures_name_their_sources():
    for fixture in heldout_names():
        data = heldout(fixture)
        assert data["source"] and data["facts"], fixture
        assert set(data["facts"]) <= {
            r.get("id") or r.get("name")
            for r in (
                data["answer"]
                if isinstance(data["answer"], list)
                else next(iter(v for v in data["answer"].values() if isinstance(v, list)))
            )
        }, fixture
        json.dumps(data)
