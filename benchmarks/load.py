"""Load on a real `rag serve`: concurrent clients asking seed questions through `/ask` (target: zero
errors; the server's memory growth over the run is reported).

Starts `rag serve` on 127.0.0.1 (a free port; the seeds index built into a temporary folder, gradio's
files in another). With `--store URL --servers N`, N servers share one database (the first to start
indexes the seeds into it) and the clients are dealt out among them in turn; memory, threads and
cores are then the servers' summed.

`--clients` gradio_client clients first warm the server up (not timed, not in the memory verdict):
every question of eval/seed_questions.jsonl once between them, then full load for `--warmup-seconds`,
so the caches, allocator arenas and worker threads have filled. Then each asks
the questions in turn, one at a time, for `--seconds`. Reports errors, latency p50/p95/max as the
clients see it (queueing included), throughput, and the server's resident memory sampled every second
from the first question on: at the start of the measured run (after warm-up), at its end, the growth,
and the fitted slope over the last half of the run.

Memory passes ("flat") when over the measured run the server grew by at most MAX_GROWTH_PCT % and the
slope over its last half is at most MAX_SLOPE_MB_PER_MIN: a leak of one answer's worth per question
(20 KB × 5 questions/s) would exceed it. Exit status 1 on any error or a memory failure.
With `--churn S`, one more user (a browser tab, speaking the page's own protocol) uploads a new
document and removes it again every S seconds, from the first question to the end, and the server's
memory is tabled minute by minute: does it level off under upload/remove churn?
Loopback only, bounded in clients and time.
Run: `.venv/bin/python benchmarks/load.py [--clients 20] [--seconds 60] [--warmup-seconds 150]
[--churn 2] [--store postgresql://… --servers 2]` (`make bench` runs it without churn, on one folder).
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
import html
import math
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
from browser_protocol import Page
from gradio_client import Client
from measure import cpu_seconds, other_cores_busy, summary, write_json

from rag.evaluation import read_questions
from rag.processes import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = ROOT / "eval" / "seed_questions.jsonl"
DEFAULT_JSON = ROOT / "benchmarks" / "results" / "load.json"
HOST = "127.0.0.1"
MAX_CLIENTS, MAX_SECONDS, MAX_SERVERS = 100, 900, 4  # bounded: this is a benchmark, not a stress tool
START_TIMEOUT_S = 600.0  # the server builds the seeds index first (about a minute on a busy machine)
MAX_GROWTH_PCT = 1.0  # of the RSS at the start of the measured run (after warm-up)
MAX_SLOPE_MB_PER_MIN = 4.0  # least-squares slope over the last half of the measured run
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
    rss: list[tuple[float, float]]  # (seconds since the first question, server MB)
    load_started_s: float  # when the measured run began on the same clock (the warm-up before it)
    threads: tuple[int, int]  # the servers' threads at the start and the end of the measured run
    churn: Tally  # one upload-and-remove cycle per latency
    server_cores_busy: float
    client_cores_busy: float  # this process: the 20 clients compete with the server for the cores
    other_cores_busy: float | None  # the rest of the machine: noise in the figures


def status(pid: int, key: str) -> int:
    """A number from /proc/PID/status (`VmRSS` in kB, `Threads`)."""
    for line in Path(f"/proc/{pid}/status").read_text(encoding="ascii").splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {key} for process {pid}")


def threads(pids: list[int]) -> int:
    return sum(status(pid, "Threads") for pid in pids)


def rss_mb(pids: list[int]) -> float:
    """Resident memory of processes `pids` now, summed."""
    return sum(status(pid, "VmRSS") for pid in pids) / 1024


def cpu_s(pids: list[int]) -> float:
    """CPU seconds processes `pids` have used (utime + stime in /proc/PID/stat), summed."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def start_server(
    index_dir: Path, gradio_dir: Path, log: Path, store: str | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """`rag serve` on a free loopback port (its index in `index_dir`, or in the database `store`),
    answering once `/gradio_api/info` does."""
    port = free_port(HOST)
    env = {**os.environ, "GRADIO_TEMP_DIR": str(gradio_dir)}
    args = [sys.executable, "-m", "rag.cli", "serve", "--host", HOST, "--port", str(port)]
    args += ["--index-dir", str(index_dir), *(["--store", store] if store else [])]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://{HOST}:{port}/"
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"rag serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2) as response:
                if response.status == 200:
                    return proc, url
        except (urllib.error.URLError, OSError):  # refused, reset, or too busy to answer in time
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


