"""`vexy export ... -o`: no user file is ever lost, whatever the path, selection or format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib
from export_helpers import build_catalog, check_aichat

from vexy_catalog.export.storage import MANIFEST, backup_path, written_by_vexy

USER_CONFIG = "# my own aichat config\nmodel: openai:gpt-4o\nclients:\n  - type: openai\n"


@pytest.fixture
def catalog(providers, server, monkeypatch):
    return build_catalog(providers, server, monkeypatch)


@pytest.fixture
def out(tmp_path):
    """A folder for the exports, away from the catalog's files."""
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def files(folder: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(folder.iterdir()) if p.is_file()}


def one_line_error(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_o_refuses_a_file_vexy_did_not_write(catalog, out):
    path = out / "config.yaml"
    path.write_text(USER_CONFIG)
    message = one_line_error(catalog.run("export", "aichat", "--provider", "groq", "-o", str(path)))
    assert message.startswith(f"Error: {path} exists and is not a file vexy wrote")
    assert f"--merge {path}" in message and "--force" in message
    assert files(out)["config.yaml"] == USER_CONFIG
    assert not (out / "config.yaml.bak").exists()


def test_force_keeps_every_replaced_file_as_a_new_numbered_backup(catalog, out):
    path = out / "config.yaml"
    path.write_text(USER_CONFIG)
    catalog.export("aichat", "--provider", "groq", "-o", str(path), "--force")
    ours = path.read_text()
    assert check_aichat(ours)["clients"][0]["name"] == "groq"
    assert (out / "config.yaml.bak").read_text() == USER_CONFIG
    assert written_by_vexy(path)
    # vexy's own, unchanged file: replaced without --force, and without a backup of it.
    result = catalog.export("aichat", "--provider", "mistral", "-o", str(path))
    assert "Wrote" in result.stderr and "mistral" in path.read_text()
    assert sorted(p.name for p in out.glob("config.yaml*")) == ["config.yaml", "config.yaml.bak"]
    # The user edits it: it is theirs again.
    edited = path.read_text() + "save: true\n"
    path.write_text(edited)
    assert not written_by_vexy(path)
    one_line_error(catalog.run("export", "aichat", "--provider", "groq", "-o", str(path)))
    assert path.read_text() == edited
    catalog.export("aichat", "--provider", "groq", "-o", str(path), "--force")
    assert (out / "config.yaml.bak").read_text() == USER_CONFIG, "an earlier backup is never overwritten"
    assert (out / "config.yaml.bak.2").read_text() == edited
    catalog.export("aichat", "--provider", "mistral", "-o", str(path), "--force")
    assert not (out / "config.yaml.bak.3").exists(), "vexy's own unchanged file needs no backup"
    path.write_text("mine again\n")
    catalog.export("aichat", "--provider", "groq", "-o", str(path), "--force")
    assert (out / "config.yaml.bak.3").read_text() == "mine again\n"


def test_a_merged_file_holds_the_users_content_and_stays_theirs(catalog, out):
    path = out / "config.yaml"
    path.write_text(USER_CONFIG)
    catalog.export("aichat", "--merge", str(path), "--provider", "groq")
    assert "# my own aichat config" in path.read_text()
    merged = path.read_text()
    # -o without --merge would drop the user's part of it: refused.
    one_line_error(catalog.run("export", "aichat", "--provider", "groq", "-o", str(path)))
    assert path.read_text() == merged
    manifest = json.loads((out / MANIFEST).read_text())
    assert "config.yaml" not in manifest["files"]


def test_a_file_vexy_wrote_before_it_kept_a_record_needs_force(catalog, out):
    path = out / "config.yaml"
    catalog.export("aichat", "--provider", "groq", "-o", str(path))
    (out / MANIFEST).unlink()  # as an older vexy left it
    old = path.read_text()
    one_line_error(catalog.run("export", "aichat", "--provider", "mistral", "-o", str(path)))
    catalog.export("aichat", "--provider", "mistral", "-o", str(path), "--force")
    assert (out / "config.yaml.bak").read_text() == old


@pytest.mark.parametrize("tool", ["aichat", "mods", "litellm", "llm"])
def test_an_empty_selection_writes_nothing_and_exits_1(catalog, out, tool):
    path = out / "out.yaml"
    path.write_text("# whatever was here\n")
    before = files(out)
    result = catalog.run("export", tool, "--min-context", "999999999", "-o", str(path), "--force")
    message = one_line_error(result)
    assert message == "Error: Nothing exported: no model matches the selection. Nothing was written."
    assert files(out) == before
    stdout = catalog.run("export", tool, "--min-context", "999999999")
    assert stdout.exit_code == 1 and stdout.stdout == ""
    merged = catalog.run("export", tool, "--min-context", "999999999", "--merge", str(path))
    assert merged.exit_code == 1 and files(out) == before


def test_a_selection_the_format_cannot_take_writes_nothing(catalog, out):
    # litellm's price file is a list, not an API: no client config can call its models.
    result = catalog.run("export", "aichat", "--provider", "litellm", "-o", str(out / "c.yaml"))
    message = one_line_error(result)
    assert "none of the" in message and "selected models can go into a aichat export" in message
    assert list(out.glob("c.yaml*")) == []
    codex = catalog.run("export", "codex", "--provider", "litellm", "-o", str(out / "codex"))
    assert codex.exit_code == 1 and not (out / "codex").exists()


def test_codex_o_config_toml_writes_the_file_and_profiles_beside_it(catalog, out):
    home = out / ".codex"
    result = catalog.export("codex", "--provider", "groq", "-o", str(home / "config.toml"))
    assert (home / "config.toml").is_file(), "a file, never a folder named config.toml"
    assert "model_providers" in tomllib.loads((home / "config.toml").read_text())
    profiles = sorted(home.glob("*.config.toml"))
    assert profiles and all(tomllib.loads(p.read_text())["model_provider"] == "groq" for p in profiles)
    assert f"to {home}" in result.stderr
    # The user's own config.toml: refused in one line, never a traceback; --merge works.
    user = '# mine\nmodel = "gpt-5"\n'
    (home / "config.toml").write_text(user)
    message = one_line_error(catalog.run("export", "codex", "--provider", "groq", "-o", str(home / "config.toml")))
    assert f"{home / 'config.toml'} exists and is not a file vexy wrote" in message
    assert (home / "config.toml").read_text() == user
    catalog.export("codex", "--provider", "groq", "--merge", str(home / "config.toml"))
    merged = (home / "config.toml").read_text()
    assert merged.startswith("# mine") and "[model_providers.groq]" in merged
    assert (home / "config.toml.bak").read_text() == user


@pytest.mark.parametrize("tool", ["json", "txt", "codex"])
def test_a_file_path_for_a_several_file_format_is_an_error(catalog, out, tool):
    existing = out / "notes"
    existing.write_text("my notes\n")
    message = one_line_error(catalog.run("export", tool, "-o", str(existing)))
    assert f"{tool} writes several files" in message and f"{existing} is a file" in message
    assert existing.read_text() == "my notes\n"
    named = out / f"models.{'toml' if tool == 'codex' else tool}"
    if tool != "codex":
        message = one_line_error(catalog.run("export", tool, "-o", str(named)))
        assert f"{named} names a file" in message and not named.exists()


def test_a_file_in_the_way_of_a_folder_is_one_line(catalog, out):
    blocker = out / "hostname"
    blocker.write_text("host\n")
    for tool, out in (("aichat", blocker / "x.yaml"), ("json", blocker / "models"), ("codex", blocker / "c")):
        message = one_line_error(catalog.run("export", tool, "-o", str(out)))
        assert message.startswith(f"Error: {out}") and message.endswith(f": {blocker} is a file, not a folder")
        assert blocker.read_text() == "host\n"


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux /proc")
def test_system_paths_are_one_line_not_a_traceback(catalog, out):
    message = one_line_error(catalog.run("export", "aichat", "-o", "/proc/config.yaml"))
    assert message.startswith("Error: /proc/config.yaml: cannot create a file in /proc")
    if Path("/etc/hostname").is_file():
        message = one_line_error(catalog.run("export", "aichat", "-o", "/etc/hostname/x.yaml"))
        assert message == "Error: /etc/hostname/x.yaml: /etc/hostname is a file, not a folder"


def test_a_folder_where_the_file_would_go_is_refused(catalog, out):
    (out / "out" / "config.yaml").mkdir(parents=True)
    message = one_line_error(catalog.run("export", "aichat", "-o", str(out / "out") + os.sep))
    assert message == f"Error: {out / 'out' / 'config.yaml'} is a folder, not a file - choose another -o"


def test_backup_names_count_up_past_the_highest(out):
    path = out / "mods.yml"
    assert backup_path(path).name == "mods.yml.bak"
    (out / "mods.yml.bak").write_text("1")
    assert backup_path(path).name == "mods.yml.bak.2"
    (out / "mods.yml.bak.7").write_text("7")
    (out / "mods.yml.bakery").write_text("not a backup")
    assert backup_path(path).name == "mods.yml.bak.8"


def test_many_files_and_spliced_ones_are_written_whole_with_their_owners_modes(out):
    """write_files with more files than are flushed one by one, spliced texts among them: each
    file holds its text, a new one is its owner's only, an existing world-readable one keeps
    its mode unless its new text holds a literal secret."""
    from vexy_catalog.export import storage
    from vexy_catalog.export.emit import Spliced
    from vexy_catalog.export.storage import write_files

    line = '  "base_instructions": "' + "You are Codex \u2014 brief. " * 400 + '",\n'
    clean = Spliced(["{\n", line, '  "slug": "a",\n', line, '  "slug": "b"\n}\n'])
    keyed = Spliced(["{\n", line, '  "slug": "sk-abcdefgh12345678"\n}\n'])
    texts = {f"p{i}.config.toml": f'model = "m{i}"\n' for i in range(storage._BATCH + 10)}
    texts |= {
        "clean.models.json": clean,
        "keyed.models.json": keyed,
        "p7.config.toml": "# codex -p featherless-pt-sk-ll-3-2-1b\n",
    }
    for name in ("clean.models.json", "keyed.models.json", "p3.config.toml", "p7.config.toml"):
        (out / name).write_text("old\n")
        (out / name).chmod(0o644)
    results = write_files(out, texts, tool="codex", force=True)
    assert {r.path.name for r in results if r.status == "replaced"} == {
        "clean.models.json",
        "keyed.models.json",
        "p3.config.toml",
        "p7.config.toml",
    }
    for name, text in texts.items():
        data = bytes(text) if isinstance(text, Spliced) else text.encode()
        assert (out / name).read_bytes() == data, name
    modes = {p.name: p.stat().st_mode & 0o777 for p in out.iterdir() if not p.name.endswith(".bak")}
    assert modes.pop("clean.models.json") == modes.pop("p3.config.toml") == 0o644
    assert modes.pop("keyed.models.json") == modes.pop("p7.config.toml") == 0o600  # look like keys
    assert set(modes.values()) == {0o600}  # new files, and the record
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]
    assert all(written_by_vexy(out / name) for name in texts)
    again = write_files(out, texts, tool="codex")
    assert {r.status for r in again} == {"unchanged"}


