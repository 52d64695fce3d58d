"""Python's cycle collector paused around work that builds many objects and no cycles, and
kept out of the interpreter's exit; and large structures left unfreed when the process ends
right after.

The collector walks every live object each time enough of them were allocated: decoding a
100k-model answer, or storing its models (a reading per model alive at once), spends more time
in it than in the work itself, to find no cycles. Reference counting frees what they build
all the same. Stands on nothing of ours.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
from collections.abc import Iterator

__all__ = ["collect_while_waiting", "let_go", "no_collection_at_exit", "paused_collection", "process_ends_after"]

_at_exit = False
# What let_go kept, once the process is known to end right after the command; else None.
_kept: list[object] | None = None


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


def collect_while_waiting() -> None:
    """A full collection now, while the process waits (on the network), after a paused block
    built many objects that stay: they are then old, and the collector's passes once the
    answers are in walk none of them (the first pass after a pause, and a full one soon after,
    would otherwise walk them all then)."""
    gc.collect()


def no_collection_at_exit() -> None:
    """At the interpreter's exit, the objects alive are taken out of the collector's reach
    before its final collection, which would walk them all to free memory the process is about
    to give back: 50-70 ms of every ``vexy fetch``, a fifth of an unchanged refetch's own time.
    Files and connections are closed by the commands themselves, never left to the collector.
    Registered once per process, however many commands it runs."""
    global _at_exit
    if not _at_exit:
        _at_exit = True
        atexit.register(gc.freeze)


def process_ends_after() -> None:
    """Said by a command the console script runs (``vexy fetch``) when nothing follows it: the
    process ends once the command returns, without the interpreter's teardown when it can."""
    global _kept
    if _kept is None:
        _kept = []


def let_go(value: object) -> None:
    """The caller is done with ``value``: freed when the last reference to it goes, as ever; but
    when the process ends right after the command (see :func:`process_ends_after`), kept until
    then, as the process's end frees it whole. Freeing a fetch's caches (reference indexes,
    baselines) one object at a time takes ~3-5 ms that a user would wait for after the last
    answer."""
    if _kept is not None:
        _kept.append(value)
