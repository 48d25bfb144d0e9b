"""One contract for the `inflight` view (the poller's work list), on SQLite and PostgreSQL.

Projection tests record events through the Gateway and feed them to the view with a
Follower (no HTTP). Queue tests write rows as the projection would, with made-up times,
and then work them as pollers do.
"""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import hypothesis
import pytest
from eventsourcing.persistence import IntegrityError, Tracking
from hypothesis import strategies as st

from events.job import TERMINAL, Job, JobError
from projections.follower import Follower
from projections.inflight.postgres import PostgresInflightView
from projections.inflight.projection import InflightProjection
from projections.inflight.sqlite import SQLiteInflightView
from projections.inflight.view import InflightRow
from service.persistence.stores import build_inflight_view, build_view
from service.runtime import close_view
from tests.helpers import SUBMISSION

APP = "vidgate"
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
LEASE = 60.0
FIRST_POLL = {"fal": 5.0, "replicate": 20.0}
POLLED = ("fal", "replicate")


def first_poll(provider: str, model: str) -> float:
    return FIRST_POLL.get(provider, 10.0)


def deadline(provider: str, model: str) -> float:
    return 600.0 if model == "quick-model" else 3600.0


def sec(n: float) -> timedelta:
    return timedelta(seconds=n)


@pytest.fixture
def views(settings):
    """Opens more views on the same store (a restarted process, a second poller)."""
    opened = []

    def open_view(name: str = "inflight"):
        if name == "inflight":
            opened.append(build_inflight_view(settings))
        else:
            opened.append(build_view(settings, name, SQLiteInflightView, PostgresInflightView))
        return opened[-1]

    yield open_view
    for view in opened:
        close_view(view)


@pytest.fixture
def view(views):
    return views()


def projection_of(view, **options) -> InflightProjection:
    return InflightProjection(view=view, first_poll=first_poll, deadline=deadline, **options)


@pytest.fixture
def follow(gateway, view):
    """Brings the view up to date with the event log; returns how many events it handled."""
    return Follower(gateway, projection_of(view)).run_once


# recording events


def submit(gateway, provider="fal", model="kling-3-pro") -> Job:
    fields = {**SUBMISSION, "provider": provider, "model": model, "upstream_model": model}
    job, _ = gateway.submit(**fields, idempotency_key=None)
    return job


def dispatch(gateway, job, upstream_id="req-1", provider="fal") -> Job:
    return gateway.record_dispatch(job.id, provider, upstream_id)


def event_of(gateway, job, event_class, n=-1) -> Job.Event:
    return [e for e in gateway.history(job.id) if isinstance(e, event_class)][n]


def complete(gateway, job) -> None:
    output = {"url": "/v1/videos/x/content", "bytes": 9, "sha256": "ab" * 32}
    gateway.record_stored_completion(job.id, output, "poll")


def fail(gateway, job) -> None:
    gateway.record_failure(job.id, "upstream_error", "the model fell over", "webhook")


def cancel(gateway, job) -> None:
    gateway.update_job(job.id, lambda j: j.cancel("api"))


def delete(gateway, job) -> None:
    gateway.update_job(job.id, lambda j: j.delete("api"))


# writing rows directly, as the projection would


class Rows:
    """Adds jobs to the view with chosen times, each write with the next tracking position."""

    def __init__(self, view) -> None:
        self.view = view
        self.positions = itertools.count(1)

    def track(self) -> Tracking:
        return Tracking(APP, next(self.positions))

    def submitted(self, at=T0, provider="fal", model="kling-3-pro") -> UUID:
        job_id = uuid4()
        self.view.add_submitted(job_id, "acme", model, provider, at, self.track())
        return job_id

    def dispatched(self, at=T0, provider="fal", poll_in=10.0, upstream_id="req-1") -> UUID:
        job_id = self.submitted(at - sec(1), provider)
        self.view.mark_dispatched(
            job_id, provider, upstream_id, at, at + sec(poll_in), at + sec(3600), self.track()
        )
        return job_id


