"""Writing exported files: atomically, never over a user's file, with backups that stay.

Every file vexy exports is written to a temporary file in the target's own directory and then
renamed over the target, so a reader (or a crash) never sees half a config: every temporary
file of an export is on disk before the first is renamed (:func:`_write_temps`). A folder that
is not there yet is written whole in a staging folder beside it, then renamed into place
(:func:`_write_new_folder`). A file whose content would not change is not touched, so running
an export twice leaves everything as the first run left it.

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

import functools
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .emit import Spliced

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


Content = bytes | Spliced  # a file's UTF-8 bytes, whole or in pieces


def _chunks(data: Content) -> list[bytes]:
    return data.encoded() if isinstance(data, Spliced) else [data]


def _size(data: Content) -> int:
    return data.size if isinstance(data, Spliced) else len(data)


_WRITEV = getattr(os, "writev", None)
# Buffers one writev takes (POSIX guarantees 16; Linux 1024).
_IOV_MAX = min(1024, os.sysconf("SC_IOV_MAX")) if _WRITEV is not None else 1


def _write_all(fd: int, chunks: list[bytes]) -> None:
    """Write ``chunks`` in order: a long list (a spliced catalog) in few calls, a short write
    finished piece by piece."""
    step = _IOV_MAX if len(chunks) > 1 else 1
    for i in range(0, len(chunks), step):
        batch = chunks[i : i + step]
        done = _WRITEV(fd, batch) if step > 1 else 0  # type: ignore[misc]
        for chunk in batch:
            if done >= len(chunk):
                done -= len(chunk)
                continue
            view = memoryview(chunk)[done:]
            done = 0
            while view:
                view = view[os.write(fd, view) :]


_TEMP_TOKEN = f"{os.getpid()}-{os.urandom(4).hex()}"
_TEMP_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _open_temp(path: Path) -> tuple[int, str]:
    """A new, empty temporary file beside ``path`` (readable by its owner only, as
    ``mkstemp`` makes it): its descriptor and name."""
    folder, name = os.path.split(os.fspath(path))
    try:
        tmp = os.path.join(folder, f".{name}.{_TEMP_TOKEN}.tmp")
        return os.open(tmp, _TEMP_FLAGS, 0o600), tmp
    except FileExistsError:
        return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)


def _write_temp(
    path: Path, data: Content, mode_from: Path | None, private: bool = False, sync: bool = True, exact: bool = False
) -> str:
    """``data`` in a temporary file beside ``path``, on disk unless not ``sync`` (then the caller
    flushes it: :func:`_flush`); its name. With ``exact``, the new file is ``path`` itself (in
    a staging folder nobody else writes in: :func:`_write_new_folder`)."""
    fd, tmp = (os.open(path, _TEMP_FLAGS, 0o600), os.fspath(path)) if exact else _open_temp(path)
    try:
        try:
            chunks = _chunks(data)
            _write_all(fd, chunks)
            if sync:
                os.fsync(fd)
            elif len(chunks) > 1:
                _start_writeback(fd)
        finally:
            os.close(fd)
        if mode_from is not None and mode_from.exists():
            shutil.copymode(mode_from, tmp)
        if private:
            os.chmod(tmp, 0o600)
    except BaseException:
        os.unlink(tmp)
        raise
    return tmp


# Past this many files, the temporary files are written one after another without an fsync
# each and then flushed together by one syncfs() of their file system (Linux): each fsync
# waits for a disk write and a cache flush of its own (~7,800 codex profile files: seconds),
# one syncfs writes them all at once. It also writes what other programs have not yet written
# to that file system, so a few dozen files (json, txt, one provider's codex profiles) are
# fsynced each, many at a time, as before. Either way every new text is on disk before any
# file is renamed.
_BATCH = 128


@functools.cache
def _syncfs() -> Any:
    """Linux's ``syncfs(fd)`` (not in :mod:`os`), or None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (AttributeError, OSError):
        return None


