"""blkrew.timing: the interleaved rounds the benchmarks and tuner share."""

import pytest

from blkrew.timing import interleaved_ms


def test_rounds_interleave_in_shuffled_orders_and_warm_calls_are_untimed():
    calls = []
    names = ("a", "b", "c")
    fns = {name: (lambda name=name: calls.append(name)) for name in names}
    times = interleaved_ms(fns, 12, warm={"b"})
    assert set(times) == set(names)
    # One warm-up each, then per round each once and b twice (untimed, then
    # timed, back to back).
    assert calls[:3] == ["a", "b", "c"]
    rounds = [calls[3 + 4 * r : 7 + 4 * r] for r in range(12)]
    assert len(calls) == 3 + 4 * 12
    for r in rounds:
        assert sorted(r) == ["a", "b", "b", "c"]
        assert r[r.index("b") + 1] == "b"
    # The order changes: a contender does not always follow the same one.
    firsts = {r[0] for r in rounds}
    assert len(firsts) > 1
    calls.clear()
    interleaved_ms(fns, 2, shuffle=False)
    assert calls == ["a", "b", "c"] * 3


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
