"""Python's cycle collector paused around work that builds many objects and no cycles.

The collector walks every live object each time enough of them were allocated: decoding a
100k-model answer, or storing its models (a reading per model alive at once), spends more time
in it than in the work itself, to find no cycles. Reference counting frees what they build
all the same. Stands on nothing of ours.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

__all__ = ["paused_collection"]


@contextlib.contextmanager
def paused_collection() -> Iterator[None]:
    """Cycle collection off for the block, and on again after it where it was on (nested or
    concurrent blocks leave it as they found it once the first one ends)."""
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()
