"""Quick start offline: `vexy serve --fetch` on a new catalog with no network ends in a browsable
catalog (the bundled snapshot of LiteLLM's price file), labelled everywhere until a fetch succeeds."""

from __future__ import annotations

import fnmatch
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import answer
from fake_providers import Route

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from vexy_catalog.bundled import bundled_lists, read_lists
from vexy_catalog.cli import cli
from vexy_catalog.db import content_hash
from vexy_catalog.fetch import extract_records

ROOT = Path(__file__).parent.parent
LABEL = "source: bundled snapshot of 2025-09"
PAGES = ["/", "/vexy", "/vexy/models", "/vexy/models/litellm,gpt-4o", "/vexy/providers/litellm", "/-/vexy/health"]
PAGES += ["/-/vexy/config", "/vexy/cheapest_with_context?min_context=100000", "/vexy/fetches"]


def run(db_path: Path, *args: str, providers_file: Path | None = None):
    base = ["--db", str(db_path)] + (["--providers-file", str(providers_file)] if providers_file else [])
    return CliRunner().invoke(cli, [*base, *args])


def sql(db_path: Path, query: str):
    conn = sqlite3.connect(db_path)
    try:
        return conn.execute(query).fetchall()
    finally:
        conn.close()


@pytest.fixture
def offline(tmp_path, no_internet) -> Path:
    """`vexy serve --fetch` with every provider unreachable, into a new catalog."""
    db_path = tmp_path / "vexy.db"
    result = run(db_path, "serve", "--fetch", "--get", "/vexy/models.json?_shape=array&provider=litellm&_size=5")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.stdout)) == 5, "browsable: the models page answers with models"
    assert "No provider could be reached: loaded the bundled snapshot of 2025-09" in result.stderr
    assert "Failed openrouter:" in result.stderr, "what failed is said"
    return db_path


def test_offline_quick_start_ends_in_a_labelled_catalog(offline):
    db_path = offline
    (snapshot,) = bundled_lists()
    assert sql(db_path, "select count(*) from models where provider = 'litellm' and removed_at is null") == [
        (snapshot.models,)
    ]
    # `vexy providers` labels it, in the table and in JSON.
    table = run(db_path, "providers")
    assert f"litellm: {LABEL} - no fetch of it has succeeded yet" in table.stdout
    rows = {r["name"]: r for r in json.loads(run(db_path, "providers", "--json").stdout)}
    assert rows["litellm"]["data_source"] == "bundled snapshot of 2025-09"
    assert rows["litellm"]["last_status"] == "failed", "the real outcome stays the last status"
    assert rows["openrouter"]["data_source"] is None
    # `vexy health` and its JSON say so, and fail (cron sees the network is gone).
    health = run(db_path, "health", "--json")
    assert health.exit_code == 1
    report = json.loads(health.stdout)
    litellm = next(r for r in report["providers"] if r["name"] == "litellm")
    assert litellm["data_source"] == "bundled snapshot of 2025-09" and litellm["last_success_at"] is None
    assert any(p.startswith(f"litellm: {LABEL}") for p in report["problems"])
    assert f"problem: litellm: {LABEL}" in run(db_path, "health").stderr
    # Not news: the load is no change anyone saw happen.
    assert sql(db_path, "select count(*) from model_changes") == [(0,)]
    assert sql(db_path, "select source, status from fetches where provider = 'litellm' order by id") == [
        ("fetch", "failed"),
        ("bundled", "ok"),
    ]
    # A cron job still sees the failure.
    assert run(db_path, "fetch", "--retries", "0").exit_code == 1


@pytest.mark.parametrize("path", PAGES)
def test_every_page_shows_the_banner(offline, path):
    result = run(offline, "serve", "--get", path)
    assert result.exit_code == 0, result.output[-2000:]
    assert 'class="message-warning vexy-bundled"' in result.stdout
    assert f"litellm: {LABEL}" in result.stdout


