"""The driver's side of a Ray cluster: connecting, one actor per CPU, batches streamed to them, and
Ray's failures turned into one line.

Fault tolerance is Ray's own: an actor whose process dies is restarted (`max_restarts`) and the
batches it held are retried on it (`max_task_retries`), so a worker killed mid-job costs its batch
once more, not the job. Every batch is a pure function of its input, so a retry gives the same
result; only the driver writes, so whatever fails, the store is left as it was.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import ray
import ray.exceptions

from rag.config import Config
from rag.errors import UserError

RESTARTS = 3  # restarts of one actor (and retries of its batches) before the job fails
IN_FLIGHT = 2  # batches queued per actor: the next one is there when the last finishes
CONNECT_TIMEOUT_S = 5.0
# Passed on to the workers so they read models the way the driver does (offline, say).
FORWARDED_ENV = (
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HUB_DISABLE_TELEMETRY",
    "TOKENIZERS_PARALLELISM",
)
OUT_OF_MEMORY = "a Ray worker ran out of memory; give the nodes more memory or fewer CPUs (one model per CPU)"
INSTALL = "install citerag with its ray extra (the same version) on every node"

T = TypeVar("T")
R = TypeVar("R")


def check_reachable(address: str) -> None:
    """Fail at once, in one line, when nothing listens at a HOST:PORT address (Ray itself would retry
    for a minute); `auto` and `ray://` addresses are left to Ray."""
    if address == "auto" or "://" in address:
        return
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit():
        raise UserError(f"--ray {address}: give the head node as HOST:PORT (e.g. 127.0.0.1:6379)")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(
            f"cannot reach the Ray cluster at {address} ({exc.strerror or exc}); start one with "
            "`ray start --head` or check the address"
        ) from None


def connect(address: str) -> None:
    """Join the cluster as its driver. A HOST:PORT address on this machine pins the driver's node
    address to HOST, which must be the one the nodes were started with (`--node-ip-address`)."""
    check_reachable(address)
    host = address.rpartition(":")[0]
    local: dict[str, Any] = {"_node_ip_address": host} if host in ("127.0.0.1", "localhost") else {}
    env = {name: os.environ[name] for name in FORWARDED_ENV if name in os.environ}
    try:
        ray.init(
            address=address,
            logging_level=logging.WARNING,
            log_to_driver=False,
            runtime_env={"env_vars": env},
            **local,
        )
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise UserError(f"cannot join the Ray cluster at {address}: {_first_line(exc)}") from None


def disconnect() -> None:
    if ray.is_initialized():
        ray.shutdown()


def start_actors(worker: type, config: Config, address: str) -> list[Any]:
    """One actor per CPU of the cluster, each holding its own model; waits until all are ready and
    checks that they build what the driver would (same citerag on every node)."""
    cpus = int(ray.cluster_resources().get("CPU", 0))
    if cpus < 1:
        raise UserError(f"the Ray cluster at {address} has no CPU to run workers on")
    remote: Any = ray.remote(num_cpus=1, max_restarts=RESTARTS, max_task_retries=RESTARTS)(worker)
    actors = [remote.remote(config) for _ in range(cpus)]
    with ray_errors(address):
        settings = ray.get([a.ready.remote() for a in actors])
    wanted = config.index_settings()
    for found in settings:
        if found != wanted:
            changed = sorted(k for k in wanted if found.get(k) != wanted[k])
            raise UserError(
                f"the Ray cluster at {address} runs another citerag ({', '.join(changed)} differ); {INSTALL}"
            )
    return actors


def run_batches(
    actors: list[Any],
    call: Callable[[Any, T], Any],
    batches: Iterator[T],
    address: str,
    done: Callable[[T], None] = lambda batch: None,
) -> Iterator[tuple[int, T, Any]]:
    """(batch number, batch, result) as batches finish; `call(actor, batch)` submits one. At most
    IN_FLIGHT batches wait per actor, so the driver reads ahead of the cluster by that much only;
    `done(batch)` is called as each one finishes (a progress bar)."""
    load = {i: 0 for i in range(len(actors))}
    pending: dict[Any, tuple[int, int, T]] = {}  # ref -> (batch number, actor, batch)
    numbered = enumerate(batches)
    with ray_errors(address):
        while True:
            while len(pending) < IN_FLIGHT * len(actors) and (item := next(numbered, None)) is not None:
                index = min(load, key=lambda a: load[a])
                load[index] += 1
                pending[call(actors[index], item[1])] = (item[0], index, item[1])
            if not pending:
                return
            finished, _ = ray.wait(list(pending), num_returns=1)
            number, index, batch = pending.pop(finished[0])
            load[index] -= 1
            result = ray.get(finished[0])
            done(batch)
            yield number, batch, result


@contextmanager
def ray_errors(address: str) -> Iterator[None]:
    """Ray's failures as one UserError line: a worker that could not start or import citerag, ran
    out of memory, or died more often than it may restart."""
    try:
        yield
    except ray.exceptions.RayTaskError as exc:
        cause = exc.cause if isinstance(exc.cause, BaseException) else None
        if isinstance(cause, UserError):
            raise UserError(str(cause)) from None
        if isinstance(cause, MemoryError):
            raise UserError(OUT_OF_MEMORY) from None
        if isinstance(cause, ImportError):
            raise UserError(
                f"the Ray cluster at {address} cannot run citerag ({_first_line(cause)}); {INSTALL}"
            ) from None
        raise UserError(f"a Ray worker failed: {_first_line(cause or exc)}") from None
    except ray.exceptions.OutOfMemoryError:
        raise UserError(OUT_OF_MEMORY) from None
    except ray.exceptions.RayActorError as exc:
        raise UserError(_actor_failure(exc, address)) from None
    except ray.exceptions.RayError as exc:
        raise UserError(f"the Ray job failed: {_first_line(exc)}") from None


def _actor_failure(exc: Any, address: str) -> str:
    """An actor that could not be created (the cause is inside Ray's text) or died for good."""
    text = str(exc)
    for line in text.splitlines():
        if "ModuleNotFoundError" in line or "ImportError" in line:
            return f"the Ray cluster at {address} cannot run citerag ({line.strip()}); {INSTALL}"
        if "UserError:" in line:
            return line.split("UserError:", 1)[1].strip()
    if any(mark in text for mark in ("OUT_OF_MEMORY", "low on memory", "OutOfMemoryError")):
        return OUT_OF_MEMORY
    return f"a Ray worker died {RESTARTS + 1} times ({_first_line(exc)}); the job was stopped"


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