def test_the_record_of_written_files_is_what_json_dumps_writes():
    """``.vexy-export.json`` is written line by line when its records are plain: the same text."""
    import random

    from vexy_catalog.export.storage import manifest_text

    rng = random.Random(1)
    names = ["a.toml", "é.toml", 'x"y', "\u2028", "z" * 100, "\x00", "日本", "p.config.toml"]
    records = [
        {"sha256": "ab" * 32, "tool": "codex", "written_at": "2026-01-01T00:00:00Z"},
        {"sha256": "x", "tool": "é"},
        {},
        {"n": 1},
        "junk",
        {"k": None},
    ]
    for _ in range(300):
        manifest = {rng.choice(names) + str(rng.randint(0, 9)): rng.choice(records) for _ in range(rng.randint(0, 6))}
        text = manifest_text(manifest)
        assert json.loads(text)["files"] == manifest
        assert text == json.dumps(json.loads(text), indent=2) + "\n"


def _many_texts() -> dict:
    """More files than are flushed one by one, a spliced catalog among them."""
    from vexy_catalog.export import storage
    from vexy_catalog.export.emit import Spliced

    line = '  "base_instructions": "' + "You are Codex \u2014 brief. " * 400 + '",\n'
    texts: dict = {"config.toml": '[model_providers.p]\nname = "P"\n'}
    texts |= {f"p{i}.config.toml": f'model = "m{i}"\n' for i in range(storage._BATCH + 10)}
    texts["vexy-p.models.json"] = Spliced(["{\n", line, '  "slug": "a",\n', line, '  "slug": "b"\n}\n'])
    return texts


