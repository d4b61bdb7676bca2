"""The server's allocator cap (rag/malloc.py): glibc makes at most two arenas however many threads
allocate. Each case runs in a fresh interpreter, since the cap holds for the whole process."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

# Eight threads allocate at once; glibc's own report (malloc_info) then lists one <heap> per arena.
PROGRAM = """
import ctypes, sys, threading
from rag.malloc import cap_arenas

capped = cap_arenas(2) if sys.argv[1] == "cap" else False
start = threading.Barrier(8)

def work():
    start.wait()
    for _ in range(200):
        blocks = [bytearray(20_000) for _ in range(20)]  # past pymalloc: these come from malloc
        del blocks

threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc = ctypes.CDLL(None)
libc.open_memstream.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
buf, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
libc.malloc_info(0, stream)
libc.fclose(stream)
print(capped, ctypes.string_at(buf, size.value).count(b"<heap nr="))
"""

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or os.confstr("CS_GNU_LIBC_VERSION") is None, reason="glibc only"
)


def arenas(mode: str, **env: str) -> tuple[str, int]:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, check=True, env=environment
    ).stdout.split()
    return out[0], int(out[1])


@glibc
def test_capped_the_threads_share_two_arenas() -> None:
    assert arenas("cap") == ("True", 2)


@glibc
def test_uncapped_glibc_gives_the_threads_arenas_of_their_own() -> None:
    """The control: without the cap the same program makes more arenas (up to 8 per core)."""
    _, count = arenas("none")
    assert count > 2


@glibc
def test_the_environment_variable_wins() -> None:
    assert arenas("cap", MALLOC_ARENA_MAX="3") == ("False", 3)
