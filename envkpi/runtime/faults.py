"""Fault injection for the crash-safety tests: kill the run at its Nth fault point.

TEST-ONLY HOOK. The pipeline calls ``fault_point("name")`` at the places where a real run could
die (power cut, OOM killer, reboot): after discovery, between kinds, after each delivery row,
between derived-table rebuilds, before and after commit, between report files, around the
published-snapshot swap. With ``ENVKPI_FAULT_KILL_AT=N`` set, the Nth call in this process
sends SIGKILL to the process itself: no ``finally``, no ``atexit``, no rollback, exactly as a
power cut. ``ENVKPI_FAULT_KILL_AT=<name>`` kills at the first point of that name instead (a
rerun after a kill passes fewer points, so a test that kills the rerun too names the point).
With ``ENVKPI_FAULT_LOG=path`` every call appends its number and name to ``path``, so a test
learns how many points an uninterrupted run passes and where they are.

Without either variable ``fault_point`` is a no-op: the variables are read once, at import,
and the function returns on its first line. This module is the one exception to "only
``envkpi/settings.py`` reads the environment": it is not a setting of the pipeline, and a
production run never sets these variables.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from contextlib import contextmanager

_KILL_AT = 0
_KILL_NAME: str | None = None
_LOG: str | None = None
_ARMED = False
_count = 0


def configure_from_environment() -> None:
    """Read ``ENVKPI_FAULT_KILL_AT`` and ``ENVKPI_FAULT_LOG`` and restart the count.

    Called once at import. A test that forks an interpreter which imported envkpi already (to
    skip seconds of imports per run) calls it again in the child after setting the variables.
    """
    global _KILL_AT, _KILL_NAME, _LOG, _ARMED, _count
    kill_at = os.environ.get("ENVKPI_FAULT_KILL_AT", "").strip()
    _KILL_AT = int(kill_at) if kill_at.isdigit() else 0
    _KILL_NAME = None if kill_at.isdigit() or not kill_at else kill_at
    _LOG = os.environ.get("ENVKPI_FAULT_LOG") or None
    _ARMED = bool(_KILL_AT > 0 or _KILL_NAME or _LOG)
    _count = 0


configure_from_environment()


def fault_point(name: str) -> None:
    """A place where a run may die; SIGKILLs this process where ``ENVKPI_FAULT_KILL_AT`` says."""
    if not _ARMED:
        return
    global _count
    _count += 1
    if _LOG:
        with open(_LOG, "a", encoding="utf-8") as log:
            log.write(f"{_count}\t{name}\n")
    if _count == _KILL_AT or name == _KILL_NAME:
        os.kill(os.getpid(), signal.SIGKILL)


@contextmanager
def suspended() -> Iterator[None]:
    """No fault point fires or counts inside: for work whose points the caller passes itself.

    The annual report's drawing renders files in worker processes (or, on one core, in this
    one) and then puts them in place in this process, past the fault points; the count of
    points must not depend on how many cores drew.
    """
    global _ARMED
    armed, _ARMED = _ARMED, False
    try:
        yield
    finally:
        _ARMED = armed