@pytest.fixture
def rows(view) -> Rows:
    return Rows(view)


def ids(found: list[InflightRow]) -> list[UUID]:
    return [row.job_id for row in found]


# the projection


def test_a_submitted_job_waits_undispatched_with_nothing_to_poll(gateway, view, follow):
    job = submit(gateway, model="hailuo-02")
    follow()
    submitted = event_of(gateway, job, Job.Submitted)
    assert view.get(job.id) == InflightRow(
        job_id=job.id,
        tenant="acme",
        model="hailuo-02",
        provider="fal",
        upstream_id=None,
        submitted_at=submitted.timestamp,
        dispatched_at=None,
        last_signal_at=None,
        next_poll_at=None,
        polls=0,
        deadline_at=None,
    )


def test_dispatch_sets_the_upstream_task_first_poll_and_deadline_from_the_event_time(
    gateway, view, follow
):
    job = submit(gateway, model="quick-model")
    dispatch(gateway, job, "req-42")
    follow()
    at = event_of(gateway, job, Job.Dispatched).timestamp
    row = view.get(job.id)
    assert (row.upstream_id, row.dispatched_at, row.last_signal_at) == ("req-42", at, at)
    assert (row.next_poll_at, row.deadline_at, row.polls) == (at + sec(5), at + sec(600), 0)


def test_progress_by_webhook_is_a_signal_and_leaves_the_schedule_alone(gateway, view, follow):
    job = submit(gateway)
    dispatch(gateway, job)
    follow()
    scheduled = view.get(job.id).next_poll_at
    gateway.record_progress(job.id, 30, "webhook")
    gateway.record_progress(job.id, 60, "poll")  # what the poller found is no sign of life
    follow()
    row = view.get(job.id)
    assert row.last_signal_at == event_of(gateway, job, Job.Progressed, 0).timestamp
    assert row.next_poll_at == scheduled


def test_progress_before_the_dispatch_is_recorded_and_the_dispatch_never_moves_it_back(
    gateway, view, follow
):
    job = submit(gateway)
    gateway.record_progress(job.id, 10, "webhook")  # the upstream's webhook beat our save
    follow()
    assert view.get(job.id).last_signal_at == event_of(gateway, job, Job.Progressed).timestamp
    dispatch(gateway, job)
    follow()
    assert view.get(job.id).last_signal_at == event_of(gateway, job, Job.Dispatched).timestamp


@pytest.mark.parametrize("finish", [complete, fail, cancel, delete])
def test_every_way_a_job_ends_takes_it_out_of_the_view(gateway, view, follow, finish):
    waiting, running = submit(gateway), submit(gateway)
    dispatch(gateway, running)
    follow()
    finish(gateway, waiting)
    finish(gateway, running)
    follow()
    assert (view.get(waiting.id), view.get(running.id)) == (None, None)
    assert view.count_by_provider() == {}


def test_a_deletion_on_its_own_also_takes_the_job_out(rows, view):
    job = Job(**{**SUBMISSION, "provider": "fal"}, idempotency_key=None)
    job.dispatch("fal", "req-1")
    projection = projection_of(view)
    for event in job.collect_events():
        projection.process_event(event, rows.track())
    job.delete("api")
    _canceled, deleted = job.collect_events()
    assert isinstance(deleted, Job.Deleted)
    projection.process_event(deleted, rows.track())
    assert view.get(job.id) is None


def test_jobs_of_untracked_providers_never_enter_the_view(gateway, view, follow):
    local = submit(gateway, provider="local")
    dispatch(gateway, local, "local-1", provider="local")
    gateway.record_progress(local.id, 50, "local")
    assert follow() == 3
    assert view.get(local.id) is None
    assert view.count_by_provider() == {}


def test_the_untracked_providers_are_configurable(gateway, view):
    fal, local = submit(gateway), submit(gateway, provider="local")
    Follower(gateway, projection_of(view, untracked={"fal"})).run_once()
    assert view.get(fal.id) is None
    assert view.get(local.id).provider == "local"