def _folder_state(folder: Path) -> dict:
    """Every file's bytes and mode, the record's timestamps left out."""
    state = {p.name: (p.read_bytes(), p.stat().st_mode & 0o7777) for p in folder.iterdir()}
    record, mode = state.pop(MANIFEST)
    files = json.loads(record)["files"]
    for entry in files.values():
        entry.pop("written_at")
    return state | {MANIFEST: (files, mode), ".": folder.stat().st_mode & 0o7777}


def test_a_new_folder_appears_whole_holding_what_file_by_file_writes_would(tmp_path):
    """A folder that is not there is written in a staging folder beside it, then renamed into
    place: the same files, bytes, modes and record as written one by one into a folder that is
    there, the folder made as any other, and no staging folder left."""
    from vexy_catalog.export.storage import write_files

    texts = _many_texts()
    new, there = tmp_path / "parents" / "new", tmp_path / "there"
    there.mkdir()
    staged = write_files(new, texts, tool="codex")
    one_by_one = write_files(there, texts, tool="codex")
    assert [(r.path, r.status, r.backup) for r in staged] == [(new / name, "new", None) for name in texts]
    assert [(r.path.name, r.status) for r in one_by_one] == [(r.path.name, r.status) for r in staged]
    assert _folder_state(new) == _folder_state(there)
    assert sorted(os.listdir(new.parent)) == ["new"]
    assert all(written_by_vexy(new / name) for name in texts)
    assert {r.status for r in write_files(new, texts, tool="codex")} == {"unchanged"}


