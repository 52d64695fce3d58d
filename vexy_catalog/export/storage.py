"""Atomic file writes, and the seed's ``StorageManager`` over them.

Every file vexy exports is written to a temporary file in the target's own directory and then
renamed over the target, so a reader (or a crash) never sees half a config. Replacing a file can
keep the previous one as ``<name>.bak``. A file whose content would not change is not touched,
so running an export twice leaves the files (and their ``.bak``) as the first run left them.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["StorageManager", "atomic_write_text"]


def _write_temp(path: Path, data: bytes, mode_from: Path | None) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if mode_from is not None and mode_from.exists():
            shutil.copymode(mode_from, tmp)
    except BaseException:
        os.unlink(tmp)
        raise
    return Path(tmp)


def atomic_write_text(path: str | os.PathLike[str], text: str, backup: bool = False) -> bool:
    """Write ``text`` (UTF-8) to ``path`` atomically. Returns False when the file already held it.

    With ``backup``, an existing file with other content is first copied to ``<path>.bak``
    (atomically too), and its permission bits carry over to the new file.
    """
    path = Path(path)
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    if backup and path.is_file():
        bak = path.with_name(path.name + ".bak")
        os.replace(_write_temp(bak, path.read_bytes(), path), bak)
    os.replace(_write_temp(path, data, path if path.exists() else None), path)
    return True


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