def test_a_job_handed_to_an_untracked_provider_leaves_the_view(gateway, view, follow):
    job = submit(gateway)
    dispatch(gateway, job, "local-1", provider="local")
    follow()
    assert view.get(job.id) is None


def test_a_redispatch_records_the_new_upstream_task_and_polls_it_from_the_start(
    gateway, view, follow
):
    job = submit(gateway)
    dispatch(gateway, job, "req-1")
    follow()
    view.reschedule(job.id, T0, polled=True)
    dispatch(gateway, job, "req-2", provider="replicate")
    follow()
    at = event_of(gateway, job, Job.Dispatched).timestamp
    row = view.get(job.id)
    assert (row.provider, row.upstream_id, row.polls) == ("replicate", "req-2", 0)
    assert (row.dispatched_at, row.next_poll_at) == (at, at + sec(20))


def test_unfinished_jobs_are_counted_per_provider(gateway, view, follow):
    for provider in ("fal", "fal", "replicate", "local"):
        submit(gateway, provider=provider)
    dispatch(gateway, submit(gateway))
    complete(gateway, submit(gateway, provider="replicate"))
    follow()
    assert view.count_by_provider() == {"fal": 3, "replicate": 1}


# exactly once, and replays


def test_processing_the_same_events_again_changes_nothing(gateway, view, views, follow):
    job = submit(gateway)
    dispatch(gateway, job)
    gateway.record_progress(job.id, 10, "webhook")
    handled = follow()
    before = view.get(job.id)
    assert handled == 3
    assert Follower(gateway, projection_of(view)).run_once() == 0
    assert Follower(gateway, projection_of(views())).run_once() == 0  # a restarted process
    projection = projection_of(view)
    notifications = gateway.recorder.select_notifications(
        start=None, limit=100, topics=projection.topics
    )
    for notification in notifications:  # a racing follower that read an old position
        event = gateway.mapper.to_domain_event(notification)
        with pytest.raises(IntegrityError):
            projection.process_event(event, Tracking(gateway.name, notification.id))
    assert view.get(job.id) == before
    assert view.max_tracking_id(gateway.name) == notifications[-1].id


def test_events_the_view_ignores_still_move_its_position(gateway, view, follow):
    job = submit(gateway, provider="local")
    gateway.record_progress(job.id, 10, "local")
    follow()
    assert view.max_tracking_id(gateway.name) == gateway.recorder.max_notification_id()


def test_replaying_the_log_into_a_new_view_rebuilds_the_same_table(gateway, view, views, follow):
    jobs = [submit(gateway, provider=p) for p in ("fal", "replicate", "local", "fal")]
    dispatch(gateway, jobs[0])
    gateway.record_progress(jobs[0].id, 20, "poll")
    dispatch(gateway, jobs[1], "pred-1", provider="replicate")
    fail(gateway, jobs[3])
    handled = follow()
    rebuilt = views("inflight_v2")
    assert Follower(gateway, projection_of(rebuilt)).run_once() == handled
    for job in jobs:
        assert rebuilt.get(job.id) == view.get(job.id)
    assert rebuilt.count_by_provider() == view.count_by_provider() == {"fal": 1, "replicate": 1}


# the queue


def test_claim_takes_only_due_dispatched_jobs_and_leases_them(rows, view):
    due, later = rows.dispatched(poll_in=10), rows.dispatched(poll_in=30)
    rows.submitted(T0 - sec(100))  # never dispatched: nothing to poll
    assert view.claim_due(T0 + sec(9), 10, LEASE, POLLED) == []
    now = T0 + sec(10)
    (claimed,) = view.claim_due(now, 10, LEASE, POLLED)
    assert claimed.job_id == due
    assert claimed.next_poll_at == view.get(due).next_poll_at == now + sec(LEASE)
    assert view.get(later).next_poll_at == T0 + sec(30)


def test_a_lease_holds_against_other_claimers_until_it_runs_out(rows, view, views):
    job_id = rows.dispatched()
    now = T0 + sec(10)
    assert ids(view.claim_due(now, 10, LEASE, POLLED)) == [job_id]
    other = views()
    assert other.claim_due(now + sec(LEASE - 1), 10, LEASE, POLLED) == []
    assert ids(other.claim_due(now + sec(LEASE), 10, LEASE, POLLED)) == [job_id]


