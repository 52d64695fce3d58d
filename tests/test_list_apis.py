"""Describing a list API in the providers file: presets, credentials in headers and query strings,
paging of every kind, and what keeps keys safe on each of those paths."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import answer
from fake_providers import FakeProviders, Paged, Route

from vexy_catalog import ModelCatalog, canonical_json, content_hash
from vexy_catalog.cli import cli
from vexy_catalog.fetch import deadline_for

ROOT = Path(__file__).parent.parent
KEY = "qk-test-secret-0123456789abcdef"


def vexy(tmp_path: Path, text: str, *args: str):
    path = tmp_path / "providers.yaml"
    path.write_text(text, encoding="utf-8")
    return CliRunner().invoke(cli, ["--db", str(tmp_path / "vexy.db"), "--providers-file", str(path), *args])


def everything_stored(db_path: Path) -> str:
    conn = sqlite3.connect(db_path)
    try:
        return "\n".join(conn.iterdump())
    finally:
        conn.close()


# --------------------------------------------------------------------------- presets


def test_a_kind_is_its_fields_spelled_out(server, tmp_path, monkeypatch):
    """Rows, payload hashes and history are the same whether a kind or its fields say it."""
    records = answer("anthropic")["data"]
    server.set("groq", Route(body=answer("groq"), key="gsk_presetkey1234567890"))
    server.set("anthropic", Route(body=records, kind="anthropic", key="sk-ant-presetkey123456", page_size=4))
    server.set("litellm", Route(body=answer("litellm"), kind="url"))
    monkeypatch.setenv("GROQ_API_KEY", "gsk_presetkey1234567890")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-presetkey123456")
    by_kind = f"""
groq: {{base_url: "{server.base_url("groq")}", kind: openai}}
anthropic: {{base_url: "{server.base_url("anthropic")}", kind: anthropic}}
litellm: {{base_url: "{server.base_url("litellm")}", kind: url}}
"""
    spelled_out = f"""
groq:
  base_url: {server.base_url("groq")}
  api_key_env: GROQ_API_KEY
  models_path: /models
  auth: bearer
  paging: none
anthropic:
  kind: native
  base_url: {server.base_url("anthropic")}
  api_key_env: ANTHROPIC_API_KEY
  auth: {{header: x-api-key}}
  headers: {{anthropic-version: "2023-06-01"}}
  paging: anthropic
litellm:
  kind: native
  models_url: {server.base_url("litellm")}
  api_key_env: null
  auth: none
