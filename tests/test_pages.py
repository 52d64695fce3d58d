"""The pages people read: the models table at a glance, a model's page with its history chart,
compare, the price/context scatter and the home page. Requests go through ``datasette.client``
on a catalog with a past (conftest's ``history_catalog``); what a browser shows is
test_browser.py's."""

from __future__ import annotations

import io
import json
import re
import shutil
import sqlite3
import zipfile
from html import unescape
from urllib.parse import quote

import pytest
from conftest import Served, query

from vexy_catalog.serve import load_metadata

DEFAULT_COLUMNS = load_metadata()["databases"]["vexy"]["tables"]["models"]["plugins"]["vexy"]["default_columns"]
LLAMA = "llama-3.3-70b-versatile"
LLAMA_PAGE = "/vexy/models/groq,llama-3~2E3-70b-versatile"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture
def served(history_catalog):
    s = Served(history_catalog.db_path)
    yield s
    s.close()


def headers(html: str) -> list[str]:
    """The columns the models table draws, in order."""
    table = html.split('<table class="rows-and-columns vexy-models">', 1)[1].split("</thead>", 1)[0]
    return re.findall(r'data-column="([^"]+)"', table)


def section(html: str, css_class: str) -> str:
    return html.split(f'class="{css_class}"', 1)[1].split("</section>", 1)[0]


# --------------------------------------------------------------------------- the models table


@pytest.mark.anyio
async def test_models_table_shows_the_default_columns_and_the_json_keeps_every_column(served):
    page = (await served.get("/vexy/models")).text
    assert headers(page) == DEFAULT_COLUMNS
    tbody = page.split("<tbody>", 1)[1]
    assert "col-raw" not in tbody and "col-content_hash" not in tbody and "col-description" not in tbody
    # JSON and CSV are Datasette's, untouched: every column.
    row = (await served.json("/vexy/models.json?_shape=objects&_size=1"))["rows"][0]
    assert {"raw", "content_hash", "description", "sources", *DEFAULT_COLUMNS} <= set(row)
    # The rest is one click away: Datasette's own _col and _nocol.
    assert headers((await served.get("/vexy/models?_col=raw&_col=name")).text) == [
        "provider",
        "model_id",
        "raw",
        "name",
    ]
    assert headers((await served.get("/vexy/models?_nocol=first_seen")).text) == [
        c for c in DEFAULT_COLUMNS if c != "first_seen"
    ]
    chooser = page.split('class="vexy-column-chooser"', 1)[1].split("</form>", 1)[0]
    db_path = served.ds.databases["vexy"].path
    columns = [r["name"] for r in query(db_path, "select name from pragma_table_info('models')")]
    # The key is always shown (Datasette adds it to any _col), so it is no choice.
    keys = ["provider", "model_id"]
    assert chooser.count("checked disabled") == len(keys)
    assert re.findall(r'name="_col" value="([^"]+)"', chooser) == [c for c in columns if c not in keys]
    assert set(re.findall(r'name="_col" value="([^"]+)" checked', chooser)) == set(DEFAULT_COLUMNS) - set(keys)
    every = unescape(re.search(r'class="vexy-all-columns" href="([^"]+)"', page).group(1))
    assert headers((await served.get(every)).text) == columns


@pytest.mark.anyio
async def test_models_table_cells_are_compact_and_link_to_their_rows(served, history_catalog):
    page = (await served.get(f"/vexy/models?provider=groq&model_id={LLAMA}")).text
    row = page.split("<tbody>", 1)[1].split("</tr>", 1)[0]
    assert f'href="{LLAMA_PAGE}"' in row
    assert '<abbr class="vexy-mark vexy-yes" title="tools: yes">' in row
    assert ">131k<" in row and ">$0.49<" in row and ">$0.79<" in row
    # An unknown capability is a mark of its own, never a guessed no.
    unknown = query(history_catalog.db_path, "select count(*) as n from models where supports_vision is null")[0]["n"]
    assert unknown and 'title="vision: unknown"' in (await served.get("/vexy/models?supports_vision__isnull=1")).text


