"""One dispatcher at a time on SQLite: the leader lock (a flock in the data dir; PostgreSQL
workers need none: they claim jobs, see test_dispatch_claims)."""

from __future__ import annotations

import multiprocessing
import os
import signal

from service.settings import Settings
from service.workers.leader import LeaderLock


def test_only_one_holder_at_a_time_and_the_next_takes_over(settings: Settings) -> None:
    first, second = LeaderLock(settings), LeaderLock(settings)
    try:
        assert first.try_acquire()
        assert first.try_acquire()  # holding it already
        assert not second.try_acquire()
        first.release()
        assert second.try_acquire()
        assert not first.try_acquire()
    finally:
        first.release()
        second.release()


def _hold_forever(settings: Settings, ready: multiprocessing.synchronize.Event) -> None:
    lock = LeaderLock(settings)
    assert lock.try_acquire()
    ready.set()
    signal.pause()


def test_a_killed_holder_releases_the_lock(settings: Settings) -> None:
    context = multiprocessing.get_context("fork")
    ready = context.Event()
    holder = context.Process(target=_hold_forever, args=(settings, ready), daemon=True)
    holder.start()
    try:
        assert ready.wait(20)
        assert not LeaderLock(settings).try_acquire()
        os.kill(holder.pid or 0, signal.SIGKILL)
        holder.join(10)
        survivor = LeaderLock(settings)
        for _ in range(100):
            if survivor.try_acquire():
                break
            multiprocessing.Event().wait(0.1)
        assert survivor.held
        survivor.release()
    finally:
        if holder.is_alive():
            holder.kill()


def test_a_holder_knows_whether_it_still_holds_the_lock(settings: Settings) -> None:
    lock = LeaderLock(settings)
    assert not lock.still_held()  # never taken
    assert lock.try_acquire()
    try:
        assert lock.still_held() and lock.still_held()
    finally:
        lock.release()
    assert not lock.still_held()
