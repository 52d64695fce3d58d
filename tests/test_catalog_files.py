"""The catalog file: read-only commands never write, another application's file is left alone,
and every problem with a path is one line that says the real cause."""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from vexy_catalog.cli import cli
from vexy_catalog.files import describe_os_error, describe_sqlite_error

READ_ONLY = [
    ["models"],
    ["models", "--json"],
    ["stats"],
    ["providers"],
    ["health"],
    ["changes"],
    ["verify"],
    ["export", "aichat"],
    ["serve", "--public", "--get", "/vexy/models.json"],
]
WRITING = [["fetch", "litellm"], ["prune", "--keep", "1"], ["verify", "--repair"]]


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def one_line(result) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def files_of(path: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(path.parent.iterdir()) if p.name.startswith(path.name)}


@pytest.fixture
def other_app(tmp_path) -> Path:
    path = tmp_path / "notes.db"
    conn = sqlite3.connect(path)
    conn.execute("create table notes (id integer primary key, text)")
    conn.execute("insert into notes (text) values ('buy milk')")
    conn.commit()
    conn.close()
    return path


@pytest.mark.parametrize("args", READ_ONLY + WRITING, ids=lambda a: " ".join(a))
def test_another_applications_sqlite_file_is_left_alone(other_app, args, no_internet):
    before = files_of(other_app)
    message = one_line(run("--db", str(other_app), *args))
    assert str(other_app) in message and "not a vexy catalog" in message
    assert files_of(other_app) == before
    tables = sqlite3.connect(other_app).execute("select name from sqlite_master").fetchall()
    assert tables == [("notes",)]


@pytest.mark.parametrize("args", READ_ONLY, ids=lambda a: " ".join(a))
def test_read_only_commands_never_create_a_catalog(tmp_path, args):
    path = tmp_path / "new" / "vexy.db"
    result = run("--db", str(path), *args)
    assert "Traceback" not in result.output
    assert not path.parent.exists()


@pytest.mark.parametrize("args", [a for a in READ_ONLY if a[0] != "health"], ids=lambda a: " ".join(a))
def test_read_only_commands_never_migrate(fetched, args):
    _, db_path = fetched
    conn = sqlite3.connect(db_path)
    (last,) = conn.execute("select max(id) from _sqlite_migrations").fetchone()
    conn.execute("delete from _sqlite_migrations where id = ?", [last])  # as an older vexy left it
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    message = one_line(run("--db", str(db_path), *args))
    assert "schema version" in message and "run 'vexy fetch'" in message
    assert db_path.read_bytes() == before


def test_health_reads_an_older_schema_without_upgrading_it(fetched):
    _, db_path = fetched
    conn = sqlite3.connect(db_path)
    conn.execute("delete from _sqlite_migrations where id = (select max(id) from _sqlite_migrations)")
    conn.commit()
    conn.close()
    before = db_path.read_bytes()
    result = run("--db", str(db_path), "health")
    assert result.exit_code == 1 and "is older than this vexy's" in result.stderr
    assert db_path.read_bytes() == before


def test_a_truncated_catalog_is_called_damaged(fetched, tmp_path):
    _, db_path = fetched
    truncated = tmp_path / "truncated.db"
    truncated.write_bytes(db_path.read_bytes()[:12288])
    for args in (["models"], ["fetch", "groq"], ["health"], ["stats"]):
        message = one_line(run("--db", str(truncated), *args))
        assert message.startswith(f"Error: {truncated} is a damaged SQLite file"), message
        assert "points at a vexy catalog" not in message


def test_a_file_in_place_of_a_folder(tmp_path, no_internet):
    blocker = tmp_path / "hostname"
    blocker.write_text("host\n")
    dump = tmp_path / "dump"
    dump.mkdir()
    (dump / "models_groq.json").write_text('{"data": [{"id": "a"}]}')
    for args in (["fetch", "litellm"], ["models"], ["import", str(dump)]):
        message = one_line(run("--db", str(blocker / "v.db"), *args))
        assert message == f"Error: {blocker / 'v.db'}: {blocker} is a file, not a folder", message
    if Path("/etc/hostname").is_file():
        assert one_line(run("--db", "/etc/hostname/v.db", "fetch")).endswith("/etc/hostname is a file, not a folder")


@pytest.fixture
def unwritable(tmp_path) -> Path:
    """A folder this process cannot create files in: a read-only folder, or for root (whom
    file modes do not stop) a sysfs folder."""
    if os.geteuid() == 0:
        return Path("/sys/kernel")
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    return folder


def test_permission_denied_is_said(unwritable, no_internet):
    path = unwritable / "v.db"
    message = one_line(run("--db", str(path), "fetch", "litellm"))
    assert message.startswith(f"Error: {path}: permission denied"), message
    assert not path.exists()


def test_import_of_a_folder_that_is_not_a_dump_leaves_no_catalog(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    db_path = tmp_path / "imported.db"
    message = one_line(run("--db", str(db_path), "import", str(empty)))
    assert "holds no models_<name>.json files" in message
    assert not db_path.exists() and not list(tmp_path.glob("imported.db*"))


@pytest.mark.parametrize(
    ("code", "said"),
    [
        (errno.EROFS, ": the file system is read-only"),
        (errno.ENOSPC, ": no space left on the disk (or quota reached)"),
        (errno.EACCES, ": permission denied"),
        (errno.EISDIR, " is a folder, not a file"),
    ],
)
def test_os_errors_name_the_path_and_the_cause(tmp_path, code, said):
    path = tmp_path / "x.yaml"
    assert describe_os_error(OSError(code, os.strerror(code)), path) == f"{path}{said}"


def test_a_full_disk_is_said(tmp_path):
    # SQLite's own "database or disk is full", from a catalog capped at a few pages.
    path = tmp_path / "full.db"
    conn = sqlite3.connect(path)
    conn.execute("create table t (x)")
    conn.execute("pragma max_page_count = 3")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute("insert into t values (?)", ["x" * 100_000])
    conn.close()
    assert describe_sqlite_error(caught.value, path).startswith(f"{path}: no space left on the disk")