"""
    tables = {}
    for name, text in (("kind", by_kind), ("fields", spelled_out)):
        folder = tmp_path / name
        folder.mkdir()
        result = vexy(folder, text, "fetch", "groq", "anthropic", "litellm")
        assert result.exit_code == 0, result.output
        conn = sqlite3.connect(folder / "vexy.db")
        tables[name] = (
            conn.execute(
                "select provider, model_id, raw, content_hash, first_seen is not null from models order by 1, 2"
            ).fetchall(),
            conn.execute("select provider, payload_hash, model_count, shape from fetches order by provider").fetchall(),
            conn.execute(
                "select provider, model_id, change, fields, facts from model_changes order by 1, 2"
            ).fetchall(),
        )
    assert tables["kind"] == tables["fields"]
    models, fetches, _ = tables["kind"]
    # The stored answer is the answer as sent (Anthropic's pages as {"data": [every record]}), so
    # its hash is what it was before kinds became presets.
    hashes = {p: h for p, h, _, _ in fetches}
    assert hashes["groq"] == hashlib.sha256(canonical_json(answer("groq")).encode()).hexdigest()
    assert hashes["anthropic"] == hashlib.sha256(canonical_json({"data": records}).encode()).hexdigest()
    assert hashes["litellm"] == hashlib.sha256(canonical_json(answer("litellm")).encode()).hexdigest()
    groq_rows = [(m, json.loads(raw), h) for p, m, raw, h, _ in models if p == "groq"]
    assert groq_rows == [(r["id"], r, content_hash(r)) for r in sorted(answer("groq")["data"], key=lambda r: r["id"])]
    assert {p: s for p, _, _, s in fetches} == {
        "anthropic": "data[].id (3 pages, anthropic)",
        "groq": "data[].id",
        "litellm": "{}",
    }


# --------------------------------------------------------------------------- credentials


def test_a_key_in_the_query_string_is_sent_and_masked_everywhere(server, tmp_path, monkeypatch):
    monkeypatch.setenv("QUERY_KEY", KEY)
    text = f"qk:\n  base_url: {server.origin}/qk/v1\n  api_key_env: QUERY_KEY\n  auth: {{query: key}}\n"
    server.set("qk", Route(body={"data": [{"id": "m1"}]}, key=KEY, auth=("query", "key")))
    assert vexy(tmp_path, text, "fetch", "qk").exit_code == 0
    (seen,) = server.seen("qk")
    assert seen.query["key"] == [KEY] and "authorization" not in seen.headers
    # A server that echoes the request URL, key and all, in its error page.
    server.set("qk", Route(status=503, raw=f"upstream failed for GET /qk/v1/models?key={KEY}".encode()))
    result = vexy(tmp_path, text, "fetch", "qk", "-v")
    assert result.exit_code == 1
    assert KEY not in result.output and "key=***" in result.stderr
    assert KEY not in everything_stored(tmp_path / "vexy.db")
    page = CliRunner().invoke(
        cli, ["--db", str(tmp_path / "vexy.db"), "serve", "--get", "/vexy/fetches.json?_shape=array"]
    )
    assert page.exit_code == 0 and "upstream failed" in page.output
    assert KEY not in page.output


@pytest.mark.parametrize("auth", ["{query: key}", "{header: api-key}", "bearer"])
def test_no_credential_goes_to_another_origin_on_redirect(server, tmp_path, monkeypatch, auth):
    monkeypatch.setenv("MOVED_KEY", KEY)
    with FakeProviders() as thief:
        thief.set("steal", Route(body={"data": [{"id": "stolen-model"}]}))
        server.set("moved", Route(redirect=thief.base_url("steal") + f"/models?key={KEY}"))
        text = f"moved:\n  base_url: {server.origin}/moved/v1\n  api_key_env: MOVED_KEY\n  auth: {auth}\n"
        result = vexy(tmp_path, text, "fetch", "moved")
        assert result.exit_code == 1
        assert thief.requests == []
        assert "another origin" in result.stderr
    assert KEY not in result.output
    assert KEY not in everything_stored(tmp_path / "vexy.db")


def test_a_query_credential_follows_a_same_origin_redirect(server, tmp_path, monkeypatch):
    monkeypatch.setenv("QUERY_KEY", KEY)
    server.set("new", Route(body={"data": [{"id": "m1"}]}, key=KEY, auth=("query", "key")))
    server.set("old", Route(redirect=f"{server.origin}/new/v1/models"))
    result = vexy(
        tmp_path,
        f"old:\n  base_url: {server.origin}/old/v1\n  api_key_env: QUERY_KEY\n  auth: {{query: key}}\n",
        "fetch",
        "old",
    )
    assert result.exit_code == 0, result.output
    assert server.seen("new")[0].query["key"] == [KEY]


def test_plain_http_to_another_host_is_refused_with_the_checks_message(tmp_path, monkeypatch):
    monkeypatch.setenv("REMOTE_KEY", KEY)
    text = "remote:\n  base_url: http://models.example.invalid/v1\n  api_key_env: REMOTE_KEY\n"
    fetched = vexy(tmp_path, text, "fetch", "remote")
    assert fetched.exit_code == 1
    checked = vexy(tmp_path, text, "providers", "check", "remote", "--json")
    assert checked.exit_code == 1
    (message,) = [m for m in json.loads(checked.stdout)[0]["messages"] if m.startswith("plain http")]
    assert message == (
        "plain http to models.example.invalid: the key in REMOTE_KEY would travel unencrypted - use https, "
        "or set allow_http: true in the providers file if this is a trusted network"
    )
    assert f"Failed remote: {message}" in fetched.stderr
    assert KEY not in fetched.output
    # With allow_http the check lets it through (the fetch would then send it); keyless, nothing is refused.
    allowed = vexy(tmp_path, text + "  allow_http: true\n", "providers", "check", "remote", "--json")
    assert allowed.exit_code == 0
    monkeypatch.delenv("REMOTE_KEY")
    public = vexy(tmp_path, text.replace("REMOTE_KEY", "null") + "  auth: none\n", "providers", "check", "remote")
    assert public.exit_code == 0 and "plain http to models.example.invalid (use https" in public.stdout


def test_a_header_credential_over_plain_http_is_refused_too(tmp_path, monkeypatch):
    monkeypatch.setenv("TEAM_TOKEN", KEY)
    text = "corp:\n  base_url: http://llm.corp.example/v1\n  api_key_env: null\n  headers: {X-Team: '${TEAM_TOKEN}'}\n"
    result = vexy(tmp_path, text, "fetch", "corp")
    assert result.exit_code == 1
    assert "plain http to llm.corp.example: the value of TEAM_TOKEN in header X-Team would travel unencrypted" in (
        result.stderr
    )


# --------------------------------------------------------------------------- paging


def records(n: int) -> list[dict[str, str]]:
    return [{"id": f"model-{i}"} for i in range(n)]


def test_link_header_paging_follows_next_to_the_end(server, tmp_path):
    server.set("gh", Route(paged=Paged("link", records(5), lambda recs, info: recs, size=2)))
    result = vexy(tmp_path, f"gh:\n  base_url: {server.origin}/gh/v1\n  paging: link-header\n", "fetch", "gh", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fetches"][0]["model_count"] == 5
    assert [s.query.get("page_token") for s in server.seen("gh")] == [None, ["c2"], ["c4"]]


def test_a_next_page_on_another_origin_is_refused(server, tmp_path):
    with FakeProviders() as thief:
        server.set(
            "gh",
            Route(body=records(2), headers={"Link": f'<{thief.origin}/steal/v1/models?page=2>; rel="next"'}),
        )
        result = vexy(tmp_path, f"gh:\n  base_url: {server.origin}/gh/v1\n  paging: link-header\n", "fetch", "gh")
        assert result.exit_code == 1
        assert "is on another origin: refused" in result.stderr
        assert thief.requests == []


def test_cursor_paging_with_the_next_pages_url_in_the_answer(server, tmp_path):
    def envelope(recs, info):
        return {"items": recs, "links": {"next": f"/nx/v1/models?page_token={info['next']}" if info["next"] else None}}

    server.set("nx", Route(paged=Paged("cursor", records(5), envelope, size=2)))
    text = f"nx:\n  base_url: {server.origin}/nx/v1\n  paging: {{cursor: {{field: links.next}}}}\n"
    result = vexy(tmp_path, text, "fetch", "nx", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fetches"][0]["model_count"] == 5
    assert len(server.seen("nx")) == 3


def test_page_paging_without_a_total_stops_at_an_empty_page(server, tmp_path):
    server.set("pg", Route(paged=Paged("page", records(4), lambda recs, info: {"data": recs}, size=2, param="p")))
    result = vexy(
        tmp_path, f"pg:\n  base_url: {server.origin}/pg/v1\n  paging: {{page: {{param: p}}}}\n", "fetch", "pg", "--json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["fetches"][0]["model_count"] == 4
    assert [s.query["p"] for s in server.seen("pg")] == [["1"], ["2"], ["3"]]


def test_a_server_that_ignores_the_page_parameter_is_caught(server, tmp_path):
    server.set("same", Route(body={"data": records(2)}))
    result = vexy(
        tmp_path, f"same:\n  base_url: {server.origin}/same/v1\n  paging: {{page: {{param: page}}}}\n", "fetch", "same"
    )
    assert result.exit_code == 1
    assert "page paging does not advance: page 2 repeats records already listed" in result.stderr
    assert len(server.seen("same")) == 2


def test_an_answer_that_says_more_pages_exist_is_noted_when_paging_is_not_set(server, tmp_path):
    server.set("co", Route(body={"models": [{"name": "a"}], "next_page_token": "abc"}))
    result = vexy(tmp_path, f"co:\n  base_url: {server.origin}/co/v1\n", "fetch", "co")
    assert result.exit_code == 0
    shape = sqlite3.connect(tmp_path / "vexy.db").execute("select shape from fetches").fetchone()[0]
    assert shape == "models[].name (one page: the answer's next_page_token says there are more; set paging for it)"


def test_list_path_and_id_field_from_the_providers_file(server, tmp_path):
    body = {"result": {"catalog": [{"uuid": "1", "spec": {"model": "a"}}, {"uuid": "2", "spec": {"model": "b"}}]}}
    server.set("cat", Route(body=body))
    text = f"cat:\n  base_url: {server.origin}/cat/v1\n  list_path: result.catalog\n  id_field: spec.model\n"
    result = vexy(tmp_path, text, "fetch", "cat")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(tmp_path / "vexy.db")
    assert [r[0] for r in conn.execute("select model_id from models order by rowid")] == ["a", "b"]
    assert conn.execute("select shape from fetches").fetchone()[0] == (
        "result.catalog[].spec.model (list_path and id_field from the configuration)"
    )
    # verify reads the stored answer the same way: nothing to report.
    verify = CliRunner().invoke(cli, ["--db", str(tmp_path / "vexy.db"), "verify"])
    assert verify.exit_code == 0, verify.output


# A catalog grouped by provider, in Catwalk's shape (a list of providers, each with a list).
CATWALK = [
    {"id": "acme", "name": "Acme", "models": [{"id": "m-1", "context_window": 8192}, {"id": "shared"}]},
    {"id": "nimbus", "name": "Nimbus", "models": [{"id": "shared", "context_window": 32768}]},
]


@pytest.mark.parametrize("configured", [True, False])
def test_a_catalog_grouped_by_provider_is_one_row_per_model(server, tmp_path, configured):
    server.set("groups", Route(body=CATWALK))
    text = f"groups:\n  base_url: {server.origin}/groups/v1\n" + ("  list_path: '*.models'\n" if configured else "")
    result = vexy(tmp_path, text, "fetch", "groups")
    assert result.exit_code == 0, result.output
    conn = sqlite3.connect(tmp_path / "vexy.db")
    got = dict(conn.execute("select model_id, context_window from models order by rowid"))
    # The same id under two providers stays two models, each qualified by its group's id.
    assert got == {"acme/m-1": 8192, "acme/shared": None, "nimbus/shared": 32768}
    note = " (list_path from the configuration)" if configured else ""
    assert conn.execute("select shape from fetches").fetchone()[0] == "*.models[].id" + note
    assert CliRunner().invoke(cli, ["--db", str(tmp_path / "vexy.db"), "verify"]).exit_code == 0


def test_a_wildcard_list_path_cannot_be_paged(tmp_path):
    text = "g:\n  base_url: https://g.example/v1\n  list_path: '*.models'\n  paging: link-header\n"
    result = vexy(tmp_path, text, "providers")
    assert result.exit_code != 0
    assert "provider 'g': a list_path with '*' (*.models) cannot be paged" in result.output
    bad = vexy(tmp_path, "g:\n  base_url: https://g.example/v1\n  list_path: 'a.*x'\n", "providers")
    assert bad.exit_code != 0 and "field 'list_path'" in bad.output


@pytest.mark.parametrize("validators", ["etag", "none"])
def test_a_new_id_field_rereads_an_unchanged_answer(server, tmp_path, validators):
    """The answer does not change (same bytes, or a 304), the reading does: the rows follow it."""
    body = {"result": [{"id": "uuid-1", "name": "@cf/a"}, {"id": "uuid-2", "name": "@cf/b"}]}
    route = server.set("cf", Route(body=body, etag=validators == "etag"))
    base = f"cf:\n  base_url: {server.origin}/cf/v1\n"
    assert vexy(tmp_path, base, "fetch", "cf").exit_code == 0
    again = vexy(tmp_path, base, "fetch", "cf")
    assert again.exit_code == 0
    conn = sqlite3.connect(tmp_path / "vexy.db")
    assert conn.execute("select status from fetches order by id desc").fetchone()[0] == "unchanged"
    result = vexy(tmp_path, base + "  id_field: name\n", "fetch", "cf")
    assert result.exit_code == 0, result.output
    assert [r[0] for r in conn.execute("select model_id from models where removed_at is null order by rowid")] == [
        "@cf/a",
        "@cf/b",
    ]
    assert {r[0] for r in conn.execute("select model_id from models where removed_at is not null")} == {
        "uuid-1",
        "uuid-2",
    }
    last = conn.execute("select status, added, removed, shape from fetches order by id desc").fetchone()
    assert last == ("ok", 2, 2, "result[].name (id_field from the configuration)")
    if validators == "etag":
        # The re-read asked for the whole answer, not for a 304.
        assert "if-none-match" not in {k.lower() for k in server.seen("cf")[-1].headers}
    # Read the new way once, the next unchanged answer is unchanged again.
    assert vexy(tmp_path, base + "  id_field: name\n", "fetch", "cf").exit_code == 0
    assert conn.execute("select status from fetches order by id desc").fetchone()[0] == "unchanged"
    assert route.body == body


def test_params_and_placeholders_fill_the_request(server, tmp_path, monkeypatch):
    monkeypatch.setenv("ACME_REGION", "eu-west-3")
    monkeypatch.setenv("ACME_KEY", KEY)
    server.set("acme", Route(body={"data": [{"id": "m"}]}, key=KEY, auth=("header", "x-acme-key"), require={"v": "2"}))
    text = (
        "acme:\n"
        f"  base_url: {server.origin}/acme/${{ACME_REGION}}/${{ACME_TIER:-standard}}\n"
        "  api_key_env: ACME_KEY\n"
        "  auth: {header: x-acme-key}\n"
        "  params: {v: 2}\n"
    )
    result = vexy(tmp_path, text, "fetch", "acme")
    assert result.exit_code == 0, result.output
    assert server.seen("acme")[0].path == "/acme/eu-west-3/standard/models"


# --------------------------------------------------------------------------- timeouts


def test_a_timeout_says_what_timed_out(server):
    import anyio

    from vexy_catalog import ModelFetcher, ProviderConfig

    server.set("slow", Route(body={"data": []}, delay=2))
    p = ProviderConfig(name="slow", base_url=server.base_url("slow"))
    result = anyio.run(ModelFetcher(timeout=0.2, retries=0).fetch, p)
    assert "timed out (ReadTimeout: no data arrived within 0.2s)" in result.error
    assert ": )" not in result.error


def test_the_deadline_is_what_the_readme_says():
    assert deadline_for(30) == 120 and deadline_for(60) == 240
    assert deadline_for(5) == 35  # short timeouts still leave room for retries
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "four times `--timeout`, and at least `--timeout` + 30 s" in readme


# --------------------------------------------------------------------------- vexy providers


def test_providers_check_online_exercises_the_whole_path(server, tmp_path, monkeypatch):
    monkeypatch.setenv("PAGED_KEY", KEY)
    envelope = lambda recs, info: {"models": recs, "next_page_token": info["next"]}  # noqa: E731
    server.set(
        "paged",
        Route(key=KEY, auth=("bearer", ""), paged=Paged("cursor", [{"name": f"m{i}"} for i in range(5)], envelope)),
    )
    text = (
        f"paged:\n  kind: native\n  base_url: {server.origin}/paged/v1\n  api_key_env: PAGED_KEY\n"
        "  paging: {cursor: {param: page_token, field: next_page_token}}\n"
    )
    result = vexy(tmp_path, text, "providers", "check", "paged", "--online")
    assert result.exit_code == 0, result.output
    assert (
        "online: ok, 5 models, found at models[].name (3 pages, cursor (next_page_token -> page_token))"
        in result.stdout
    )
    assert not (tmp_path / "vexy.db").exists()  # nothing stored
    assert KEY not in result.output


def test_providers_shows_how_each_list_is_requested_and_which_variables_are_set(tmp_path, monkeypatch):
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", KEY)
    result = vexy(
        tmp_path,
        "nolist:\n  base_url: https://example.com/v1\n  list: false\n  note: see the website\n",
        "providers",
        "--json",
    )
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    cf = rows["cloudflare-workers-ai"]
    assert cf["list"] == {
        "url": "https://api.cloudflare.com/client/v4/accounts/${CLOUDFLARE_ACCOUNT_ID}/ai/models/search",
        "auth": "bearer",
        "paging": "page (page, per_page=100)",
    }
    assert cf["variables"] == [
        {"name": "CLOUDFLARE_ACCOUNT_ID", "required": True, "set": False},
        {"name": "CLOUDFLARE_API_TOKEN", "required": True, "set": True},
    ]
    assert cf["missing"] == ["CLOUDFLARE_ACCOUNT_ID"] and cf["ready"] is False
    assert cf["id_field"] == "name"
    assert (
        rows["nolist"]["ready"] is False and rows["nolist"]["note"] == "no endpoint lists its models; see the website"
    )
    assert KEY not in result.output
    table = vexy(tmp_path, "nolist:\n  base_url: https://example.com/v1\n  list: false\n", "providers")
    line = next(x for x in table.stdout.splitlines() if x.startswith("nolist "))
    assert "no list endpoint" in line
    fetched = vexy(tmp_path, "nolist:\n  base_url: https://example.com/v1\n  list: false\n", "fetch", "nolist")
    assert fetched.exit_code == 0
    assert "Skipped nolist: no endpoint lists this provider's models" in fetched.stderr


def test_a_catalog_from_before_the_shape_column_still_verifies(providers, server):
    providers_file, db_path = providers
    ModelCatalog(db_path=db_path, providers_file=providers_file).fetch(["groq"])
    conn = sqlite3.connect(db_path)
    conn.execute("update fetches set shape = null")
    conn.commit()
    conn.close()
    assert CliRunner().invoke(cli, ["--db", str(db_path), "verify"]).exit_code == 0


def test_a_models_url_keeps_its_own_query_and_gains_the_params(server, tmp_path):
    server.set("q", Route(body={"data": [{"id": "m"}]}, require={"type": "text", "v": "2"}))
    text = (
        f"q:\n  models_url: {server.origin}/q/v1/models?type=text\n  base_url: {server.origin}/q/v1\n"
        "  params: {v: '2'}\n"
    )
    assert vexy(tmp_path, text, "fetch", "q").exit_code == 0


def test_a_key_written_into_the_url_is_an_error_of_the_check(tmp_path):
    text = "leaky:\n  models_url: https://api.example.com/v1/models?key=AIzaSyabcdefg123456\n  base_url: https://api.example.com/v1\n"
    result = vexy(tmp_path, text, "providers", "check", "leaky")
    assert result.exit_code == 1
    assert "credentials in the URL" in result.stdout and "AIzaSyabcdefg123456" not in result.output