def test_a_new_folder_whose_staging_name_would_be_too_long_is_written_file_by_file(tmp_path):
    from vexy_catalog.export.storage import write_files

    texts = _many_texts()
    folder = tmp_path / ("f" * 250)  # a valid name; the staging folder's would not be
    results = write_files(folder, texts, tool="codex")
    assert [(r.path, r.status) for r in results] == [(folder / name, "new") for name in texts]
    assert all(written_by_vexy(folder / name) for name in texts)
    assert os.listdir(tmp_path) == [folder.name]


def test_a_new_folder_that_cannot_be_written_whole_leaves_nothing(tmp_path):
    from vexy_catalog.export.storage import ExportWriteError, write_files

    texts = _many_texts() | {"x" * 300 + ".config.toml": "model = 'm'\n"}  # too long a name
    with pytest.raises(ExportWriteError) as raised:
        write_files(tmp_path / "new", texts, tool="codex")
    assert str(tmp_path / "new" / ("x" * 300 + ".config.toml")) in str(raised.value)
    assert os.listdir(tmp_path) == []


def _long_texts() -> dict:
    """:func:`_many_texts` with catalogs long enough to be written on a thread of their own."""
    from vexy_catalog.export import storage
    from vexy_catalog.export.emit import Spliced

    line = '  "base_instructions": "' + "You are Codex \u2014 brief. " * 400 + '",\n'
    entries = storage._LONG // len(line.encode()) + 2
    texts = _many_texts()
    for name in ("vexy-a.models.json", "vexy-b.models.json"):
        pieces = ["{\n"]
        for i in range(entries):
            pieces += [line, f'  "slug": "{name}-{i}",\n']  # one line object, used throughout
        texts[name] = Spliced([*pieces, "}\n"])
        assert texts[name].size > storage._LONG
    # A long file of one piece across many megabytes, its size a whole number of mebibytes.
    texts["vexy-c.models.json"] = Spliced(["a" * 100, "b" * (2 * storage._LONG - 200), "c" * 100])
    return texts