def test_the_first_successful_fetch_replaces_the_snapshot(offline, server, tmp_path):
    db_path = offline
    server.set("litellm", Route(body=answer("litellm"), kind="url"))
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text(server.providers_yaml(["litellm"]))
    result = run(db_path, "fetch", "litellm", providers_file=providers_file)
    assert result.exit_code == 0, result.output
    expected = {model_id for model_id, _ in extract_records(answer("litellm"))[0]}
    listed = sql(db_path, "select model_id, removed_at from models where provider = 'litellm'")
    assert {m for m, _ in listed} == expected, "the snapshot's models are replaced, not kept as removed"
    assert all(removed is None for _, removed in listed)
    changes = sql(db_path, "select change, count(*) from model_changes group by change")
    assert changes == [("added", len(expected))], "the first real fetch is the provider's first fetch"
    assert "vexy-bundled" not in run(db_path, "serve", "--get", "/vexy/models").stdout
    assert "bundled" not in run(db_path, "providers").stdout
    assert json.loads(run(db_path, "providers", "--json").stdout)[0]["data_source"] is None


def test_no_snapshot_once_the_catalog_has_models(providers, server, no_internet):
    providers_file, db_path = providers
    assert run(db_path, "fetch", "groq", providers_file=providers_file).exit_code == 0
    server.set("openrouter", Route(status=503))
    server.set("litellm", Route(status=503, kind="url"))
    result = run(db_path, "fetch", "openrouter", "litellm", "--retries", "0", providers_file=providers_file)
    assert result.exit_code == 1 and "bundled" not in result.stderr
    assert sql(db_path, "select count(*) from fetches where source = 'bundled'") == [(0,)]


def test_no_snapshot_for_a_provider_the_user_turned_off(tmp_path, no_internet):
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text("litellm:\n  enabled: false\n")
    result = run(tmp_path / "v.db", "fetch", "--retries", "0", providers_file=providers_file)
    assert result.exit_code == 1 and "bundled" not in result.stderr


def test_no_snapshot_when_the_failed_providers_have_none(tmp_path, server, no_internet):
    """A user's own keyless provider answering something that is not a model list is no sign
    of being offline, and says nothing about LiteLLM's list: nothing is loaded for it."""
    server.set("acme", Route(body={"result": {"total": 1}}, kind="url"))
    providers_file = tmp_path / "providers.yaml"
    providers_file.write_text(f"acme:\n  base_url: {server.base_url('acme')}\n  auth: none\n")
    result = run(tmp_path / "v.db", "fetch", "acme", "--retries", "0", providers_file=providers_file)
    assert result.exit_code == 1 and "Failed acme" in result.stderr
    assert "bundled" not in result.stderr
    assert sql(tmp_path / "v.db", "select count(*) from models") == [(0,)]


def test_the_snapshot_is_shipped_with_its_source_date_and_licence():
    (snapshot,) = bundled_lists()
    assert snapshot.provider == "litellm" and snapshot.licence == "MIT" and snapshot.date == "2025-09"
    assert snapshot.source_url.startswith("https://raw.githubusercontent.com/BerriAI/litellm/")
    payload = snapshot.payload()
    assert content_hash(payload) == snapshot.payload_sha256
    assert len(extract_records(payload)[0]) == snapshot.models
    folder = ROOT / "vexy_catalog" / "snapshots"
    about = json.loads((folder / "litellm.about.json").read_text())
    licence = (folder / about["licence_file"]).read_text()
    assert "MIT License" in licence and about["copyright"] in licence
    # In the wheel: every file of the folder is package data (as are the plugin's templates).
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    for path in folder.iterdir():
        assert any(fnmatch.fnmatch(f"snapshots/{path.name}", g) for g in package_data["vexy_catalog"]), path
    assert any(fnmatch.fnmatch("templates/base.html", g) for g in package_data["datasette_plugins"])
    # The README says where it comes from.
    readme = (ROOT / "README.md").read_text()
    assert snapshot.source_url in readme and "bundled snapshot of 2025-09" in readme and "MIT" in readme


def test_another_list_is_added_by_dropping_its_two_files(tmp_path):
    import gzip

    payload = {"data": [{"id": "m1"}, {"id": "m2"}]}
    (tmp_path / "acme.json.gz").write_bytes(gzip.compress(json.dumps(payload).encode()))
    about = {
        "provider": "acme",
        "title": "Acme's list",
        "date": "2026-01",
        "file": "acme.json.gz",
        "source_url": "https://acme.example/models.json",
        "licence": "MIT",
        "copyright": "Copyright (c) 2026 Acme",
        "payload_sha256": content_hash(payload),
        "models": 2,
    }
    (tmp_path / "acme.about.json").write_text(json.dumps(about))
    (snapshot,) = read_lists(tmp_path)
    assert (snapshot.provider, snapshot.label) == ("acme", "bundled snapshot of 2026-01")
    assert snapshot.payload() == payload
