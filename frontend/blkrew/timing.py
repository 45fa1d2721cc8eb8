"""Timing shared by the auto-tuner and the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

__all__ = ["interleaved_ms"]


def interleaved_ms(fns: dict[str, Callable[[], object]], repeat: int) -> dict:
    """Medians (ms) of `repeat` rounds in which every function runs once, in
    turn, after one warm-up call each: on a shared machine, slow phases then
    hit all contenders alike and the ratios stay honest."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}
