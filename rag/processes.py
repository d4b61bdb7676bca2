"""Servers run as child processes on a loopback port: the local model's (rag.generation), and the
`rag serve` that the tests and benchmarks start. One place both may use for a free port and for
stopping a child that does not exit when asked."""

from __future__ import annotations

import socket
import subprocess


def free_port(host: str = "127.0.0.1") -> int:
    """A port on `host` that nothing listens on now (the child binds it a moment later)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def stop(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Terminate `proc`, killing it if it has not exited within `grace` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