def test_long_files_are_written_whole_beside_the_short_ones(tmp_path):
    """Files long enough to be written on a thread of their own: every file holds its text and
    is recorded, staged into a new folder or written into one that is there."""
    from vexy_catalog.export.emit import Spliced
    from vexy_catalog.export.storage import write_files

    texts = _long_texts()
    new, there = tmp_path / "new", tmp_path / "there"
    there.mkdir()
    for folder in (new, there):
        results = write_files(folder, texts, tool="codex")
        assert [(r.path, r.status) for r in results] == [(folder / name, "new") for name in texts]
        for name, text in texts.items():
            assert (folder / name).read_bytes() == (bytes(text) if isinstance(text, Spliced) else text.encode()), name
        assert all(written_by_vexy(folder / name) for name in texts)
    assert _folder_state(new) == _folder_state(there)
    assert sorted(os.listdir(tmp_path)) == ["new", "there"]
    assert {r.status for r in write_files(new, texts, tool="codex")} == {"unchanged"}


@pytest.mark.parametrize("at", [0, 1 << 20, -1])
def test_a_long_file_one_byte_off_is_told_from_its_text(tmp_path, at):
    """A long file compared with the export's text a block at a time: the same bytes are
    unchanged; one byte off (in the first block, at a block's start, the last byte), or one
    byte more, and it is written again."""
    from vexy_catalog.export.emit import Spliced
    from vexy_catalog.export.storage import write_files

    texts = _long_texts()
    write_files(tmp_path, texts, tool="codex")
    for name in ("vexy-a.models.json", "vexy-c.models.json"):
        path = tmp_path / name
        data = bytearray(path.read_bytes())
        data[at] ^= 1
        for changed in (bytes(data), bytes(texts[name]) + b"\n"):
            path.write_bytes(changed)
            results = write_files(tmp_path, texts, tool="codex", force=True)
            assert {r.path.name for r in results if r.status != "unchanged"} == {name}
            assert path.read_bytes() == bytes(Spliced(texts[name].pieces))


@pytest.mark.parametrize("there", [False, True])
@pytest.mark.parametrize("which", ["long", "short"])
def test_a_long_or_short_file_that_cannot_be_written_leaves_nothing(tmp_path, there, which):
    """A file that cannot be written, long (written on a thread of its own) or short: the error
    names it, and no file of the export is left (nor a staging folder)."""
    from vexy_catalog.export.storage import ExportWriteError, write_files

    texts = _long_texts()
    bad = "x" * 300 + (".models.json" if which == "long" else ".config.toml")  # too long a name
    texts[bad] = texts["vexy-a.models.json"] if which == "long" else "model = 'm'\n"
    folder = tmp_path / "out"
    if there:
        folder.mkdir()
    with pytest.raises(ExportWriteError) as raised:
        write_files(folder, texts, tool="codex")
    assert str(folder / bad) in str(raised.value)
    assert os.listdir(tmp_path) == (["out"] if there else [])
    assert not there or os.listdir(folder) == []


