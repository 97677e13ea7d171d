"""Helpers for the benchmarks: each measured step runs in a fresh process for a clean peak RSS."""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from collections.abc import Callable
from pathlib import Path

OUT = Path(__file__).parent / "out"


def _high_water_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss, reset by exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class TreeSampler(threading.Thread):
    """Samples the resident memory of this process and all its descendants (a JVM and its
    Python workers, say) twice a second; `peak_mb` is the highest sum seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.peak_mb = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        me = psutil.Process()
        while not self.stopped.wait(0.5):
            total = 0
            for proc in [me, *me.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.Error:
                    pass
            self.peak_mb = max(self.peak_mb, total / 2**20)


def _child(fn: Callable, args: tuple, queue) -> None:
    sampler = TreeSampler()
    sampler.start()
    start = time.perf_counter()
    extra = fn(*args) or {}
    seconds = time.perf_counter() - start
    sampler.stopped.set()
    peak_mb = max(_high_water_mb(), sampler.peak_mb)
    queue.put({"seconds": seconds, "peak_mb": peak_mb, **extra})


def measure(fn: Callable, *args) -> dict:
    """Run `fn(*args)` in a fresh process; returns seconds, peak RSS (MiB; of the process tree
    when it starts others) and fn's own dict."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, args, queue))
    proc.start()
    while True:
        try:
            result = queue.get(timeout=1)
            break
        except Exception:  # queue.Empty: keep waiting while the child lives
            if not proc.is_alive():
                raise RuntimeError(f"{fn.__name__} failed (exit code {proc.exitcode})") from None
    proc.join()
    return result


def row(name: str, events: int, result: dict, reference: str = "") -> str:
    """One printed line: events per second and peak memory beside a reference."""
    rate = events / result["seconds"]
    return (f"{name:<38} {events:>11,} ev  {result['seconds']:8.1f} s  {rate:>12,.0f} ev/s  "
            f"{result['peak_mb']:>8,.0f} MiB   {reference}")
