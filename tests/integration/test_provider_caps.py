"""Per-provider concurrency caps on a real store: over the cap a job waits `queued` (nothing
appended), it goes out first-submitted-first when a job of its provider ends, and the count is
rebuilt from the store by a dispatcher that takes over (intents included)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from projections.follower import Follower
from projections.inflight.projection import InflightProjection
from service.metrics import Metrics
from service.persistence.stores import build_inflight_view
from service.providers.base import Adapter, DispatchRequest, Submission
from service.runtime import build_dispatch_tracking, close_view
from service.workers.dispatcher import Dispatcher
from service.workers.parts import InflightBacklog
from service.workers.sweeper import Sweeper
from tests.helpers import SUBMISSION
from tests.integration.test_dispatch_reconciliation import after_the_wait

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class Crash(Exception):
    """The process dies here."""


@dataclass
class Upstream(Adapter):
    """Counts creates, in order; `crash` makes the next submit die before creating."""

    name: str = "fake"
    creates: list = field(default_factory=list)  # job ids
    crash: bool = False

    async def submit(self, request: DispatchRequest) -> Submission:
        if self.crash:
            self.crash = False
            raise Crash
        self.creates.append(request.job_id)
        return Submission(upstream_id=f"up-{len(self.creates)}")


@pytest.fixture
def tracking(settings):
    recorder = build_dispatch_tracking(settings)
    yield recorder
    close_view(recorder)


@pytest.fixture
def inflight(settings, gateway):
    view = build_inflight_view(settings)
    yield Follower(gateway, InflightProjection(view))
    close_view(view)


@pytest.fixture
def upstream():
    return Upstream()


@pytest.fixture
def new_dispatcher(gateway, tracking, inflight, upstream):
    """A dispatcher as the leader builds it (fake provider capped at `cap`), started."""

    async def build(cap: int = 2, **options) -> Dispatcher:
        inflight.run_once()
        backlog = InflightBacklog(inflight, inflight.projection.view)
        dispatcher = Dispatcher(
            gateway, tracking, {"fake": upstream}, caps={"fake": cap}, backlog=backlog, **options
        )
        await dispatcher.start()
        return dispatcher

    return build


def submit(gateway, n: int = 1) -> list:
    fields = {**SUBMISSION, "provider": "fake"}
    return [gateway.submit(**fields, idempotency_key=None)[0].id for _ in range(n)]


def complete(gateway, job_id) -> None:
    output = {"url": "/v1/videos/x/content", "bytes": 9, "sha256": "ab" * 32}
    gateway.record_stored_completion(job_id, output, "poll")


def created(upstream: Upstream) -> set:
    """The jobs created upstream (each once); a pass submits its jobs concurrently."""
    assert len(set(upstream.creates)) == len(upstream.creates)
    return set(upstream.creates)


def kinds(gateway, job_id) -> list[str]:
    return [type(e).__name__ for e in gateway.history(job_id)]


async def test_over_the_cap_jobs_wait_queued_with_nothing_appended(
    gateway, upstream, new_dispatcher
):
    jobs = submit(gateway, 5)
    dispatcher = await new_dispatcher(cap=2)
    await dispatcher.run_once()
    assert created(upstream) == set(jobs[:2])
    for waiting in jobs[2:]:
        assert kinds(gateway, waiting) == ["Submitted"]
        assert gateway.find_job(waiting).status == "queued"
    assert dispatcher.slot_counts() == {"fake": (2, 2, 3)}


async def test_a_job_that_ends_lets_the_next_in_line_go_first_submitted_first(
    gateway, upstream, new_dispatcher
):
    jobs = submit(gateway, 5)
    dispatcher = await new_dispatcher(cap=2)
    await dispatcher.run_once()
    complete(gateway, jobs[0])
    gateway.record_failure(jobs[1], "upstream_error", "it fell over", "webhook")
    await dispatcher.run_once()
    assert created(upstream) == set(jobs[:4])
    gateway.update_job(jobs[2], lambda job: job.cancel("client"))
    await dispatcher.run_once()
    assert created(upstream) == set(jobs)
    assert dispatcher.slot_counts() == {"fake": (2, 2, 0)}


async def test_a_queued_job_can_be_canceled_and_is_never_submitted(
    gateway, upstream, new_dispatcher
):
    first, waiting, last = submit(gateway, 3)
    dispatcher = await new_dispatcher(cap=1)
    await dispatcher.run_once()
    gateway.update_job(waiting, lambda job: job.cancel("client"))
    complete(gateway, first)
    await dispatcher.run_once()
    assert created(upstream) == set([first, last])
    assert kinds(gateway, waiting) == ["Submitted", "Canceled"]


async def test_jobs_submitted_while_the_line_is_full_join_its_back(
    gateway, upstream, new_dispatcher
):
    early = submit(gateway, 2)
    dispatcher = await new_dispatcher(cap=1)
    await dispatcher.run_once()
    late = submit(gateway, 2)
    await dispatcher.run_once()
    line = [*early, *late]
    for n, job_id in enumerate(line[:-1], start=1):
        assert upstream.creates == line[:n]  # one slot: one at a time, in submit order
        complete(gateway, job_id)
        await dispatcher.run_once()
    assert upstream.creates == line


async def test_a_dispatcher_that_takes_over_counts_the_slots_from_the_store(
    gateway, upstream, new_dispatcher
):
    jobs = submit(gateway, 4)
    await (await new_dispatcher(cap=2)).run_once()  # then this process dies
    successor = await new_dispatcher(cap=2)
    assert successor.slot_counts() == {"fake": (2, 2, 2)}
    await successor.run_once()
    assert created(upstream) == set(jobs[:2])  # nothing more: both slots are taken
    complete(gateway, jobs[0])
    await successor.run_once()
    assert created(upstream) == set(jobs[:3])


async def test_an_intent_without_dispatched_holds_a_slot_and_is_reconciled_on_takeover(
    gateway, upstream, new_dispatcher
):
    crashed, waiting = submit(gateway, 2)
    first = await new_dispatcher(cap=1)
    upstream.crash = True
    with pytest.raises(Crash):
        await first.run_once()  # the intent is saved, then the process dies
    assert kinds(gateway, crashed) == ["Submitted", "DispatchIntended"]
    successor = await new_dispatcher(cap=1)
    assert successor.slot_counts() == {"fake": (1, 1, 1)}
    await successor.run_once()  # within the wait for the crashed submit's outcome
    assert created(upstream) == set()  # it keeps its slot; the other still waits
    await successor.stop()
    later = await new_dispatcher(cap=1, clock=after_the_wait, resubmit_unknown=True)
    assert later.slot_counts() == {"fake": (1, 1, 1)}
    await later.run_once()
    assert created(upstream) == set([crashed])  # reconciled (resubmitted), the other still waits
    assert gateway.find_job(waiting).status == "queued"


async def test_a_lowered_cap_lets_nothing_out_until_it_is_met_again(
    gateway, upstream, new_dispatcher
):
    jobs = submit(gateway, 4)
    await (await new_dispatcher(cap=3)).run_once()
    successor = await new_dispatcher(cap=1)
    complete(gateway, jobs[0])
    await successor.run_once()
    assert created(upstream) == set(jobs[:3])  # two still hold slots: over the new cap of one
    complete(gateway, jobs[1])
    complete(gateway, jobs[2])
    await successor.run_once()
    assert created(upstream) == set(jobs)


async def test_other_providers_are_not_held_back(gateway, upstream, new_dispatcher):
    other = Upstream(name="other")
    dispatcher = await new_dispatcher(cap=1)
    dispatcher.providers = {"fake": upstream, "other": other}
    capped = submit(gateway, 3)
    free = [
        gateway.submit(**{**SUBMISSION, "provider": "other"}, idempotency_key=None)[0].id
        for _ in range(3)
    ]
    await dispatcher.run_once()
    assert created(upstream) == set(capped[:1]) and created(other) == set(free)


async def test_the_sweeper_leaves_waiting_jobs_to_the_dispatcher(
    gateway, upstream, inflight, new_dispatcher
):
    submit(gateway, 3)
    dispatcher = await new_dispatcher(cap=1)
    await dispatcher.run_once()
    inflight.run_once()
    later = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731
    swept = []

    async def hand_over(job_id) -> None:
        swept.append(job_id)

    sweeper = Sweeper(inflight.projection.view, hand_over, clock=later, capped=("fake",))
    assert await sweeper.run_once() == 0 and swept == []
    assert len(upstream.creates) == 1


async def test_a_waiting_job_handed_over_by_a_sweep_still_waits(gateway, upstream, new_dispatcher):
    first, waiting = submit(gateway, 2)
    dispatcher = await new_dispatcher(cap=1)
    await dispatcher.run_once()
    await dispatcher.dispatch(waiting)  # as an uncapped sweeper would
    await dispatcher.run_once()
    assert created(upstream) == set([first])


async def test_the_gauges_show_cap_in_flight_and_queued(gateway, upstream, new_dispatcher):
    submit(gateway, 3)
    dispatcher = await new_dispatcher(cap=2)
    metrics = Metrics()
    metrics.count_slots_with(dispatcher.slot_counts)
    await dispatcher.run_once()

    def gauge(name: str) -> float | None:
        return metrics.registry.get_sample_value(name, {"provider": "fake"})

    assert gauge("vidgate_provider_concurrency_cap") == 2
    assert gauge("vidgate_provider_inflight") == 2
    assert gauge("vidgate_provider_queued") == 1
    await dispatcher.stop()  # no longer leading: it counts nothing
    assert gauge("vidgate_provider_inflight") is None


async def test_without_caps_nothing_waits(gateway, tracking, upstream):
    jobs = submit(gateway, 4)
    dispatcher = Dispatcher(gateway, tracking, {"fake": upstream})
    await dispatcher.run_once()
    assert sorted(upstream.creates) == sorted(jobs)
