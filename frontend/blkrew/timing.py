"""Timing shared by the auto-tuner and the benchmarks."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Collection

__all__ = ["interleaved_ms"]


def interleaved_ms(
    fns: dict[str, Callable[[], object]],
    repeat: int,
    warm: Collection[str] = (),
    settle_s: float = 0.0,
) -> dict:
    """Medians (ms) of `repeat` rounds in which every function runs once, in
    turn, after one warm-up call each: on a shared machine, slow phases then
    hit all contenders alike and the ratios stay honest. A function named in
    `warm` runs once more, untimed, right before each timed call: its time
    is the hot-cache one, in the same rounds as the others. `settle_s`: a
    pause (busy) after each timed call, e.g. for idle OpenMP workers to stop
    spinning before the next contender is timed."""
    unknown = set(warm) - set(fns)
    if unknown:
        raise ValueError(f"warm names unknown functions: {sorted(unknown)}")
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            if name in warm:
                fn()
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
            if settle_s:
                # Busy, not asleep: a sleeping process's core idles, and the
                # next timed call would pay for waking it.
                end = time.perf_counter() + settle_s
                while time.perf_counter() < end:
                    pass
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}
