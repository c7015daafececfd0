"""Process-wide settings for a long-running router, applied once at start-up.

Each one is measured in docs/performance.md; none changes what the router does.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import gc
from collections.abc import Iterator

from hotswap.osdeps import has_glibc_heap

GC_GEN0_THRESHOLD = 50_000
# glibc mallopt parameters (malloc.h) and the values set for them.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_BYTES = 16 * 1024 * 1024
TRIM_THRESHOLD_BYTES = 64 * 1024 * 1024


def tune_process() -> None:
    install_uvloop()
    tune_gc()
    tune_malloc()


def install_uvloop() -> None:
    """uvloop where installed (never on Windows: the package depends on it only elsewhere,
    and asyncio's Proactor loop serves there)."""
    try:
        import uvloop
    except ImportError:
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())


def tune_gc() -> None:
    """Fewer cyclic-GC passes. A request body decoded into dicts and lists (no cycles:
    refcounting frees them) set off gen-0 collections at the default threshold of 700
    that walked the body being built: ~15 % of the router's CPU under load. Objects alive
    after start-up are frozen out of every collection."""
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD)


def tune_malloc() -> bool:
    """Keep freed memory for the next request instead of handing it back to the kernel.

    With glibc's defaults, a request body of a few MB is allocated with mmap or at the top
    of the heap, and freed memory there is returned to the kernel (munmap, trim) as soon
    as the request ends; the next body faults every page in again. Measured on a 2 MB
    request: ~3.7 ms of the router's ~12, spent in page faults. Buffers up to 16 MB now
    come from the heap, and up to 64 MB of free heap is kept: the resident size stays
    near its peak instead of dropping between requests.

    glibc only (Linux); elsewhere (macOS, Windows) nothing is changed. True when applied."""
    if not has_glibc_heap():
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):  # musl and others: no mallopt
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    ok = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1)
    return bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1) and ok


TRIM_AFTER_BYTES = 4 * 1024 * 1024  # request bytes handled since the last trim
TRIM_IDLE_S = 2.0  # how long the router must have been idle (a tool loop rarely pauses this long)


def trim_malloc() -> bool:
    """Give the heap's free memory back to the kernel (glibc's malloc_trim): tune_malloc
    keeps up to 64 MB of it, and fragmentation keeps more, so after a burst of large
    requests the resident size would stay near its peak. True when it ran (never off
    glibc: macOS, Windows)."""
    if not has_glibc_heap():
        return False
    try:
        return bool(ctypes.CDLL(None).malloc_trim(0))
    except (OSError, AttributeError):
        return False


class IdleTrim:
    """After a burst, once the router has been idle for TRIM_IDLE_S, trim the heap once
    (trim_malloc): RSS comes back down instead of staying at the burst's peak. Counts the
    requests in flight; each one's body size counts towards TRIM_AFTER_BYTES."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.pending_bytes = 0
        self.trims = 0
        self._timer: asyncio.TimerHandle | None = None

    @contextlib.contextmanager
    def request(self, size: int) -> Iterator[None]:
        self.in_flight += 1
        self.pending_bytes += size
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            yield
        finally:
            self.in_flight -= 1
            if not self.in_flight and self.pending_bytes >= TRIM_AFTER_BYTES:
                loop = asyncio.get_running_loop()
                self._timer = loop.call_later(TRIM_IDLE_S, self._trim)

    def _trim(self) -> None:
        self._timer = None
        if self.in_flight:
            return
        self.pending_bytes = 0
        gc.collect()  # cycles the burst left (frames, futures) first, or their pages stay
        if trim_malloc():
            self.trims += 1
