"""The local model's own process: llama-cpp-python's OpenAI-compatible server, which exits when the
`rag` process that started it is gone (even after kill -9), so no model is ever left running.

    python -m rag.generation.llm_child PARENT_PID --model FILE.gguf --host 127.0.0.1 --port N ...

Everything after the parent's pid is llama_cpp.server's own command line.
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time

POLL_SECONDS = 0.5


def exit_with(parent: int) -> None:
    """Ends this process once its parent is gone (the kernel then gives it another parent)."""
    while os.getppid() == parent:
        time.sleep(POLL_SECONDS)
    os._exit(0)


def main() -> None:
    parent = int(sys.argv[1])
    threading.Thread(target=exit_with, args=(parent,), daemon=True, name="parent-watch").start()
    sys.argv = ["llama_cpp.server", *sys.argv[2:]]
    runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
