"""blkrew.timing: the interleaved rounds the benchmarks and tuner share."""

import pytest

from blkrew.timing import interleaved_ms


def test_rounds_interleave_and_warm_calls_are_untimed():
    calls = []
    fns = {name: (lambda name=name: calls.append(name)) for name in ("a", "b")}
    times = interleaved_ms(fns, 3, warm={"b"})
    assert set(times) == {"a", "b"}
    # One warm-up each, then per round: a, then b twice (untimed, timed).
    assert calls == ["a", "b"] + ["a", "b", "b"] * 3


def test_warm_must_name_a_function():
    with pytest.raises(ValueError, match="unknown functions: \\['c'\\]"):
        interleaved_ms({"a": lambda: None}, 1, warm={"c"})


def test_settle_pauses_outside_the_timed_call():
    import time

    stamps = []
    times = interleaved_ms(
        {"a": lambda: stamps.append(time.perf_counter())}, 3, settle_s=0.02
    )
    # Calls after the warm-up are at least the pause apart, but the pause is
    # not in the median.
    gaps = [b - a for a, b in zip(stamps[1:], stamps[2:], strict=False)]
    assert min(gaps) >= 0.02
    assert times["a"] < 20
