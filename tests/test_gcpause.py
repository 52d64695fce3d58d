"""The cycle collector pause used while answers are decoded and stored leaves the collector as
it found it."""

from __future__ import annotations

import gc

import pytest

from vexy_catalog.gcpause import paused_collection


@pytest.fixture
def collector_on():
    was_on = gc.isenabled()
    gc.enable()
    yield
    if not was_on:
        gc.disable()


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
