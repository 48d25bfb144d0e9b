"""The one shape of background loop: the runner, leadership and the sender's slots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from projections.deliveries.view import PENDING, Outcome
from service.workers.leadership import Leadership
from service.workers.loop import Runner
from service.workers.sending import SendingLoop
from service.workers.waker import SOONEST, Waker, until_due

pytestmark = pytest.mark.anyio
LONG = 60.0  # an interval no test waits out: passes come from wakes


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Recorder:
    """A loop that records what happens to it; each pass does `work()` and reports it."""

    def __init__(self, name: str, log: list[str], work: Callable[[], int] = lambda: 0) -> None:
        self.name, self.log, self.work = name, log, work
        self.interval, self.waker, self.passes = LONG, Waker(), 0
        self.passed = asyncio.Event()

    def wake(self) -> None:
        self.waker.wake()

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def run_once(self) -> int:
        self.passes += 1
        self.passed.set()
        return self.work()

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")

    async def next_pass(self) -> None:
        self.passed.clear()
        await asyncio.wait_for(self.passed.wait(), 5)


async def test_a_loop_runs_a_pass_at_start_and_another_when_woken() -> None:
    loop = Recorder("a", [])
    runner = Runner([loop])
    await runner.start()
    await loop.next_pass()
    loop.wake()
    await loop.next_pass()
    await runner.stop()
    assert loop.passes == 2


async def test_many_wakes_during_a_pass_make_one_more_pass() -> None:
    gate = asyncio.Event()

    class Slow(Recorder):
        async def run_once(self) -> int:
            passes = await super().run_once()
            if self.passes == 1:
                await gate.wait()
            return passes

    loop = Slow("slow", [])
    runner = Runner([loop])
    await runner.start()
    await loop.next_pass()
    for _ in range(100):
        loop.wake()
    await asyncio.sleep(0)  # the wakes arrive while the first pass is still running
    gate.set()
    await loop.next_pass()
    await asyncio.sleep(0.05)  # time for a third pass, if one were coming
    await runner.stop()
    assert loop.passes == 2


async def test_loops_start_in_order_and_stop_in_reverse() -> None:
    log: list[str] = []
    runner = Runner([Recorder("first", log), Recorder("second", log)])
    await runner.start()
    await runner.stop()
    assert log == ["start first", "start second", "stop second", "stop first"]


async def test_stopping_lets_the_pass_in_progress_finish_within_the_grace() -> None:
    finished, entered = asyncio.Event(), asyncio.Event()

    class Dispatching(Recorder):
        async def run_once(self) -> int:
            entered.set()
            await asyncio.sleep(0.05)  # an upstream submit, say: never cut in half
            finished.set()
            return 1

    runner = Runner([Dispatching("d", [])], grace=LONG)
    await runner.start()
    await entered.wait()
    await runner.stop()
    assert finished.is_set()


async def test_a_pass_that_outlasts_the_grace_is_cut_and_its_loop_still_stops() -> None:
    entered, cut, log = asyncio.Event(), asyncio.Event(), []

    class Copying(Recorder):
        async def run_once(self) -> int:
            entered.set()
            try:
                await asyncio.Event().wait()  # a download that drips forever, say
            except asyncio.CancelledError:
                cut.set()
                raise
            return 1

    runner = Runner([Copying("mirror", log)], grace=0.0)
    await runner.start()
    await entered.wait()
    await runner.stop()
    assert cut.is_set()
    assert log == ["start mirror", "stop mirror"]


async def test_a_failing_pass_is_logged_and_retried(caplog: pytest.LogCaptureFixture) -> None:
    failures = iter([True, False])

    def work() -> int:
        if next(failures, False):
            raise OSError("the store blinked")
        return 0

    loop = Recorder("flaky", [], work)
    runner = Runner([loop], retry_after=0.0)
    with caplog.at_level(logging.ERROR):
        await runner.start()
        await loop.next_pass()
        loop.wake()
        await loop.next_pass()
        await runner.stop()
    assert loop.passes == 2
    assert "flaky pass failed; retrying" in caplog.text


async def test_a_pass_that_did_work_wakes_the_loops_that_follow_it() -> None:
    busy, idle = Recorder("view", [], work=lambda: 3), Recorder("reader", [])
    runner = Runner([busy, idle])
    runner.after_work("view", idle.wake)
    await runner.start()
    await idle.next_pass()  # its first pass
    busy.wake()
    await idle.next_pass()  # woken by the view's pass, not by its interval
    await runner.stop()


class FakeLock:
    def __init__(self, free: bool = True) -> None:
        self.free, self.held, self.alive, self.released = free, False, True, False

    def try_acquire(self) -> bool:
        self.held = self.held or self.free
        return self.held

    def still_held(self) -> bool:
        self.held = self.held and self.alive
        return self.held

    def release(self) -> None:
        self.held, self.released = False, True


async def test_leadership_runs_its_loops_only_while_it_holds_the_lock() -> None:
    log: list[str] = []
    lock, dispatcher = FakeLock(), Recorder("dispatcher", log)

    async def resume() -> None:
        log.append("resume")

    async def step_down() -> None:
        log.append("step down")

    leader = Leadership(lock, [dispatcher], on_lead=resume, on_step_down=step_down)  # type: ignore[arg-type]
    assert await leader.run_once() == 1
    assert leader.leading and leader.interval == leader.check
    await dispatcher.next_pass()
    lock.alive = False  # the lock's database session ended
    assert await leader.run_once() == 0
    assert not leader.leading and leader.interval == leader.retry
    await leader.stop()
    assert log == ["resume", "start dispatcher", "stop dispatcher", "step down", "step down"]
    assert lock.released


async def test_without_the_lock_nothing_is_led() -> None:
    lock, dispatcher = FakeLock(free=False), Recorder("dispatcher", [])
    leader = Leadership(lock, [dispatcher])  # type: ignore[arg-type]
    assert await leader.run_once() == 0
    leader.wake()  # a save: the dispatcher is not running here, nothing happens
    await leader.stop()
    assert dispatcher.passes == 0 and lock.released


class FakeSender:
    """Due deliveries are numbers; each request waits until the test lets it finish."""

    batch = 2

    def __init__(self, due: int, *, next_due: float | None = None) -> None:
        self.due, self.sent = list(range(due)), []
        self.answers: dict[int, asyncio.Event] = {}
        self.outcomes: dict[int, Outcome] = {}
        self.soonest = next_due  # when the view says the next delivery comes due

    def clock(self) -> float:
        return 1000.0

    async def next_due(self) -> float | None:
        return self.soonest

    async def claim(self, limit: int) -> list[tuple[Any, str]]:
        taken, self.due = self.due[:limit], self.due[limit:]
        return [(delivery, "token") for delivery in taken]

    async def deliver(self, delivery: int, token: str) -> Outcome | None:
        await self.answers.setdefault(delivery, asyncio.Event()).wait()
        self.sent.append(delivery)
        return self.outcomes.get(delivery)


async def test_the_sender_fills_its_slots_and_a_freed_slot_wakes_it() -> None:
    sender = FakeSender(due=5)
    loop = SendingLoop(sender, concurrency=3, interval=LONG)  # type: ignore[arg-type]
    loop.waker.bind()
    assert await loop.run_once() == 3  # every slot taken
    assert await loop.run_once() == 0
    sender.answers.setdefault(0, asyncio.Event()).set()
    await asyncio.wait_for(loop.waker.wait(LONG), 5)  # the finished request woke it
    assert await loop.run_once() == 1
    await loop.stop()  # the requests in flight are abandoned: their leases lapse
    assert sender.sent == [0] and sender.due == [4]


async def test_the_sender_sleeps_until_the_next_delivery_comes_due_and_no_longer() -> None:
    sender = FakeSender(due=0, next_due=1002.5)  # the clock says 1000.0
    loop = SendingLoop(sender, interval=LONG)  # type: ignore[arg-type]
    await loop.run_once()
    assert loop.interval == 2.5
    sender.soonest = None  # nothing pending: only a wake (or the safety net) starts a pass
    await loop.run_once()
    assert loop.interval == LONG
    sender.soonest = 900.0  # due already (under another sender's lease): no busy loop
    await loop.run_once()
    assert loop.interval == SOONEST


async def test_a_delivery_that_will_be_retried_wakes_the_sender_to_sleep_until_then() -> None:
    sender = FakeSender(due=1)
    sender.outcomes[0] = Outcome(PENDING, next_attempt_at=1001.0, status_code=500, error=None)
    loop = SendingLoop(sender, concurrency=3, interval=LONG)  # type: ignore[arg-type]
    loop.waker.bind()
    assert await loop.run_once() == 1
    sender.answers.setdefault(0, asyncio.Event()).set()
    await asyncio.wait_for(loop.waker.wait(LONG), 5)  # the retry's schedule woke it
    await loop.stop()


def test_until_due_compares_like_with_like_within_bounds() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert until_due(now + timedelta(seconds=3), now, 5.0) == 3.0
    assert until_due(now + timedelta(hours=1), now, 5.0) == 5.0
    assert until_due(None, now, 5.0) == 5.0
    assert until_due(10.0, 9.0, 5.0) == 1.0
    with pytest.raises(TypeError):
        until_due(10.0, now, 5.0)
