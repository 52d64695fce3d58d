"""Change history: model_changes, --as-of, `vexy changes`, the Atom feed, import and prune."""

from __future__ import annotations

import copy
import json
import os
import sqlite3
import xml.etree.ElementTree as ET
from datetime import datetime, timezone

import pytest
from click.testing import CliRunner
from conftest import answer
from fake_providers import Route

from vexy_catalog import ModelCatalog
from vexy_catalog.cli import cli
from vexy_catalog.db import open_db
from vexy_catalog.history import changes_atom, list_changes, models_as_of

ATOM = "{http://www.w3.org/2005/Atom}"


def changes(db_path, fetch_id=None):
    conn = sqlite3.connect(db_path)
    try:
        sql = "select provider, model_id, change, fields from model_changes"
        params = []
        if fetch_id is not None:
            sql += " where fetch_id = ?"
            params.append(fetch_id)
        return sorted((p, m, c, json.loads(f)) for p, m, c, f in conn.execute(sql + " order by id", params))
    finally:
        conn.close()


@pytest.fixture
def history(providers, server):
    """Three fetches of openrouter with edits in between; returns the catalog and fetch rows."""
    providers_file, db_path = providers
    catalog = ModelCatalog(db_path=db_path, providers_file=providers_file)
    original = answer("openrouter")
    a, b, c = (r["id"] for r in original["data"])
    first = catalog.fetch(["openrouter"]).fetches[0]

    edited = copy.deepcopy(original)
    edited["data"] = [r for r in edited["data"] if r["id"] != a]  # a removed
    edited["data"][0]["pricing"]["prompt"] = "0.00000003"  # b (a free variant): input $0 -> $0.03 per 1M
    edited["data"][1]["context_length"] = 300000  # c: context 256k -> 300k
    edited["data"][1]["top_provider"]["context_length"] = 300000
    edited["data"].append(
        {
            "id": "new/model",
            "name": "New: Model",
            "context_length": 32768,
            "pricing": {"prompt": "0.000001", "completion": "0.000002"},
        }
    )
    server.routes["openrouter"].body = edited
    second = catalog.fetch(["openrouter"]).fetches[0]

    back = copy.deepcopy(edited)
    back["data"].insert(0, original["data"][0])  # a returns, unchanged
    server.routes["openrouter"].body = back
    third = catalog.fetch(["openrouter"]).fetches[0]
    unchanged = catalog.fetch(["openrouter"]).fetches[0]
    return catalog, (a, b, c), (first, second, third, unchanged)


def test_change_rows_tell_exactly_what_was_edited(history):
    catalog, (a, b, c), (first, second, third, unchanged) = history
    assert changes(catalog.db_path, first["id"]) == sorted(
        [("openrouter", a, "added", {}), ("openrouter", b, "added", {}), ("openrouter", c, "added", {})]
    )
    assert changes(catalog.db_path, second["id"]) == sorted(
        [
            ("openrouter", a, "removed", {}),
            ("openrouter", b, "changed", {"input_price": [0.0, 0.03]}),
            ("openrouter", c, "changed", {"context_window": [256000, 300000]}),
            ("openrouter", "new/model", "added", {}),
        ]
    )
    assert changes(catalog.db_path, third["id"]) == [("openrouter", a, "returned", {})]
    assert unchanged["status"] == "unchanged"
    assert changes(catalog.db_path, unchanged["id"]) == []
    assert len(changes(catalog.db_path)) == 3 + 4 + 1


def test_change_rows_are_written_with_their_fetch(history):
    catalog, _, fetches = history
    conn = sqlite3.connect(catalog.db_path)
    for fetch in fetches[:3]:
        times = {at for (at,) in conn.execute("select at from model_changes where fetch_id = ?", [fetch["id"]])}
        assert times == {fetch["finished_at"]}


def test_facts_as_of_any_moment(history):
    catalog, (a, b, c), (first, second, third, _) = history
    db = open_db(catalog.db_path)
    try:
        before_anything = models_as_of(db, "2000-01-01T00:00:00.000Z")
        at_first = {r["model_id"]: r for r in models_as_of(db, first["finished_at"])}
        at_second = {r["model_id"]: r for r in models_as_of(db, second["finished_at"])}
        at_third = {r["model_id"]: r for r in models_as_of(db, third["finished_at"])}
    finally:
        db.close()
    assert before_anything == []
    assert set(at_first) == {a, b, c}
    assert at_first[b]["input_price"] == 0
    assert at_first[c]["context_window"] == 256000
    assert set(at_second) == {b, c, "new/model"}
    assert at_second[b]["input_price"] == pytest.approx(0.03)
    assert at_second[c]["context_window"] == 300000
    assert set(at_third) == {a, b, c, "new/model"}
    # The CLI answers the same question.
    result = CliRunner().invoke(
        cli,
        ["--db", str(catalog.db_path), "models", "--as-of", first["finished_at"], "--json", "--provider", "openrouter"],
    )
    assert result.exit_code == 0, result.output
    rows = {r["model_id"]: r for r in json.loads(result.stdout)}
    assert set(rows) == {a, b, c} and rows[b]["input_price"] == 0