@pytest.mark.anyio
async def test_long_text_is_cut_in_the_table_and_whole_on_the_row_page(served, history_catalog):
    long = query(
        history_catalog.db_path,
        "select provider, model_id, description from models where length(description) > 200 limit 1",
    )[0]
    where = f"provider={quote(long['provider'])}&model_id={quote(long['model_id'])}"
    table = (await served.get(f"/vexy/models?{where}&_col=description")).text
    cell = table.split('<td class="col-description">', 1)[1].split("</td>", 1)[0]
    assert cell.endswith("\u2026") and len(unescape(cell)) <= 80
    assert " ".join(long["description"].split()).startswith(unescape(cell)[:-1])
    row_page = (await served.get(f"/vexy/models/{quote(long['provider'])},{long['model_id'].replace('/', '~2F')}")).text
    assert unescape(row_page).count(long["description"]) >= 1


@pytest.mark.anyio
async def test_rows_come_before_facets_and_the_table_description(served):
    page = (await served.get("/vexy/models")).text
    table = page.index('<table class="rows-and-columns vexy-models">')
    facets = re.search(r'<details class="vexy-facets"( open)?>', page)
    assert facets and facets.group(1) is None and facets.start() < table  # folded, one line
    assert page.index('id="facet-provider"') > facets.start()
    assert page.index('class="metadata-description"') > table and page.index('class="column-descriptions"') > table
    # Asking for a facet opens the fold.
    assert '<details class="vexy-facets" open>' in (await served.get("/vexy/models?_facet=owned_by")).text


# --------------------------------------------------------------------------- a model's page


def series(page: str, fact: str) -> tuple[int, list[tuple[str, str]]]:
    """(steps, [(at, value)]) of one line of the wide chart."""
    wide = page.split('class="vexy-wide"', 1)[1].split('class="vexy-narrow"', 1)[0]
    group = re.search(rf'<g class="vexy-series" data-fact="{fact}"[^>]*data-steps="(\d+)">(.*?)</g>', wide, re.S)
    assert group, f"no line for {fact}"
    return int(group.group(1)), re.findall(r'data-at="([^"]+)" data-value="([^"]+)"', group.group(2))


@pytest.mark.anyio
async def test_model_page_charts_the_price_change_on_its_date(served, history_catalog):
    page = (await served.get(LLAMA_PAGE)).text
    steps, points = series(page, "input_price")
    # groq states no price: the line is litellm's record's, which changed 20 days ago.
    assert steps == 2
    assert [(at[:10], float(v)) for at, v in points] == [
        (history_catalog.first_on, 0.59),
        (history_catalog.changed_on, 0.49),
    ]
    assert series(page, "output_price")[0] == 1
    assert series(page, "context_window")[0] == 1
    assert f">{history_catalog.changed_on}</text>" in page  # the change's date is on the axis
    assert "Input price from litellm&#39;s record groq/llama-3.3-70b-versatile" in page
    changes = page.split('class="vexy-change-list"', 1)[1].split("</ul>", 1)[0]
    assert history_catalog.changed_on in changes and "input $0.59 -&gt; $0.49" in changes
    # The narrow drawing for phones has the same lines.
    narrow = page.split('class="vexy-narrow"', 1)[1]
    assert 'data-fact="input_price" data-label="in" data-steps="2"' in narrow


@pytest.mark.anyio
async def test_model_page_facts_sources_and_the_same_model_elsewhere(served):
    page = (await served.get(LLAMA_PAGE)).text
    facts = section(page, "vexy-facts-section")
    assert 'litellm,groq~2Fllama-3~2E3-70b-versatile">litellm:groq/llama-3.3-70b-versatile</a>' in facts
    # The catalog's own disputes of this model (groq says 131,072 where litellm's record says
    # 128,000: a disagreement) are listed.
    disputes = section(page, "vexy-disputes")
    assert "disagreement" in disputes and "litellm:groq/llama-3.3-70b-versatile" in disputes
    elsewhere = section(page, "vexy-elsewhere")
    assert "/vexy/models/litellm,groq~2Fllama-3~2E3-70b-versatile" in elsewhere and "price list" in elsewhere
    assert '<tr class="vexy-this">' in elsewhere


