"""One dispatcher at a time: the leader lock on SQLite (flock) and PostgreSQL (advisory)."""

from __future__ import annotations

import multiprocessing
import os
import signal

import pytest

from service.settings import Settings
from service.workers.leader import LeaderLock
from tests.helpers import end_session, lock_session


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
        for _ in range(100):  # PostgreSQL notices the dead session within moments
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


def test_a_holder_whose_database_session_ends_gives_the_lock_up(settings: Settings) -> None:
    if not settings.uses_postgres:
        pytest.skip("a file lock ends only with its process (see the SIGKILL test)")
    holder, other = LeaderLock(settings), LeaderLock(settings)
    try:
        assert holder.try_acquire()
        pid = lock_session(settings)
        assert pid is not None
        end_session(settings, pid)
        assert not holder.still_held()
        assert not holder.held
        assert other.try_acquire()
        assert lock_session(settings) not in (None, pid)
    finally:
        holder.release()
        other.release()
