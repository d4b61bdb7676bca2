"""glibc's allocator in the long-running server: few arenas, so its memory stays flat under load.

glibc malloc gives each new thread an arena of its own until there are 8 per core (16 on a 2-core
machine); later threads share them. Each arena keeps the memory its threads freed for reuse and
rarely returns it, and `rag serve` answers on a changing set of worker threads (gradio's thread pool
starts and ends threads as load comes and goes), so under load every arena slowly fills with the
largest working set it has seen. Under 20 clients (benchmarks/load.py) the server grew by 122 MB in
130 s and was still growing, 90 MB of it in arena heaps while the main heap stayed flat. With two
arenas the same load levels off within about 75 s and then stays flat (+0.2% over the measured
minute), at the same throughput. See docs/reliability.md ("Load").
"""

from __future__ import annotations

import ctypes
import os
import sys

M_ARENA_MAX = -8  # from glibc's <malloc.h>
SERVER_ARENAS = 2


def cap_arenas(arenas: int = SERVER_ARENAS) -> bool:
    """Let glibc malloc use at most `arenas` arenas from now on; True if it took.

    Call it first thing in a process, before threads start: arenas already made stay in use. The
    environment variable MALLOC_ARENA_MAX (read by glibc only when a process starts) wins if set.
    Elsewhere than glibc on Linux (or if libc cannot be loaded) nothing happens and False is returned.
    """
    if not sys.platform.startswith("linux") or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter is linked against
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_ARENA_MAX, arenas))
