"""Keep glibc from hoarding freed scoring buffers.

glibc serves large allocations with mmap and returns them to the system on
free, but after the first such free it raises its mmap threshold (up to
32 MiB), so later buffers of that size come from the heap, where freed memory
is kept. Scoring allocates and frees batch-sized activations thousands of
times. With the adaptive threshold, scoring 1M rows x 20 columns raised peak
RSS by 1.2-1.3 GiB (0.1 GiB in one lucky run); with the threshold pinned at
glibc's default of 128 KiB (setting it explicitly turns the adaptation off),
it raised it by nothing. It is a process-wide setting, applied once, only on
glibc, and it changes no result.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

_M_MMAP_THRESHOLD = -3  # from glibc's <malloc.h>
_DEFAULT_THRESHOLD = 128 * 1024
_done = False


def pin_mmap_threshold() -> bool:
    """Pin glibc's mmap threshold at 128 KiB once; return whether it was set."""
    global _done
    if _done:
        return True
    _done = True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(_M_MMAP_THRESHOLD, _DEFAULT_THRESHOLD))
    except (OSError, AttributeError):
        return False
