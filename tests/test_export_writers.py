"""Every export writes the bytes it wrote before the fast writers (vexy_catalog/export/emit.py)
and the one-query loader: the reference is the earlier implementation, run in the test on the
same catalog (models read through sqlite-utils with every column, new files built and written
by ruamel.yaml, tomlkit and json.dumps), never a recorded text.

The writers are also held to their libraries on generated documents: awkward strings (quotes,
colons, reserved words, numbers, unicode, keys near ruamel.yaml's 128-character limit), floats,
comments, nesting.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
from dataclasses import replace
from typing import Any

import pytest
from export_helpers import CORP_MODELS, build_catalog, codex_binary, require_client

from vexy_catalog.db import open_db
from vexy_catalog.export import TOOLS, build_export, codex_catalog, common, emit
from vexy_catalog.export.merge import dump_yaml, reference_writers
from vexy_catalog.query import MODEL_COLUMNS, ModelFilter

# Ids that exercise every way a writer can go wrong: quoting, reserved words, numbers, dates,
# indicators, unicode, a tab, keys past ruamel.yaml's simple-key length.
AWKWARD_IDS = [
    'it\'s "quoted"',
    "true",
    "null",
    "123",
    "1e3",
    "0x1F",
    "2024-01-01",
    "-leading-dash",
    "@at-sign",
    "with space",
    "colon: space",
    "trailing-colon:",
    "hash #tag",
    "unicode-模型-é",
    "tab\tinside",
    "back\\slash",
    "x" * 122,
    "y" * 123,
    "z" * 140 + ":free",
    "%percent",
    "[bracket]",
    "a,b",
]


def awkward_models() -> list[dict[str, Any]]:
    out = list(CORP_MODELS)
    for i, model_id in enumerate(AWKWARD_IDS):
        record: dict[str, Any] = {"id": model_id, "type": ("chat", "embedding", "completion", None)[i % 4]}
        if i % 2:
            record["context_length"] = 4096 * (i + 1)
            record["input_cost_per_token"] = (i + 1) / 3 * 1e-7
            record["output_cost_per_token"] = (i + 1) / 7 * 1e-6
        if i % 3 == 0:
            record["supports_tools"] = bool(i % 2)
            record["max_output_tokens"] = 1000 + i
        out.append(record)
    return out


NEW_LOAD_DATA = common.load_data


@pytest.fixture
def catalog(providers, server, monkeypatch):
    return build_catalog(providers, server, monkeypatch, corp_models=awkward_models())


def old_load_data(db: Any, model_filter: Any = None, as_of: str | None = None) -> common.ExportData:
    """The exporters' loader before the rewrite: every model column through sqlite-utils'
    ``query()``, each JSON column decoded (providers and the as-of path are unchanged)."""
    data = NEW_LOAD_DATA(db, model_filter, as_of)
    if as_of is not None:
        return data
    where, params = (model_filter or ModelFilter()).where()
    sql = f"select {', '.join(MODEL_COLUMNS)} from models where {where} order by provider, model_id"
    models = []
    for row in db.query(sql, params):
        for column in ("input_modalities", "output_modalities", "sources"):
            if isinstance(row.get(column), str):
                row[column] = json.loads(row[column])
        for column in ("supports_tools", "supports_vision", "supports_reasoning"):
            if row.get(column) is not None:
                row[column] = bool(row[column])
        models.append(row)
    return replace(data, models=models)


def old_export(monkeypatch: pytest.MonkeyPatch, db: Any, tool: str, **options: Any) -> Any:
    with monkeypatch.context() as m, reference_writers():
        m.setattr(common, "load_data", old_load_data)
        export = build_export(db, tool, **options)
        # Empty as it was decided: the new file is the one a selection of no model gives.
        fresh = build_export(db, tool, **{k: v for k, v in options.items() if k != "merge_into"})
        nothing = build_export(db, tool, model_filter=ModelFilter(query="\x00no model\x00"), as_of=options.get("as_of"))
        export.empty = fresh.files == nothing.files
        return export


SELECTIONS = {
    "whole catalog": {},
    "one provider": {"model_filter": ModelFilter(providers=["corp-gateway"])},
    "narrowed": {"model_filter": ModelFilter(query="a", tools=True)},
    "with removed": {"model_filter": ModelFilter(include_removed=True, providers=["groq", "corp-gateway"])},
    "nothing": {"model_filter": ModelFilter(query="no model has this in its id")},
    # Models, but none a client config takes (a price list): empty for those formats.
    "a reference list only": {"model_filter": ModelFilter(providers=["litellm"])},
}


def test_every_format_writes_what_the_earlier_implementation_wrote(catalog, monkeypatch):
    # A model removed since, so include_removed selects more than the listed models.
    db = open_db(catalog.db_path, create=False)
    try:
        listed = {r["model_id"] for r in catalog.query("select model_id from models where provider = 'corp-gateway'")}
        assert set(AWKWARD_IDS) <= listed  # every awkward id made it into the catalog
        for label, options in SELECTIONS.items():
            for tool in TOOLS:
                new = build_export(db, tool, **options)
                old = old_export(monkeypatch, db, tool, **options)
                where = f"{tool}, {label}"
                assert new.files.keys() == old.files.keys(), where
                for name, text in old.files.items():
                    assert new.files[name] == text, f"{where}: {name}"
                assert (new.hint, new.empty, new.media_type, new.single) == (
                    old.hint,
                    old.empty,
                    old.media_type,
                    old.single,
                ), where
    finally:
        db.close()


def test_as_of_exports_and_merges_write_what_they_wrote(catalog, monkeypatch):
    moment = catalog.query("select max(finished_at) as at from fetches")[0]["at"]
    db = open_db(catalog.db_path, create=False)
    try:
        for tool in ("aichat", "codex", "litellm-costmap", "mods"):
            new = build_export(db, tool, as_of=moment)
            old = old_export(monkeypatch, db, tool, as_of=moment)
            assert new.files == old.files, tool
        # A merge into a file the export wrote, with a user's own entry: ruamel.yaml/tomlkit
        # in both, and the fast "fresh" render the emptiness check makes agrees.
        for tool, name, extra in (
            ("aichat", "config.yaml", "\nsave: true  # mine\n"),
            ("mods", "mods.yml", "\nformat-text: {markdown: mine}\n"),
            ("llm", "extra-openai-models.yaml", "- model_id: mine\n  model_name: mine\n"),
            ("litellm", "litellm-config.yaml", "\ngeneral_settings: {master_key: os.environ/MINE}\n"),
            ("codex", "config.toml", '\n[profiles.mine]\nmodel = "mine"\n'),
        ):
            current = build_export(db, tool, model_filter=ModelFilter(providers=["groq"])).files[name] + extra
            new = build_export(db, tool, merge_into={name: current})
            old = old_export(monkeypatch, db, tool, merge_into={name: current})
            assert new.files == old.files and new.kept == old.kept and new.empty == old.empty, tool
            assert "mine" in new.files[name].lower()
    finally:
        db.close()


# --- the writers against their libraries, on generated documents ---------------------------

SPECIAL = [
    *AWKWARD_IDS,
    "",
    "false",
    "False",
    "NULL",
    "~",
    "yes",
    "no",
    "on",
    "01",
    "1.5",
    ".inf",
    ".nan",
    "-",
    "- a",
    "a:b",
    ":a",
    "#a",
    "a#b",
    "12:30",
    "1_000",
    "+1",
    "-1",
    "a@b",
    "<<",
    "=",
    "!tag",
    "&a",
    "*a",
    "?",
    "? a",
    "0o17",
    "0b101",
    "1.",
    ".5",
    "NaN",
    "é",
    "漢字",
    "😀",
    "\x07bell",
    "a\nb",
    "line\u2028sep",
    " lead",
    "trail ",
    "q" * 3000,
    "w" * 121,
]
CHARS = string.ascii_letters + string.digits + "_./-:@+ #'\"!&*%?,[]{}|>`=~\\\té漢😀\x85"


def _string(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.35:
        return rng.choice(SPECIAL)
    if roll < 0.7:
        return "".join(rng.choice(string.ascii_lowercase + string.digits + "-./_:") for _ in range(rng.randint(1, 30)))
    return "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 20)))


def _scalar(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.5:
        return _string(rng)
    if roll < 0.6:
        return rng.choice([True, False])
    if roll < 0.75:
        return rng.randint(-(10**15), 10**15)
    return rng.choice(
        [0.59, 4.0, 8e-07, 1.5e-05, 1e16, 1e-20, 0.1 + 0.2, rng.random() * 10 ** rng.randint(-12, 12), -2.5, 0.0]
    )


def _yaml_node(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return _scalar(rng)
    if roll < 0.75:
        node: Any = emit.YamlMap() if rng.random() < 0.7 else {}
        for _ in range(rng.randint(0, 5)):
            node[_string(rng)] = _yaml_node(rng, depth + 1)
        scalars = [k for k, v in node.items() if not isinstance(v, dict | list)]
        if isinstance(node, emit.YamlMap) and scalars and rng.random() < 0.4:
            node.yaml_add_eol_comment(
                rng.choice(["no key needed", 'export X="$Y"', "#hash", "x: y"]), rng.choice(scalars)
            )
        return node
    items: Any = emit.YamlSeq() if rng.random() < 0.7 else []
    items.extend(_yaml_node(rng, depth + 1) for _ in range(rng.randint(0, 4)))
    return items


@pytest.mark.parametrize("seed", range(8))
def test_yaml_writer_writes_what_ruamel_yaml_writes(seed):
    rng = random.Random(seed)
    written = 0
    for _ in range(150):
        top_list = rng.random() < 0.3
        doc: Any = emit.YamlSeq() if top_list else emit.YamlMap()
        for _ in range(rng.randint(0, 6)):
            if top_list:
                doc.append(_yaml_node(rng, 1))
            else:
                doc[_string(rng)] = _yaml_node(rng, 1)
        if rng.random() < 0.5:
            doc.yaml_set_start_comment(rng.choice(["header one\nheader two", "one", "a\n\nb", "#already"]))
        with reference_writers():
            expected = dump_yaml(emit.to_ruamel(doc))
        try:
            got = emit.yaml_text(doc, top_level_list=top_list)
        except emit.Unsupported:
            # Not written here: dump_yaml hands it to ruamel.yaml, with the same result.
            assert dump_yaml(doc) == expected
            continue
        assert got == expected
        written += 1
    assert written > 30  # most documents are written by the fast writer itself


def test_yaml_writer_on_the_shapes_of_the_exports():
    """The shapes the renderers build, with every awkward id as key and value."""
    doc = emit.YamlMap()
    doc.yaml_set_start_comment("written by a test\nsecond line")
    api = doc["apis"] = emit.YamlMap(api=emit.YamlMap({"api-key": "none"}))["api"]
    api.yaml_add_eol_comment("no key needed", "api-key")
    models = api["models"] = emit.YamlMap()
    for model_id in SPECIAL:
        models[model_id] = {"aliases": [f"api/{model_id}"], "max-input-chars": 12250}
    doc["list"] = emit.YamlSeq(emit.YamlMap(name=m, input_price=0.5, flag=True) for m in SPECIAL)
    with reference_writers():
        expected = dump_yaml(emit.to_ruamel(doc))
    assert dump_yaml(doc) == expected


def _json_value(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 4 or roll < 0.5:
        return rng.choice(
            [
                None,
                True,
                False,
                rng.randint(-(10**20), 10**20),
                rng.random() * 10 ** rng.randint(-30, 30),
                float("nan"),
                float("inf"),
                -float("inf"),
                _string(rng),
                "x" * 200,
            ]
        )
    if roll < 0.75:
        keys = ["a", "é", '"q"', "x" * 70, 1, 2.5, True, None, False]
        return {rng.choice(keys): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}
    items = [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 5))]
    return items if rng.random() < 0.8 else tuple(items)


@pytest.mark.parametrize("seed", range(4))
def test_json_writer_writes_what_json_dumps_writes(seed):
    rng = random.Random(seed)
    for _ in range(300):
        value = _json_value(rng, 0)
        assert emit.json_text(value) == json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    with pytest.raises(TypeError):
        emit.json_text({"a": object()})


def test_toml_writers_write_what_tomlkit_writes():
    import tomlkit

    for text in [*SPECIAL, "\x00", "\x7f", "\x1b", 'say "hi"', "C:\\path"]:
        assert emit.toml_string(text) == tomlkit.item(text).as_string(), repr(text)
        doc = tomlkit.document()
        doc.add(tomlkit.comment(text))
        try:
            assert emit.toml_comment(text) == tomlkit.dumps(doc), repr(text)
        except emit.Unsupported:
            assert any(c in text for c in "\x00\x07\x1b\x7f\n\t\x0b\x0c\r")
    for value in (0, 128000, -5, True, False):
        assert emit.toml_value(value) == tomlkit.item(value).as_string()


def test_secret_check_on_repeated_blocks_finds_what_the_whole_text_holds():
    """The write path reads a large file's repeated blocks once when it looks for a literal
    secret (storage.write_files -> security.literal_secret): the checks must find a match in the
    distinct blocks exactly when the whole text has one, including matches across lines."""
    from vexy_catalog.security import _LITERAL_KEY_FIELD, _distinct_text, _patterns, literal_secret

    fragments = [
        "api_key",
        "API-KEY",
        "apikey",
        "access_token",
        "token",
        "secret",
        "password",
        "\u017fecret",  # long s: case-insensitive matching takes it for "s"
        "\u212aey",  # Kelvin sign: taken for "k"
        "Bearer",
        "bearer",
        ":",
        "=",
        " ",
        "\t",
        "'",
        '"',
        "abcdefghijk",
        "12345678901",
        "sk-abcdefgh123",
        "hf_abcdefghij",
        "https://",
        "user:pa55word@host",
        "?key=",
        "&token=",
        "***",
        "$VAR",
        "os.environ/X",
        "{env:X}",
        "x",
    ]
    rng = random.Random(11)
    seen = {"field": 0, "shape": 0}
    for _ in range(3000):
        block = "".join(
            rng.choice(fragments) + rng.choice(["", "", " ", "\n", "\n  ", "\n\n"]) for _ in range(rng.randint(1, 8))
        )
        text = "".join(rng.choice([block, block, rng.choice(fragments) + "\n"]) for _ in range(rng.randint(1, 6)))
        distinct = _distinct_text(text)
        field = _LITERAL_KEY_FIELD.search(text) is not None
        shape = _patterns(text) != text
        assert (_LITERAL_KEY_FIELD.search(distinct) is not None) == field, repr(text)
        assert (_patterns(distinct) != distinct) == shape, repr(text)
        seen["field"] += field
        seen["shape"] += shape
    assert seen["field"] > 30 and seen["shape"] > 30  # both kinds were found, often

    # A file past the size where blocks are read once: a secret split over two lines at its end,
    # and one written once among thousands of repeated blocks, are still found.
    prompt = '      "base_instructions": "' + "You are Codex. " * 2000 + '",\n'
    big = "{\n" + prompt * 60 + '  "api_key":\n    "literal-value-1234"\n}\n'
    assert len(big) > 1_000_000 and literal_secret(big, environ={})
    assert literal_secret(prompt * 30 + "  Authorization: Bearer abcdefghijklmnop\n" + prompt * 30, environ={})
    assert not literal_secret("{\n" + prompt * 60 + '  "api_key": "$OPENAI_API_KEY"\n}\n', environ={})


# --- spliced files: one long line shared, encoded, checked and written once ----------------


@pytest.mark.parametrize("seed", range(3))
def test_spliced_codex_catalogs_are_byte_for_byte_what_json_dumps_writes(seed):
    rng = random.Random(seed)
    prompts = [
        'You are Codex \u2014 a coding agent. It\u2019s "quoted", \\ back\\slashed,\n\tand long. ' * 300,
        "é" * 70,
        "line\nbreaks\r\nand \x00 control \x1f characters",
        "",
        "ends like a key field: token",
    ]
    for _ in range(60):
        prompt = rng.choice(prompts)
        rows = [
            {
                "model_id": _string(rng) or "m",
                "name": rng.choice([None, "", _string(rng)]),
                "context_window": rng.choice([None, 8192, 131072.0, 2**40]),
                "supports_vision": rng.choice([None, 0, 1, True, False]),
            }
            for _ in range(rng.randint(0, 12))
        ]
        spliced = codex_catalog.render(rows, prompt)
        expected = json.dumps(
            {"models": [codex_catalog.model_entry(row, i, prompt) for i, row in enumerate(rows, start=1)]},
            indent=2,
            ensure_ascii=False,
        )
        with reference_writers():
            assert codex_catalog.render(rows, prompt) == expected + "\n"
        assert isinstance(spliced, emit.Spliced) or not rows
        assert str(spliced) == expected + "\n"
        if rows:
            assert bytes(spliced) == (expected + "\n").encode("utf-8") and spliced.size == len(bytes(spliced))
            assert spliced == expected + "\n" and spliced == bytes(spliced) and spliced != expected
            # The prompt's line is one object, encoded once.
            line = f'      "base_instructions": {json.dumps(prompt, ensure_ascii=False)}\n'
            holding = [(p, b) for p, b in zip(spliced.pieces, spliced.encoded(), strict=True) if p == line]
            assert len(holding) == len(rows) and len({id(p) for p, _ in holding} | {id(b) for _, b in holding}) == 2


def test_the_codex_catalogs_are_written_byte_for_byte_as_json_dumps_wrote_them(catalog, tmp_path):
    """The whole codex export as the CLI writes it (the catalogs spliced), against the files
    ``json.dumps`` and tomlkit write for the same catalog."""
    require_client(codex_binary(), "codex (npm @openai/codex): its system prompt goes into the catalogs")
    db = open_db(catalog.db_path, create=False)
    try:
        with reference_writers():
            reference = build_export(db, "codex")
        fast = build_export(db, "codex", spliced=True)
    finally:
        db.close()
    catalogs = [name for name in fast.files if name.endswith(".models.json")]
    assert catalogs and all(isinstance(fast.files[name], emit.Spliced) for name in catalogs)
    assert all(isinstance(text, str) for text in reference.files.values())
    out = tmp_path / "codex"
    catalog.export("codex", "-o", str(out))
    written = {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".vexy-export.json"}
    assert written == {name: text.encode("utf-8") for name, text in reference.files.items()}
    manifest = json.loads((out / ".vexy-export.json").read_text())["files"]
    assert {name: entry["sha256"] for name, entry in manifest.items()} == {
        name: hashlib.sha256(data).hexdigest() for name, data in written.items()
    }
    # Again: nothing changed, nothing written.
    assert "is up to date" in catalog.export("codex", "-o", str(out)).stderr


def test_secret_checks_of_pieces_and_of_many_files_find_what_each_whole_text_holds():
    """storage.write_files checks a spliced file a distinct piece at a time, and many small
    files together: each verdict must be the one the whole text gets."""
    from vexy_catalog.security import Secrets, literal_secret, literal_secret_each, literal_secret_pieces

    lines = [
        'model = "x"\n',
        '      "base_instructions": "You are Codex. Be brief.",\n',
        "  api_key:\n",
        "    literal-value-1234\n",
        "Authorization: Bearer\n",
        "  abcdefghijklmnop\n",
        'model = "pt-sk/ll-3.2-1B"\n',
        "id: sk-abcdefgh123\n",
        "url: https://user:pa55word@host/\n",
        "\n",
        "token =",
        "my-env-secret-value\n",
        "plain text\n",
        '  "api_key": "$OPENAI_API_KEY"\n',
    ]
    rng = random.Random(5)
    verdicts = {True: 0, False: 0}
    for secrets in (Secrets([], patterns=False), Secrets(["my-env-secret-value"], patterns=False)):
        for _ in range(400):
            shared = "".join(rng.choice(lines) for _ in range(rng.randint(1, 3)))
            pieces = [rng.choice([shared, "".join(rng.choice(lines) for _ in range(rng.randint(1, 3)))])]
            pieces += [rng.choice([shared, rng.choice(lines)]) for _ in range(rng.randint(0, 8))]
            whole = literal_secret("".join(pieces), secrets=secrets)
            assert literal_secret_pieces(pieces, secrets=secrets) == whole, repr(pieces)
            verdicts[whole] += 1
            texts = ["".join(rng.choice(lines) for _ in range(rng.randint(1, 3))) for _ in range(rng.randint(0, 40))]
            assert literal_secret_each(texts, secrets=secrets) == [literal_secret(t, secrets=secrets) for t in texts]
    assert verdicts[True] > 50 and verdicts[False] > 50
