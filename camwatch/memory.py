"""The daemon's C heap (glibc malloc): freed memory goes back to the system instead of piling up in the heaps.

Every check allocates and frees buffers of hundreds of KiB in C (FFmpeg's decoded frames, the 640-px BGR
pictures and their grey copies, the baseline's arrays). glibc's default raises its mmap threshold each
time such a block that was mmap'ed is freed (up to 32 MiB), after which these blocks come from the heaps of its
arenas (up to 8 per core), where free() gives back only the top of a heap: the soak's RSS grew
~1.5 MB a minute while Python's own heap and objects stayed flat, nearly all of it free memory inside the heaps
(`bench/README.md`, soak). So: two arenas (set once at start, before the threads), and the free memory of
the heaps given back every minute (`malloc_trim`). A fixed mmap threshold (every such block mmap'ed and
unmapped) held RSS flat too, but cost a third more CPU per check at 2,000 cameras (41 against 31 ms: page
faults and the process-wide mmap lock across 128 check threads): not taken.
Elsewhere than glibc (musl, macOS) nothing is done.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging

log = logging.getLogger(__name__)

M_ARENA_MAX = -8  # glibc's mallopt parameter (malloc.h)
ARENA_MAX = 2
TRIM_EVERY_S = 60.0


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune() -> bool:
    """Bound the arenas (call before any thread starts). False: not glibc."""
    libc = _libc()
    if libc is None:
        return False
    ok = libc.mallopt(M_ARENA_MAX, ARENA_MAX) == 1
    if not ok:
        log.warning("cannot tune malloc (mallopt refused): memory freed by checks may not return to the system")
    return ok


def trim() -> None:
    """Give the free memory of every heap back to the system (glibc's malloc_trim; a no-op elsewhere)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
