"""The supervised local model: one llama_cpp.server child on a free 127.0.0.1 port, started on first
use, restarted after a crash, stopped with us.

llama.cpp is native code: a crash in it (a CPU path that segfaults, a model that trips an assert) would
take the whole process down, and with `rag serve` every user's chat. Out of process, a crash is one
failed answer: the generator falls back to the extractive answer with a note, and the next question
starts a new child. The child watches its parent (rag/generation/llm_child.py), so it never outlives us.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from rag.errors import GenerationError
from rag.processes import free_port, stop

START_TIMEOUT = 60.0  # seconds for the child to load the model and answer; SmolLM2 takes about 2


def how_it_ended(returncode: int) -> str:
    """'crashed (SIGSEGV)' or 'exited with status 3', for a note a user reads."""
    if returncode < 0:
        try:
            return f"crashed ({signal.Signals(-returncode).name})"
        except ValueError:
            return f"was killed by signal {-returncode}"
    return f"exited with status {returncode}"


class LocalServer:
    """One child serving `model` with `threads` threads; `url()` gives its base URL, starting it if
    it is not running. Thread-safe: concurrent questions share one child."""

    def __init__(self, model: Path, threads: int, context: int, alias: str) -> None:
        self.model, self.threads, self.context, self.alias = model, threads, context, alias
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._base = ""
        self._lock = threading.Lock()
        self._log = Path(tempfile.mkdtemp(prefix="citerag-llm-")) / "server.log"
        atexit.register(self.stop)

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc and self._proc.poll() is None else None

    def url(self) -> str:
        """The running child's base URL (…/v1); a child that died is replaced first."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
            return self._base

    def ended(self, wait: float = 1.0) -> str | None:
        """How the child ended, if it has ('crashed (SIGSEGV)'); None if it still runs after `wait`
        seconds (a dying process closes its sockets a moment before it can be reaped)."""
        if self._proc is None:
            return None
        try:
            return how_it_ended(self._proc.wait(wait))
        except subprocess.TimeoutExpired:
            return None

    def stop(self) -> None:
        """Stops the child (terminate, then kill after 5 s); the next `url()` starts another."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            stop(proc, grace=5)

    def _start(self) -> None:
        port = free_port()
        command = [
            sys.executable, "-m", "rag.generation.llm_child", str(os.getpid()),
            "--model", str(self.model), "--model_alias", self.alias,
            "--host", "127.0.0.1", "--port", str(port),
            "--n_ctx", str(self.context),
            "--n_threads", str(self.threads), "--n_threads_batch", str(self.threads),
        ]  # fmt: skip
        with self._log.open("wb") as log:
            self._proc = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        self.starts += 1
        self._base = f"http://127.0.0.1:{port}/v1"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                ended = how_it_ended(self._proc.returncode)
                raise GenerationError(f"the local model's server {ended} at start: {self._last_line()}")
            try:
                with urllib.request.urlopen(self._base + "/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.1)  # polling interval while the model loads
        self._proc.kill()
        self._proc.wait()
        raise GenerationError(f"the local model's server did not start within {START_TIMEOUT:g} s")

    def _last_line(self) -> str:
        lines = self._log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        return lines[-1][:200] if lines else "no output"
