"""runtime.read_ahead: the ingest's pipelining hands work over in order, read and checked ahead."""

import threading

from envkpi.runtime.read_ahead import ReadAhead


def test_items_come_back_in_order_read_and_checked_only_where_checks_apply():
    with ReadAhead[int, int](depth=2, depth_before_checks=4) as ahead:
        ahead.start([1, 2, 3, 4, 5], read=lambda item: item * 10)
        first, checking = ahead.next()
        assert (first, checking) == (10, None)  # checks are not on yet
        ahead.check_with(lambda item, read: read + item, applies=lambda item: item % 2 == 0)
        taken = []
        for _ in range(4):
            read, checking = ahead.next()
            taken.append((read, checking.result() if checking else None))
    # 20 + 2 and 40 + 4 checked; the odd items read only
    assert taken == [(20, 22), (30, None), (40, 44), (50, None)]


def test_no_more_items_than_the_depth_are_read_ahead_of_the_caller():
    started: list[int] = []
    release = threading.Event()

    def read(item: int) -> int:
        started.append(item)
        release.wait(5)
        return item

    with ReadAhead[int, int](depth=2, depth_before_checks=3) as ahead:
        ahead.start(range(10), read=read)
        assert len(ahead._ahead) == 3  # before checks: three waiting, none taken
        release.set()
        ahead.check_with(lambda item, read: read, applies=lambda item: True)
        ahead.next()
        assert len(ahead._ahead) == 2  # with checks on: two beyond the one taken
        while ahead._ahead:
            ahead.next()
    assert started == list(range(10))


def test_work_beside_runs_in_the_checking_thread_before_any_check():
    with ReadAhead[int, int]() as ahead:
        name = ahead.beside(lambda: threading.current_thread().name).result()
    assert name.startswith("envkpi-check")