@functools.cache
def _sync_file_range() -> Any:
    """Linux's ``sync_file_range(fd, offset, nbytes, flags)`` (not in :mod:`os`), or None."""
    syncfs = _syncfs()
    if syncfs is None:
        return None
    import ctypes

    try:
        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (AttributeError, OSError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    return call


_WRITEBACK = 2  # SYNC_FILE_RANGE_WRITE: start writing the file's dirty pages, without waiting


def _start_writeback(fd: int) -> None:
    """Have the disk start on a long file (a spliced codex catalog: ~7 MB each) just written and
    not fsynced: the writes overlap the files written after it, so the one :func:`_flush` at the
    end waits for less. Only a head start: :func:`_flush` still puts every file on disk."""
    call = _sync_file_range()
    if call is not None:
        call(fd, 0, 0, _WRITEBACK)  # a failure leaves the file to _flush, as without it


def _flush(temps: Iterable[str]) -> bool:
    """Flush the file systems that hold ``temps`` to disk with ``syncfs``; False where it is
    not available (the caller fsyncs each file)."""
    syncfs = _syncfs()
    if syncfs is None:
        return False
    import ctypes

    devices: dict[int, str] = {}
    for folder in {os.path.dirname(tmp) for tmp in temps}:
        devices.setdefault(os.stat(folder).st_dev, folder)
    for folder in devices.values():
        fd = os.open(folder, os.O_RDONLY)
        try:
            if syncfs(fd) != 0:
                code = ctypes.get_errno()
                raise OSError(code, os.strerror(code), folder)
        finally:
            os.close(fd)
    return True


def _flush_temps(temps: dict[Any, str]) -> None:
    """:func:`_flush` of what :func:`_write_temps` wrote unflushed; an error is that of the first file."""
    try:
        _flush(temps.values())
    except OSError as e:
        raise _TempWriteFailed(next(iter(temps)), e) from None


# A file at least this long (a whole catalog's codex catalogs: ~7 MB each, featherless's 173 MB)
# is written on a thread of its own while the short ones are made: the kernel's copy of its bytes
# lets go of the GIL, so it runs on another core, and its write-back starts before the short files.
_LONG = 1 << 20


def _batched(count: int) -> bool:
    """Whether :func:`_write_temps` writes ``count`` files without an fsync each and flushes
    them together (:data:`_BATCH`)."""
    return count >= _BATCH and _syncfs() is not None


def _write_each(
    items: Iterable[tuple[Any, tuple[Content, Path | None, bool]]],
    temps: dict[Any, str],
    *,
    sync: bool,
    exact: bool,
    stop: threading.Event | None = None,
) -> None:
    """:func:`_write_temp` for each item in turn, into ``temps``; stops early once ``stop`` is set."""
    for target, args in items:
        if stop is not None and stop.is_set():
            return
        try:
            temps[target] = _write_temp(target, *args, sync=sync, exact=exact)
        except OSError as e:
            raise _TempWriteFailed(target, e) from None


def _write_temps(
    pending: dict[Any, tuple[Content, Path | None, bool]], exact: bool = False, flush: bool = True
) -> dict[Any, str]:
    """:func:`_write_temp` for each ``target: (data, mode_from, private)``, all flushed to disk;
    the temporary file of each target (with ``exact``, the target itself), in the order of
    ``pending``. On an error none is left. Many files are written first and flushed together
    (:data:`_BATCH`; not ``flush``: the caller flushes them, :func:`_flush_temps`), the long
    ones on a thread of their own (:data:`_LONG`); where that cannot be, many are written at a
    time, as concurrent fsyncs share the file system's commits."""
    batch = _batched(len(pending))
    if batch or len(pending) < 2:
        long = {target for target, args in pending.items() if batch and _size(args[0]) >= _LONG}
        temps: dict[Any, str] = {}
        apart: dict[Any, str] = {}
        stop = threading.Event()
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                future = None
                if long:
                    items = [(target, args) for target, args in pending.items() if target in long]
                    future = pool.submit(_write_each, items, apart, sync=False, exact=exact, stop=stop)
                try:
                    short = ((target, args) for target, args in pending.items() if target not in long)
                    _write_each(short, temps, sync=not batch, exact=exact)
                except BaseException:
                    stop.set()
                    raise
                if future is not None:
                    future.result()
            temps = {target: temps.get(target) or apart[target] for target in pending}
            if batch and flush:
                _flush_temps(temps)
        except BaseException:
            for tmp in [*temps.values(), *apart.values()]:
                _remove(tmp)
            raise
        return temps
    from concurrent.futures import wait

    with ThreadPoolExecutor(max_workers=min(16, len(pending))) as pool:
        futures = {target: pool.submit(_write_temp, target, *args, exact=exact) for target, args in pending.items()}
        wait(futures.values())
    failed = [(target, f.exception()) for target, f in futures.items() if f.exception() is not None]
    if failed:
        for future in futures.values():
            if future.exception() is None:
                _remove(future.result())
        raise _TempWriteFailed(*failed[0])
    return {target: future.result() for target, future in futures.items()}


def _remove(tmp: str) -> None:
    try:
        os.unlink(tmp)
    except FileNotFoundError:
        pass


class _TempWriteFailed(Exception):
    def __init__(self, target: Path | str, error: BaseException):
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


def _same_content(path: Path, data: Content, size: int | None = None) -> bool:
    """Whether the file at ``path`` (``size`` bytes long, when known) holds exactly ``data``:
    its size is compared first, then its bytes; a long file a block at a time against the
    pieces of ``data`` (a re-export compares ~200 MB of codex catalogs, never read or joined
    into one buffer)."""
    expected = _size(data)
    if (os.stat(path).st_size if size is None else size) != expected:
        return False
    with open(path, "rb", buffering=0) as raw:
        if expected < _BLOCK:
            return raw.read(expected + 1) == (bytes(data) if isinstance(data, Spliced) else data)
        return _same_stream(raw, _chunks(data))


_BLOCK = 1 << 20  # bytes read at a time to compare a long file


def _same_stream(raw: Any, chunks: list[bytes]) -> bool:
    """Whether the rest of the unbuffered file ``raw`` is exactly ``chunks``, read in blocks of
    :data:`_BLOCK` bytes into one buffer and compared in place."""
    block = bytearray(_BLOCK)
    view = memoryview(block)
    filled = at = 0
    for chunk in chunks:
        piece = memoryview(chunk)
        while piece:
            if at == filled:
                filled, at = raw.readinto(view), 0
                if not filled:
                    return False  # the file is shorter
            step = min(filled - at, len(piece))
            if not block.startswith(piece[:step], at):
                return False
            at += step
            piece = piece[step:]
    return at == filled and not raw.readinto(view[:1])  # and nothing after


def _sha256_of(data: Content) -> str:
    digest = hashlib.sha256()
    for chunk in _chunks(data):
        digest.update(chunk)
    return digest.hexdigest()


def _sha256_long(datas: list[Content]) -> dict[int, str]:
    """:func:`_sha256_of` each long one of ``datas`` (:data:`_LONG`), by its index: on a thread
    beside the writes, as hashlib lets go of the GIL over their long pieces."""
    return {i: _sha256_of(data) for i, data in enumerate(datas) if _size(data) >= _LONG}


def _sha256_rest(datas: list[Content], done: dict[int, str]) -> list[str]:
    """The digest of each of ``datas``: those :func:`_sha256_long` gave (``done``), the others
    hashed here. The short ones are hashed after the writes, not on the thread beside them:
    hashing one holds the GIL, which the thread making the files waits for after each call."""
    return [done.get(i) or _sha256_of(data) for i, data in enumerate(datas)]


def _literal_secrets(texts: list[str | Spliced], secrets: Any) -> list[bool]:
    """Which of ``texts`` hold a literal secret (:func:`~vexy_catalog.security.literal_secret`),
    the small ones checked together, a spliced one a piece at a time."""
    from ..security import literal_secret_each, literal_secret_pieces

    plain = [text for text in texts if isinstance(text, str)]
    found = iter(literal_secret_each(plain, secrets=secrets))
    return [
        next(found) if isinstance(text, str) else literal_secret_pieces(text.pieces, secrets=secrets) for text in texts
    ]


# What an export killed midway leaves: a temporary file in the folder, or the staging folder of a
# folder that was not there (beside it), named ".<name>.<pid>-<8 hex digits>.tmp" (_TEMP_TOKEN).
_LEFTOVER = re.compile(r"\.(.+)\.(\d+)-[0-9a-f]{8}\.tmp")
# A leftover is removed only once untouched this long: a folder on a network file system can be
# written by an export on another machine whose process id means nothing here.
_LEFTOVER_AGE = 600.0


def _clear_leftovers(entries: Iterable[os.DirEntry[str]], name: str | None = None) -> None:
    """Remove what an export killed midway left among ``entries`` (with ``name``, only the
    staging folders of the folder of that name): named as vexy names them, their process gone
    and untouched for :data:`_LEFTOVER_AGE`. Best effort: what cannot be removed stays."""
    if os.name != "posix":  # os.kill(pid, 0) asks whether pid lives only on POSIX
        return
    oldest = time.time() - _LEFTOVER_AGE
    for entry in entries:
        match = _LEFTOVER.fullmatch(entry.name)
        if match is None or (name is not None and match[1] != name):
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
            if (name is not None and not is_dir) or entry.stat(follow_symlinks=False).st_mtime > oldest:
                continue
            if not _process_gone(int(match[2])):
                continue
            if is_dir:
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue


def _clear_leftovers_beside(folder: Path) -> None:
    """:func:`_clear_leftovers` of ``folder``'s staging folders; a parent that cannot be listed
    (not there yet, not readable) holds none to clear and fails nothing."""
    try:
        with os.scandir(folder.parent) as beside:
            _clear_leftovers(beside, folder.name)
    except OSError:
        pass


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (OSError, OverflowError):  # alive but another user's, or no such pid number
        return False
    return False


def _listing(folder: Path) -> dict[str, os.DirEntry[str]]:
    """The entries of ``folder`` by name: a name that is not there needs no look of its own,
    and one that is says whether it is a link or a folder without one."""
    with os.scandir(folder) as entries:
        return {entry.name: entry for entry in entries}


def write_files(
    folder: str | os.PathLike[str],
    files: Mapping[str, str | Spliced],
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
    from ..security import Secrets, secret_named_values

    folder = Path(folder)
    merged = {Path(p).resolve() for p in merged_from}
    # What was merged from a private file (0600: a key written in it, say) stays private.
    private_source = _private(merged)
    secrets = Secrets(secret_named_values(), patterns=False)  # read once for every file
    current = folder / (next(iter(files), "") or "")  # named in an error message
    try:
        _clear_leftovers_beside(folder)
        if not merged and not os.path.lexists(folder):
            try:
                staged = _write_new_folder(folder, files, tool)
            except _TempWriteFailed as failed:
                current = failed.target
                raise failed.error from None
            if staged is not None:
                return staged
        ensure_folder(folder)
        root = folder.resolve()
        manifest = _read_manifest(folder)
        there = _listing(folder)
        _clear_leftovers(there.values())
        plan = []
        for name, text in files.items():
            data: Content = text if isinstance(text, Spliced) else text.encode("utf-8")
            simple = _simple(name)
            entry = there.get(name) if simple else None
            if simple and entry is None:  # nothing there yet: a new file, no look needed
                path = folder / name
                current = path
                plan.append((path, path, text, data, "new", False, 0))
                continue
            size = None
            if entry is not None and not entry.is_symlink() and not entry.is_dir(follow_symlinks=False):
                path = real = folder / name  # a file right here: one look at it (its size and mode)
                current = path
                stat = entry.stat(follow_symlinks=False)
                mode, size = stat.st_mode, stat.st_size
            else:
                path, real = _place(folder, name, root)
                current = path
                if real.is_dir():
                    raise ExportWriteError(f"{path} is a folder, not a file - choose another -o")
                if not real.exists():
                    plan.append((path, real, text, data, "new", False, 0))
                    continue
                mode = real.stat().st_mode
            if _same_content(real, data, size):
                plan.append((path, real, text, data, "unchanged", False, mode))
            elif _resolved(path, real, root) in merged or force:
                plan.append((path, real, text, data, "replaced", not _recorded(path, manifest), mode))
            elif _recorded(path, manifest):
                plan.append((path, real, text, data, "replaced", False, mode))
            else:
                raise ExportWriteError(_refusal(path, merge_ok))
        # A file that holds a literal secret is its owner's only. A new file is from the start
        # (a temporary file is made so), and so is one that is now: only a file there that
        # others may read needs its text looked through.
        exposed = [i for i, entry in enumerate(plan) if entry[6] & 0o077]
        private = dict.fromkeys(exposed, True) if private_source else {}
        if exposed and not private_source:
            private = dict(zip(exposed, _literal_secrets([plan[i][2] for i in exposed], secrets), strict=True))
        results = []
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        # Every new text goes to a temporary file beside its target first; all of them are on
        # disk before the first is renamed over its target.
        pending: dict[Path, tuple[Content, Path | None, bool]] = {}
        for i, (path, real, _text, data, status, keep, _mode) in enumerate(plan):
            current = path
            if status == "unchanged":
                if private.get(i):
                    os.chmod(real, 0o600)
                results.append(Written(path, status))
                continue
            bak = _backup(real) if keep else None
            # Two names for one file (links): the last text wins, as it did written in turn.
            pending.pop(real, None)
            pending[real] = (data, real if status != "new" else None, private.get(i, False))
            results.append(Written(path, status, bak))
        # The record is rewritten when a file changed: the long files' hashes are taken meanwhile
        # (hashlib lets go of the GIL over a long buffer, and the flush to disk waits): 200 MB
        # for a whole catalog's codex export. When nothing changed they are not needed.
        record = any(r.status != "unchanged" for r in results) or MANIFEST not in there
        with ThreadPoolExecutor(max_workers=1) as pool:
            datas = [entry[3] for entry in plan] if record else []
            long_digests = pool.submit(_sha256_long, datas)
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
                    _remove(tmp)
        if record:
            digests = _sha256_rest(datas, long_digests.result())
            for (path, real, *_), digest in zip(plan, digests, strict=True):
                if merged and _resolved(path, real, root) in merged:
                    # The user's own content is in it: never "vexy's own" to replace unasked.
                    manifest.pop(path.name, None)
                else:
                    manifest[path.name] = {"sha256": digest, "tool": tool, "written_at": now}
            _write_manifest(folder, manifest)
    except OSError as e:
        raise ExportWriteError(describe_os_error(e, current)) from None
    return results


def _write_new_folder(folder: Path, files: Mapping[str, str | Spliced], tool: str) -> list[Written] | None:
    """:func:`write_files` into a folder that is not there yet: every file, and the record,
    written straight into a new staging folder beside it (no file of it is seen by anyone), all
    on disk, then that folder renamed to ``folder``: the export appears whole or not at all,
    with one rename instead of one per file (a whole catalog's codex export writes 7,845).
    None, with nothing written, where it cannot be done so (a name with a folder part, a staging
    folder that cannot be made, ``folder`` there by the time of the rename): the caller writes
    file by file, by the usual rules."""
    if not all(_simple(name) and name != MANIFEST for name in files):
        return None
    from ..files import ensure_folder

    ensure_folder(folder.parent)
    staging = folder.parent / f".{folder.name}.{_TEMP_TOKEN}.tmp"
    try:
        os.mkdir(staging)  # as ensure_folder makes a folder (umask): it becomes the folder
    except OSError:
        return None  # the name taken, or too long a name for the folder's own: file by file
    done = False
    try:
        # Names as strings: a Path per file costs more than writing a small one.
        where = os.path.join(staging, "")
        pending: dict[Any, tuple[Content, Path | None, bool]] = {
            where + name: (text if isinstance(text, Spliced) else text.encode("utf-8"), None, False)
            for name, text in files.items()
        }
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        with ThreadPoolExecutor(max_workers=2) as pool:  # hashed while written, as write_files does
            datas = [data for data, _mode, _private in pending.values()]
            long_digests = pool.submit(_sha256_long, datas)
            try:
                temps = _write_temps(pending, exact=True, flush=False)
            except _TempWriteFailed as failed:
                raise _TempWriteFailed(folder / os.path.basename(failed.target), failed.error) from None
            # The flush to disk waits for the disk: the record and the results are made meanwhile.
            flushed = pool.submit(_flush_temps, temps) if _batched(len(temps)) else None
            record = {
                name: {"sha256": digest, "tool": tool, "written_at": now}
                for name, digest in zip(files, _sha256_rest(datas, long_digests.result()), strict=True)
            }
            text = manifest_text(record).encode("utf-8")
            results = [Written(folder / name, "new") for name in files]
            if flushed is not None:
                try:
                    flushed.result()
                except _TempWriteFailed as failed:
                    raise _TempWriteFailed(folder / os.path.basename(failed.target), failed.error) from None
        _write_temp(staging / MANIFEST, text, None, exact=True)
        try:
            # An empty folder made there meanwhile is replaced (it holds nothing to lose).
            os.rename(staging, folder)
        except OSError:
            if os.path.lexists(folder):
                return None  # something there now: written file by file, by the usual rules
            raise
        done = True
    finally:
        if not done:
            shutil.rmtree(staging, ignore_errors=True)
    return results


_ABOUT = (
    "Files written by `vexy export`, with the sha256 of what was written: vexy replaces such a file while it is "
    "unchanged, and refuses to replace any other file without --merge or --force."
)


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    atomic_write_text(folder / MANIFEST, manifest_text(manifest))


def manifest_text(manifest: dict[str, Any]) -> str:
    """``.vexy-export.json`` for ``manifest`` (file name -> its record): ``json.dumps(...,
    indent=2)``, whose indented encoder is pure Python, written line by line where every record
    is a mapping of strings (a whole catalog's codex export records ~7,800 files)."""
    record = {"about": _ABOUT, "files": dict(sorted(manifest.items()))}
    entries = record["files"]
    plain = all(
        type(entry) is dict and entry and all(type(k) is str and type(v) is str for k, v in entry.items())
        for entry in entries.values()
    )
    if not plain or not entries:
        return json.dumps(record, indent=2) + "\n"
    from json.encoder import encode_basestring_ascii as quoted

    lines = ["{", f'  "about": {quoted(_ABOUT)},', '  "files": {']
    last = len(entries) - 1
    for n, (name, entry) in enumerate(entries.items()):
        lines.append(f"    {quoted(name)}: {{")
        lines.append(",\n".join(f"      {quoted(k)}: {quoted(v)}" for k, v in entry.items()))
        lines.append("    }," if n < last else "    }")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


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
