"""Group commit (`events.group_commit`): many saves, one transaction; a conflict refuses
only its own save."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence
from typing import Any

import pytest

from events.group_commit import GroupCommit

DEADLINE = 30.0  # seconds: generous, the machine is shared


class Conflict(Exception):
    pass


class Thing:
    """An aggregate as far as the group commit sees one: pending events to collect."""

    def __init__(self, name: str, events: int = 1) -> None:
        self.name = name
        self._pending = [f"{name}.{n}" for n in range(events)]

    def collect_events(self) -> list[str]:
        collected, self._pending = self._pending, []
        return collected


class Store:
    """Records transactions; the first one waits until `release` (so others queue behind
    it); a transaction holding a `bad` thing fails whole, as a unique index would."""

    def __init__(self) -> None:
        self.transactions: list[list[str]] = []
        self.release = threading.Event()
        self.writing = threading.Event()

    def write(self, items: Sequence[tuple[Any, list[Any]]]) -> list[Any]:
        self.writing.set()
        self.release.wait(DEADLINE)
        if any(thing.name.startswith("bad") for thing, _ in items):
            raise Conflict("taken")
        events = [event for _, events in items for event in events]
        self.transactions.append(events)
        return events


def wait_until(condition: Any) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def save_in_threads(group: GroupCommit, store: Store, names: list[str]) -> dict[str, Any]:
    """The first name's save is written alone (it holds the writer); the rest queue behind it
    and are written once it is released. Returns each name's result or error."""
    outcomes: dict[str, Any] = {}

    def save(name: str) -> None:
        try:
            outcomes[name] = group.save(Thing(name, events=2))
        except Exception as error:
            outcomes[name] = error

    first = threading.Thread(target=save, args=(names[0],))
    first.start()
    store.writing.wait(DEADLINE)
    rest = [threading.Thread(target=save, args=(name,)) for name in names[1:]]
    for thread in rest:
        thread.start()
    wait_until(lambda: len(group._queue) == len(rest))
    store.release.set()
    for thread in [first, *rest]:
        thread.join(DEADLINE)
    return outcomes


def test_saves_that_queue_meanwhile_share_one_transaction() -> None:
    store = Store()
    group = GroupCommit(store.write)
    names = [f"job{n}" for n in range(9)]
    outcomes = save_in_threads(group, store, names)
    group.close()
    assert len(store.transactions) == 2  # the first alone, then the eight that queued
    assert sorted(len(t) for t in store.transactions) == [2, 16]
    for name in names:  # each caller gets its own events' recordings
        assert outcomes[name] == [f"{name}.0", f"{name}.1"]
    assert (group.batches, group.saves) == (2, 9)


def test_a_conflict_in_a_batch_refuses_only_its_own_save() -> None:
    store = Store()
    group = GroupCommit(store.write)
    names = ["job0", "job1", "bad2", "job3", "job4"]
    outcomes = save_in_threads(group, store, names)
    group.close()
    assert isinstance(outcomes["bad2"], Conflict)
    for name in ("job0", "job1", "job3", "job4"):
        assert outcomes[name] == [f"{name}.0", f"{name}.1"]
    stored = sorted(event for transaction in store.transactions for event in transaction)
    assert stored == sorted(f"{n}.{i}" for n in ("job0", "job1", "job3", "job4") for i in (0, 1))


def test_a_save_alone_is_written_at_once_and_a_failure_is_its_callers() -> None:
    store = Store()
    store.release.set()
    group = GroupCommit(store.write)
    assert group.save(Thing("job")) == ["job.0"]
    with pytest.raises(Conflict):
        group.save(Thing("bad"))
    group.close()
    assert store.transactions == [["job.0"]]


def test_a_coroutine_awaits_its_commit_without_a_thread() -> None:
    store = Store()
    group = GroupCommit(store.write)
    first = threading.Thread(target=group.save, args=(Thing("first"),))
    first.start()
    store.writing.wait(DEADLINE)  # the writer holds "first" alone until released

    def release_when_queued() -> None:
        wait_until(lambda: len(group._queue) == 20)
        store.release.set()

    async def submit_many() -> list[list[Any]]:
        return await asyncio.gather(*(group.save_async(Thing(f"job{n}")) for n in range(20)))

    releaser = threading.Thread(target=release_when_queued)
    releaser.start()
    results = asyncio.run(submit_many())
    releaser.join(DEADLINE)
    first.join(DEADLINE)
    group.close()
    assert results == [[f"job{n}.0"] for n in range(20)]
    assert [len(t) for t in store.transactions] == [1, 20]


def test_a_closed_group_refuses_new_saves() -> None:
    store = Store()
    store.release.set()
    group = GroupCommit(store.write)
    group.close()
    with pytest.raises(RuntimeError):
        group.save(Thing("job"))
