"""Memory a large answer's encoding freed, handed back to the system.

Encoding a 100k-model answer (its canonical JSON, 32 MB, and the pieces it is joined from)
frees ~70 MB once it is stored. glibc's allocator keeps freed memory in its heap for reuse, but
Python takes the small objects that come next (the readings of every model) from its own
arenas, not from that heap: without a trim the freed memory stays resident beside them, and the
process peaks ~70 MB higher. Elsewhere (macOS, Windows, musl) this does nothing. Stands on
nothing of ours.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable

__all__ = ["release_free_memory"]


@functools.cache
def _find_trim() -> Callable[[int], int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only once an answer is large enough to need it

    try:
        libc = ctypes.CDLL("libc.so.6")  # find_library would run ldconfig
        return libc.malloc_trim  # glibc only
    except (OSError, AttributeError):
        return None


def release_free_memory() -> None:
    """Return the C heap's free pages to the system (glibc's ``malloc_trim``; a few ms)."""
    trim = _find_trim()
    if trim is not None:
        trim(0)