def test_claim_serves_only_the_pollers_providers(rows, view):
    fal, replicate = rows.dispatched(provider="fal"), rows.dispatched(provider="replicate")
    rows.dispatched(provider="luma")
    now = T0 + sec(60)
    assert view.claim_due(now, 10, LEASE, []) == []
    assert ids(view.claim_due(now, 10, LEASE, {"fal"})) == [fal]
    assert ids(view.claim_due(now, 10, LEASE, ["replicate", "fal"])) == [replicate]


def test_claim_takes_the_most_overdue_first_up_to_the_limit(rows, view):
    jobs = [rows.dispatched(poll_in=n) for n in (30, 10, 20, 40)]
    now = T0 + sec(60)
    assert set(ids(view.claim_due(now, 2, LEASE, POLLED))) == {jobs[1], jobs[2]}
    assert set(ids(view.claim_due(now, 1, LEASE, POLLED))) == {jobs[0]}
    assert view.claim_due(now, 0, LEASE, POLLED) == []
    assert ids(view.claim_due(now, 5, LEASE, POLLED)) == [jobs[3]]


def test_the_next_poll_due_is_the_soonest_of_the_pollers_providers(rows, view):
    assert view.next_poll_due(POLLED) is None  # nothing dispatched: the poller may sleep
    rows.submitted(T0)  # not dispatched: no poll to make
    assert view.next_poll_due(POLLED) is None
    rows.dispatched(provider="fal", poll_in=30)
    rows.dispatched(provider="replicate", poll_in=10)
    assert view.next_poll_due(POLLED) == T0 + sec(10)
    assert view.next_poll_due({"fal"}) == T0 + sec(30)
    assert view.next_poll_due([]) is None
    view.claim_due(T0 + sec(10), 1, LEASE, {"replicate"})  # leased: due when the lease ends
    assert view.next_poll_due({"replicate"}) == T0 + sec(10 + LEASE)


def test_reschedule_sets_the_next_poll_and_counts_status_calls(rows, view):
    job_id = rows.dispatched()
    (claimed,) = view.claim_due(T0 + sec(10), 1, LEASE, POLLED)
    assert view.reschedule(job_id, T0 + sec(25), polled=True)
    assert view.reschedule(job_id, T0 + sec(45), polled=True)
    assert view.reschedule(job_id, T0 + sec(30), polled=False)  # e.g. a provider's Retry-After
    row = view.get(job_id)
    assert (row.polls, row.next_poll_at) == (2, T0 + sec(30))
    assert view.claim_due(T0 + sec(29), 1, LEASE, POLLED) == []
    (again,) = view.claim_due(T0 + sec(30), 1, LEASE, POLLED)
    assert again.polls == 2 and claimed.polls == 0


def test_rescheduling_a_job_that_ended_meanwhile_changes_nothing(rows, view):
    job_id = rows.dispatched()
    view.claim_due(T0 + sec(10), 1, LEASE, POLLED)
    view.remove(job_id, rows.track())
    assert not view.reschedule(job_id, T0 + sec(20), polled=True)
    assert view.get(job_id) is None


def test_undispatched_lists_jobs_submitted_before_a_time_oldest_first(rows, view):
    old, older = rows.submitted(T0 - sec(60)), rows.submitted(T0 - sec(120))
    rows.submitted(T0)  # not before T0
    rows.dispatched(T0 - sec(300))
    assert ids(view.undispatched(T0, 10)) == [older, old]
    assert ids(view.undispatched(T0, 1)) == [older]
    assert view.undispatched(T0 - sec(120), 10) == []


def test_undispatched_leaves_out_the_providers_it_is_told_to_skip(rows, view):
    capped = rows.submitted(T0 - sec(120), provider="luma")
    other = rows.submitted(T0 - sec(60))
    assert ids(view.undispatched(T0, 10, skip=("luma",))) == [other]
    assert ids(view.undispatched(T0, 10, skip=("luma", "fal"))) == []
    assert ids(view.undispatched(T0, 10)) == [capped, other]


