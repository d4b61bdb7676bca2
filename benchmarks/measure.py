"""Measurement helpers shared by the benchmark scripts: memory, machine load, latency summaries,
and the seed paths. Importing it first (before rag) keeps the model offline, as in `make`."""

from __future__ import annotations

import json
import os
import platform
import resource
from pathlib import Path

import numpy as np

for _name, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
    "GRADIO_ANALYTICS_ENABLED": "False",
}.items():
    os.environ[_name] = _value

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
QUESTIONS = ROOT / "eval" / "seed_questions.jsonl"


def result_path(name: str) -> Path:
    """Where a benchmark writes its JSON by default (benchmarks/results/, not committed)."""
    return ROOT / "benchmarks" / "results" / f"{name}.json"


def peak_rss_mb(pid: int | None = None) -> float:
    """Peak resident set size so far of this process (ru_maxrss is in KB on Linux) or of another
    running one (VmHWM in /proc, also KB)."""
    if pid is None:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM:"))) / 1024


def cpu_seconds(helpers: tuple[int, ...] = ()) -> tuple[float, float] | None:
    """(CPU seconds used by the whole machine, by this process and its `helpers`, e.g. the local
    model's server) so far; None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        # utime and stime: the 14th and 15th fields of /proc/PID/stat, after the "(name)"
        ticks = [
            Path(f"/proc/{pid}/stat").read_text(encoding="ascii").rsplit(")", 1)[1].split() for pid in helpers
        ]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    busy = sum(fields[:8]) - fields[3] - fields[4]
    own = resource.getrusage(resource.RUSAGE_SELF)
    helped = sum(int(t[11]) + int(t[12]) for t in ticks) / tick
    return busy / tick, own.ru_utime + own.ru_stime + helped


def other_cores_busy(
    start: tuple[float, float] | None, wall_s: float, helpers: tuple[int, ...] = ()
) -> float | None:
    """Average cores other processes kept busy since `start`: noise in the figures."""
    end = cpu_seconds(helpers)
    if start is None or end is None or wall_s <= 0:
        return None
    return round(max((end[0] - start[0]) - (end[1] - start[1]), 0.0) / wall_s, 2)


def summary(values_ms: list[float]) -> dict[str, float]:
    a = np.asarray(values_ms, dtype=np.float64)
    return {
        "p50": round(float(np.percentile(a, 50)), 3),
        "p95": round(float(np.percentile(a, 95)), 3),
        "max": round(float(a.max()), 3),
        "mean": round(float(a.mean()), 3),
    }


def write_json(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def machine() -> dict[str, object]:
    """What the figures ran on."""
    import torch  # only the model benchmarks ask, and they load it anyway

    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
    }
