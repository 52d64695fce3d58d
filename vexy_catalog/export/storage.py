"""Writing exported files: atomically, never over a user's file, with backups that stay.

Every file vexy exports is written to a temporary file in the target's own directory and then
renamed over the target, so a reader (or a crash) never sees half a config. A file whose
content would not change is not touched, so running an export twice leaves everything as the
first run left it.

:func:`write_files` is the one write path of ``vexy export`` (every format goes through it):

- A file vexy wrote is recorded in ``.vexy-export.json`` in its folder, with the sha256 of what
  was written. A file recorded there and unchanged since is vexy's own and is simply replaced.
- Any other existing file is the user's (or was edited since): unless the export was merged
  from it (``--merge``) or ``force``, it is refused, before anything is written. A merged file
  holds the user's content, so it is never recorded as vexy's own.
- A user's file that is replaced is first copied to a numbered backup: ``<name>.bak``, then
  ``<name>.bak.2``, ``<name>.bak.3``... An earlier backup is never overwritten.
- Folders are created as needed, never over a file; a target that is a folder is refused.
- A target that is a symbolic link (a dotfile kept in a repository, say) is written through:
  the file it points to gets the new content, the link stays. A link to nothing is refused.
- A file that holds a literal secret (a key the user wrote into the config vexy merged into,
  or the merged file was private) is written readable by its owner only (0600).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST",
    "ExportWriteError",
    "StorageManager",
    "Written",
    "atomic_write_text",
    "backup_path",
    "write_files",
    "written_by_vexy",
]

MANIFEST = ".vexy-export.json"


class ExportWriteError(ValueError):
    """An export that cannot be written as asked; the message names the path and the fix."""


def _write_temp(path: Path, data: bytes, mode_from: Path | None, private: bool = False) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode_from is not None and mode_from.exists():
            shutil.copymode(mode_from, tmp)
        if private:
            os.chmod(tmp, 0o600)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def _write_temps(pending: dict[Path, tuple[bytes, Path | None, bool]]) -> dict[Path, Path]:
    """:func:`_write_temp` for each ``target: (data, mode_from, private)``, all flushed to disk;
    the temporary file of each target. Many are written at a time: a whole catalog's codex
    export writes thousands of files, and one ``fsync`` after another waits a disk round trip
    each, where concurrent ones share the file system's commits. On an error none is left."""
    if len(pending) < 2:
        temps = {}
        for target, args in pending.items():
            try:
                temps[target] = _write_temp(target, *args)
            except OSError as e:
                raise _TempWriteFailed(target, e) from None
        return temps
    from concurrent.futures import ThreadPoolExecutor, wait

    with ThreadPoolExecutor(max_workers=min(16, len(pending))) as pool:
        futures = {target: pool.submit(_write_temp, target, *args) for target, args in pending.items()}
        wait(futures.values())
    failed = [(target, f.exception()) for target, f in futures.items() if f.exception() is not None]
    if failed:
        for future in futures.values():
            if future.exception() is None:
                future.result().unlink(missing_ok=True)
        raise _TempWriteFailed(*failed[0])
    return {target: future.result() for target, future in futures.items()}


class _TempWriteFailed(Exception):
    def __init__(self, target: Path, error: BaseException):
        super().__init__(target, error)
        self.target, self.error = target, error


_BACKUP_RE = re.compile(r"\.bak(?:\.(\d+))?$")


def backup_path(path: str | os.PathLike[str]) -> Path:
    """The name the next backup of ``path`` gets: ``<name>.bak``, else one number past the
    highest backup there is (``<name>.bak.2``, ``.bak.3``...), so none is ever overwritten."""
    path = Path(path)
    highest = 0
    if path.parent.is_dir():
        for other in path.parent.iterdir():
            if other.name.startswith(path.name + ".bak"):
                match = _BACKUP_RE.fullmatch(other.name[len(path.name) :])
                if match:
                    highest = max(highest, int(match.group(1) or 1))
    return path.with_name(path.name + (".bak" if highest == 0 else f".bak.{highest + 1}"))


def _backup(path: Path) -> Path:
    bak = backup_path(path)
    os.replace(_write_temp(bak, path.read_bytes(), path), bak)
    return bak


