"""The router tunes its process once at start-up (tuning.py; why: the docstrings)."""

from __future__ import annotations

import gc
import sys

import pytest

from hotswap.config.tuning import GC_GEN0_THRESHOLD, tune_gc, tune_malloc


def test_tune_gc_raises_the_gen0_threshold_and_freezes_what_is_alive() -> None:
    before = gc.get_threshold()
    try:
        tune_gc()
        assert gc.get_threshold() == (GC_GEN0_THRESHOLD, before[1], before[2])
        assert gc.get_freeze_count() > 0
        assert gc.isenabled()  # cycles are still collected, only less often
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_tune_malloc_applies_on_glibc() -> None:
    assert tune_malloc() is True  # the values are accepted; nothing else to observe cheaply
