"""The Datasette front end: `vexy serve`, metadata.yml, the plugin's routes, links and pages.

Catalogs are fetched from the loopback fake providers (conftest's ``providers``); requests go
through ``datasette.client`` or ``vexy serve --get``. The real-browser test is test_browser.py.
"""

from __future__ import annotations

import hashlib
import io
import json
import sqlite3
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
import yaml
from click.testing import CliRunner
from conftest import Served, answer, query
from fake_providers import Route

from datasette_plugins.filters import BadParameters, config_params_from_table, parse_model_filter
from vexy_catalog import ModelCatalog
from vexy_catalog.cli import cli
from vexy_catalog.serve import load_metadata

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).parent.parent
LLAMA = "llama-3.3-70b-versatile"


@pytest.fixture
def anyio_backend():
    return "asyncio"


def fetch(db_path: Path, providers_file: Path, *names: str):
    return ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(list(names))


async def afetch(db_path: Path, providers_file: Path, *names: str, **options):
    return await ModelCatalog(db_path=db_path, providers_file=providers_file).afetch(list(names), **options)


@pytest.fixture
def catalog(providers, server) -> Path:
    """A catalog of the fixture providers, groq with its llama models too (litellm lists them)."""
    providers_file, db_path = providers
    server.routes["groq"].body = {"object": "list", "data": answer("groq")["data"] + answer("groq-llama")["data"]}
    summary = fetch(db_path, providers_file)
    assert summary.ok, summary.failed
    return db_path


@pytest.fixture
def served(catalog):
    s = Served(catalog)
    yield s
    s.close()


def serve_get(db_path: Path, path: str, *options: str):
    return CliRunner().invoke(cli, ["--db", str(db_path), "serve", *options, "--get", path])


# --------------------------------------------------------------------------- plugin loading


@pytest.mark.anyio
async def test_plugin_is_loaded_once_with_templates_and_static(served):
    plugins = await served.json("/-/plugins.json")
    ours = [p for p in plugins if p["name"] == "vexy"]
    assert len(ours) == 1, plugins
    assert ours[0]["templates"] and ours[0]["static"]
    assert {"register_routes", "table_actions", "menu_links", "extra_template_vars"} <= set(ours[0]["hooks"])
    css = await served.get("/-/static-plugins/vexy/vexy.css")
    assert ".vexy-status" in css.text


