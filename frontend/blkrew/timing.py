"""Timing shared by the auto-tuner and the benchmarks."""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Collection

__all__ = ["interleaved_ms"]


def interleaved_ms(
    fns: dict[str, Callable[[], object]],
    repeat: int,
    warm: Collection[str] = (),
    settle_s: float = 0.0,
    shuffle: bool = True,
) -> dict:
    """Medians (ms) of `repeat` rounds in which every function runs once, in
    turn, after one warm-up call each: on a shared machine, slow phases then
    hit all contenders alike and the ratios stay honest. Each round runs
    them in a new order (shuffled, from a fixed seed), so none always runs
    right after the same other one: the one that follows a large contender
    (PyTorch's eager model) inherits the caches it left, and two identical
    builds of the digits GRU measured 1.5x apart when the order was fixed
    (rotating it keeps who follows whom); `shuffle=False` keeps the dict's
    order, for a benchmark whose cold calls rely on which ran before them.
    A function named in `warm` runs
    once more, untimed, right before each timed call: its time
    is the hot-cache one, in the same rounds as the others. `settle_s`: a
    pause (busy) after each timed call, e.g. for idle OpenMP workers to stop
    spinning before the next contender is timed."""
    unknown = set(warm) - set(fns)
    if unknown:
        raise ValueError(f"warm names unknown functions: {sorted(unknown)}")
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    names = list(fns)
    order = random.Random(0)
    for _ in range(repeat):
        if shuffle:
            order.shuffle(names)
        for name in names:
            fn = fns[name]
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
