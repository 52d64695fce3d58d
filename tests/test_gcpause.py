"""The cycle collector pause used while answers are decoded and stored leaves the collector as
it found it."""

from __future__ import annotations

import gc
import subprocess
import sys
import weakref

import pytest

from vexy_catalog.gcpause import collect_while_waiting, paused_collection


@pytest.fixture
def collector_on():
    was_on = gc.isenabled()
    gc.enable()
    yield
    if not was_on:
        gc.disable()


def _run_alone(tmp_path, source: str) -> list[str]:
    """The lines a script prints, run in a process of its own."""
    script = tmp_path / "alone.py"
    script.write_text(source, encoding="utf-8")
    return subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True).stdout.splitlines()


def test_collection_is_off_inside_and_on_again_after(collector_on):
    with paused_collection():
        assert not gc.isenabled()
        with paused_collection():
            assert not gc.isenabled()
        # The inner block found it off: it stays off until the outer one ends.
        assert not gc.isenabled()
    assert gc.isenabled()


def test_collection_is_on_again_after_an_error(collector_on):
    with pytest.raises(RuntimeError), paused_collection():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off(collector_on):
    gc.disable()
    with paused_collection():
        pass
    assert not gc.isenabled()


def test_the_objects_alive_at_exit_are_out_of_the_final_collections_reach(tmp_path):
    # In a process of its own: atexit handlers run last-registered first, so the check
    # registered before vexy's sees the objects frozen, and vexy registered it once.
    out = _run_alone(
        tmp_path,
        "import atexit, gc\n"
        "from vexy_catalog.gcpause import no_collection_at_exit\n"
        "atexit.register(lambda: print('frozen at exit:', gc.get_freeze_count() > 0))\n"
        "before = atexit._ncallbacks()\n"
        "no_collection_at_exit()\n"
        "no_collection_at_exit()\n"
        "print('registered:', atexit._ncallbacks() - before)\n"
        "print('frozen before exit:', gc.get_freeze_count() > 0)\n",
    )
    assert out == ["registered: 1", "frozen before exit: False", "frozen at exit: True"]


def test_collecting_while_waiting_reaches_the_oldest_objects(collector_on):
    class Node:
        pass

    node = Node()
    node.self = node  # a cycle: only the collector frees it
    gc.collect()  # alive: now in the oldest generation
    gone = weakref.ref(node)
    del node
    collect_while_waiting()
    assert gone() is None


def test_what_a_command_lets_go_of_is_freed_unless_the_process_ends_after_it(tmp_path):
    # In a process of its own: process_ends_after is for the console script, once per process.
    out = _run_alone(
        tmp_path,
        "import weakref\n"
        "from vexy_catalog.gcpause import let_go, process_ends_after\n"
        "class Cache:\n"
        "    pass\n"
        "def gone_after_let_go():\n"
        "    cache = Cache()\n"
        "    ref = weakref.ref(cache)\n"
        "    let_go(cache)\n"
        "    del cache\n"
        "    return ref() is None\n"
        "print('freed in a library call:', gone_after_let_go())\n"
        "process_ends_after()\n"
        "print('freed before the process ends:', gone_after_let_go())\n",
    )
    assert out == ["freed in a library call: True", "freed before the process ends: False"]