def _gone_pid() -> int:
    """The process id of a process that has ended."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _leftover(path: Path, is_dir: bool, age: float) -> Path:
    if is_dir:
        path.mkdir()
        (path / "half.json").write_text("{")
    else:
        path.write_text("{")
    when = time.time() - age
    os.utime(path, (when, when))
    return path


@pytest.mark.skipif(os.name != "posix", reason="whether a process lives is asked of POSIX only")
def test_what_a_killed_export_left_is_removed_by_the_next_export(tmp_path):
    """A staging folder beside the target and a temporary file in it, left by an export killed
    midway, go with the next export into that folder; what a live or recent export, another
    folder's export or the user made stays."""
    from vexy_catalog.export.storage import write_files

    gone, alive, old = _gone_pid(), os.getpid(), 3600
    killed_staging = _leftover(tmp_path / f".new.{gone}-0badf00d.tmp", True, old)
    kept = [
        _leftover(tmp_path / f".new.{alive}-cafebabe.tmp", True, old),  # its export still runs
        _leftover(tmp_path / f".new.{gone}-deadbeef.tmp", True, 5),  # maybe another machine's, now
        _leftover(tmp_path / f".other.{gone}-0badf00d.tmp", True, old),  # another folder's
        _leftover(tmp_path / f".new.{gone}-0badcafe.tmp", False, old),  # not a staging folder
        _leftover(tmp_path / ".new.mine.tmp", True, old),  # the user's
    ]
    write_files(tmp_path / "new", {"a.json": "{}\n"}, tool="llm")
    assert not killed_staging.exists()
    assert all(path.exists() for path in kept)
    assert (tmp_path / "new" / "a.json").read_text() == "{}\n"

    killed_temp = _leftover(tmp_path / "new" / f".a.json.{gone}-0badf00d.tmp", False, old)
    recent_temp = _leftover(tmp_path / "new" / f".a.json.{gone}-deadbeef.tmp", False, 5)
    users = _leftover(tmp_path / "new" / ".a.json.tmp", False, old)
    write_files(tmp_path / "new", {"a.json": "{}\n"}, tool="llm")
    assert not killed_temp.exists()
    assert recent_temp.exists() and users.exists()


def test_a_file_already_there_is_compared_byte_for_byte(out):
    """A re-export rewrites a file only when one of its bytes differs, the repeated piece of a
    spliced file included, and leaves the record alone when nothing changed."""
    from vexy_catalog.export.emit import Spliced
    from vexy_catalog.export.storage import write_files

    line = '  "base_instructions": "' + "brief. " * 40000 + '",\n'  # ~280 KB: the file is read in blocks
    other = line[:140000] + "B" + line[140001:]  # the same size, one byte apart
    first = Spliced(["{\n", *[line, '  "slug": "a",\n'] * 4, line, "}\n"])
    second = Spliced(["{\n", *[line, '  "slug": "a",\n'] * 4, other, "}\n"])
    (result,) = write_files(out, {"c.json": first}, tool="codex")
    assert result.status == "new"
    record = (out / MANIFEST).read_bytes()
    assert [r.status for r in write_files(out, {"c.json": first}, tool="codex")] == ["unchanged"]
    assert [r.status for r in write_files(out, {"c.json": str(first)}, tool="codex")] == ["unchanged"]
    assert (out / MANIFEST).read_bytes() == record
    assert [r.status for r in write_files(out, {"c.json": second}, tool="codex")] == ["replaced"]
    assert (out / "c.json").read_bytes() == bytes(second)
    assert written_by_vexy(out / "c.json")
    assert [r.status for r in write_files(out, {"c.json": first}, tool="codex")] == ["replaced"]
    assert (out / "c.json").read_bytes() == bytes(first)


def test_a_long_file_is_compared_across_its_blocks(out):
    """storage._same_content on a file of several blocks: one byte changed anywhere (first,
    either side of a block boundary, last) is found, and so is a file cut short or grown."""
    from vexy_catalog.export import storage
    from vexy_catalog.export.emit import Spliced

    piece = "\u00e9tude " * 80000  # ~560 KB: the file is read a block at a time
    data = Spliced(["[", piece, ",", piece, ",", piece, ",", piece, ",", piece, "]"])
    path = out / "long.json"
    path.write_bytes(bytes(data))
    assert data.size > 2 * storage._BLOCK
    assert storage._same_content(path, data)
    original = bytes(data)
    for at in (0, storage._BLOCK - 1, storage._BLOCK, 2 * storage._BLOCK + 5, data.size - 1):
        changed = bytearray(original)
        changed[at] ^= 1
        path.write_bytes(bytes(changed))
        assert not storage._same_content(path, data), at
    path.write_bytes(original[:-1])
    assert not storage._same_content(path, data, size=data.size)  # shorter than its look said
    path.write_bytes(original + b" ")
    assert not storage._same_content(path, data, size=data.size)  # grew since
