"""Group commit: concurrent saves from many threads written in one transaction.

Each append is a write transaction of its own: a sync to disk on SQLite, and on PostgreSQL
the recorder's `LOCK TABLE … IN EXCLUSIVE MODE`, so one append commits at a time. Under
load most of a submit's time went to waiting for that. Here the first caller to arrive
while no one is writing leads: it takes everything queued (its own save first) and writes it
in one transaction; callers that arrive meanwhile queue, and when the write is done the
first of them leads the next batch. Nobody waits for a timer: alone, a save is written at
once; under load, batches grow with the load.

Every caller returns only after the transaction holding its events committed (or with its
own error). A batch that fails (one save conflicts, e.g. an idempotency key's job that
exists) is written again one save at a time, so each caller gets its own right answer and
one conflict never refuses the others.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 256  # saves per transaction: bounds the work one leader does for the others


@dataclass
class Pending:
    """One caller's save: its aggregates with the events collected from them."""

    items: list[tuple[Any, list[Any]]]
    woken: threading.Event = field(default_factory=threading.Event)
    done: bool = False
    result: list[Any] = field(default_factory=list)
    error: BaseException | None = None

    def finish(self, result: list[Any] | None = None, error: BaseException | None = None) -> None:
        self.result, self.error, self.done = result or [], error, True
        self.woken.set()

    def outcome(self) -> list[Any]:
        if self.error is not None:
            raise self.error
        return self.result


# Writes the (aggregate, events) pairs of one transaction; returns the recordings in order.
Writer = Callable[[Sequence[tuple[Any, list[Any]]]], list[Any]]


class GroupCommit:
    def __init__(self, write: Writer, max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: list[Pending] = []
        self._busy = False  # a leader is writing; False only while the queue is empty
        self.batches = 0  # transactions written (for tests and metrics)
        self.saves = 0  # saves written

    def save(self, *aggregates: Any) -> list[Any]:
        """Write the aggregates' pending events; returns once they are committed."""
        me = Pending([(agg, list(agg.collect_events())) for agg in aggregates])
        with self._lock:
            self._queue.append(me)
            lead = not self._busy
            self._busy = True
        if not lead:
            me.woken.wait()
            if me.done:
                return me.outcome()
        # Leading: `me` is at the head of the queue, so it is in this batch.
        self._lead()
        return me.outcome()

    def _lead(self) -> None:
        with self._lock:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
        try:
            self._commit(batch)
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._busy = following is not None
            if following is not None:
                following.woken.set()  # not done: it leads the next batch

    def _commit(self, batch: list[Pending]) -> None:
        try:
            recordings = self._write([item for pending in batch for item in pending.items])
        except Exception as error:
            if len(batch) == 1:
                batch[0].finish(error=error)
            else:
                self._one_by_one(batch)
            return
        except BaseException as error:
            for pending in batch:
                pending.finish(error=error)
            raise
        self.batches += 1
        self.saves += len(batch)
        start = 0
        for pending in batch:
            count = sum(len(events) for _, events in pending.items)
            pending.finish(recordings[start : start + count])
            start += count

    def _one_by_one(self, batch: list[Pending]) -> None:
        try:
            for pending in batch:
                try:
                    pending.finish(self._write(pending.items))
                except Exception as error:
                    pending.finish(error=error)
                self.batches += 1
                self.saves += 1
        except BaseException as error:  # interrupted: nobody may be left waiting
            for pending in batch:
                if not pending.done:
                    pending.finish(error=error)
            raise
