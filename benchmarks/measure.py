"""Measurement helpers shared by the benchmark scripts: memory, machine load, latency summaries."""

from __future__ import annotations

import os
import resource

import numpy as np


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far (ru_maxrss is in KB on Linux)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> tuple[float, float] | None:
    """(CPU seconds used by the whole machine, by this process) so far; None off Linux."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    # user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
    busy = sum(fields[:8]) - fields[3] - fields[4]
    own = resource.getrusage(resource.RUSAGE_SELF)
    return busy / os.sysconf("SC_CLK_TCK"), own.ru_utime + own.ru_stime


def other_cores_busy(start: tuple[float, float] | None, wall_s: float) -> float | None:
    """Average cores other processes kept busy since `start`: noise in the figures."""
    end = cpu_seconds()
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