def _gateway(cache: float | None, unit_on_d: bool) -> dict:
    """Three models priced per 1M (their cache prices `cache`), and gw-d, whose prices carry a
    unit only when `unit_on_d`."""
    data = [
        {"id": f"gw-{n}", "context_length": 8192, "pricing": {"input": p, "output": 3 * p, "unit": "USD per 1M tokens"}}
        for n, p in (("a", 0.5), ("b", 0.6), ("c", 0.7))
    ]
    for record in data:
        record["pricing"]["cache_read"] = cache if cache is not None else record["pricing"]["input"] / 2
    d = {"id": "gw-d", "context_length": 8192, "cost": {"prompt": 0.05, "completion": 0.08}}
    if unit_on_d:
        d["cost"]["unit"] = "USD per 1M tokens"
    return {"data": [*data, d]}


def test_as_of_decides_facts_as_a_fetch_then_did(providers, server, tmp_path):
    """Placeholders, undecided units and disputes of that moment are withheld as of it, exactly
    as the live pipeline withheld them then; also once that moment's answer is pruned."""
    providers_file, db_path = providers
    # Then: the same 0 cache price on every model (a placeholder), and gw-d's prices of no unit.
    server.set("gw", Route(body=_gateway(cache=0, unit_on_d=False)))
    text = (
        providers_file.read_text(encoding="utf-8") + f"gw:\n  base_url: {server.base_url('gw')}\n  api_key_env: null\n"
    )
    providers_file.write_text(text, encoding="utf-8")
    base = ["--db", str(db_path), "--providers-file", str(providers_file)]

    def as_of(when: str) -> dict[str, dict]:
        result = CliRunner().invoke(cli, [*base, "models", "--as-of", when, "--json", "--provider", "gw"])
        assert result.exit_code == 0, result.output
        return {r["model_id"]: r for r in json.loads(result.stdout)}

    assert CliRunner().invoke(cli, [*base, "fetch", "gw"]).exit_code == 0
    conn = sqlite3.connect(db_path)
    then = conn.execute("select finished_at from fetches where provider = 'gw'").fetchone()[0]
    live_then = {
        r["model_id"]: r
        for r in json.loads(CliRunner().invoke(cli, [*base, "models", "--json", "--provider", "gw"]).stdout)
    }
    # Now: real cache prices, and gw-d states its unit.
    server.set("gw", Route(body=_gateway(cache=None, unit_on_d=True)))
    assert CliRunner().invoke(cli, [*base, "fetch", "gw"]).exit_code == 0
    now = {
        r["model_id"]: r
        for r in json.loads(CliRunner().invoke(cli, [*base, "models", "--json", "--provider", "gw"]).stdout)
    }
    assert now["gw-a"]["cache_read_price"] == 0.25 and now["gw-d"]["input_price"] == 0.05

    past = as_of(then)
    for model_id, row in past.items():
        for column in ("context_window", "input_price", "output_price", "cache_read_price", "sources"):
            assert row[column] == live_then[model_id][column], (model_id, column)
    assert past["gw-a"]["cache_read_price"] is None
    assert "placeholder" in past["gw-a"]["sources"]["_notes"]["cache_read_price"]
    assert past["gw-d"]["input_price"] is None
    assert past["gw-d"]["sources"]["_notes"]["input_price"] == "unit undecided: see disputes"
    assert past["gw-a"]["input_price"] == 0.5

    # That answer pruned: the change log's record of it goes through the same steps.
    assert CliRunner().invoke(cli, ["--db", str(db_path), "prune", "--keep", "1"]).exit_code == 0
    assert (
        conn.execute(
            "select count(*) from payloads p join fetches f on f.payload_hash = p.hash "
            "where f.provider = 'gw' and f.finished_at = ?",
            [then],
        ).fetchone()[0]
        == 0
    )
    pruned = as_of(then)
    assert pruned["gw-a"]["cache_read_price"] is None and pruned["gw-a"]["input_price"] == 0.5
    assert "placeholder" in pruned["gw-a"]["sources"]["_notes"]["cache_read_price"]
    conn.close()


