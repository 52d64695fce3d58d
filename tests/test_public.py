"""`vexy serve --public` is safe to put on the internet (issue 17): a time and a size limit on
every plugin route, heavy work one at a time, a cached integrity check, no database download,
no file path in any answer, the Host header checked, and a cron fetch writing the file while it
is served never shows "malformed" or "corrupt".

Requests go through ``datasette.client`` (the Host check is an ASGI wrapper, so it sees them
too); catalogs are fetched from the loopback fake providers.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest
from conftest import answer
from fake_providers import Route

import datasette_plugins.health
from datasette_plugins import guard
from vexy_catalog import ModelCatalog
from vexy_catalog.history import prune
from vexy_catalog.serve import build_datasette, load_metadata


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def catalog(providers) -> Path:
    providers_file, db_path = providers
    summary = ModelCatalog(db_path=db_path, providers_file=providers_file).fetch()
    assert summary.ok, summary.failed
    return db_path


class Client:
    def __init__(self, db_path: Path, **options):
        self.ds = build_datasette(db_path, **options)
        self._started = False

    async def get(self, path: str, **kwargs):
        if not self._started:
            await self.ds.invoke_startup()
            self._started = True
        return await self.ds.client.get(path, **kwargs)

    def close(self) -> None:
        for db in self.ds.databases.values():
            db.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def with_plugin_settings(**settings) -> dict:
    metadata = load_metadata()
    metadata.setdefault("plugins", {})["vexy"] = settings
    return metadata


# --------------------------------------------------------------------------- a cron fetch meanwhile


@pytest.mark.anyio
async def test_a_cron_fetch_and_prune_while_serving_never_show_malformed_or_corrupt(
    catalog, providers, server, monkeypatch
):
    providers_file, db_path = providers
    # Every health answer runs the integrity check, so it runs while the writer writes.
    monkeypatch.setattr(datasette_plugins.health, "INTEGRITY_EVERY", 0.0)
    public = Client(db_path, public=True)
    stop = threading.Event()
    errors: list[BaseException] = []

    def cron() -> None:
        try:
            for i in range(12):
                # A list that changes every time, so every fetch writes models and payloads.
                records = [{"id": f"m{j}", "context_length": 1000 * (i + 1)} for j in range(300 + i)]
                server.set("openrouter", Route(body={"data": records}))
                server.set(
                    "groq", Route(body={"data": answer("groq")["data"][: 2 + i % 3]}, key=server.routes["groq"].key)
                )
                ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["openrouter", "groq", "litellm"])
                if i % 3 == 2:
                    conn = ModelCatalog(db_path=db_path).open_db()
                    try:
                        prune(conn, keep=1)
                    finally:
                        conn.close()
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)
        finally:
            stop.set()

    writer = threading.Thread(target=cron)
    writer.start()
    seen = []
    try:
        while not stop.is_set() or len(seen) < 30:
            for path in (
                "/vexy/models?provider=openrouter",
                "/vexy/models.json?_shape=array&_size=5",
                "/-/vexy/health.json",
            ):
                response = await public.get(path)
                seen.append((path, response.status_code))
                assert response.status_code < 500, (path, response.status_code, response.text[:300])
                assert "malformed" not in response.text and '"corrupt"' not in response.text
        writer.join()
        assert not errors, errors
        health = (await public.get("/-/vexy/health.json")).json()
        assert health["status"] in ("ok", "degraded") and health["catalog"]["quick_check"] == "ok"
        # What the last fetch committed is served, without a restart.
        rows = (
            await public.get("/vexy/models.json?_shape=array&provider=openrouter&removed_at__isnull=1&_size=max")
        ).json()
        assert len(rows) == 311
    finally:
        stop.set()
        writer.join()
        public.close()
    assert len(seen) >= 30


# --------------------------------------------------------------------------- nothing of the server shows


@pytest.mark.anyio
async def test_no_database_download_and_no_file_path_in_any_answer(catalog):
    with Client(catalog, public=True) as public:
        download = await public.get("/vexy.db")
        assert download.status_code in (403, 404) and b"SQLite format 3" not in download.content
        paths = [
            "/-/databases.json",
            "/-/databases",
            "/-/versions.json",
            "/-/plugins.json",
            "/-/plugins.json?all=1",
            "/-/settings.json",
            "/-/metadata.json",
            "/-/actor.json",
            "/.json",
            "/vexy.json",
            "/vexy/models.json?_size=1",
            "/-/vexy/health.json",
            "/-/vexy/health",
            "/vexy/nope.json",
            "/-/vexy/config/nope",
        ]
        server_files = [str(catalog.parent), sys.prefix, "site-packages"]
        for path in paths:
            response = await public.get(path)
            assert response.status_code < 500, path
            assert not [f for f in server_files if f in response.text], (path, response.text[:500])
        (listed,) = (await public.get("/-/databases.json")).json()
        assert listed["name"] == "vexy" and listed["path"] == catalog.name
        assert (await public.get("/-/threads.json")).status_code == 404


# --------------------------------------------------------------------------- the Host header


@pytest.mark.parametrize(
    "host,listen,allowed,ok",
    [
        ("localhost:8001", "127.0.0.1", (), True),
        ("127.0.0.1:8001", "127.0.0.1", (), True),
        ("[::1]:8001", "127.0.0.1", (), True),
        ("vexy.localhost", "127.0.0.1", (), True),
        ("attacker.example:8001", "127.0.0.1", (), False),
        ("attacker.example", "127.0.0.1", (), False),
        ("192.168.1.5:8001", "192.168.1.5", (), True),
        ("models.example.com", "0.0.0.0", (), True),
        ("models.example.com", "0.0.0.0", ("models.example.com",), True),
        ("attacker.example", "0.0.0.0", ("models.example.com",), False),
        ("a.models.example.com", "0.0.0.0", (".models.example.com",), True),
        ("models.example.com.attacker.example", "0.0.0.0", (".models.example.com",), False),
        ("anything", "127.0.0.1", ("*",), True),
    ],
)
def test_which_host_names_are_answered(host, listen, allowed, ok):
    assert guard.allowed_host(host, listen, allowed) is ok


@pytest.mark.anyio
async def test_a_request_for_another_host_is_refused_on_every_route(catalog):
    with Client(catalog, host="127.0.0.1", allow_hosts=("catalog.example.com",)) as local:
        for path in ("/", "/vexy/models.json", "/-/vexy/health.json", "/-/vexy/config/llm"):
            refused = await local.get(path, headers={"host": "rebound.attacker.example"})
            assert refused.status_code == 400, path
            assert "--allow-host rebound.attacker.example" in refused.text
        assert (await local.get("/vexy/models.json", headers={"host": "localhost:8001"})).status_code == 200
        assert (await local.get("/vexy/models.json", headers={"host": "catalog.example.com"})).status_code == 200


# --------------------------------------------------------------------------- time and size limits


@pytest.mark.anyio
async def test_every_plugin_route_has_a_time_limit(catalog):
    with Client(catalog, public=True, metadata=with_plugin_settings(route_time_limit_ms=0)) as slow:
        for path in ("/-/vexy/config/aichat", "/-/vexy/health.json", "/-/vexy/changes.atom", "/-/vexy/config"):
            response = await slow.get(path)
            assert response.status_code == 503, (path, response.status_code)
            assert "took longer than the 0 s limit" in response.text
    with Client(catalog, public=True, metadata=with_plugin_settings(route_time_limit_ms="soon")) as broken:
        response = await broken.get("/-/vexy/config/aichat")
        assert response.status_code == 500 and "route_time_limit_ms" in response.text


@pytest.mark.anyio
async def test_every_plugin_route_has_a_size_limit(catalog):
    with Client(catalog, public=True, metadata=with_plugin_settings(route_max_bytes=2_000)) as small:
        response = await small.get("/-/vexy/config/litellm")
        assert response.status_code == 413 and "over the limit of 2,000" in response.text
        assert (await small.get("/robots.txt")).status_code == 200


@pytest.mark.anyio
async def test_a_download_of_more_models_than_the_public_limit_is_refused(providers, server):
    providers_file, db_path = providers
    many = [{"id": f"model-{i}"} for i in range(2_050)]
    server.set("openrouter", Route(body={"data": many}))
    assert (await ModelCatalog(db_path=db_path, providers_file=providers_file).afetch(["openrouter", "groq"])).ok
    with Client(db_path, public=True) as public:
        whole = await public.get("/-/vexy/config/llm")
        assert whole.status_code == 413
        assert "would list 2," in whole.text and "over the limit of 2,000" in whole.text and "vexy export" in whole.text
        assert (await public.get("/-/vexy/config/llm?provider=groq")).status_code == 200
    with Client(db_path) as private:
        assert (await private.get("/-/vexy/config/llm")).status_code == 200


@pytest.mark.anyio
async def test_heavy_work_waits_its_turn_and_too_much_of_it_is_busy(catalog):
    with Client(catalog, public=True, metadata=with_plugin_settings(heavy_queue=0)) as public:
        await public.get("/robots.txt")  # started
        async with guard.heavy_slot(public.ds):  # a download under way
            busy = await public.get("/-/vexy/config/aichat")
            assert busy.status_code == 503 and busy.headers["retry-after"] == "5"
            feed = await public.get("/-/vexy/models.dev/api.json")
            assert feed.status_code == 503
            # Pages that are not heavy are answered meanwhile.
            assert (await public.get("/vexy/providers")).status_code == 200
        assert (await public.get("/-/vexy/config/aichat")).status_code == 200


@pytest.mark.anyio
async def test_health_runs_the_integrity_check_at_most_once_a_minute(catalog, monkeypatch):
    with Client(catalog, public=True) as public:
        first = (await public.get("/-/vexy/health.json")).json()
        assert first["catalog"]["quick_check"] == "ok" and first["catalog"]["quick_check_at"]
        checked = datasette_plugins.health._INTEGRITY[public.ds][0]
        for _ in range(5):
            assert (await public.get("/-/vexy/health.json")).status_code == 200
        assert datasette_plugins.health._INTEGRITY[public.ds][0] == checked  # not run again
        monkeypatch.setattr(datasette_plugins.health, "INTEGRITY_EVERY", 0.0)
        await public.get("/-/vexy/health.json")
        assert datasette_plugins.health._INTEGRITY[public.ds][0] > checked


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/-/vexy/config/aichat?min_context=99999999999999999999999",
        "/-/vexy/config?min_context=99999999999999999999999",
        "/-/vexy/models.dev/api.json?min_context=99999999999999999999999",
        "/-/vexy/health.json?max_age=99999999999999999d",
        "/-/vexy/health?max_age=nan",
        "/-/vexy/changes.atom?since=99999999999999999999d",
        "/-/vexy/changes.atom?limit=99999999999999999999",
        "/-/vexy/config/aichat?as_of=99999999999999d",
        "/-/vexy/config/aichat?max_input_price=1e999",
    ],
)
async def test_oversized_numbers_in_parameters_are_a_400(catalog, path):
    with Client(catalog, public=True) as public:
        response = await public.get(path)
        assert response.status_code == 400, (response.status_code, response.text[:300])


def test_oversized_numbers_on_the_command_line_are_usage_errors(catalog):
    from click.testing import CliRunner

    from vexy_catalog.cli import cli

    for args in (
        ["models", "--min-context", "99999999999999999999999"],
        ["models", "--limit", "99999999999999999999999"],
        ["changes", "--since", "99999999999999999999d"],
        ["health", "--max-age", "9999999999999999d"],
        ["prune", "--keep", "99999999999999999999999"],
    ):
        result = CliRunner().invoke(cli, ["--db", str(catalog), *args])
        assert result.exit_code == 2, (args, result.output)
        assert "Traceback" not in result.output
