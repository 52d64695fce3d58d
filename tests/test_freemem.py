"""Memory freed on the C heap goes back to the system when a large answer has been stored
(vexy_catalog.freemem; glibc keeps it resident otherwise)."""

from __future__ import annotations

import os
import platform
import sys

import pytest

from vexy_catalog.freemem import release_free_memory

glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.skipif(not glibc, reason="malloc_trim is glibc's; elsewhere release_free_memory does nothing")
def test_freed_heap_memory_leaves_the_process():
    # 96 MB in pieces small enough for the heap (not mmap), then all freed but the last, which
    # pins the top of the heap: free() alone gives none of it back.
    pieces = [bytearray(48 * 1024) for _ in range(2048)]
    last = pieces[-1]
    del pieces
    before = _resident_mb()
    release_free_memory()
    after = _resident_mb()
    assert before - after > 48, (before, after)
    assert len(last) == 48 * 1024


def test_it_is_harmless_twice_and_anywhere():
    release_free_memory()
    release_free_memory()