@pytest.mark.anyio
async def test_model_page_shows_other_sources_and_disputes_when_the_catalog_has_them(history_catalog, tmp_path):
    """fact_sources and disputes are another part's contract: read when they exist."""
    copy = tmp_path / "with-disputes.db"
    shutil.copy(history_catalog.db_path, copy)
    conn = sqlite3.connect(copy)
    conn.executescript(
        """
        delete from fact_sources where provider = 'groq' and model_id = 'llama-3.3-70b-versatile';
        insert into fact_sources (provider, model_id, fact, source, value, unit) values
          ('groq', 'llama-3.3-70b-versatile', 'context_window', 'provider', '131072', 'tokens'),
          ('groq', 'llama-3.3-70b-versatile', 'context_window', 'openrouter:meta-llama/llama-3.3-70b-instruct',
           '128000', 'tokens');
        delete from disputes where provider = 'groq' and model_id = 'llama-3.3-70b-versatile';
        insert into disputes (provider, model_id, fact, kind, value, source, reference_value, reference_source,
          ratio, detail) values ('groq', 'llama-3.3-70b-versatile', 'input_price', 'implausible', '590000',
          'provider', '0.59', 'litellm:groq/llama-3.3-70b-versatile', 1000000.0, 'a million times the reference');
        """
    )
    conn.commit()
    conn.close()
    served = Served(copy)
    try:
        page = (await served.get(LLAMA_PAGE)).text
        disputes = section(page, "vexy-disputes")
        assert "implausible" in disputes and "a million times the reference" in disputes and "1e+06" in disputes
        facts = section(page, "vexy-facts-section")
        context = facts.split("Context window (tokens)", 1)[1].split("</tr>", 1)[0]
        assert "openrouter:meta-llama/llama-3.3-70b-instruct</a>: 128,000 tokens" in context
    finally:
        served.close()


@pytest.mark.anyio
async def test_a_modelsdev_source_links_to_that_models_own_row(served, history_catalog):
    (chosen,) = query(
        history_catalog.db_path,
        "select provider, model_id, source from fact_sources where chosen = 1 and source like 'modelsdev:%' "
        "order by provider, model_id, fact limit 1",
    )
    page = (await served.get(f"/vexy/models/{quote(chosen['provider'])},{chosen['model_id'].replace('/', '~2F')}")).text
    key = chosen["source"].partition(":")[2]
    facts = section(page, "vexy-facts-section")
    links = re.findall(r'<a href="([^"]+)">' + re.escape(chosen["source"]) + "</a>", facts)
    assert links, chosen
    # The link answers 200 (a missing row is Datasette's 404): the reference model's own row.
    await served.get(unescape(links[0]))
    rows = await served.json(f"/vexy/models.json?_shape=array&provider=modelsdev&model_id={quote(key)}")
    assert len(rows) == 1 and json.loads(rows[0]["raw"])["id"] == key.partition("/")[2]


@pytest.mark.anyio
async def test_sources_notes_are_read_as_sentences_and_the_json_keeps_them(served, history_catalog):
    """``sources._notes`` says why a fact is unknown: the table counts them (the notes in the
    tooltip), the row page writes each beside its fact; the JSON API gives the column as stored."""
    # llm7 gives every model the same created date: a placeholder, withheld with a note.
    noted = query(
        history_catalog.db_path,
        "select provider, model_id, sources from models where json_extract(sources, '$._notes.created') is not null "
        "order by provider, model_id limit 1",
    )[0]
    sources = json.loads(noted["sources"])
    fact, note = "created", sources["_notes"]["created"]
    assert "placeholder" in note and "created" not in {k for k in sources if k != "_notes"}
    where = f"provider={quote(noted['provider'])}&model_id={quote(noted['model_id'])}"
    table = (await served.get(f"/vexy/models?{where}&_col=sources")).text
    cell = unescape(table.split('<td class="col-sources">', 1)[1].split("</td>", 1)[0])
    count = len(sources["_notes"])
    assert f"{count} note{'s' if count != 1 else ''}" in cell and f"{fact}: {note}" in cell
    assert "{" not in cell and "_notes" not in cell
    row_page = (await served.get(f"/vexy/models/{quote(noted['provider'])},{noted['model_id'].replace('/', '~2F')}"))
    text = unescape(row_page.text)
    every = text.split('<ul class="vexy-sources">', 1)[1].split("</ul>", 1)[0]
    assert f"<code>{fact}</code>: " in every and f'<span class="vexy-note">({note})</span>' in every
    assert "_notes" not in every and "{" not in every
    assert "<code>created</code>: <em>unknown</em>" in every
    facts = section(text, "vexy-facts-section").split(">Created<", 1)[1].split("</tr>", 1)[0]
    assert "unknown" in facts and f'<small class="vexy-fact-note">{note}</small>' in facts
    api = await served.json(f"/vexy/models.json?_shape=array&{where}")
    assert api[0]["sources"] == noted["sources"]


