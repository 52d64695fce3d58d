"""The models table's facets, counted in one query (datasette_plugins.facets), are Datasette's.

Datasette's own ColumnFacet is the reference: both classes get the same page SQL, request and
table metadata on a real catalog, and must describe every facet identically (values, counts,
order, labels, links, truncation), except that a column asked for twice is counted once.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import Served, query
from datasette.facets import ColumnFacet
from datasette.utils.asgi import Request

from datasette_plugins.facets import CatalogColumnFacet, batched_facet_sql

FACETS = ("provider", "model_type", "supports_tools", "supports_vision", "supports_reasoning")
SEARCH = "select * from models where rowid in (select rowid from models_fts where models_fts match escape_fts(:search))"


@pytest.fixture
def served(fetched):
    s = Served(fetched[1])
    yield s
    s.close()


async def both(served: Served, path: str, sql: str, params: dict[str, Any]) -> tuple[Any, Any]:
    await served.get("/")  # start-up
    ds = served.ds
    request = Request.fake(path)
    metadata = ds.table_metadata("vexy", "models")
    args = {"sql": sql, "params": params, "table": "models", "metadata": metadata, "row_count": None}
    ours = await CatalogColumnFacet(ds, request, "vexy", **args).facet_results()
    datasette = await ColumnFacet(ds, request, "vexy", **args).facet_results()
    return ours, datasette


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("path", "where", "params"),
    [
        ("/vexy/models?_search=llama", "", {}),
        ("/vexy/models?_search=llama&_facet_size=1", "", {}),  # truncated facets
        ("/vexy/models?_search=llama&provider=groq", " and provider = :p0", {"p0": "groq"}),
        ("/vexy/models?_search=gpt&supports_tools=1&_facet=owned_by", " and supports_tools = :p0", {"p0": "1"}),
    ],
)
async def test_searched_facets_are_datasettes(served, path, where, params):
    search = re.search(r"_search=(\w+)", path)
    assert search
    ours, datasette = await both(served, path, SEARCH + where, {"search": search.group(1), **params})
    assert ours == datasette
    facets, timed_out = ours
    assert not timed_out and len(facets) >= 5
    assert next(f for f in facets if f["name"] == "provider")["results"]
    if "_facet_size=1" in path:
        assert any(f["truncated"] for f in facets)
    if "provider=groq" in path:
        provider = next(f for f in facets if f["name"] == "provider")
        assert [(r["value"], r["selected"]) for r in provider["results"]] == [("groq", True)]


@pytest.mark.anyio
async def test_a_filter_without_search_is_counted_as_datasette_counts_it(served):
    sql = "select * from models where context_window >= :p0"
    ours, datasette = await both(served, "/vexy/models?context_window__gte=100000", sql, {"p0": 100000})
    assert ours == datasette


@pytest.mark.anyio
async def test_a_facet_asked_for_twice_is_counted_once(served, fetched):
    path = "/vexy/models?_search=llama&_facet=provider&_facet=owned_by"
    ours, datasette = await both(served, path, SEARCH, {"search": "llama"})
    # Datasette counts the configured provider facet and the requested one; we count it once,
    # as configured (not hideable), and the rest as Datasette does.
    assert [f["name"] for f in datasette[0]].count("provider") == 2
    assert [f["name"] for f in ours[0]].count("provider") == 1
    assert ours[0] == [f for i, f in enumerate(datasette[0]) if not (f["name"] == "provider" and f["hideable"])]
    # The page: one provider facet, in the JSON and on the fold's summary line.
    data = await served.json("/vexy/models.json?_facet=provider&_size=0")
    assert list(data["facet_results"]) == list(FACETS)
    counts = {r["value"]: r["count"] for r in data["facet_results"]["provider"]["results"]}
    expected = query(fetched[1], "select provider, count(*) as n from models group by provider")
    assert counts == {r["provider"]: r["n"] for r in expected}
    page = (await served.get("/vexy/models?_facet=provider")).text
    summary = re.search(r"<summary>Facets: ([^<]*)</summary>", page)
    assert summary and summary.group(1).split(", ").count("provider") == 1


@pytest.mark.anyio
async def test_a_searched_page_counts_its_facets_over_the_matching_rows(served, fetched):
    data = await served.json("/vexy/models.json?_search=llama&_size=0")
    matching = "rowid in (select rowid from models_fts where models_fts match 'llama')"
    for column in FACETS:
        rows = query(
            fetched[1],
            f"select {column} as value, count(*) as n from models where {matching} and {column} is not null "
            f"group by {column}",
        )
        got = {r["value"]: r["count"] for r in data["facet_results"][column]["results"]}
        assert got == {r["value"]: r["n"] for r in rows}, column
    count = query(fetched[1], f"select count(*) as n from models where {matching}")[0]["n"]
    assert data["filtered_table_rows_count"] == count


@pytest.mark.anyio
async def test_other_databases_keep_datasettes_facets(served, tmp_path: Path):
    import sqlite3

    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.executescript("create table t (a text, b text); insert into t values ('x', 'y'), ('x', 'z');")
    conn.close()
    from datasette.database import Database

    served.ds.add_database(Database(served.ds, path=str(other)), name="other")
    await served.get("/")
    data = await served.json("/other/t.json?_facet=a&_facet=a&_facet=b&b__not=q")
    assert list(data["facet_results"]) == ["a", "a_2", "b"]  # as Datasette 0.65 answers it


def test_the_batched_statement_reads_the_rows_once():
    sql = batched_facet_sql("select * from models where provider = :p0", ["provider", "_weird col"], 31)
    assert sql.count("select * from models") == 1
    assert sql.count("union all") == 1
    assert "[_weird col]" in sql and "limit 31" in sql
