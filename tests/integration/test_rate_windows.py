"""The shared request counters on each store: exact counts, windows, several processes."""

from __future__ import annotations

import threading

import pytest

from service.limits.windows import PostgresRateWindows, SQLiteRateWindows
from service.persistence.stores import build_view
from service.runtime import close_view


@pytest.fixture
def open_windows(settings):
    opened = []

    def open_one():
        windows = build_view(settings, "limits", SQLiteRateWindows, PostgresRateWindows)
        opened.append(windows)
        return windows

    yield open_one
    for windows in opened:
        close_view(windows)


def test_the_eleventh_request_in_a_window_of_ten_is_refused(open_windows):
    windows = open_windows()
    verdicts = [windows.hit("key-a", 10, 60.0, now=1000.0 + i) for i in range(11)]
    assert [v.allowed for v in verdicts] == [True] * 10 + [False]
    assert [v.remaining for v in verdicts[:3]] == [9, 8, 7]
    refused = verdicts[-1]
    assert (refused.limit, refused.remaining, refused.reset) == (10, 0, 50)


def test_the_window_starts_at_the_first_request_and_renews_after_it(open_windows):
    windows = open_windows()
    for second in (100.0, 130.0, 159.0):
        assert windows.hit("k", 3, 60.0, now=second).allowed
    assert not windows.hit("k", 3, 60.0, now=159.5).allowed
    renewed = windows.hit("k", 3, 60.0, now=160.0)
    assert renewed.allowed and renewed.remaining == 2 and renewed.reset == 60


def test_keys_count_apart(open_windows):
    windows = open_windows()
    assert windows.hit("a", 1, 60.0, now=0.0).allowed
    assert windows.hit("b", 1, 60.0, now=0.0).allowed
    assert not windows.hit("a", 1, 60.0, now=1.0).allowed


def test_two_stores_on_one_database_count_together_under_concurrency(open_windows):
    first, second = open_windows(), open_windows()  # as two web processes would
    allowed: list[bool] = []
    lock = threading.Lock()

    def hammer(windows) -> None:
        for _ in range(15):
            verdict = windows.hit("shared", 20, 60.0, now=5000.0)
            with lock:
                allowed.append(verdict.allowed)

    threads = [threading.Thread(target=hammer, args=(w,)) for w in (first, second) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 60 and allowed.count(True) == 20
