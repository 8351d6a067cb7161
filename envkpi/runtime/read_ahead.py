"""Work read and checked ahead in helper threads, handed to the caller in order.

The ingest's pipelining, kept apart from its delivery rules: while the run's thread loads batch i
into the warehouse, one helper thread reads batch i+2 and another checks batch i+1. Only the
caller's thread touches the warehouse, and it takes the batches in the order they were given, so
the deliveries, rows and fault points come out as they would one after the other.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Read = TypeVar("Read")


class ReadAhead(Generic[Item, Read]):
    """Items read in a reading thread (and checked in a checking thread, once checks are on) ahead
    of the caller, who takes them one by one with ``next``.

    At most ``depth`` items wait beyond the one taken, and ``depth_before_checks`` until checks
    are switched on: the reading thread would otherwise idle while the first checks are prepared.
    Use it as a context manager: the threads end with the block.
    """

    def __init__(self, depth: int = 2, depth_before_checks: int = 4):
        self._depth, self._depth_before_checks = depth, depth_before_checks
        self._reader = ThreadPoolExecutor(1, "envkpi-read")
        self._checker = ThreadPoolExecutor(1, "envkpi-check")
        self._work: Iterator[Item] = iter(())
        self._read: Callable[[Item], Read] | None = None
        self._check: Callable[[Item, Read], Any] | None = None
        self._applies: Callable[[Item], bool] = lambda item: True
        self._ahead: deque[list] = deque()  # [item, reading, checking or None]

    def __enter__(self) -> ReadAhead[Item, Read]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._reader.shutdown(wait=True)
        self._checker.shutdown(wait=True)

    def beside(self, function: Callable[..., Any], *arguments: Any) -> Future:
        """Run ``function`` in the checking thread now, before any check (e.g. building the checker)."""
        return self._checker.submit(function, *arguments)

    def start(self, work: Iterable[Item], read: Callable[[Item], Read]) -> None:
        """The items, in the order ``next`` hands them over, and how each is read."""
        self._work, self._read = iter(work), read
        self._fill()

    @property
    def checking(self) -> bool:
        return self._check is not None

    def check_with(self, check: Callable[[Item, Read], Any], applies: Callable[[Item], bool]) -> None:
        """From now on, check ahead every item that ``applies`` holds for, once it is read."""
        self._check, self._applies = check, applies
        self._fill()

    def next(self) -> tuple[Read, Future | None]:
        """The next item as read, and its check under way (None when it was not checked ahead)."""
        _, reading, checking = self._ahead.popleft()
        read = reading.result()
        self._fill()
        return read, checking

    def _fill(self) -> None:
        if self._read is None:
            return
        depth = self._depth if self._check else self._depth_before_checks
        while len(self._ahead) < depth and (following := next(self._work, None)) is not None:
            self._ahead.append([following, self._reader.submit(self._read, following), None])
        if self._check is None:
            return
        for entry in self._ahead:
            item, reading, checking = entry
            if checking is None and self._applies(item):
                entry[2] = self._checker.submit(self._checked, item, reading)

    def _checked(self, item: Item, reading: Future) -> Any:
        """In the checking thread: wait for the item's read, then check it."""
        assert self._check is not None  # only submitted once checks are on
        return self._check(item, reading.result())