def sample_rss(
    pids: list[int], started: float, stop: threading.Event, samples: list[tuple[float, float]]
) -> None:
    """(seconds since `started`, MB) once a second until `stop`."""
    while not stop.is_set():
        samples.append((round(time.monotonic() - started, 2), round(rss_mb(pids), 1)))
        stop.wait(1.0)


CHURN_TEXT = (
    "Churn note {n}. The visiting officer recorded that the family in case {n} was seen at home, "
    "that the plan agreed at the review was followed, and that the next visit is due within {days} days."
)


def churn_cycle(page: Page, path: Path) -> str | None:
    """Upload `path` and remove it again; what went wrong, or None."""
    added = html.unescape(str(page.call("upload", "upload", [[page.upload(path)]])[0]))
    if "Indexed " + path.name not in added:
        return f"upload {path.name}: {added[:200]}"
    removed = html.unescape(str(page.call("remove", "click", [path.name])[0]))
    return None if "Removed" in removed else f"remove {path.name}: {removed[:200]}"


def churn_loop(url: str, folder: Path, every: float, stop: threading.Event, tally: Tally) -> None:
    """Upload a new document and remove it again every `every` seconds, as a browser tab does."""
    page = Page(url)
    n = 0
    try:
        while not stop.is_set():
            started = time.perf_counter()
            path = folder / f"churn_{n:05d}.txt"
            path.write_text(CHURN_TEXT.format(n=n, days=n % 20 + 5), encoding="utf-8")
            try:
                problem = churn_cycle(page, path)
            except Exception as exc:  # a failed cycle counts as an error, with its message
                problem = f"churn {path.name}: {type(exc).__name__}: {str(exc)[:200]}"
            if problem:
                tally.errors.append(problem)
            path.unlink()
            took = time.perf_counter() - started
            tally.latencies_ms.append(took * 1000)
            n += 1
            stop.wait(max(every - took, 0.0))
    finally:
        page.close()


def run_load(
    urls: list[str],
    pids: list[int],
    clients: int,
    seconds: float,
    warmup_s: float,
    questions: list[str],
    churn: float = 0.0,
) -> LoadRun:
    """Warm up with every question once and then `warmup_s` of full load (not counted: the server's
    caches and allocator fill), then load the servers for `seconds` (the clients dealt out among
    them in turn); churn documents through the first throughout."""
    users = [Client(urls[n % len(urls)], verbose=False) for n in range(clients)]
    stop = threading.Event()
    samples: list[tuple[float, float]] = []
    first = time.monotonic()
    sampler = threading.Thread(target=sample_rss, args=(pids, first, stop, samples), daemon=True)
    sampler.start()
    churned = Tally()
    with tempfile.TemporaryDirectory(prefix="bench_churn_") as folder:
        churner = threading.Thread(target=churn_loop, args=(urls[0], Path(folder), churn, stop, churned))
        if churn:
            churner.start()
        run = _measured(users, questions, pids, first, samples, warmup_s, seconds)
        stop.set()
        if churn:
            churner.join()
    sampler.join()
    samples.sort()
    return LoadRun(**{**run, "rss": samples, "churn": churned})


def _measured(
    users: list[Client],
    questions: list[str],
    pids: list[int],
    first: float,
    samples: list[tuple[float, float]],
    warmup_s: float,
    seconds: float,
) -> dict[str, Any]:
    """The warm-up and the measured run: LoadRun's fields but the samples and the churn."""
    warmup = ask_together(users, questions, math.inf, math.ceil(len(questions) / len(users)))
    more = ask_together(users, questions, time.monotonic() + warmup_s, math.inf)
    warmup.latencies_ms.extend(more.latencies_ms)
    warmup.errors.extend(more.errors)
    busy_start, server_cpu_start = cpu_seconds(), cpu_s(pids)
    threads_start = threads(pids)
    started = time.monotonic()
    samples.append((round(started - first, 2), round(rss_mb(pids), 1)))
    tally = ask_together(users, questions, started + seconds, math.inf)
    wall = time.monotonic() - started
    samples.append((round(time.monotonic() - first, 2), round(rss_mb(pids), 1)))
    server_cores = (cpu_s(pids) - server_cpu_start) / wall
    busy_end = cpu_seconds()
    clients_cores = (busy_end[1] - busy_start[1]) / wall if busy_start and busy_end else 0.0
    others = other_cores_busy(busy_start, wall)  # all but this process, so the server's share goes
    other = None if others is None else round(max(others - server_cores, 0.0), 2)
    return {
        "wall_s": round(wall, 2),
        "warmup": warmup,
        "tally": tally,
        "load_started_s": round(started - first, 2),
        "threads": (threads_start, threads(pids)),
        "server_cores_busy": round(server_cores, 2),
        "client_cores_busy": round(clients_cores, 2),
        "other_cores_busy": other,
    }