def test_unfinished_lists_a_providers_jobs_dispatched_or_not_first_submitted_first(rows, view):
    later = rows.submitted(T0)
    dispatched = rows.dispatched(T0 - sec(30))  # submitted a second before
    earliest = rows.submitted(T0 - sec(60))
    rows.submitted(T0 - sec(90), provider="luma")
    found = view.unfinished("fal")
    assert ids(found) == [earliest, dispatched, later]
    assert [row.upstream_id for row in found] == [None, "req-1", None]
    assert view.unfinished("kling") == []


def test_stale_lists_dispatched_jobs_quiet_for_too_long_quietest_first(rows, view):
    quiet = rows.dispatched(T0)
    quieter = rows.dispatched(T0 - sec(30))
    talking = rows.dispatched(T0 - sec(60))
    view.mark_signal(talking, T0 + sec(50), rows.track())
    elsewhere = rows.dispatched(T0 - sec(90), provider="luma")
    rows.submitted(T0 - sec(500))  # not dispatched: that is `undispatched`'s business
    now, quiet_for = T0 + sec(100), sec(60)
    assert ids(view.stale(now, quiet_for, 10, POLLED)) == [quieter, quiet]
    assert ids(view.stale(now, quiet_for, 1, POLLED)) == [quieter]
    assert ids(view.stale(now, quiet_for, 10, {"luma"})) == [elsewhere]
    assert view.stale(now, quiet_for, 10, ()) == []


def test_a_signal_never_moves_last_signal_at_back(rows, view):
    job_id = rows.dispatched(T0)
    view.mark_signal(job_id, T0 + sec(20), rows.track())
    view.mark_signal(job_id, T0 + sec(10), rows.track())  # a writer with a slower clock
    assert view.get(job_id).last_signal_at == T0 + sec(20)


def test_an_unknown_job_reads_as_none_and_its_signals_change_nothing(rows, view):
    job_id = uuid4()
    view.mark_signal(job_id, T0, rows.track())
    view.mark_dispatched(job_id, "fal", "r", T0, T0, T0, rows.track())
    assert view.get(job_id) is None
    assert not view.reschedule(job_id, T0, polled=True)


def test_naive_datetimes_are_refused(rows, view):
    with pytest.raises(ValueError, match="naive"):
        view.claim_due(datetime(2030, 1, 1), 1, LEASE, POLLED)


# concurrency


def test_concurrent_pollers_never_claim_the_same_job(rows, view, views):
    due = {rows.dispatched(poll_in=n % 7) for n in range(60)}
    pollers = [views() for _ in range(3)]
    for round_ in range(15):
        now = T0 + sec(1000 * (round_ + 1))
        claimed = claim_concurrently(pollers, now)
        everything = [job_id for batch in claimed for job_id in batch]
        assert len(everything) == len(set(everything)), f"round {round_}: a job claimed twice"
        assert set(everything) == due
        for job_id in everything:  # polled: due again next round
            view.reschedule(job_id, now + sec(LEASE), polled=True)
    assert {view.get(job_id).polls for job_id in due} == {15}