def test_as_of_with_filters(history):
    catalog, (a, b, c), (first, second, _, _) = history
    result = CliRunner().invoke(
        cli,
        ["--db", str(catalog.db_path), "models", "--as-of", second["finished_at"], "--min-context", "290000", "--json"],
    )
    assert [r["model_id"] for r in json.loads(result.stdout)] == [c]


def test_vexy_changes_is_readable_and_grouped(history):
    catalog, (a, b, c), _ = history
    result = CliRunner().invoke(cli, ["--db", str(catalog.db_path), "changes", "--since", "1h"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "openrouter (8 changes)"
    assert f"  ~ openrouter {b} input $0 -> $0.03" in lines
    assert f"  ~ openrouter {c} context 256k -> 300k" in lines
    assert f"  - openrouter {a}" in lines
    assert "  + openrouter new/model (32.8k ctx, $1.00/$2.00)" in lines
    assert f"  + openrouter {a} (back, 96k ctx, $0.015/$0.015)" in lines
    as_json = json.loads(CliRunner().invoke(cli, ["--db", str(catalog.db_path), "changes", "--json"]).stdout)
    assert len(as_json) == 8
    future = CliRunner().invoke(cli, ["--db", str(catalog.db_path), "changes", "--since", "2999-01-01"])
    assert future.exit_code == 0 and "No changes since 2999-01-01" in future.stderr
    bad = CliRunner().invoke(cli, ["--db", str(catalog.db_path), "changes", "--since", "last tuesday"])
    assert bad.exit_code == 2 and "neither an age" in bad.stderr


def test_atom_feed_of_changes(history):
    catalog, (a, b, c), _ = history
    db = open_db(catalog.db_path)
    try:
        rows = list_changes(db, providers=["openrouter"])
        assert list_changes(db, providers=["groq"]) == []
    finally:
        db.close()
    feed = ET.fromstring(changes_atom(rows, "http://127.0.0.1/-/vexy/changes.atom"))
    entries = feed.findall(f"{ATOM}entry")
    assert len(entries) == 8
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert titles[0] == f"+ openrouter {a} (back, 96k ctx, $0.015/$0.015)"  # newest first
    assert f"~ openrouter {c} context 256k -> 300k" in titles
    assert len({e.find(f"{ATOM}id").text for e in entries}) == 8
    assert feed.find(f"{ATOM}updated").text == entries[0].find(f"{ATOM}updated").text


# --- import -----------------------------------------------------------------------------------


def _mtime(path, iso):
    ts = datetime.fromisoformat(iso).replace(tzinfo=timezone.utc).timestamp()
    os.utime(path, (ts, ts))


@pytest.fixture
def dump(tmp_path):
    folder = tmp_path / "dump"
    folder.mkdir()
    older = copy.deepcopy(answer("groq"))
    older["data"] = older["data"][:2]
    (folder / "models_groq.json").write_text(json.dumps(answer("groq")))
    (folder / "models_openrouter.json").write_text(json.dumps(answer("openrouter")))
    (folder / "models_mystery.json").write_text(json.dumps([{"id": "m1"}, {"id": "m2"}]))
    (folder / "models_broken.json").write_text('{"data": [')
    (folder / "failed_models.json").write_text(json.dumps({"mistral": "HTTP 401 Unauthorized"}))
    _mtime(folder / "models_groq.json", "2025-09-01T10:00:00")
    _mtime(folder / "models_openrouter.json", "2025-09-02T10:00:00")
    _mtime(folder / "models_mystery.json", "2025-09-03T10:00:00")
    _mtime(folder / "models_broken.json", "2025-09-03T11:00:00")
    _mtime(folder / "failed_models.json", "2025-09-04T10:00:00")
    return folder


def _tables(db_path):
    conn = sqlite3.connect(db_path)
    try:
        return {
            t: conn.execute(f"select * from [{t}] order by 1").fetchall()
            for t in ("providers", "models", "fetches", "payloads", "model_changes")
        }
    finally:
        conn.close()


def test_import_keeps_the_past_and_is_idempotent(dump, tmp_path):
    db_path = tmp_path / "v.db"
    result = CliRunner().invoke(cli, ["--db", str(db_path), "import", str(dump)])
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(db_path)
    fetches = conn.execute(
        "select provider, source, status, started_at, model_count from fetches order by id"
    ).fetchall()
    assert fetches == [
        ("groq", "import", "ok", "2025-09-01T10:00:00.000Z", 4),
        ("openrouter", "import", "ok", "2025-09-02T10:00:00.000Z", 3),
        ("mystery", "import", "ok", "2025-09-03T10:00:00.000Z", 2),
        ("broken", "import", "failed", "2025-09-03T11:00:00.000Z", None),
        ("mistral", "import", "failed", "2025-09-04T10:00:00.000Z", None),
    ]
    first_seen = conn.execute("select distinct first_seen from models where provider = 'groq'").fetchall()
    assert first_seen == [("2025-09-01T10:00:00.000Z",)]
    added = conn.execute("select count(*), min(at) from model_changes where provider = 'groq' and change = 'added'")
    assert added.fetchone() == (4, "2025-09-01T10:00:00.000Z")
    conn.close()
    before = _tables(db_path)
    again = CliRunner().invoke(cli, ["--db", str(db_path), "import", str(dump), "--json"])
    assert again.exit_code == 0
    report = json.loads(again.stdout)
    assert report["imported"] == [] and len(report["skipped"]) == 5
    assert _tables(db_path) == before
    as_of = CliRunner().invoke(cli, ["--db", str(db_path), "models", "--as-of", "2025-09-01T12:00:00Z", "--json"])
    assert {r["provider"] for r in json.loads(as_of.stdout)} == {"groq"}


def test_an_import_older_than_live_data_is_history_only(providers, dump):
    providers_file, db_path = providers
    ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["groq"])
    live = _tables(db_path)["models"]
    older = copy.deepcopy(answer("groq"))
    older["data"] = older["data"][:1]
    (dump / "models_groq.json").write_text(json.dumps(older))
    _mtime(dump / "models_groq.json", "2025-09-01T10:00:00")
    result = CliRunner().invoke(cli, ["--db", str(db_path), "import", str(dump), "--json"])
    assert "models_groq.json" in json.loads(result.stdout)["history_only"]
    assert [r for r in _tables(db_path)["models"] if r[0] == "groq"] == [r for r in live if r[0] == "groq"]


def test_import_of_a_missing_folder(tmp_path):
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "v.db"), "import", str(tmp_path / "nope")])
    assert result.exit_code == 1 and "is not a folder" in result.stderr


