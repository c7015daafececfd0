"""`hotswap serve` tunes the cyclic GC once at start-up (app.tune_gc; why: its docstring)."""

from __future__ import annotations

import gc

from hotswap.app import GC_GEN0_THRESHOLD, tune_gc


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