def claim_concurrently(pollers, now) -> list[list[UUID]]:
    """Every poller claims small batches in a loop, all starting at once."""
    start = threading.Barrier(len(pollers))
    claimed: list[list[UUID]] = [[] for _ in pollers]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            while batch := pollers[n].claim_due(now, 4, LEASE, POLLED):
                claimed[n].extend(ids(batch))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(pollers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return claimed


# any interleaving

PROVIDERS = ("fal", "replicate", "local")
COMMANDS = ("dispatch", "redispatch", "progress", "complete", "fail", "cancel", "delete")


def run(job: Job, command: str, step: int) -> None:
    """A command as the gateway's edges issue it; refusals and no-ops record nothing."""
    try:
        if command in ("dispatch", "redispatch"):
            job.dispatch(job.provider, f"up-{step if command == 'redispatch' else 0}")
        elif command == "progress":
            job.progress_to(step, "webhook" if step % 2 else "poll")
        elif command == "complete":
            job.complete({"url": "u"}, "poll")
        elif command == "fail":
            job.fail("timeout", "took too long", "poller")
        elif command == "cancel":
            job.cancel("api")
        else:
            job.delete("api")
    except JobError:
        pass


interleavings = st.tuples(
    st.lists(st.sampled_from(PROVIDERS), min_size=1, max_size=5),
    st.lists(st.tuples(st.integers(0, 4), st.sampled_from(COMMANDS)), max_size=30),
)


@pytest.fixture
def positions():
    return itertools.count(1)  # one tracking sequence across all examples on one view


@hypothesis.settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(plan=interleavings)
def test_the_view_holds_exactly_the_unfinished_jobs_of_tracked_providers(view, positions, plan):
    providers, steps = plan
    jobs = [Job(**{**SUBMISSION, "provider": p}, idempotency_key=None) for p in providers]
    log: list[Job.Event] = []
    for step, (n, command) in enumerate(steps, start=1):
        job = jobs[n % len(jobs)]
        run(job, command, step)
        log.extend(job.collect_events())  # a job's Submitted goes out when it is first used
    for job in jobs:
        log.extend(job.collect_events())  # submitted, and nothing happened since
    projection = projection_of(view)
    for event in log:
        projection.process_event(event, Tracking(APP, next(positions)))

    for job in jobs:
        row = view.get(job.id)
        if job.provider == "local" or job.status in TERMINAL:
            assert row is None
            continue
        dispatches = [e for e in log if e.originator_id == job.id and isinstance(e, Job.Dispatched)]
        assert row.upstream_id == job.upstream_id
        if dispatches:
            at = dispatches[-1].timestamp
            assert (row.dispatched_at, row.polls) == (at, 0)
            assert row.next_poll_at == at + sec(first_poll(job.provider, job.model))
            assert row.last_signal_at >= at
        else:
            assert row.next_poll_at is row.dispatched_at is None


def test_ended_jobs_hand_out_their_status_call_count_once(view, rows) -> None:  # type: ignore[no-untyped-def]
    job_id = uuid4()
    view.add_submitted(job_id, "t", "veo-3.1", "veo", T0, rows.track())
    view.mark_dispatched(job_id, "veo", "op", T0, T0, T0 + timedelta(hours=1), rows.track())
    for _ in range(3):
        view.reschedule(job_id, T0, polled=True)
    view.remove(job_id, rows.track(), finished_at=T0 + timedelta(seconds=30))
    assert view.get(job_id) is None
    (finished,) = view.take_finished(10)
    assert (finished.job_id, finished.provider, finished.polls) == (job_id, "veo", 3)
    assert finished.finished_at == T0 + timedelta(seconds=30)
    assert view.take_finished(10) == []


def test_jobs_removed_without_ending_or_never_dispatched_are_not_counted(view, rows) -> None:  # type: ignore[no-untyped-def]
    undispatched, handed_over = uuid4(), uuid4()
    view.add_submitted(undispatched, "t", "veo-3.1", "veo", T0, rows.track())
    view.add_submitted(handed_over, "t", "veo-3.1", "veo", T0, rows.track())
    view.mark_dispatched(handed_over, "veo", "op", T0, T0, T0, rows.track())
    view.remove(undispatched, rows.track(), finished_at=T0)  # canceled before dispatch
    view.remove(handed_over, rows.track())  # not an ending (e.g. re-routed)
    assert view.take_finished(10) == []


def test_the_projection_counts_a_completed_job_once(gateway, view, follow) -> None:  # type: ignore[no-untyped-def]
    job = dispatch(gateway, submit(gateway))
    follow()
    view.reschedule(job.id, T0, polled=True)
    complete(gateway, job)
    follow()
    assert [(r.job_id, r.polls) for r in view.take_finished(10)] == [(job.id, 1)]
