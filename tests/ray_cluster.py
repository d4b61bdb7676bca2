"""A real Ray cluster of one-CPU nodes on 127.0.0.1 for the tests and benchmarks/bench_ray.py.

Each node is its own `ray start` with one CPU (the other core is left to the driver and to Ray's
own processes), session files under a private temporary folder and every port picked free, so it
can run beside other Ray clusters on the machine. `stop` kills the process groups those `ray start`
calls made (their daemons and workers keep them), never `ray stop`, which stops every Ray on the
machine."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAY = str(Path(sys.executable).with_name("ray"))
NODE_PORTS = (
    "--node-manager-port",
    "--object-manager-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--runtime-env-agent-port",
    "--metrics-export-port",
)


class ClusterError(RuntimeError):
    """A node would not start; the message is Ray's reason."""


@dataclass
class RayCluster:
    address: str = ""
    temp_dir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="ray", dir="/tmp")))
    groups: list[int] = field(default_factory=list)  # the nodes' process groups (workers included)
    env: dict[str, str] = field(
        default_factory=lambda: {
            **os.environ,
            "PYTHONPATH": str(ROOT),  # the workers import this checkout's rag
            "RAY_USAGE_STATS_ENABLED": "0",
            "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_OFFLINE": "1",
            "TOKENIZERS_PARALLELISM": "false",
        }
    )

    def start(self, nodes: int = 2) -> RayCluster:
        """A head node and `nodes - 1` more, each with one CPU; stops what started if one fails."""
        port = _free_port()
        common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000"]
        common += [f"--temp-dir={self.temp_dir}", "--disable-usage-stats"]
        try:
            self._node(["--head", f"--port={port}", "--include-dashboard=false", *common])
            self.address = f"127.0.0.1:{port}"
            for _ in range(nodes - 1):
                self._node([f"--address={self.address}", *common])
        except BaseException:
            self.stop()
            raise
        return self

    def _node(self, args: list[str]) -> None:
        try:
            proc = subprocess.Popen(
                [RAY, "start", *args, *(f"{name}={_free_port()}" for name in NODE_PORTS)],
                env=self.env,
                start_new_session=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        except FileNotFoundError:
            raise ClusterError(f"{RAY} is missing: `make setup` installs the ray extra") from None
        self.groups.append(proc.pid)
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise ClusterError(f"cannot start a Ray node ({args[0]}): {out.strip()[-2000:]}")

    def stop(self) -> None:
        """The nodes' daemons by process group, their workers (each in a group of its own) by pid; then
        the session folder."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.worker_pids("ray::"):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            for group in self.groups:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(group, sig)
            deadline = time.monotonic() + (3 if sig == signal.SIGTERM else 10)  # TERM: a grace period
            while time.monotonic() < deadline and (
                any(_alive(g) for g in self.groups) or self.worker_pids("ray::")
            ):
                time.sleep(0.2)
        shutil.rmtree(self.temp_dir, ignore_errors=True)  # the session's logs and sockets

    def worker_pids(self, title: str) -> list[int]:
        """This cluster's processes whose title starts with `title` (e.g. "ray::IndexWorker.encode"):
        in a node's process group, or started by a process in one (Ray gives each worker a group of
        its own)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                ours = os.getpgid(int(entry.name)) in self.groups or os.getpgid(parent) in self.groups
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ProcessLookupError, ValueError, IndexError):
                continue
            if ours and cmdline.startswith(title):
                pids.append(int(entry.name))
        return pids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
