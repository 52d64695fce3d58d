"""The MCP server for agents, driven by the official ``mcp`` Python client: over Streamable HTTP
against a live ``vexy serve`` (a real uvicorn on loopback, whose ASGI lifespan starts the
datasette-mcp session manager), and over stdio against ``vexy mcp``.

The ``mcp`` extra (Python 3.11 or later) is in the test extra; without it (Python 3.10) these
tests are skipped, except on CI, where that is a failure.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from typing import Any

import pytest
from export_helpers import ON_CI, build_catalog, from_readme, live_serve, readme_url

if importlib.util.find_spec("datasette_mcp") is None or importlib.util.find_spec("mcp") is None:
    if ON_CI:
        pytest.fail("the mcp extra is not installed (pip install -e '.[test]' on Python 3.11+)", pytrace=False)
    pytest.skip(
        "the mcp extra is not installed (pip install -e '.[test]'; it needs Python 3.11 or later)",
        allow_module_level=True,
    )

CORP_LLAMA = "corp/llama-3.1-70b:free"
OUR_TOOLS = {"search_models", "compare_models", "price_history", "changes_since", "cheapest"}


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def catalog(providers, server, monkeypatch):
    """The export catalog, with one price change in corp-gateway's history."""
    from vexy_catalog import ModelCatalog

    catalog = build_catalog(providers, server, monkeypatch)
    body = copy.deepcopy(server.routes["corp-gateway"].body)
    for model in body["data"]:
        if model["id"] == CORP_LLAMA:
            model["input_cost_per_token"] = 1.5e-07
    server.routes["corp-gateway"].body = body
    assert ModelCatalog(db_path=catalog.db_path, providers_file=catalog.providers_file).fetch(["corp-gateway"]).ok
    return catalog


async def call(session: Any, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await session.call_tool(tool, arguments)
    assert not result.is_error, result.content
    return json.loads(result.content[0].text)


async def error_of(session: Any, tool: str, **arguments: Any) -> str:
    result = await session.call_tool(tool, arguments)
    assert result.is_error, result.content
    return result.content[0].text


async def check_vexy_tools(session: Any, catalog: Any) -> None:
    """Each of vexy's tools answers as the CLI does, and bad input is a tool error that says why."""
    found = await call(session, "search_models", provider=["groq"], tools=True, sort="context")
    rows = json.loads(catalog.run("models", "--provider", "groq", "--tools", "--sort", "context", "--json").stdout)
    assert [m["model_id"] for m in found["models"]] == [r["model_id"] for r in rows]
    assert found["count"] == len(rows)
    assert all(v is not None for m in found["models"] for v in m.values()), "unknown facts are left out"

    compared = await call(session, "compare_models", models=[f"corp-gateway/{CORP_LLAMA}", "groq/nosuch"])
    assert [m["model_id"] for m in compared["models"]] == [CORP_LLAMA], "split at the first slash"
    assert compared["models"][0]["input_price"] == 0.15 and compared["missing"] == ["groq/nosuch"]
    assert compared["models"][0]["sources"]["input_price"] == "provider"

    history = await call(session, "price_history", provider="corp-gateway", model=CORP_LLAMA)
    assert [(h["change"], h["input_price"]) for h in history["history"]] == [("added", 0.1), ("changed", 0.15)]
    assert history["history"][1]["changed"] == ["input_price"]

    changes = await call(session, "changes_since", date="1d", provider=["corp-gateway"])
    assert changes["changes"][0]["change"] == "changed" and "$0.10 -> $0.15" in changes["changes"][0]["summary"]

    cheap = await call(session, "cheapest", min_context=100000, tools=True, limit=5)
    prices = [m["input_price"] for m in cheap["models"]]
    assert prices == sorted(prices) and cheap["models"]
    assert all(m["context_window"] >= 100000 and m["supports_tools"] for m in cheap["models"])
    rows = json.loads(catalog.run("models", "--tools", "--min-context", "100000", "--type", "chat", "--json").stdout)
    assert prices[0] == min(r["input_price"] for r in rows if r["input_price"] is not None)

    assert "Unknown provider 'nosuch'" in await error_of(session, "search_models", provider=["nosuch"])
    assert "provider/model_id" in await error_of(session, "compare_models", models=["gpt-4o"])
    assert "since" in await error_of(session, "changes_since", date="someday")


@pytest.mark.anyio
async def test_mcp_over_http_from_vexy_serve(catalog):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    with live_serve(catalog.db_path) as server:
        url = readme_url(r"answers MCP \(Streamable HTTP\) at `(\S+)`", server.base)
        async with streamable_http_client(url) as (read, write), ClientSession(read, write) as session:
            await session.initialize()
            tools = {t.name for t in (await session.list_tools()).tools}
            assert OUR_TOOLS | {"execute_sql", "list_canned_queries"} <= tools
            await check_vexy_tools(session, catalog)
            sql = await call(
                session, "execute_sql", database="vexy", sql="select count(*) as n from models where provider = 'groq'"
            )
            assert sql["rows"][0]["n"] == len(catalog.query("select 1 from models where provider = 'groq'"))


@pytest.mark.anyio
async def test_public_mcp_is_read_only_canned_tools(catalog):
    from mcp import ClientSession
    from mcp.client.streamable_http import streamable_http_client

    with live_serve(catalog.db_path, "--public") as server:
        async with (
            streamable_http_client(f"{server.base}/-/mcp") as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            listed = (await session.list_tools()).tools
            tools = {t.name for t in listed}
            assert OUR_TOOLS <= tools
            assert not tools & {"execute_sql", "execute_writable_canned_query"}
            assert all(t.annotations and t.annotations.read_only_hint for t in listed), "every tool is read-only"
            canned = await call(session, "list_canned_queries", database="vexy")
            assert canned["queries"] and not any(q["write"] for q in canned["queries"])
            found = await call(session, "search_models", provider=["corp-gateway"])
            assert CORP_LLAMA in [m["model_id"] for m in found["models"]]


@pytest.mark.anyio
@pytest.mark.parametrize("public", [False, True])
async def test_mcp_over_stdio_from_vexy_mcp(catalog, public):
    from mcp import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    # The README's server command, {"command": "vexy", "args": [...]}, with this catalog's path.
    command = json.loads(from_readme(r"(?s)server command: `(\{.+?\})`"))
    args = [str(catalog.db_path) if a == "/path/to/vexy.db" else a for a in command["args"]]
    assert command["command"] == "vexy"
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "vexy_catalog.cli", *args, *(["--public"] if public else [])]
    )
    # errlog given now: stdio_client's default is the sys.stderr of whenever mcp was first
    # imported, which may have been a CliRunner's stream (no fileno) in an earlier test.
    async with stdio_client(params, errlog=sys.stderr) as (read, write), ClientSession(read, write) as session:
        await session.initialize()
        tools = {t.name for t in (await session.list_tools()).tools}
        assert OUR_TOOLS <= tools
        assert ("execute_sql" in tools) is not public, "--public: read-only canned tools only"
        await check_vexy_tools(session, catalog)


def test_vexy_mcp_without_a_catalog_says_so(tmp_path):
    from click.testing import CliRunner

    from vexy_catalog.cli import cli

    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "none.db"), "mcp"])
    assert result.exit_code == 1 and "vexy fetch" in result.output
    assert not (tmp_path / "none.db").exists()