def atomic_write_text(path: str | os.PathLike[str], text: str, backup: bool = False) -> bool:
    """Write ``text`` (UTF-8) to ``path`` atomically. Returns False when the file already held it.

    With ``backup``, an existing file with other content is first copied to a new numbered
    backup (see :func:`backup_path`), and its permission bits carry over to the new file.
    """
    path = Path(path)
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    from ..files import ensure_folder

    ensure_folder(path.parent)
    if backup and path.is_file():
        _backup(path)
    os.replace(_write_temp(path, data, path if path.exists() else None), path)
    return True


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) else {}


def _recorded(path: Path, manifest: Mapping[str, Any]) -> bool:
    """True when the manifest records ``path`` with exactly its current content."""
    entry = manifest.get(path.name)
    return isinstance(entry, dict) and entry.get("sha256") == _sha256(path.read_bytes())


def written_by_vexy(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` is a file ``vexy export`` wrote and nobody changed since."""
    path = Path(path)
    return path.is_file() and _recorded(path, _read_manifest(path.parent))


@dataclass
class Written:
    """What :func:`write_files` did with one file: ``new``, ``replaced`` or ``unchanged``."""

    path: Path
    status: str
    backup: Path | None = None


def _simple(name: str) -> bool:
    """A file name right in the folder (no folder part)."""
    return name not in ("", ".", "..") and "/" not in name and os.sep not in name


def _place(folder: Path, name: str, root: Path | None = None) -> tuple[Path, Path]:
    """``(path, real)``: where ``name`` goes in ``folder`` (``root``: the folder resolved, when
    known), and the file written there (the one a symbolic link points to, so the link stays a
    link). A name that would leave the folder, or a link to nothing, is refused."""
    path = folder / name
    if not _simple(name):  # a plain name stays in the folder: no folder to resolve per file
        root = root or folder.resolve()
        parent = path.parent.resolve()
        if parent != root and root not in parent.parents:
            raise ExportWriteError(f"'{name}' is outside {folder}")
    if not path.is_symlink():
        return path, path
    real = path.resolve()
    if not real.exists():
        raise ExportWriteError(
            f"{path} is a symbolic link to {os.readlink(path)}, which does not exist: fix the link, or remove it "
            "to write a new file there"
        )
    return path, real


def _resolved(path: Path, real: Path, root: Path) -> Path:
    """``real.resolve()`` (``root``: the folder resolved), without resolving the folder again
    for a file right in it that is not a link (a whole catalog's codex export writes thousands)."""
    if real is path and _simple(path.name):
        return root / path.name
    return real.resolve()


def _private(paths: Iterable[Path]) -> bool:
    """True when one of ``paths`` is readable by its owner only (its content stays that way)."""
    return any(p.is_file() and not p.stat().st_mode & 0o077 for p in paths)


def _refusal(path: Path, merge_ok: bool) -> str:
    fix = (
        f"add vexy's entries to it with --merge {path} (everything else in it stays), or replace it"
        if merge_ok
        else "replace it"
    )
    return (
        f"{path} exists and is not a file vexy wrote (or was changed since): {fix} with --force "
        "(it is kept as a numbered backup), or choose another -o"
    )


def write_files(
    folder: str | os.PathLike[str],
    files: Mapping[str, str],
    *,
    tool: str,
    merged_from: Iterable[str | os.PathLike[str]] = (),
    force: bool = False,
    merge_ok: bool = True,
) -> list[Written]:
    """Write ``files`` (name -> text) into ``folder``: the safety rules of the module docstring.

    ``merged_from`` are the paths whose current text the export was merged from: replacing them
    is the point (they are backed up first). ``force`` replaces any other file too (backed up).
    Raises :class:`ExportWriteError` (nothing written) when a file would replace a user's file,
    and for a path that cannot be written, with the reason.
    """
    from ..files import describe_os_error, ensure_folder
    from ..security import Secrets, literal_secret, secret_named_values

    folder = Path(folder)
    merged = {Path(p).resolve() for p in merged_from}
    # What was merged from a private file (0600: a key written in it, say) stays private.
    private_source = _private(merged)
    secrets = Secrets(secret_named_values(), patterns=False)  # read once for every file
    current = folder / (next(iter(files), "") or "")  # named in an error message
    try:
        ensure_folder(folder)
        root = folder.resolve()
        manifest = _read_manifest(folder)
        plan = []
        for name, text in files.items():
            path, real = _place(folder, name, root)
            current = path
            data = text.encode("utf-8")
            if real.is_dir():
                raise ExportWriteError(f"{path} is a folder, not a file - choose another -o")
            private = private_source or literal_secret(text, secrets=secrets)
            if not real.exists():
                plan.append((path, real, data, "new", False, private))
            elif real.read_bytes() == data:
                plan.append((path, real, data, "unchanged", False, private))
            elif _resolved(path, real, root) in merged or force:
                plan.append((path, real, data, "replaced", not _recorded(path, manifest), private))
            elif _recorded(path, manifest):
                plan.append((path, real, data, "replaced", False, private))
            else:
                raise ExportWriteError(_refusal(path, merge_ok))
        results = []
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Every new text goes to a temporary file beside its target first; all of them are on
        # disk before the first is renamed over its target.
        pending: dict[Path, tuple[bytes, Path | None, bool]] = {}
        for path, real, data, status, keep, private in plan:
            current = path
            if status == "unchanged":
                if private and real.stat().st_mode & 0o077:
                    os.chmod(real, 0o600)
                results.append(Written(path, status))
                continue
            bak = _backup(real) if keep else None
            # Two names for one file (links): the last text wins, as it did written in turn.
            pending.pop(real, None)
            pending[real] = (data, real if real.exists() else None, private)
            results.append(Written(path, status, bak))
        try:
            temps = _write_temps(pending)
        except _TempWriteFailed as failed:
            current = failed.target
            raise failed.error from None
        try:
            for real, tmp in list(temps.items()):
                current = real
                os.replace(tmp, real)
                del temps[real]
        finally:
            for tmp in temps.values():
                tmp.unlink(missing_ok=True)
        for path, real, data, *_ in plan:
            if _resolved(path, real, root) in merged:
                # The user's own content is in it: never "vexy's own" to replace unasked.
                manifest.pop(path.name, None)
            else:
                manifest[path.name] = {"sha256": _sha256(data), "tool": tool, "written_at": now}
        if any(r.status != "unchanged" for r in results) or not (folder / MANIFEST).exists():
            record = {
                "about": "Files written by `vexy export`, with the sha256 of what was written: vexy replaces "
                "such a file while it is unchanged, and refuses to replace any other file without "
                "--merge or --force.",
                "files": dict(sorted(manifest.items())),
            }
            atomic_write_text(folder / MANIFEST, json.dumps(record, indent=2) + "\n")
    except OSError as e:
        raise ExportWriteError(describe_os_error(e, current)) from None
    return results


class StorageManager:
    """Files under ``root_path`` (default: the current directory), in subdirectories.

    >>> storage = StorageManager("./data")                       # doctest: +SKIP
    >>> storage.store_json("models_groq.json", {"data": []})     # doctest: +SKIP
    >>> storage.read_json("models_groq.json")                    # doctest: +SKIP
    {'data': []}
    """

    def __init__(self, root_path: str | os.PathLike[str] | None = None):
        self.root_path = Path(root_path) if root_path is not None else Path.cwd()

    def path(self, filename: str, subdirectory: str = "models") -> Path:
        """Where ``filename`` lives; refuses names that would leave the root."""
        root = self.root_path.resolve()
        target = (root / subdirectory / filename).resolve()
        if target != root and root not in target.parents:
            raise ValueError(f"'{Path(subdirectory) / filename}' is outside {self.root_path}")
        return target

    def store_text(self, filename: str, content: str, subdirectory: str = "models") -> Path:
        path = self.path(filename, subdirectory)
        atomic_write_text(path, content)
        return path

    def store_json(self, filename: str, data: Any, subdirectory: str = "models") -> Path:
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        return self.store_text(filename, text, subdirectory)

    def read_text(self, filename: str, subdirectory: str = "models") -> str:
        return self.path(filename, subdirectory).read_text(encoding="utf-8")

    def read_json(self, filename: str, subdirectory: str = "models") -> Any:
        return json.loads(self.read_text(filename, subdirectory))

    def list_files(self, subdirectory: str = "models", pattern: str = "*") -> list[Path]:
        directory = self.path("", subdirectory) if subdirectory else self.root_path
        if not directory.is_dir():
            return []
        return sorted(p for p in directory.glob(pattern) if p.is_file())
