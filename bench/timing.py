"""Clocks, memory and child processes for the benchmark."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
# Quick runs (a smoke test) run "child" work in this process and skip warm-up runs: cheaper, but their
# memory figures are this process's and their times include cold caches.
INLINE = False
WARMUP = 1


@dataclass
class Lap:
    """Seconds elapsed in a `with stopwatch() as lap:` block."""

    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter)


@contextmanager
def stopwatch() -> Iterator[Lap]:
    """Time a block (wall clock, perf_counter)."""
    lap = Lap()
    try:
        yield lap
    finally:
        lap.seconds = time.perf_counter() - lap.started


def _runs(fn: Callable[[], T], repeat: int, warmup: int) -> tuple[list[float], T]:
    """`repeat` timed runs after `warmup` untimed ones: (seconds of each, last result)."""
    result: Any = None
    for _ in range(warmup):
        result = fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return times, result


def best_of(fn: Callable[[], T], repeat: int = 5, warmup: int = 1) -> tuple[float, T]:
    """The fastest of `repeat` runs after `warmup` runs (seconds, last result): the figure least disturbed by noise."""
    times, result = _runs(fn, repeat, warmup)
    return min(times), result


def median_of(fn: Callable[[], T], repeat: int = 5, warmup: int = 1) -> tuple[float, T]:
    """The median of `repeat` runs after `warmup` runs (seconds, last result)."""
    times, result = _runs(fn, repeat, warmup)
    return statistics.median(times), result


def peak_rss_mb() -> float:
    """This process's peak resident set size so far, in MiB.

    From VmHWM in /proc/self/status where there is one: Linux carries ru_maxrss over fork and exec,
    so a spawned child would otherwise report its parent's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_child(fn: Callable[..., T], *args: Any) -> T:
    """Run `fn(*args)` in a fresh spawned interpreter (so its peak RSS and caches are its own) and return its result."""
    if INLINE:
        return fn(*args)
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


@dataclass(frozen=True)
class Wall:
    """A command's median wall time, and the CPU time (user + system) its process used in that run."""

    seconds: float
    cpu: float

    def note(self) -> str:
        """'CPU 0.61 s' for the report: what the command cost itself, whatever else the machine was doing."""
        return f"CPU {self.cpu:.2f} s"


def wall(argv: Sequence[str], repeat: int = 5, env: dict[str, str] | None = None, check: bool = True, warmup: int | None = None) -> Wall:
    """Median wall time of a command (after WARMUP runs that fill the OS file cache), output discarded."""
    full_env = {**os.environ, **(env or {})}
    runs: list[tuple[float, float]] = []

    def once() -> None:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        done = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=full_env, cwd=ROOT, check=False)
        seconds = time.perf_counter() - t0
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}")
        runs.append((seconds, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime))

    for _ in range(WARMUP if warmup is None else warmup):
        once()
    runs.clear()
    for _ in range(repeat):
        once()
    runs.sort()
    return Wall(*runs[len(runs) // 2])


def venv_bin(name: str) -> str:
    """A console script beside the running interpreter (the virtualenv's `branchflow`)."""
    return str(Path(sys.executable).with_name(name))