def test_json_cells_are_drawn_when_written_and_text_that_is_not_json_stays_text():
    from markupsafe import escape

    from datasette_plugins.render import render_cell

    raw = render_cell('{"id": "m", "n": 1}', "raw", "models", "vexy")
    assert '<details class="vexy-json">' in str(raw) and '&#34;n&#34;: 1' in str(raw)
    sources = render_cell('{"input_price": "litellm:m"}', "sources", "models", "vexy")
    assert '<ul class="vexy-sources">' in str(sources) and "litellm:m" in str(sources)
    # A tampered cell is shown as the text it is, escaped, as Datasette shows text.
    for column, value in (("raw", "<not json>"), ("sources", "[1, 2]"), ("sources", "<b>")):
        assert str(render_cell(value, column, "models", "vexy")) == str(escape(value))


# --------------------------------------------------------------------------- compare


@pytest.mark.anyio
async def test_compare_splits_at_the_first_slash_and_marks_the_best(served):
    models = [f"groq/{LLAMA}", f"litellm/groq/{LLAMA}", "openrouter/ai21/jamba-large-1.7"]
    page = (await served.get("/-/vexy/compare?" + "&".join(f"m={quote(m)}" for m in models))).text
    head = page.split("<thead>", 1)[1].split("</thead>", 1)[0]
    assert re.findall(r"<code>([^<]+)</code> at (\w+)", head) == [
        (LLAMA, "groq"),
        (f"groq/{LLAMA}", "litellm"),
        ("ai21/jamba-large-1.7", "openrouter"),
    ]
    context = page.split(">context window</th>", 1)[1].split("</tr>", 1)[0]
    cells = re.findall(r'<td class="(vexy-best)?">([^<]*)</td>', context)
    assert cells == [("", "131k"), ("", "128k"), ("vexy-best", "256k")]  # 131,072 and 128,000 told apart
    # Over time: one line per model whose price is known, on one time axis.
    wide = page.split('class="vexy-wide"', 1)[1].split('class="vexy-narrow"', 1)[0]
    first_panel = wide.split("</svg>", 1)[0]
    assert len(re.findall(r'<g class="vexy-series" data-fact="input_price"', first_panel)) == 3
    # Remove links keep the others.
    assert f'href="/-/vexy/compare?m=litellm%2Fgroq%2F{LLAMA}&amp;m=openrouter%2Fai21%2Fjamba-large-1.7"' in page


@pytest.mark.anyio
async def test_compare_says_what_is_wrong(served):
    empty = await served.get("/-/vexy/compare")
    assert "provider/model_id" in empty.text and 'name="m"' in empty.text
    one = await served.get(f"/-/vexy/compare?m=groq/{LLAMA}", status=400)
    assert "compare 2 to 6" in one.text
    seven = "&".join(f"m=p{i}/m{i}" for i in range(7))
    assert "compare at most 6" in (await served.get(f"/-/vexy/compare?{seven}", status=400)).text
    bad = await served.get(f"/-/vexy/compare?m=nonsense&m=groq/{LLAMA}", status=400)
    assert "&#39;nonsense&#39; is not provider/model_id" in bad.text
    missing = await served.get(f"/-/vexy/compare?m=groq/{LLAMA}&m=groq/no-such-model", status=404)
    assert "groq/no-such-model is not in the catalog" in missing.text


# --------------------------------------------------------------------------- the scatter


def points(page: str) -> list[str]:
    return [unescape(h) for h in re.findall(r'<a href="([^"]+)"><circle class="vexy-point', page)]


@pytest.mark.anyio
async def test_scatter_draws_the_models_of_the_table_filter(served, history_catalog):
    both = "input_price is not null and context_window is not null"
    everything = points((await served.get("/-/vexy/scatter")).text)
    expected = query(history_catalog.db_path, f"select provider, model_id from models where {both}")
    assert len(everything) == len(set(everything)) == len(expected) > 3
    groq = points((await served.get("/-/vexy/scatter?provider=groq&_sort=model_id&_col=raw")).text)
    want = query(history_catalog.db_path, f"select model_id from models where provider = 'groq' and {both}")
    assert len(groq) == len(want) and all(h.startswith("/vexy/models/groq,") for h in groq)
    searched = points((await served.get("/-/vexy/scatter?_search=llama")).text)
    assert searched and all("llama" in h.lower() for h in searched)
    # The table links to the scatter of its own filter.
    table = (await served.get("/vexy/models?provider=groq&_facet=owned_by")).text
    assert 'href="/-/vexy/scatter?provider=groq"' in table
    bad = await served.get("/-/vexy/scatter?_where=nonsense(", status=400)
    assert "syntax error" in bad.text


