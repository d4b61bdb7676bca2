"""A real two-node Ray cluster on 127.0.0.1, started once for these tests and stopped after them.

Each node is its own `ray start` with one CPU (the other core is left to the driver and to Ray's
own processes), its session files under a private temporary folder and every port picked free, so
it can run beside other Ray clusters on the machine. Stopping kills the process groups those two
`ray start` calls made, never `ray stop` (which stops every Ray on the machine). A cluster that
cannot be started fails the tests with Ray's reason; they are never skipped."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT

RAY = str(Path(sys.executable).with_name("ray"))


@dataclass
class RayCluster:
    address: str
    temp_dir: Path
    groups: list[int]  # the process groups of the nodes' processes (workers included)
    env: dict[str, str]

    def worker_pids(self, title: str) -> list[int]:
        """Processes of this cluster whose title starts with `title` (e.g. "ray::IndexWorker.prepare")."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) not in self.groups:
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ProcessLookupError):
                continue
            if cmdline.startswith(title):
                pids.append(int(entry.name))
        return pids


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _node_ports() -> list[str]:
    """Every port a node listens on, picked free (the defaults would clash with another cluster)."""
    names = [
        "--node-manager-port",
        "--object-manager-port",
        "--dashboard-agent-listen-port",
        "--dashboard-agent-grpc-port",
        "--runtime-env-agent-port",
        "--metrics-export-port",
    ]
    return [f"{name}={_free_port()}" for name in names]


def _start(args: list[str], env: dict[str, str]) -> int:
    """One `ray start` in a new session; the process group its daemons keep."""
    proc = subprocess.Popen(
        [RAY, "start", *args],
        env=env,
        start_new_session=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out, _ = proc.communicate(timeout=120)
    if proc.returncode != 0:
        _stop([proc.pid])
        pytest.fail(f"cannot start a Ray node ({' '.join(args[:2])}): {out.strip()[-2000:]}")
    return proc.pid


def _stop(groups: list[int]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for group in groups:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(g) for g in groups):
            time.sleep(0.2)


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    temp_dir = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths are limited
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),  # the workers import this checkout's rag
        "RAY_USAGE_STATS_ENABLED": "0",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
    }
    port = _free_port()
    common = ["--node-ip-address=127.0.0.1", "--num-cpus=1", "--object-store-memory=100000000"]
    common += [f"--temp-dir={temp_dir}", "--disable-usage-stats"]
    groups: list[int] = []
    try:
        head = [f"--port={port}", "--include-dashboard=false"]
        groups.append(_start(["--head", *head, *common, *_node_ports()], env))
        address = f"127.0.0.1:{port}"
        groups.append(_start([f"--address={address}", *common, *_node_ports()], env))
        yield RayCluster(address, temp_dir, groups, env)
    finally:
        _stop(groups)
