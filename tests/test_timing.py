"""The timing hook (envkpi.runtime.timing) at the size of a rule: a fake clock and a fake memory peak,
moved by hand, so that every figure below is worked out in the comments, not measured."""

from __future__ import annotations

import threading

import pytest

from envkpi.runtime import timing


class Fake:
    """A clock and a peak-memory reading that move only when told."""

    def __init__(self):
        self.now = 100.0
        self.peak_kb = 1000.0

    def clock(self) -> float:
        return self.now

    def peak(self) -> float:
        return self.peak_kb


@pytest.fixture
def fake():
    fake = Fake()
    timing.enable(clock=fake.clock, peak_kb=fake.peak)
    yield fake
    timing.disable()


def test_a_phase_inside_another_is_subtracted_from_the_outer_one(fake):
    @timing.phase("inner")
    def inner(seconds: float, kb: float) -> str:
        fake.now += seconds
        fake.peak_kb += kb
        return "inner's result"

    @timing.phase("outer")
    def outer() -> str:
        fake.now += 1.0  # outer's own work
        answer = inner(2.0, 512.0)
        fake.now += 0.5
        fake.peak_kb += 1024.0
        inner(0.25, 0.0)
        return answer

    assert outer() == "inner's result"
    with timing.phase("block"):  # a with-block is a phase too
        fake.now += 4.0
        outer()

    totals = timing.totals()
    # outer: two calls of 1.0 + 0.5 s of its own (the 2.25 s of inner excluded) = 3.0 s;
    # its own peak growth 1024 KB per call (inner's 512 excluded).
    assert totals["outer"].seconds == pytest.approx(3.0)
    assert totals["outer"].calls == 2
    assert totals["outer"].peak_growth_kb == pytest.approx(2048.0)
    assert totals["outer"].peak_growth_mb == pytest.approx(2.0)
    # inner: four calls, 2 x (2.0 + 0.25) = 4.5 s, 2 x 512 KB.
    assert (totals["inner"].seconds, totals["inner"].calls, totals["inner"].peak_growth_kb) == (
        pytest.approx(4.5),
        4,
        pytest.approx(1024.0),
    )
    # block: 4.0 s of its own; the 3.75 s of outer inside it excluded.
    assert totals["block"].seconds == pytest.approx(4.0)
    assert totals["block"].peak_growth_kb == pytest.approx(0.0)
    # The phases add up to the clock's whole advance: 3.75 + 4.0 + 3.75.
    assert sum(t.seconds for t in totals.values()) == pytest.approx(fake.now - 100.0) == pytest.approx(11.5)


def test_a_phase_without_memory_never_reads_the_peak(fake):
    reads = []
    timing.enable(clock=fake.clock, peak_kb=lambda: reads.append(1) or fake.peak_kb)

    @timing.phase("per file", memory=False)
    def per_file():
        fake.now += 0.125
        fake.peak_kb += 100.0

    for _ in range(3):
        per_file()
    assert reads == []
    assert timing.totals()["per file"].seconds == pytest.approx(0.375)
    assert timing.totals()["per file"].peak_growth_kb == 0.0


def test_a_helper_threads_phases_are_kept_apart(fake):
    @timing.phase("read")
    def read():
        fake.now += 1.0

    read()
    worker = threading.Thread(target=read)
    worker.start()
    worker.join()
    totals = timing.totals()
    assert totals["read"].calls == 1
    assert totals["read" + timing.HELPER_THREAD].calls == 1


def test_off_means_no_totals_and_the_function_runs_as_it_is():
    timing.disable()
    calls = []

    @timing.phase("anything")
    def work(a, b=2):
        """Its own docstring."""
        calls.append((a, b))
        return a + b

    assert work(1, b=3) == 4
    assert calls == [(1, 3)]
    assert work.__name__ == "work" and work.__doc__ == "Its own docstring."
    with timing.phase("a block"):
        pass
    assert "anything" not in timing.totals() and "a block" not in timing.totals()
    # Switched on, it counts from zero; switched off again, it stops counting.
    fake = Fake()
    timing.enable(clock=fake.clock, peak_kb=fake.peak)
    work(1)
    timing.disable()
    work(1)
    assert timing.totals()["anything"].calls == 1


def test_an_exception_still_closes_the_phase(fake):
    @timing.phase("failing")
    def failing():
        fake.now += 2.0
        raise ValueError("no")

    @timing.phase("caller")
    def caller():
        fake.now += 1.0
        with pytest.raises(ValueError):
            failing()

    caller()
    totals = timing.totals()
    assert totals["failing"].seconds == pytest.approx(2.0)
    assert totals["caller"].seconds == pytest.approx(1.0)