# --------------------------------------------------------------------------- home


@pytest.mark.anyio
async def test_home_page_shows_freshness_failures_and_recent_changes(served, history_catalog):
    page = (await served.get("/")).text
    listed = query(history_catalog.db_path, "select count(*) as n from models where removed_at is null")[0]["n"]
    assert f"<strong>{listed:,}</strong> models listed" in page
    failing = section(page, "vexy-failing")
    error = query(history_catalog.db_path, "select last_error from providers where name = 'mistral'")[0]["last_error"]
    assert ">mistral</a>" in failing and unescape(failing).count(error) == 1 and "HTTP 500" in error
    freshness = section(page, "vexy-freshness")
    fetched = query(history_catalog.db_path, "select name from providers where last_fetch_at is not null")
    assert all(f">{r['name']}</a>" in freshness for r in fetched)
    assert freshness.index(">mistral</a>") < freshness.index(">groq</a>")  # failures first
    recent = section(page, "vexy-recent")
    assert f"{history_catalog.changed_on}</time>" in recent and "input $0.59 -&gt; $0.49" in recent
    for link in ("/-/vexy/changes.atom", "/-/vexy/config", "/-/vexy/health", "/-/vexy/compare", "/-/vexy/scatter"):
        assert f'href="{link}"' in page, link
    assert "vexy fetch</code> to" not in page and "There is no catalog yet" not in page
    # /.json is still Datasette's index, for tools.
    assert "vexy" in await served.json("/.json")


@pytest.mark.anyio
async def test_home_page_leaves_a_datasette_of_several_databases_its_own_index(history_catalog):
    from datasette.database import Database

    served = Served(history_catalog.db_path)
    try:
        served.ds.add_database(Database(served.ds, memory_name="vexy_test_other"), name="other")
        page = (await served.get("/")).text
        assert 'href="/other"' in page and "vexy-freshness" not in page
    finally:
        served.close()


def test_every_new_route_answers_without_writing(history_catalog):
    """The pages only read: the catalog file is byte for byte the same after every route."""
    import hashlib

    from click.testing import CliRunner

    from vexy_catalog.cli import cli

    before = hashlib.sha256(history_catalog.db_path.read_bytes()).hexdigest()
    for path in ("/", LLAMA_PAGE, f"/-/vexy/compare?m=groq/{LLAMA}&m=litellm/groq/{LLAMA}", "/-/vexy/scatter"):
        for options in ((), ("--public",)):
            result = CliRunner().invoke(cli, ["--db", str(history_catalog.db_path), "serve", *options, "--get", path])
            assert result.exit_code == 0, (path, options, result.output[-500:])
    assert hashlib.sha256(history_catalog.db_path.read_bytes()).hexdigest() == before
    assert json.loads(
        CliRunner()
        .invoke(cli, ["--db", str(history_catalog.db_path), "serve", "--get", "/vexy/models.json?_shape=array&_size=1"])
        .output
    )


@pytest.mark.anyio
async def test_config_page_carries_as_of_into_its_downloads_pinned_to_the_moment(served, history_catalog):
    page = (await served.get("/-/vexy/config?provider=litellm&q=llama-3.3&as_of=30d")).text
    # Thirty days ago: after litellm's list first held groq's llama, before its price changed.
    moment = re.search(r"as listed at (\d{4}-\d\d-\d\dT[\d:.]+Z)", page).group(1)
    assert history_catalog.first_on < moment[:10] < history_catalog.changed_on
    assert 'name="as_of"' in page and 'value="30d"' in page
    link = re.search(r'href="(/-/vexy/config/json\?[^"]+)"', page).group(1).replace("&amp;", "&")
    assert "as_of=" + moment.replace(":", "%3A") in link, "the link is pinned, not '30d'"
    def files(response) -> str:
        with zipfile.ZipFile(io.BytesIO(response.content)) as z:
            return "".join(z.read(name).decode() for name in z.namelist())

    then = files(await served.get(link))
    now = files(await served.get("/-/vexy/config/json?provider=litellm&q=llama-3.3"))
    assert "groq/llama-3.3-70b-versatile" in then
    # The json format is each provider's answer as it was: the one stored before the change.
    assert '"input_cost_per_token": 5.9e-07' in then and "4.9e-07" not in then
    assert '"input_cost_per_token": 4.9e-07' in now
    bad = await served.get("/-/vexy/config?as_of=someday", status=400)
    assert "as_of" in bad.text
