"""Where a run spends its time: named phases that the benchmark switches on.

The library marks the functions that do one phase of a run, once each::

    @timing.phase("KPI rebuild (normalised + kpi_results)")
    def rebuild_derived(...): ...

or a block with ``with timing.phase("name"):``. Off (every run but the benchmark's) a marked
function costs one flag check and a call. ``timing.enable()`` switches the timers on for this
process and ``timing.totals()`` returns, per phase:

- its exclusive seconds: the time in the phase's own code, not in other timed phases it calls,
  so that the phases of a run add up to the run;
- its calls;
- by how much the process's peak resident memory rose during the phase (again without the
  timed phases inside it), which shows the phase that sets the peak. A phase marked
  ``memory=False`` does not measure it: asking the kernel for the peak (``getrusage`` sums every
  thread of the process) twice per call added half a second to a run of 50,000 files.

A phase entered in a thread other than the main one is kept apart, under its name plus
``HELPER_THREAD``: the ingest reads and checks batches ahead in helper threads, and their time
overlaps the main thread's (whose waits for them show in the phase that waits).
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

HELPER_THREAD = " (helper thread)"

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class PhaseTotal:
    seconds: float = 0.0
    calls: int = 0
    peak_growth_kb: float = 0.0

    @property
    def peak_growth_mb(self) -> float:
        return self.peak_growth_kb / 1024


def _peak_rss_kb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


_enabled = False
_clock: Callable[[], float] = time.perf_counter
_peak_kb: Callable[[], float] = _peak_rss_kb
_totals: dict[str, PhaseTotal] = {}
_lock = threading.Lock()  # helper threads add their totals too
# Per thread, one [seconds, peak growth] of timed callees per active phase.
_stacks = threading.local()


def enable(clock: Callable[[], float] | None = None, peak_kb: Callable[[], float] | None = None) -> None:
    """Time the marked phases from now on, in this process, from zero totals.

    ``clock`` (seconds) and ``peak_kb`` (the process's peak resident memory) default to
    ``time.perf_counter`` and ``getrusage``; a test gives its own.
    """
    global _enabled, _clock, _peak_kb
    _clock = clock or time.perf_counter
    _peak_kb = peak_kb or _peak_rss_kb
    with _lock:
        _totals.clear()
    _stacks.__dict__.clear()
    _enabled = True


def disable() -> None:
    """Stop timing; the totals so far stay readable."""
    global _enabled
    _enabled = False


def enabled() -> bool:
    return _enabled


def totals() -> dict[str, PhaseTotal]:
    """Each phase entered since ``enable()``: its exclusive seconds, calls and peak growth."""
    with _lock:
        return {name: PhaseTotal(t.seconds, t.calls, t.peak_growth_kb) for name, t in _totals.items()}


class phase:
    """A named phase of a run: a decorator for a function, or a ``with`` block."""

    def __init__(self, name: str, *, memory: bool = True):
        self.name = name
        self.memory = memory

    def __call__(self, function: F) -> F:
        @functools.wraps(function)
        def timed(*args, **kwargs):
            if not _enabled:
                return function(*args, **kwargs)
            with self:
                return function(*args, **kwargs)

        return timed  # type: ignore[return-value]

    def __enter__(self) -> phase:
        if _enabled:
            stack = _stacks.__dict__.setdefault("frames", [])
            # [callees' seconds, callees' peak growth, start, peak at start]; on the thread's
            # stack, not on self, so that a phase may be entered again inside itself or in
            # another thread at once.
            stack.append([0.0, 0.0, _clock(), _peak_kb() if self.memory else 0.0])
        return self

    def __exit__(self, *exc) -> None:
        stack = _stacks.__dict__.get("frames")
        if not stack:  # enabled inside the block: nothing was started
            return
        callees, callees_growth, started, peak_before = stack.pop()
        elapsed = _clock() - started
        grown = _peak_kb() - peak_before if self.memory else 0.0
        key = self.name if threading.current_thread() is threading.main_thread() else self.name + HELPER_THREAD
        with _lock:
            total = _totals.setdefault(key, PhaseTotal())
            total.seconds += elapsed - callees
            total.calls += 1
            total.peak_growth_kb += grown - callees_growth
        if stack:
            stack[-1][0] += elapsed
            stack[-1][1] += grown