def per_minute(samples: list[tuple[float, float]]) -> list[dict[str, float]]:
    """The server's RSS minute by minute from the first question: the last sample of each minute."""
    minutes: dict[int, float] = {}
    for t, mb in samples:
        minutes[int(t // 60)] = mb
    return [{"minute": m + 1, "rss_mb": mb} for m, mb in sorted(minutes.items())]


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    if len(samples) < 2:
        return 0.0
    t, mb = np.asarray(samples).T
    return round(float(np.polyfit(t, mb, 1)[0]) * 60, 2)


def memory(samples: list[tuple[float, float]], load_started_s: float) -> dict[str, Any]:
    """The server's RSS: before the first question, at the start of the measured run (after the
    warm-up), at its end; growth over the run, slope over the run and over its last half; verdict."""
    run = [s for s in samples if s[0] >= load_started_s]
    half = run[0][0] + (run[-1][0] - run[0][0]) / 2
    start, end = run[0][1], run[-1][1]
    growth_pct = round((end - start) / start * 100, 2)
    last_half = slope_mb_per_min([s for s in run if s[0] >= half])
    return {
        "before_warmup_mb": samples[0][1],
        "start_mb": start,
        "end_mb": end,
        "max_mb": max(mb for _, mb in run),
        "growth_mb": round(end - start, 1),
        "growth_pct": growth_pct,
        "slope_mb_per_min": slope_mb_per_min(run),
        "slope_last_half_mb_per_min": last_half,
        "flat": growth_pct <= MAX_GROWTH_PCT and last_half <= MAX_SLOPE_MB_PER_MIN,
        "criterion": f"growth <= {MAX_GROWTH_PCT}% and last-half slope <= {MAX_SLOPE_MB_PER_MIN} MB/min",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--clients", type=int, default=20, help=f"concurrent clients (default 20, max {MAX_CLIENTS})"
    )
    parser.add_argument(
        "--seconds", type=float, default=60.0, help=f"load duration (default 60, max {MAX_SECONDS})"
    )
    parser.add_argument(
        "--warmup-seconds",
        type=float,
        default=150.0,  # with 60 s the server was still settling: +1.2% over the next minute
        help="full load before the measured run, outside the figures (default 150)",
    )
    parser.add_argument(
        "--churn", type=float, default=0.0, help="upload and remove a document every S seconds (default off)"
    )
    parser.add_argument("--store", metavar="URL", help="a postgresql:// database the servers share")
    parser.add_argument(
        "--servers",
        type=int,
        default=1,
        help=f"rag serve processes (default 1, max {MAX_SERVERS}; needs --store)",
    )
    parser.add_argument("--json-out", type=Path, default=DEFAULT_JSON)
    args = parser.parse_args(argv)
    if not (1 <= args.servers <= MAX_SERVERS and (args.servers == 1 or args.store)):
        parser.error(f"--servers must be 1..{MAX_SERVERS}, and more than one needs --store URL")
    if not (
        1 <= args.clients <= MAX_CLIENTS
        and 0 < args.seconds <= MAX_SECONDS
        and 0 <= args.warmup_seconds <= MAX_SECONDS
        and (args.churn == 0 or 0.5 <= args.churn <= MAX_SECONDS)
    ):
        parser.error(
            f"--clients must be 1..{MAX_CLIENTS}, --seconds and --warmup-seconds 0..{MAX_SECONDS}, "
            "--churn 0 or at least 0.5"
        )
    questions = [q.question for q in read_questions(QUESTIONS, warn=print)]
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp:
        servers: list[tuple[subprocess.Popen[bytes], str]] = []
        try:
            for n in range(args.servers):  # one after another: the first indexes the seeds
                folder = Path(tmp) / f"server{n}"
                folder.mkdir()
                servers.append(start_server(folder / "index", folder / "gradio", folder / "log", args.store))
            run = run_load(
                [url for _, url in servers],
                [proc.pid for proc, _ in servers],
                args.clients,
                args.seconds,
                args.warmup_seconds,
                questions,
                args.churn,
            )
        finally:
            for proc, _ in servers:
                stop(proc)
    tally = run.tally
    out: dict[str, Any] = {
        "clients": args.clients,
        "servers": args.servers,
        "store": "postgresql" if args.store else "folder",
        "seconds": run.wall_s,
        "warmup_seconds": run.load_started_s,
        "warmup_questions": len(run.warmup.latencies_ms),
        "malloc_arena_max": os.environ.get("MALLOC_ARENA_MAX"),
        "questions": len(tally.latencies_ms),
        "errors": len(tally.errors),
        "warmup_errors": len(run.warmup.errors),
        "error_examples": sorted(set(run.warmup.errors + tally.errors))[:5],
        "throughput_qps": round(len(tally.latencies_ms) / run.wall_s, 2),
        "latency_ms": summary(tally.latencies_ms),
        "server_rss": memory(run.rss, run.load_started_s),
        "server_threads": run.threads,
        "rss_samples": run.rss,
        "rss_per_minute": per_minute(run.rss),
        "churn_every_s": args.churn,
        "churn_cycles": len(run.churn.latencies_ms),
        "churn_errors": run.churn.errors[:5],
        "churn_cycle_ms": summary(run.churn.latencies_ms) if run.churn.latencies_ms else None,
        "server_cores_busy": run.server_cores_busy,
        "client_cores_busy": run.client_cores_busy,
        "other_cores_busy": run.other_cores_busy,
    }
    lat, rss = out["latency_ms"], out["server_rss"]
    print(
        f"citerag load benchmark: {args.clients} clients asking through /ask for {out['seconds']:.0f} s "
        f"after {out['warmup_seconds']:.0f} s of warm-up ({args.servers} rag serve on loopback, "
        f"index in {'one PostgreSQL database' if args.store else 'a folder'})"
    )
    if out["other_cores_busy"] is not None and out["other_cores_busy"] > 0.1:
        print(f"  warning: other processes kept {out['other_cores_busy']:.2f} cores busy; figures are noisy")
    print(f"    {'questions':<30} {out['questions']:>10}")
    print(f"    {'errors':<30} {out['errors']:>10}  (warm-up: {out['warmup_errors']})")
    print(f"    {'throughput (q/s)':<30} {out['throughput_qps']:>10.2f}")
    for name in ("p50", "p95", "max"):
        print(f"    {'latency ' + name + ' (ms)':<30} {lat[name]:>10.1f}")
    print(f"    {'server RSS before warm-up (MB)':<30} {rss['before_warmup_mb']:>10.1f}")
    print(f"    {'server RSS start (MB)':<30} {rss['start_mb']:>10.1f}")
    print(f"    {'server RSS end (MB)':<30} {rss['end_mb']:>10.1f}")
    print(f"    {'RSS growth (MB)':<30} {rss['growth_mb']:>10.1f}  ({rss['growth_pct']:+.2f}%)")
    print(f"    {'RSS slope (MB/min)':<30} {rss['slope_mb_per_min']:>10.2f}")
    print(f"    {'RSS slope, last half (MB/min)':<30} {rss['slope_last_half_mb_per_min']:>10.2f}")
    verdict = "flat" if rss["flat"] else "NOT FLAT"
    print(f"    {'memory':<30} {verdict:>10}  ({rss['criterion']})")
    print(f"    {'server threads start/end':<30} {'/'.join(map(str, out['server_threads'])):>10}")
    print(f"    {'server cores busy':<30} {out['server_cores_busy']:>10.2f}")
    print(f"    {'client cores busy':<30} {out['client_cores_busy']:>10.2f}")
    if args.churn:
        cycle = out["churn_cycle_ms"] or {"p50": 0.0}
        print(
            f"    {'churn cycles (upload+remove)':<30} {out['churn_cycles']:>10}  "
            f"(errors {len(run.churn.errors)}, p50 {cycle['p50']:.0f} ms)"
        )
        minutes = "  ".join(f"{m['rss_mb']:.0f}" for m in out["rss_per_minute"])
        print(f"    server RSS by minute (MB):  {minutes}")
    for problem in out["error_examples"] + out["churn_errors"]:
        print(f"  error: {problem}")
    write_json(args.json_out, out)
    return 1 if tally.errors or run.warmup.errors or run.churn.errors or not rss["flat"] else 0


if __name__ == "__main__":
    sys.exit(main())
