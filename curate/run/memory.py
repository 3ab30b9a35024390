"""Give the memory freed by a batch back to the operating system.

glibc's allocator keeps what a batch freed mapped in its per-thread arenas (polars and numba run on several
threads), scattered enough that the next batch's allocations do not always reuse it: a long run's RSS then climbs
batch after batch although it uses no more. `release()` after each batch returns that memory (`malloc_trim`), so
peak RSS follows what one batch and the global steps' compact state need. A no-op where there is no glibc.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache


@lru_cache(maxsize=1)
def _malloc_trim():
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release() -> None:
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
