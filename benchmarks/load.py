"""Load on a real `rag serve`: concurrent clients asking seed questions through `/ask` (target: zero
errors; the server's memory growth over the run is reported).

Starts `rag serve` on 127.0.0.1 (a free port; the seeds index built into a temporary folder, gradio's
files in another). `--clients` gradio_client clients first ask every question of
eval/seed_questions.jsonl once between them (warm-up, not timed), then each asks them in turn, one
at a time, for `--seconds`. Reports errors, latency p50/p95/max as the clients see it (queueing
included), throughput, and the server's resident memory sampled every second (start, middle, end,
growth, fitted trend). Loopback only, bounded in clients and time.
Run: `.venv/bin/python benchmarks/load.py [--clients 20] [--seconds 60]` (`make bench` runs it too).
"""

from __future__ import annotations

import os

# Before gradio_client is imported: no telemetry, no hub look-ups, nothing leaves the machine. The
# server inherits them.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import argparse
import json
import math
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gradio_client import Client
from measure import cpu_seconds, other_cores_busy, summary

from rag.questions import read_questions

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "seed_questions.jsonl"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "load.json"
HOST = "127.0.0.1"
MAX_CLIENTS, MAX_SECONDS = 100, 900  # bounded: this is a benchmark, not a stress tool
START_TIMEOUT_S = 600.0  # the server builds the seeds index first (about a minute on a busy machine)
ASK_KEYS = {"question", "answer", "abstained", "citations", "passages", "timings_ms"}


