"""Group commit: concurrent saves written together in one transaction.

Each append is a write transaction of its own: a sync to disk on SQLite, and on PostgreSQL
the recorder's `LOCK TABLE … IN EXCLUSIVE MODE`, so one append commits at a time. Under
load most of a submit's time went to waiting for that. Here saves that arrive while a
transaction is under way queue for one writer thread, which takes everything queued and
writes it in one transaction, then the next batch. Nobody waits for a timer: alone, a save
is written at once (by its caller, when it comes from a thread); under load, batches grow
with the load. The writer sleeps on a condition while nothing is queued (no idle cost).

Callers wait in their thread (`save`) or, from an event loop, on a future (`save_async`,
which needs no thread of the caller's: the loop is woken once per batch). Either returns
only after the transaction holding its events committed, or with its own error. A batch
that fails (one save conflicts, e.g. an idempotency key's job that exists) is written again
one save at a time, so each caller gets its own right answer and one conflict never refuses
the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_BATCH = 256  # saves per transaction: bounds one transaction's size and its callers' wait


@dataclass
class Pending:
    """One caller's save: its aggregates with the events collected from them."""

    items: list[tuple[Any, list[Any]]]
    future: asyncio.Future[list[Any]] | None = None  # an event loop's caller
    woken: threading.Event = field(default_factory=threading.Event)  # a thread's caller
    result: list[Any] = field(default_factory=list)
    error: BaseException | None = None

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
        self._ready = threading.Condition()
        self._queue: list[Pending] = []
        self._thread: threading.Thread | None = None
        self._writing = False  # a transaction is under way (the writer's or a caller's)
        self._closed = False
        self.batches = 0  # transactions written (for tests and metrics)
        self.saves = 0  # saves written

    def save(self, *aggregates: Any) -> list[Any]:
        """Write the aggregates' pending events; returns once they are committed. With no
        write under way, the caller writes them itself (no hand-off to the writer)."""
        pending = _collect(aggregates)
        with self._ready:
            direct = not self._writing and not self._queue and not self._closed
            self._writing = self._writing or direct
        if not direct:
            self._enqueue(pending)
            pending.woken.wait()
            return pending.outcome()
        try:
            self._commit([pending])
        finally:
            with self._ready:
                self._writing = False
                self._ready.notify()  # the writer: saves may have queued meanwhile
        return pending.outcome()

    async def save_async(self, *aggregates: Any) -> list[Any]:
        """`save` for a coroutine: the loop goes on serving while the batch is written."""
        pending = _collect(aggregates)
        pending.future = asyncio.get_running_loop().create_future()
        self._enqueue(pending)
        return await pending.future

    def close(self) -> None:
        """Stop the writer once the queue is written."""
        with self._ready:
            self._closed = True
            self._ready.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _enqueue(self, pending: Pending) -> None:
        with self._ready:
            if self._closed:
                raise RuntimeError("the event store is closed")
            self._queue.append(pending)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _run(self) -> None:
        while True:
            with self._ready:
                while (not self._queue or self._writing) and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                while self._writing:  # closing: the last direct write ends first
                    self._ready.wait()
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
                self._writing = True
            try:
                self._commit(batch)
            finally:
                with self._ready:
                    self._writing = False
                _tell(batch)

    def _commit(self, batch: list[Pending]) -> None:
        try:
            recordings = self._write([item for pending in batch for item in pending.items])
        except Exception as error:
            if len(batch) == 1:
                batch[0].error = error
            else:
                self._one_by_one(batch)
            return
        except BaseException as error:  # never let the writer die: callers would wait forever
            for pending in batch:
                pending.error = error
            return
        self.batches += 1
        self.saves += len(batch)
        start = 0
        for pending in batch:
            count = sum(len(events) for _, events in pending.items)
            pending.result = recordings[start : start + count]
            start += count

    def _one_by_one(self, batch: list[Pending]) -> None:
        for number, pending in enumerate(batch):
            try:
                pending.result = self._write(pending.items)
            except Exception as error:
                pending.error = error
            except BaseException as error:  # interrupted: tell the rest too
                for rest in batch[number:]:
                    rest.error = error
                return
            self.batches += 1
            self.saves += 1


def _collect(aggregates: Sequence[Any]) -> Pending:
    return Pending([(aggregate, list(aggregate.collect_events())) for aggregate in aggregates])


def _tell(batch: list[Pending]) -> None:
    """Wake the batch's callers: threads at once, each event loop once for all of its own."""
    loops: dict[asyncio.AbstractEventLoop, list[Pending]] = {}
    for pending in batch:
        if pending.future is None:
            pending.woken.set()
        else:
            loops.setdefault(pending.future.get_loop(), []).append(pending)
    for loop, waiting in loops.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: no one left to tell
            loop.call_soon_threadsafe(_settle, waiting)


def _settle(waiting: list[Pending]) -> None:
    for pending in waiting:
        assert pending.future is not None
        if pending.future.done():  # the caller went away (canceled)
            continue
        if pending.error is not None:
            pending.future.set_exception(pending.error)
        else:
            pending.future.set_result(pending.result)
