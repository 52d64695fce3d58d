"""What went wrong with a file or a folder, said in one line a user can act on.

Python's and SQLite's own messages name the symptom ("unable to open database file", "[Errno
20] Not a directory") and often not the path. Every path vexy reads or writes (the catalog,
exports, providers files, dump folders) goes through these, so the message says which path and
what is really wrong with it: a folder that does not exist, a file where a folder should be,
permission denied, a read-only file system, a full disk, a damaged file, a SQLite file of
another application.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

__all__ = ["CatalogFileError", "describe_os_error", "describe_sqlite_error", "ensure_folder"]


class CatalogFileError(Exception):
    """A catalog file that cannot be used as asked; the message names it and the fix."""


def _blocking_component(path: Path) -> Path | None:
    """The first ancestor of ``path`` that exists but is not a folder (a file in the way)."""
    for parent in reversed(path.parents):
        if parent.exists() and not parent.is_dir():
            return parent
    return None


def _missing_folder(path: Path) -> Path | None:
    """The first ancestor of ``path`` that does not exist."""
    for parent in reversed(path.parents):
        if not parent.exists():
            return parent
    return None


def describe_os_error(e: OSError, path: str | os.PathLike[str] | None = None) -> str:
    """``e`` as one line naming the path and the real cause."""
    where = Path(path if path is not None else (e.filename or "?"))
    code = e.errno
    if code in (errno.ENOTDIR, errno.EEXIST) and _blocking_component(where) is not None:
        return f"{where}: {_blocking_component(where)} is a file, not a folder"
    if code == errno.ENOENT:
        missing = _missing_folder(where)
        if missing is not None:
            return f"{where}: the folder {missing} does not exist"
        return f"{where}: cannot create a file in {where.parent} (this file system does not allow it)"
    if code in (errno.EACCES, errno.EPERM):
        return f"{where}: permission denied"
    if code == errno.EROFS:
        return f"{where}: the file system is read-only"
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return f"{where}: no space left on the disk (or quota reached)"
    if code == errno.EISDIR:
        return f"{where} is a folder, not a file"
    if code == errno.EEXIST:
        return f"{where} already exists"
    return f"{where}: {e.strerror or e}"


def ensure_folder(folder: str | os.PathLike[str]) -> None:
    """Create ``folder`` (and its parents) unless it is there; never over a file."""
    folder = Path(folder)
    if folder.is_dir():
        return
    if folder.exists():
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(folder))
    blocking = _blocking_component(folder / "x")
    if blocking is not None:
        raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(blocking))
    folder.mkdir(parents=True, exist_ok=True)


def _writable_problem(path: Path) -> str | None:
    """Why a file at ``path`` could not be opened for writing, found by looking."""
    if path.is_dir():
        return f"{path} is a folder, not a file - point --db (or VEXY_DB) at a file"
    blocking = _blocking_component(path)
    if blocking is not None:
        return f"{path}: {blocking} is a file, not a folder"
    missing = _missing_folder(path)
    if missing is not None:
        return f"{path}: the folder {missing} does not exist"
    folder = path.parent
    if path.exists() and not os.access(path, os.R_OK):
        return f"{path}: permission denied (cannot read the file)"
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path}: permission denied (the file is read-only)"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"{path}: permission denied (cannot write in the folder {folder})"
    # os.access answers yes to root everywhere: try it, and report what the system says.
    try:
        if path.exists():
            with open(path, "r+b"):
                pass
        else:
            import tempfile

            fd, probe = tempfile.mkstemp(prefix=".vexy-probe-", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        return describe_os_error(e, path)
    return None


def describe_sqlite_error(e: sqlite3.Error, path: str | os.PathLike[str]) -> str:
    """A SQLite error on the catalog at ``path`` as one line with its real cause."""
    path = Path(path)
    message = str(e)
    lowered = message.lower()
    if "malformed" in lowered or "disk i/o error" in lowered:
        return (
            f"{path} is a damaged SQLite file ({message}): restore it from a backup, or move it aside and "
            "run 'vexy fetch' to start a new catalog"
        )
    if "file is not a database" in lowered or "file is encrypted" in lowered:
        return f"{path} is not a SQLite file, so not a vexy catalog - check --db (or VEXY_DB)"
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return f"{path}: no space left on the disk (SQLite: {message})"
    if "readonly" in lowered or "read-only" in lowered:
        if not os.access(path.parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
            return f"{path}: permission denied (the file or its folder is read-only)"
        return f"{path}: the file system is read-only (SQLite: {message})"
    if "unable to open" in lowered:
        problem = _writable_problem(path)
        if problem is not None:
            return problem
        return f"{path}: cannot open the catalog ({message})"
    if "locked" in lowered or "busy" in lowered:
        return f"{path} is locked by another program (SQLite: {message}) - try again when it finishes"
    return f"{path}: {message}"