@dataclass
class Tally:
    """What the clients saw; appended to from their threads (list.append is atomic)."""

    latencies_ms: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoadRun:
    wall_s: float
    warmup: Tally
    tally: Tally
    rss: list[tuple[float, float]]  # (seconds since the load began, server MB)
    server_cores_busy: float
    client_cores_busy: float  # this process: the 20 clients compete with the server for the cores
    other_cores_busy: float | None  # the rest of the machine: noise in the figures


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    """Resident memory of process `pid` now (VmRSS in /proc/PID/status, in kB)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def cpu_s(pid: int) -> float:
    """CPU seconds process `pid` has used (utime + stime in /proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(index_dir: Path, gradio_dir: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`rag serve` on a free loopback port, answering once `/gradio_api/info` does."""
    port = free_port()
    env = {**os.environ, "GRADIO_TEMP_DIR": str(gradio_dir)}
    args = [sys.executable, "-m", "rag.cli", "serve", "--host", HOST, "--port", str(port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [*args, "--index-dir", str(index_dir)], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://{HOST}:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except (urllib.error.URLError, ConnectionError):
            pass
        time.sleep(0.5)  # polling interval while the server loads; the loop waits on its answer
    proc.kill()
    raise SystemExit(f"rag serve did not answer within {START_TIMEOUT_S:.0f} s:\n{log.read_text()[-3000:]}")


def check(question: str, answer: Any) -> str | None:
    """What is wrong with an `/ask` reply, or None: the `rag ask --json` object for this question."""
    if not isinstance(answer, dict) or not set(answer) >= ASK_KEYS:
        return f"unexpected reply {str(answer)[:200]!r}"
    if answer["question"] != " ".join(question.split()):
        return f"answered {answer['question']!r} for {question!r}"
    if not answer["abstained"] and not answer["citations"]:
        return f"an answer without citations for {question!r}"
    return None


def client_loop(
    client: Client, questions: list[str], first: int, deadline: float, count: float, tally: Tally
) -> None:
    """One user: ask `count` questions in turn from `first` on, each after the previous answer,
    stopping at `deadline`."""
    i = first
    while i - first < count and time.monotonic() < deadline:
        question = questions[i % len(questions)]
        i += 1
        started = time.perf_counter()
        try:
            problem = check(question, client.predict(question, api_name="/ask"))
        except Exception as exc:  # any failure of the request counts as an error, with its message
            problem = f"{type(exc).__name__}: {str(exc)[:200]}"
        tally.latencies_ms.append((time.perf_counter() - started) * 1000)
        if problem:
            tally.errors.append(problem)


def ask_together(users: list[Client], questions: list[str], deadline: float, count: float) -> Tally:
    """Every user asking at once, each from its own share of the questions on."""
    tally = Tally()
    share = math.ceil(len(questions) / len(users))
    threads = [
        threading.Thread(target=client_loop, args=(user, questions, n * share, deadline, count, tally))
        for n, user in enumerate(users)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return tally


def sample_rss(pid: int, stop: threading.Event, samples: list[tuple[float, float]]) -> None:
    """(seconds since start, MB) once a second until `stop`."""
    started = time.monotonic()
    while not stop.is_set():
        samples.append((round(time.monotonic() - started, 2), round(rss_mb(pid), 1)))
        stop.wait(1.0)


def run_load(url: str, pid: int, clients: int, seconds: float, questions: list[str]) -> LoadRun:
    """Warm up with every question once (not counted: the server's caches fill), then load the
    server for `seconds`."""
    users = [Client(url, verbose=False) for _ in range(clients)]
    warmup = ask_together(users, questions, math.inf, math.ceil(len(questions) / clients))
    stop = threading.Event()
    samples: list[tuple[float, float]] = []
    sampler = threading.Thread(target=sample_rss, args=(pid, stop, samples), daemon=True)
    busy_start, server_cpu_start = cpu_seconds(), cpu_s(pid)
    started = time.monotonic()
    sampler.start()
    tally = ask_together(users, questions, started + seconds, math.inf)
    wall = time.monotonic() - started
    stop.set()
    sampler.join()
    server_cores = (cpu_s(pid) - server_cpu_start) / wall
    busy_end = cpu_seconds()
    clients_cores = (busy_end[1] - busy_start[1]) / wall if busy_start and busy_end else 0.0
    others = other_cores_busy(busy_start, wall)  # all but this process, so the server's share goes
    other = None if others is None else round(max(others - server_cores, 0.0), 2)
    return LoadRun(
        round(wall, 2), warmup, tally, samples, round(server_cores, 2), round(clients_cores, 2), other
    )


def memory(samples: list[tuple[float, float]]) -> dict[str, float]:
    """Start, middle and end of the RSS samples, growth end − start, and the fitted trend."""
    t = np.asarray([s[0] for s in samples])
    mb = np.asarray([s[1] for s in samples])
    slope = float(np.polyfit(t, mb, 1)[0]) * 60 if len(samples) > 1 else 0.0
    return {
        "start_mb": float(mb[0]),
        "middle_mb": float(mb[len(mb) // 2]),
        "end_mb": float(mb[-1]),
        "max_mb": float(mb.max()),
        "growth_mb": round(float(mb[-1] - mb[0]), 1),
        "growth_pct": round(float((mb[-1] - mb[0]) / mb[0] * 100), 2),
        "trend_mb_per_min": round(slope, 2),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--clients", type=int, default=20, help=f"concurrent clients (default 20, max {MAX_CLIENTS})"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help=f"load duration (default 60, max {MAX_SECONDS})"
    )
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if not (1 <= args.clients <= MAX_CLIENTS and 0 < args.seconds <= MAX_SECONDS):
        parser.error(f"--clients must be 1..{MAX_CLIENTS} and --seconds 0..{MAX_SECONDS}")
    questions = [q.question for q in read_questions(QUESTIONS, warn=print)]
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        proc, url = start_server(Path(tmp) / "index", Path(tmp) / "gradio", Path(tmp) / "server.log")
        try:
            run = run_load(url, proc.pid, args.clients, args.seconds, questions)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    tally = run.tally
    out: dict[str, Any] = {
        "clients": args.clients,
        "seconds": run.wall_s,
        "questions": len(tally.latencies_ms),
        "errors": len(tally.errors),
        "warmup_errors": len(run.warmup.errors),
        "error_examples": sorted(set(run.warmup.errors + tally.errors))[:5],
        "throughput_qps": round(len(tally.latencies_ms) / run.wall_s, 2),
        "latency_ms": summary(tally.latencies_ms),
        "server_rss": memory(run.rss),
        "rss_samples": run.rss,
        "server_cores_busy": run.server_cores_busy,
        "client_cores_busy": run.client_cores_busy,
        "other_cores_busy": run.other_cores_busy,
    }
    lat, rss = out["latency_ms"], out["server_rss"]
    print(
        f"citerag load benchmark: {args.clients} clients asking through /ask for {out['seconds']:.0f} s "
        "(rag serve on loopback)"
    )
    if out["other_cores_busy"] is not None and out["other_cores_busy"] > 0.1:
        print(f"  warning: other processes kept {out['other_cores_busy']:.2f} cores busy; figures are noisy")
    print(f"    {'questions':<22} {out['questions']:>10}")
    print(f"    {'errors':<22} {out['errors']:>10}  (warm-up: {out['warmup_errors']})")
    print(f"    {'throughput (q/s)':<22} {out['throughput_qps']:>10.2f}")
    for name in ("p50", "p95", "max"):
        print(f"    {'latency ' + name + ' (ms)':<22} {lat[name]:>10.1f}")
    print(f"    {'server RSS start (MB)':<22} {rss['start_mb']:>10.1f}")
    print(f"    {'server RSS middle (MB)':<22} {rss['middle_mb']:>10.1f}")
    print(f"    {'server RSS end (MB)':<22} {rss['end_mb']:>10.1f}")
    print(f"    {'RSS growth (MB)':<22} {rss['growth_mb']:>10.1f}  ({rss['growth_pct']:+.2f}%)")
    print(f"    {'RSS trend (MB/min)':<22} {rss['trend_mb_per_min']:>10.2f}")
    print(f"    {'server cores busy':<22} {out['server_cores_busy']:>10.2f}")
    print(f"    {'client cores busy':<22} {out['client_cores_busy']:>10.2f}")
    for problem in out["error_examples"]:
        print(f"  error: {problem}")
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(out, indent=2) + "\n", encoding="utf-8")
    return 1 if tally.errors or run.warmup.errors else 0


if __name__ == "__main__":
    sys.exit(main())
