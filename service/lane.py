"""A lane: short blocking calls from the event loop, run by a few threads of their own.

`run_in_threadpool` costs a request more than a fast store read does: a capacity limiter, a
queue hand-off to one of 40 threads, and a wake-up of the loop per call. Reads of one job
(`GET /v1/videos/{id}`, a cached job fast-forwarded from the store: one query that mostly
finds nothing) queue here instead; the lane's thread runs everything queued, in order,
and wakes each waiting loop once for the whole batch. The thread sleeps while nothing is
queued (no idle cost). Only for calls that are short and never wait on each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _Call:
    call: Callable[[], Any]
    future: asyncio.Future[Any]
    result: Any = None
    error: BaseException | None = None


class Lane:
    def __init__(self, name: str = "lane", threads: int = 1) -> None:
        self._name = name
        self._threads = threads
        self._ready = threading.Condition()
        self._queue: list[_Call] = []
        self._workers: list[threading.Thread] = []
        self._closed = False

    async def run(self, call: Callable[[], T]) -> T:
        """`call()` in the lane's thread; its result (or its exception) here."""
        queued = _Call(call, asyncio.get_running_loop().create_future())
        with self._ready:
            if self._closed:
                raise RuntimeError(f"the {self._name} lane is closed")
            self._queue.append(queued)
            if not self._workers:
                self._start()
            self._ready.notify()
        result: T = await queued.future
        return result

    def close(self) -> None:
        """Stop the threads once what is queued has run."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()
        for worker in self._workers:
            worker.join()

    def _start(self) -> None:
        for number in range(self._threads):
            worker = threading.Thread(target=self._work, name=f"{self._name}-{number}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def _work(self) -> None:
        while True:
            with self._ready:
                while not self._queue and not self._closed:
                    self._ready.wait()
                if not self._queue:
                    return
                # A share of what waits, so the other threads (a server round trip each, on
                # PostgreSQL) take the rest at the same time.
                share = -(-len(self._queue) // self._threads)
                batch, self._queue = self._queue[:share], self._queue[share:]
                if self._queue:
                    self._ready.notify()
            for queued in batch:
                try:
                    queued.result = queued.call()
                except BaseException as error:  # handed to its caller, whatever it is
                    queued.error = error
            _wake(batch)


def _wake(batch: list[_Call]) -> None:
    loops: dict[asyncio.AbstractEventLoop, list[_Call]] = {}
    for queued in batch:
        loops.setdefault(queued.future.get_loop(), []).append(queued)
    for loop, calls in loops.items():
        with contextlib.suppress(RuntimeError):  # that loop is closed: no one left to tell
            loop.call_soon_threadsafe(_settle, calls)


def _settle(calls: list[_Call]) -> None:
    for queued in calls:
        if queued.future.done():  # the caller went away (canceled)
            continue
        if queued.error is not None:
            queued.future.set_exception(queued.error)
        else:
            queued.future.set_result(queued.result)