def test_datasette_with_the_checkout_metadata_loads_the_plugin_once(catalog):
    """`datasette vexy.db --metadata metadata.yml`, as the README says."""
    from datasette.cli import cli as datasette_cli

    assert (ROOT / "metadata.yml").resolve() == (ROOT / "vexy_catalog" / "metadata.yml").resolve()
    assert catalog.name == "vexy.db"
    runner = CliRunner()
    args = [str(catalog), "--metadata", str(ROOT / "metadata.yml"), "--get"]
    result = runner.invoke(datasette_cli, [*args, "/-/plugins.json"])
    assert result.exit_code == 0, result.output
    assert [p["name"] for p in json.loads(result.output)].count("vexy") == 1
    result = runner.invoke(datasette_cli, [*args, "/-/vexy/health.json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == "ok"
    result = runner.invoke(datasette_cli, [*args, "/vexy/cheapest_with_context.json?min_context=1&_shape=array"])
    assert result.exit_code == 0 and json.loads(result.output), result.output


def test_serve_get_prints_one_response(catalog):
    result = serve_get(catalog, "/-/plugins.json")
    assert result.exit_code == 0, result.output
    assert [p["name"] for p in json.loads(result.output)].count("vexy") == 1
    result = serve_get(catalog, "/vexy/models.json?_shape=array&_size=max")
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == query(catalog, "select count(*) as n from models")[0]["n"]
    result = serve_get(catalog, "/vexy/no-such-table")
    assert result.exit_code == 1


# --------------------------------------------------------------------------- metadata


def test_metadata_describes_every_table_and_column(catalog):
    metadata = load_metadata()
    assert yaml.safe_load((ROOT / "metadata.yml").read_text(encoding="utf-8")) == metadata
    for key in ("title", "license", "source", "source_url"):
        assert metadata[key]
    tables = metadata["databases"]["vexy"]["tables"]
    names = [r["name"] for r in query(catalog, "select name from sqlite_master where type = 'table'")]
    shadow = ("models_fts_data", "models_fts_idx", "models_fts_docsize", "models_fts_config")
    for table in names:
        if table in shadow:
            continue
        assert tables.get(table, {}).get("description"), f"table {table} has no description"
        if table == "models_fts":
            continue
        columns = [r["name"] for r in query(catalog, f"select name from pragma_table_info('{table}')")]
        described = tables[table].get("columns", {})
        missing = [c for c in columns if not described.get(c)]
        assert not missing, f"{table}: columns without a description: {missing}"
    assert tables["_sqlite_migrations"]["hidden"] and tables["models_fts"]["hidden"]
    assert tables["models"]["facets"] == [
        "provider",
        "model_type",
        "supports_tools",
        "supports_vision",
        "supports_reasoning",
    ]
    queries = metadata["databases"]["vexy"]["queries"]
    assert len(queries) == 6
    for name, canned in queries.items():
        assert canned["title"] and canned["description"] and canned["params"], name


@pytest.mark.anyio
async def test_hidden_tables_and_labels(served):
    database = await served.json("/vexy.json")
    hidden = {t["name"] for t in database["tables"] if t["hidden"]}
    assert {"_sqlite_migrations", "models_fts"} <= hidden
    visible = {t["name"] for t in database["tables"] if not t["hidden"]}
    assert {"providers", "models", "fetches", "payloads"} <= visible
    rows = await served.json("/vexy/models.json?_shape=objects&_labels=on&provider=groq&_size=1")
    assert rows["rows"][0]["provider"] == {"value": "groq", "label": "groq"}


# --------------------------------------------------------------------------- JSON API


@pytest.mark.anyio
async def test_json_shapes_for_other_tools(served, catalog):
    total = query(catalog, "select count(*) as n from models")[0]["n"]
    rows = await served.json("/vexy/models.json?_shape=array&_size=max")
    assert isinstance(rows, list) and len(rows) == total
    assert {"provider", "model_id", "context_window", "input_price", "supports_tools", "sources", "raw"} <= set(rows[0])
    objects = await served.json("/vexy/models.json?_shape=objects&provider=groq&_sort=model_id")
    assert [r["model_id"] for r in objects["rows"]] == sorted(
        r["model_id"] for r in query(catalog, "select model_id from models where provider = 'groq'")
    )
    providers = await served.json("/vexy/providers.json?_shape=array&last_status=ok")
    assert {p["name"] for p in providers} >= {"groq", "openrouter", "litellm", "anthropic"}
    one = await served.json(f"/vexy/models/groq,{LLAMA.replace('.', '~2E')}.json?_shape=objects")
    assert one["rows"][0]["context_window"] == 131072
    cheap = await served.json("/vexy/models.json?_shape=array&input_price__lte=1&_sort=input_price")
    assert cheap and all(r["input_price"] <= 1 for r in cheap)
    assert [r["input_price"] for r in cheap] == sorted(r["input_price"] for r in cheap)


@pytest.mark.anyio
async def test_full_text_search(served, catalog, providers, server):
    found = await served.json("/vexy/models.json?_search=llama&_shape=array&_size=max")
    expected = query(
        catalog,
        "select provider, model_id from models where model_id like '%llama%' or name like '%llama%' "
        "or description like '%llama%'",
    )
    assert sorted((r["provider"], r["model_id"]) for r in found) == sorted(
        (r["provider"], r["model_id"]) for r in expected
    )
    assert ("groq", LLAMA) in {(r["provider"], r["model_id"]) for r in found}
    claude = await served.json("/vexy/models.json?_search=claude&provider=anthropic&_shape=array")
    assert claude and all(r["provider"] == "anthropic" for r in claude)
    # Triggers keep the index current as fetches add, change and remove models.
    providers_file, db_path = providers
    server.routes["groq"].body = {"object": "list", "data": [{"id": "zanzibar-9000", "object": "model"}]}
    await afetch(db_path, providers_file, "groq", accept_shrink=True)
    found = await served.json("/vexy/models.json?_search=zanzibar&_shape=array")
    assert [(r["provider"], r["model_id"]) for r in found] == [("groq", "zanzibar-9000")]


@pytest.mark.anyio
async def test_facets(served, catalog):
    data = await served.json("/vexy/models.json?_shape=objects&_size=0")
    facets = data["facet_results"]
    assert set(facets) == {"provider", "model_type", "supports_tools", "supports_vision", "supports_reasoning"}
    counts = {item["value"]: item["count"] for item in facets["provider"]["results"]}
    expected = {r["provider"]: r["n"] for r in query(catalog, "select provider, count(*) as n from models group by 1")}
    assert counts == expected
    tools = {item["value"]: item["count"] for item in facets["supports_tools"]["results"]}
    assert tools[1] == query(catalog, "select count(*) as n from models where supports_tools = 1")[0]["n"]


# --------------------------------------------------------------------------- canned queries


@pytest.mark.anyio
async def test_canned_queries_with_parameters(served, catalog):
    rows = await served.json("/vexy/cheapest_with_context.json?min_context=100000&tools=1&_shape=array")
    assert rows
    assert all(r["context_window"] >= 100000 and r["supports_tools"] == 1 for r in rows)
    assert [r["input_price"] for r in rows] == sorted(r["input_price"] for r in rows)
    expected = query(
        catalog,
        "select count(*) as n from models where removed_at is null and input_price is not null "
        "and context_window >= 100000 and supports_tools = 1",
    )[0]["n"]
    assert len(rows) == expected
    everything = await served.json("/vexy/cheapest_with_context.json?min_context=&tools=&type=&_shape=array")
    assert len(everything) > len(rows)
    embeddings = await served.json("/vexy/cheapest_with_context.json?type=embedding&_shape=array")
    assert all(r["model_type"] == "embedding" for r in embeddings)

    side = await served.json(f"/vexy/model_across_providers.json?model={LLAMA}&_shape=array")
    # The reference lists' records of groq's deployment too: litellm's and models.dev's.
    assert {(r["provider"], r["model_id"]) for r in side} == {
        ("groq", LLAMA),
        ("litellm", f"groq/{LLAMA}"),
        ("modelsdev", f"groq/{LLAMA}"),
    }
    wild = await served.json("/vexy/model_across_providers.json?model=llama-3.3%25&_shape=array")
    assert {r["provider"] for r in wild} >= {"groq", "litellm"}

    today = query(catalog, "select substr(max(finished_at), 1, 10) as d from fetches")[0]["d"]
    price = await served.json(f"/vexy/model_price_on_date.json?provider=groq&model={LLAMA}&date={today}&_shape=array")
    # groq states no price for it; today's price is litellm's, so litellm's history answers.
    assert [(r["price_from"], r["provider"], r["model_id"]) for r in price] == [
        ("provider", "groq", LLAMA),
        (f"litellm:groq/{LLAMA}", "litellm", f"groq/{LLAMA}"),
    ]
    assert price[0]["input_price"] is None and price[1]["input_price"] == pytest.approx(0.59)
    assert price[0]["change"] == "added" and price[0]["context_window"] == 131072
    before = await served.json(f"/vexy/model_price_on_date.json?provider=groq&model={LLAMA}&date=2000-01-01")
    assert before["rows"] == []

    assert await served.json("/vexy/stale_providers.json?hours=24&_shape=array") == []
    assert await served.json("/vexy/recent_failed_fetches.json?days=7&_shape=array") == []
    # Without a value the parameter falls back to its documented default.
    assert await served.json("/vexy/models_added_recently.json?days=&_shape=array") == []


@pytest.mark.anyio
async def test_canned_queries_see_new_models_failures_and_staleness(catalog, providers, server):
    providers_file, db_path = providers
    groq = answer("groq")["data"] + answer("groq-llama")["data"]
    server.routes["groq"].body = {"object": "list", "data": groq + [{"id": "brand-new-model", "object": "model"}]}
    await afetch(db_path, providers_file, "groq")
    server.routes["mistral"] = Route(status=500)
    await afetch(db_path, providers_file, "mistral")
    served = Served(db_path)
    try:
        added = await served.json("/vexy/models_added_recently.json?days=7&_shape=array")
        # The provider's first fetch is not "added": only what came since.
        assert [(r["provider"], r["model_id"]) for r in added] == [("groq", "brand-new-model")]
        failed = await served.json("/vexy/recent_failed_fetches.json?days=1&_shape=array")
        assert [r["provider"] for r in failed] == ["mistral"] and failed[0]["http_status"] == 500
        only = await served.json("/vexy/recent_failed_fetches.json?days=1&provider=groq&_shape=array")
        assert only == []
        stale = await served.json("/vexy/stale_providers.json?hours=0&_shape=array")
        attempted = query(db_path, "select name from providers where last_fetch_at is not null")
        assert {r["name"] for r in stale} == {r["name"] for r in attempted}
    finally:
        served.close()


# --------------------------------------------------------------------------- health


@pytest.mark.anyio
async def test_health_when_providers_have_failed(catalog, providers, server):
    providers_file, db_path = providers
    before = query(db_path, "select last_success_at, model_count from providers where name = 'groq'")[0]
    server.routes["groq"] = Route(status=500)
    await afetch(db_path, providers_file, "groq")
    await afetch(db_path, providers_file, "groq")
    served = Served(db_path)
    try:
        report = await served.json("/-/vexy/health.json")
        assert report["status"] == "degraded"
        rows = {p["name"]: p for p in report["providers"]}
        groq = rows["groq"]
        assert groq["last_status"] == "failed" and groq["consecutive_failures"] == 2
        assert groq["last_success_at"] == before["last_success_at"]
        assert groq["models_listed"] == before["model_count"] and groq["healthy"] is False
        assert groq["age_seconds"] >= 0 and "500" in groq["last_error"]
        assert rows["openrouter"]["healthy"] and rows["openrouter"]["consecutive_failures"] == 0
        assert any(p.startswith("groq: last 2 fetches failed") for p in report["problems"])
        # Against the fetch history itself.
        history = query(db_path, "select status from fetches where provider = 'groq' order by id")
        assert [h["status"] for h in history][-2:] == ["failed", "failed"]
        catalog_report = report["catalog"]
        assert catalog_report["quick_check"] == "ok"
        assert catalog_report["schema_version"] == catalog_report["latest_schema_version"] >= 3
        assert (
            catalog_report["models_listed"]
            == query(db_path, "select count(*) as n from models where removed_at is null")[0]["n"]
        )
        assert catalog_report["fetches"] == query(db_path, "select count(*) as n from fetches")[0]["n"]

        page = await served.get("/-/vexy/health")
        assert "degraded" in page.text and "vexy-unhealthy" in page.text
        assert "groq: last 2 fetches failed" in page.text
        # A longer allowed age changes nothing for a failing provider; a bad one is a 400.
        assert (await served.json("/-/vexy/health.json?max_age=30d"))["status"] == "degraded"
        bad = await served.json("/-/vexy/health.json?max_age=soon", status=400)
        assert "max_age" in bad["error"]
        # Once it recovers, so does the report.
        server.routes["groq"] = Route(body=answer("groq"))
        await afetch(db_path, providers_file, "groq")
        assert (await served.json("/-/vexy/health.json"))["status"] == "ok"
    finally:
        served.close()


# --------------------------------------------------------------------------- public preset


@pytest.mark.anyio
async def test_public_preset(catalog):
    public = Served(catalog, public=True)
    try:
        db = public.ds.databases["vexy"]
        assert db.is_mutable is True  # read-only snapshots: a fetch may write the file meanwhile
        assert public.ds.setting("default_allow_sql") is False
        assert public.ds.setting("allow_csv_stream") is False
        assert public.ds.setting("allow_download") is False
        assert public.ds.setting("sql_time_limit_ms") == 1000
        download = await public.get("/vexy.db", status=None)
        assert download.status_code in (403, 404) and not download.content.startswith(b"SQLite format 3")
        await public.get("/vexy.json?sql=select+1", status=403)
        await public.get("/vexy/models.json?_where=1%3D1", status=403)
        rows = await public.json("/vexy/cheapest_with_context.json?min_context=1&_shape=array")
        assert rows
        await public.get("/vexy/models.csv?_stream=1", status=400)  # CSV streaming is off
        await public.get("/vexy/models.csv?_size=5")  # a page of CSV is still there
        robots = await public.get("/robots.txt")
        assert robots.text == "User-agent: *\nDisallow: /\n"
        json_response = await public.get("/vexy/models.json?_shape=array")
        assert "access-control-allow-origin" not in json_response.headers
        tables = {t["name"]: t["count"] for t in (await public.json("/vexy.json"))["tables"]}
        assert tables["models"] == query(catalog, "select count(*) as n from models")[0]["n"]
        health = await public.json("/-/vexy/health.json")
        assert health["catalog"]["mode"] == "read-only" and "path" not in health["catalog"]
    finally:
        public.close()
    cors = Served(catalog, public=True, cors=True)
    try:
        response = await cors.get("/vexy/models.json?_shape=array")
        assert response.headers["access-control-allow-origin"] == "*"
        assert (await cors.get("/-/vexy/health.json")).headers["access-control-allow-origin"] == "*"
    finally:
        cors.close()
    private = Served(catalog)
    try:
        await private.get("/robots.txt", status=404)
        assert (await private.json("/vexy.json?sql=select+1+as+one&_shape=array")) == [{"one": 1}]
    finally:
        private.close()


def test_public_serves_what_is_committed_even_while_it_is_in_the_wal(catalog):
    # A fetch (or another server) has the file open, its last commit still in the -wal file.
    conn = sqlite3.connect(catalog)
    try:
        conn.execute("update providers set last_error = 'changed since' where name = 'groq'")
        conn.commit()
        assert Path(f"{catalog}-wal").stat().st_size > 0
        result = serve_get(catalog, "/vexy/providers.json?_shape=array&name=groq", "--public")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)[0]["last_error"] == "changed since"
    finally:
        conn.close()


def _make_outdated(db_path: Path) -> None:
    """A catalog as an older vexy left it: before its newest schema step."""
    conn = sqlite3.connect(db_path)
    try:
        newest = conn.execute("select name from _sqlite_migrations order by id desc limit 1").fetchone()[0]
        conn.execute("delete from _sqlite_migrations where name = ?", [newest])
        conn.commit()
    finally:
        conn.close()


def test_outdated_schema_public_refuses_private_upgrades(catalog):
    _make_outdated(catalog)
    before = hashlib.sha256(catalog.read_bytes()).hexdigest()
    result = serve_get(catalog, "/vexy/models.json?_search=llama&_shape=array", "--public")
    assert result.exit_code == 1
    assert "schema version" in result.output and "vexy fetch" in result.output
    assert hashlib.sha256(catalog.read_bytes()).hexdigest() == before
    result = serve_get(catalog, "/vexy/models.json?_search=llama&_shape=array")
    assert result.exit_code == 0, result.output
    assert ("groq", LLAMA) in {(r["provider"], r["model_id"]) for r in json.loads(result.output)}


# --------------------------------------------------------------------------- missing and empty


def test_missing_catalog_is_a_page_not_a_crash_and_is_not_created(tmp_path):
    db_path = tmp_path / "nothing-here.db"
    for options in ((), ("--public",)):
        result = serve_get(db_path, "/", *options)
        assert result.exit_code == 0, result.output
        assert "There is no catalog yet" in result.output and "vexy fetch" in result.output
        health = serve_get(db_path, "/-/vexy/health.json", *options)
        assert health.exit_code == 1 and json.loads(health.output)["status"] == "missing"
        config = serve_get(db_path, "/-/vexy/config/llm", *options)
        assert config.exit_code == 1 and "vexy fetch" in config.output
    assert not db_path.exists()
    assert list(tmp_path.iterdir()) == []


def test_empty_file_and_a_catalog_without_models(tmp_path, providers, server):
    empty = tmp_path / "empty.db"
    empty.touch()
    result = serve_get(empty, "/")
    assert result.exit_code == 0 and "vexy fetch" in result.output
    assert empty.stat().st_size == 0
    # A catalog whose every fetch failed: tables, no models. (Keyed providers only: with the
    # public lists failing too, a new catalog gets the bundled snapshot; see test_bundled.py.)
    providers_file, db_path = providers
    for name in list(server.routes):
        server.routes[name] = Route(status=503)
    fetch(db_path, providers_file, "groq", "mistral")
    # A fetch has happened: the home page says what failed, not "run vexy fetch".
    result = serve_get(db_path, "/")
    assert result.exit_code == 0, result.output
    page = result.output
    assert "every fetch so far failed" in page and "HTTP 503" in page
    assert "The catalog has no models yet" not in page and "Run <code>vexy fetch</code>" not in page
    failing = page.split('<section class="vexy-failing">', 1)[1].split("</section>", 1)[0]
    attempted = query(db_path, "select name from providers where last_status = 'failed'")
    assert attempted and all(f">{r['name']}</a>" in failing for r in attempted)
    result = serve_get(db_path, "/-/vexy/health.json")
    assert json.loads(result.output)["status"] == "degraded"


def test_not_a_catalog_is_a_clear_error(tmp_path):
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("create table t (x)")
    conn.commit()
    conn.close()
    result = serve_get(other, "/")
    assert result.exit_code == 1 and "not a vexy catalog" in result.output and "Traceback" not in result.output
    text = tmp_path / "notes.db"
    text.write_text("hello, not sqlite at all " * 100)
    result = serve_get(text, "/")
    assert result.exit_code == 1 and "Cannot read" in result.output


@pytest.mark.anyio
async def test_a_catalog_fetched_after_start_is_picked_up(providers):
    providers_file, db_path = providers
    served = Served(db_path)
    try:
        assert "There is no catalog yet" in (await served.get("/")).text
        await afetch(db_path, providers_file)
        index = await served.get("/")
        assert "/vexy/models" in index.text and "There is no catalog yet" not in index.text
        assert await served.json("/vexy/models.json?_shape=array&_size=1")
    finally:
        served.close()


@pytest.mark.anyio
async def test_catalog_file_of_any_name_is_served_as_vexy(catalog, tmp_path):
    other = tmp_path / "elsewhere" / "my catalog.sqlite"
    other.parent.mkdir()
    other.write_bytes(catalog.read_bytes())
    served = Served(other)
    try:
        assert list(served.ds.databases) == ["_internal", "vexy"]
        assert await served.json("/vexy/models.json?_shape=array&_size=1")
        data = await served.json("/vexy/models.json?_shape=objects&_size=0")
        assert "model_type" in data["facet_results"]  # metadata applies
    finally:
        served.close()


# --------------------------------------------------------------------------- read-only


def every_route(catalog: Path) -> list[str]:
    model = query(catalog, "select provider, model_id from models where provider = 'groq' limit 1")[0]
    from datasette.utils import tilde_encode

    row = f"{tilde_encode(model['provider'])},{tilde_encode(model['model_id'])}"
    paths = [
        "/",
        "/.json",
        "/vexy",
        "/vexy.json",
        "/vexy/models",
        "/vexy/models?_search=llama&provider=groq",
        "/vexy/models.json?_shape=array",
        "/vexy/models.csv?_size=max",
        "/vexy/models.csv?_stream=1",
        f"/vexy/models/{row}",
        f"/vexy/models/{row}.json",
        "/vexy/providers",
        "/vexy/providers/groq",
        "/vexy/fetches",
        "/vexy/payloads",
        "/vexy/_sqlite_migrations",
        "/vexy.json?sql=select+count(*)+from+models",
        "/-/vexy/health",
        "/-/vexy/health.json",
        "/-/vexy/config",
        "/-/vexy/config?provider=groq&tools=1",
        "/-/vexy/config/nope",
        "/-/vexy/config/llm?min_context=x",
        "/-/plugins.json",
        "/-/metadata.json",
        "/-/databases.json",
        "/-/settings.json",
        "/robots.txt",
    ]
    for canned in load_metadata()["databases"]["vexy"]["queries"]:
        paths.append(f"/vexy/{canned}")
        paths.append(f"/vexy/{canned}.json?provider=groq&model={LLAMA}&date=2030-01-01&days=1&hours=1&min_context=1")
    for tool in _tools():
        paths.append(f"/-/vexy/config/{tool}")
        paths.append(f"/-/vexy/config/{tool}?provider=groq&tools=1")
    return paths


def _tools() -> tuple[str, ...]:
    from vexy_catalog.export import TOOLS

    return TOOLS


@pytest.mark.anyio
@pytest.mark.parametrize("public", [False, True])
async def test_no_route_writes(catalog, public):
    before = hashlib.sha256(catalog.read_bytes()).hexdigest()
    watcher = sqlite3.connect(catalog)
    try:
        version = watcher.execute("pragma data_version").fetchone()[0]
        served = Served(catalog, public=public)
        try:
            for path in every_route(catalog):
                response = await served.get(path, status=None)
                assert response.status_code < 500, f"{path}: {response.status_code} {response.text[:300]}"
        finally:
            served.close()
        assert watcher.execute("pragma data_version").fetchone()[0] == version
    finally:
        watcher.close()
    assert hashlib.sha256(catalog.read_bytes()).hexdigest() == before


# --------------------------------------------------------------------------- links and pages


def test_table_filters_become_config_parameters():
    params, dropped = config_params_from_table(
        "models",
        parse_qsl(
            "provider__in=groq,openai&supports_tools=1&supports_vision__exact=1&model_type=chat"
            "&context_window__gte=128000&input_price__lte=0.5&_search=llama&_sort=input_price&_size=50"
            "&owned_by=meta&supports_reasoning=0&removed_at__isnull=1&_facet=provider",
            keep_blank_values=True,
        ),
    )
    assert params == [
        ("provider", "groq"),
        ("provider", "openai"),
        ("tools", "1"),
        ("vision", "1"),
        ("type", "chat"),
        ("min_context", "128000"),
        ("max_input_price", "0.5"),
        ("q", "llama"),
    ]
    assert dropped == ["owned_by=meta", "supports_reasoning=0"]
    assert config_params_from_table("models", [("context_window__gt", "999")])[0] == [("min_context", "1000")]
    assert config_params_from_table("providers", [("name", "groq"), ("kind", "openai")]) == (
        [("provider", "groq")],
        ["kind=openai"],
    )
    # Every translation is a filter the download route accepts.
    parse_model_filter(params, ["groq", "openai"])


def test_model_filter_parameters_and_their_errors():
    f = parse_model_filter(
        [("provider", "groq"), ("provider", "openai"), ("q", "llama"), ("min_context", "8000"), ("tools", "1")],
        ["groq", "openai"],
    )
    assert (f.providers, f.query, f.min_context, f.tools, f.vision) == (["groq", "openai"], "llama", 8000, True, False)
    with pytest.raises(BadParameters) as e:
        parse_model_filter(
            [
                ("min_context", "lots"),
                ("max_input_price", "-1"),
                ("tools", "maybe"),
                ("type", "hologram"),
                ("provider", "nope"),
                ("providers", "groq"),
                ("q", "a"),
                ("q", "b"),
            ],
            ["groq"],
        )
    problems = "\n".join(e.value.problems)
    for fragment in (
        "min_context",
        "max_input_price",
        "tools must be 1 or 0",
        "type must be one of",
        "unknown provider 'nope'",
        "unknown parameter 'providers'",
        "q is given more than once",
    ):
        assert fragment in problems


@pytest.mark.anyio
async def test_table_actions_and_menu_links(served):
    page = await served.get("/vexy/models?provider=groq&supports_tools=1&owned_by=Meta&_search=llama")
    assert "Download a config for these rows" in page.text
    assert "/-/vexy/config?provider=groq&amp;tools=1&amp;q=llama&amp;_dropped=owned_by%3DMeta" in page.text
    assert '<a href="/-/vexy/health">Catalog health</a>' in page.text
    providers_page = await served.get("/vexy/providers?name=groq")
    assert "/-/vexy/config?provider=groq" in providers_page.text
    fetches_page = await served.get("/vexy/fetches")
    assert "Download a config for these" not in fetches_page.text
    index = await served.get("/")
    assert "/-/vexy/health" in index.text and "/-/vexy/config" in index.text


@pytest.mark.anyio
async def test_config_page(served, catalog):
    page = await served.get("/-/vexy/config?provider=groq&tools=1&_dropped=owned_by%3DMeta")
    n = query(
        catalog,
        "select count(*) as n from models where provider = 'groq' and supports_tools = 1 and removed_at is null",
    )[0]["n"]
    assert f"{n} model" in page.text
    assert "owned_by=Meta" in page.text
    for tool in _tools():
        assert f'href="/-/vexy/config/{tool}?provider=groq&amp;tools=1"' in page.text
    # The downloads come after the filters, so narrowing comes before the first click; the
    # page says when a link is the whole catalog.
    assert page.text.index("</form>") < page.text.index('class="vexy-download"')
    assert "the whole catalog" not in page.text
    everything = await served.get("/-/vexy/config")
    assert everything.text.index("</form>") < everything.text.index('class="vexy-download"')
    assert "the whole catalog" in everything.text
    bad = await served.get("/-/vexy/config?min_context=lots", status=400)
    assert "min_context must be a number of tokens" in bad.text


@pytest.mark.anyio
async def test_model_page_shows_facts_sources_and_raw_record(served, catalog):
    page = (await served.get(f"/vexy/models/groq,{LLAMA.replace('.', '~2E')}")).text
    assert "<h2>Facts</h2>" in page
    assert "Input price (USD / 1M tokens)" in page and "0.59" in page
    # Enriched facts link to the reference record they came from.
    assert '/vexy/models/litellm,groq~2Fllama-3~2E3-70b-versatile">litellm:groq/llama-3.3-70b-versatile</a>' in page
    assert "The same model at other providers" in page
    stored = query(catalog, "select raw from models where provider = 'groq' and model_id = ?", [LLAMA])
    raw = json.loads(stored[0]["raw"])
    pretty = json.dumps(raw, indent=2, ensure_ascii=False).replace('"', "&#34;")
    assert pretty in page


@pytest.mark.anyio
async def test_provider_page_shows_fetch_history(catalog, providers, server):
    providers_file, db_path = providers
    server.routes["groq"] = Route(status=502)
    await afetch(db_path, providers_file, "groq")
    served = Served(db_path)
    try:
        page = (await served.get("/vexy/providers/groq")).text
        history = page.split("<h2>Fetch history</h2>", 1)[1].split("<h2>All columns</h2>", 1)[0]
        # Newest first: the failure, then the first fetch.
        assert history.index("vexy-status-failed") < history.index("vexy-status-ok")
        assert history.count("vexy-status-failed") == history.count("vexy-status-ok") == 1
        assert "<td>502</td>" in history and "HTTP 502" in history
        assert "/-/vexy/config?provider=groq" in page
    finally:
        served.close()


# --------------------------------------------------------------------------- downloads


@pytest.fixture
def export_catalog(providers, server, monkeypatch):
    from export_helpers import build_catalog

    return build_catalog(providers, server, monkeypatch)


def _download(response, tool: str) -> dict[str, str]:
    """The files of a download: one for a single-file format, the zip's members otherwise."""
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment; filename=")
    filename = disposition.split("filename=", 1)[1].strip('"')
    if response.headers["content-type"] == "application/zip":
        assert filename == f"vexy-{tool}.zip"
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert archive.testzip() is None
            return {name: archive.read(name).decode("utf-8") for name in archive.namelist()}
    return {filename: response.content.decode("utf-8")}


@pytest.mark.anyio
async def test_every_download_is_what_the_clients_accept(export_catalog):
    from export_helpers import check_aichat, check_litellm, check_mods

    from vexy_catalog.export import SINGLE_FILE, TOOLS

    served = Served(export_catalog.db_path)
    try:
        for tool in TOOLS:
            response = await served.get(f"/-/vexy/config/{tool}")
            files = _download(response, tool)
            if tool in SINGLE_FILE:
                assert len(files) == 1
                # The same bytes as `vexy export TOOL` prints.
                assert next(iter(files.values())) == export_catalog.export(tool).stdout
            for name, text in files.items():
                for value in export_catalog.keys.values():
                    assert value not in text, f"{tool}/{name} holds a key value"
            text = next(iter(files.values()))
            if tool == "aichat":
                assert response.headers["content-type"].startswith("application/yaml")
                check_aichat(text)
            elif tool == "mods":
                check_mods(text)
            elif tool == "litellm":
                check_litellm(text)
            elif tool == "llm":
                entries = yaml.safe_load(text)
                assert entries and all("model_id" in e and "model_name" in e for e in entries)
            elif tool == "codex":
                assert any(name.endswith("config.toml") for name in files)
                for name, body in files.items():
                    loaded = json.loads(body) if name.endswith(".models.json") else tomllib.loads(body)
                    assert isinstance(loaded, dict), name
            elif tool in ("opencode", "crush", "modelsdev", "catwalk", "litellm-costmap"):
                assert response.headers["content-type"].startswith("application/json")
                assert json.loads(text)
            elif tool == "aichat-models":
                assert yaml.safe_load(text)
            elif tool == "json":
                for name, body in files.items():
                    assert name.endswith(".json") and json.loads(body) is not None
            elif tool == "txt":
                assert all(name.endswith(".txt") for name in files)
    finally:
        served.close()


@pytest.mark.anyio
async def test_download_filters_select_the_rows_of_vexy_models(export_catalog):
    served = Served(export_catalog.db_path)
    try:
        response = await served.get("/-/vexy/config/llm?provider=groq&tools=1&min_context=100000")
        entries = yaml.safe_load(next(iter(_download(response, "llm").values())))
        expected = export_catalog.run("models", "--provider", "groq", "--tools", "--min-context", "100000", "--json")
        ids = {m["model_id"] for m in json.loads(expected.stdout)}
        assert ids and {e["model_name"] for e in entries} == ids
        assert "x-vexy-hint" not in response.headers or response.headers["x-vexy-hint"].isascii()
        empty = await served.get("/-/vexy/config/aichat?q=no-model-is-called-this")
        assert empty.status_code == 200
    finally:
        served.close()


@pytest.mark.anyio
async def test_download_parameters_that_make_no_sense_are_a_400(served):
    cases = {
        "/-/vexy/config/llm?min_context=lots": "min_context must be a number of tokens",
        "/-/vexy/config/llm?provider=nope": "unknown provider 'nope'",
        "/-/vexy/config/llm?providers=groq": "unknown parameter 'providers'",
        "/-/vexy/config/llm?type=hologram": "type must be one of",
        "/-/vexy/config/llm?tools=perhaps": "tools must be 1 or 0",
    }
    for path, message in cases.items():
        response = await served.get(path, status=400)
        assert message in response.text and response.headers["content-type"].startswith("text/plain")
    missing = await served.get("/-/vexy/config/emacs", status=404)
    assert "use one of: aichat, codex" in missing.text


def test_serve_get_writes_a_zip_download_as_bytes(export_catalog):
    result = CliRunner().invoke(
        cli, ["--db", str(export_catalog.db_path), "serve", "--get", "/-/vexy/config/codex?provider=groq"]
    )
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(io.BytesIO(result.stdout_bytes)) as archive:
        assert any(name.endswith("config.toml") for name in archive.namelist())


def test_download_links_carry_only_known_parameters(catalog):
    """The config page's links point at the download route with parameters it accepts."""
    result = serve_get(catalog, "/-/vexy/config?provider=groq&tools=1&q=llama")
    links = [line for line in result.output.split('"') if line.startswith("/-/vexy/config/")]
    assert links
    for link in links:
        url = urlsplit(link.replace("&amp;", "&"))
        parse_model_filter(parse_qsl(url.query, keep_blank_values=True), ["groq"])