# --- prune ------------------------------------------------------------------------------------


def test_prune_keeps_the_last_payloads_and_history(history):
    catalog, _, fetches = history
    conn = sqlite3.connect(catalog.db_path)
    assert conn.execute("select count(*) from payloads").fetchone()[0] == 3
    history_before = (
        conn.execute("select count(*) from fetches").fetchone()[0],
        conn.execute("select count(*) from model_changes").fetchone()[0],
    )
    result = CliRunner().invoke(cli, ["--db", str(catalog.db_path), "prune", "--keep", "1", "--vacuum"])
    assert result.exit_code == 0, result.output
    assert result.stderr.startswith("Deleted 2 stored answers")
    remaining = [h for (h,) in conn.execute("select hash from payloads")]
    assert remaining == [fetches[2]["payload_hash"]]
    assert (
        conn.execute("select count(*) from fetches").fetchone()[0],
        conn.execute("select count(*) from model_changes").fetchone()[0],
    ) == history_before
    assert CliRunner().invoke(cli, ["--db", str(catalog.db_path), "verify"]).exit_code == 0
    # The past is still answerable from the change log.
    db = open_db(catalog.db_path)
    try:
        assert len(models_as_of(db, fetches[0]["finished_at"])) == 3
    finally:
        db.close()


def test_atom_feed_route_filters_by_provider(history, server):
    catalog, (a, b, c), _ = history
    server.routes["groq"].body = {"data": [{"id": "only-groq"}]}
    catalog.fetch(["groq"])
    base = ["--db", str(catalog.db_path), "serve", "--get"]
    both = CliRunner().invoke(cli, [*base, "/-/vexy/changes.atom"])
    assert both.exit_code == 0, both.output
    titles = [e.find(f"{ATOM}title").text for e in ET.fromstring(both.stdout).findall(f"{ATOM}entry")]
    assert "+ groq only-groq" in titles and len(titles) == 9
    groq_only = CliRunner().invoke(cli, [*base, "/-/vexy/changes.atom?provider=groq"])
    feed = ET.fromstring(groq_only.stdout)
    assert [e.find(f"{ATOM}title").text for e in feed.findall(f"{ATOM}entry")] == ["+ groq only-groq"]
    assert feed.find(f"{ATOM}title").text == "vexy: model changes (groq)"
    bad = CliRunner().invoke(cli, [*base, "/-/vexy/changes.atom?provider=grok"])
    assert "unknown provider 'grok'" in bad.stdout
