"""One contract for the `deliveries` view, on SQLite and on PostgreSQL.

Deliveries come from the real projection: events are recorded through the Gateway and fed
to the view by a Follower (no HTTP). The queue is then worked as the sender works it.
"""

from __future__ import annotations

import json
import threading
import time
from uuid import UUID, uuid4

import pytest
from eventsourcing.persistence import IntegrityError, Tracking

from events.endpoint import EVENT_FILTERS
from events.ids import video_id
from events.job import Job
from projections.deliveries.postgres import PostgresDeliveriesView
from projections.deliveries.projection import DeliveriesProjection, message_id
from projections.deliveries.sqlite import SQLiteDeliveriesView
from projections.deliveries.view import (
    ABANDONED,
    FAILED,
    PENDING,
    SUCCEEDED,
    AttemptRow,
    DeliveryRow,
    Outcome,
)
from projections.follower import Follower
from service.persistence.stores import build_view
from service.runtime import close_view
from service.webhooks.policy import AttemptResult, decide
from tests.helpers import SUBMISSION

JOB_HOOK = "https://hooks.example/job"
PUBLIC_URL = "https://videos.example.com/"
LEASE = 60.0


@pytest.fixture
def views(settings):
    """Opens more views on the same store (a restarted process, a second sender)."""
    opened = []

    def open_view():
        opened.append(
            build_view(settings, "deliveries", SQLiteDeliveriesView, PostgresDeliveriesView)
        )
        return opened[-1]

    yield open_view
    for view in opened:
        close_view(view)


@pytest.fixture
def view(views):
    return views()


def projection_of(view) -> DeliveriesProjection:
    projection = DeliveriesProjection(view=view)
    projection.public_url = PUBLIC_URL
    return projection


@pytest.fixture
def follow(gateway, view):
    """Brings the view up to date with the event log; returns how many events it handled."""
    return Follower(gateway, projection_of(view)).run_once


# recording events


def submit(gateway, tenant="acme", hook_events=None) -> Job:
    webhook = None if hook_events is None else {"url": JOB_HOOK, "events": list(hook_events)}
    fields = {**SUBMISSION, "tenant": tenant, "webhook": webhook}
    job, _ = gateway.submit(**fields, idempotency_key=None)
    return job


def register(gateway, url, events=EVENT_FILTERS, tenant="acme", enabled=True):
    return gateway.register_endpoint(
        tenant=tenant, url=url, events=list(events), description="", enabled=enabled
    )


def complete(gateway, job) -> Job:
    output = {"url": f"/v1/videos/{video_id(job.id)}/content", "bytes": 9, "sha256": "ab" * 32}
    return gateway.record_stored_completion(job.id, output, "test")


def fail(gateway, job) -> Job:
    return gateway.record_failure(job.id, "upstream_error", "the model fell over", "test")


def last_event(gateway, job, event_class) -> Job.Event:
    return [e for e in gateway.history(job.id) if isinstance(e, event_class)][-1]


# reading the view


def kinds(rows: list[DeliveryRow]) -> list[str]:
    return [row.event_type for row in rows]


def of_target(rows, endpoint=None) -> list[DeliveryRow]:
    wanted = endpoint.id.hex if endpoint is not None else None
    return [row for row in rows if row.endpoint_id == wanted]


def statuses(view, rows) -> list[str]:
    return [view.get_delivery(row.delivery_id).status for row in rows]


# working the queue


def _failure(delivery, at):
    """An attempt that got a 500, and what the policy makes of it."""
    outcome = decide(delivery, AttemptResult(500), at, lambda: 0.5)
    return attempt_of(delivery, at, outcome), outcome


def _exhausted(delivery, at):
    """A 500 on the last scheduled attempt."""
    outcome = Outcome(FAILED, at, 500, "HTTP 500")
    return attempt_of(delivery, at, outcome), outcome


def attempt_of(delivery, at, outcome, trigger="scheduled") -> AttemptRow:
    return AttemptRow(
        attempt_id=f"att_{uuid4().hex}",
        delivery_id=delivery.delivery_id,
        msg_id=delivery.msg_id,
        attempted_at=at,
        status_code=outcome.status_code,
        latency_ms=12.5,
        response="ok" if outcome.status == SUCCEEDED else "nope",
        error=outcome.error,
        trigger=trigger,
    )


def answer(view, delivery, token, at, code) -> Outcome:
    """The sender's bookkeeping for an attempt that got HTTP `code`, without jitter."""
    outcome = decide(delivery, AttemptResult(code), at, lambda: 0.5)
    view.finish(delivery, token, attempt_of(delivery, at, outcome), outcome)
    return outcome


def failed_deliveries(gateway, follow, view, endpoints=1, jobs=1) -> list[DeliveryRow]:
    """`endpoints × jobs` due deliveries of `failed` job events, oldest first."""
    hooks = [register(gateway, f"https://hooks.example/{n}", ["failed"]) for n in range(endpoints)]
    for _ in range(jobs):
        fail(gateway, submit(gateway))
    follow()
    rows = [row for hook in hooks for row in view.deliveries_of_endpoint(hook.id.hex, 1000)]
    assert len(rows) == endpoints * jobs
    return sorted(rows, key=lambda row: (row.created_at, row.delivery_id))


# who gets told what


def test_a_job_webhook_gets_deliveries_only_for_the_kinds_it_asked_for(gateway, view, follow):
    job = submit(gateway, hook_events=["completed", "failed"])
    gateway.record_progress(job.id, 40, "test")
    complete(gateway, job)
    follow()
    rows = view.deliveries_of_job(job.id.hex)
    assert kinds(rows) == ["completed"]
    assert (rows[0].url, rows[0].endpoint_id, rows[0].tenant) == (JOB_HOOK, None, "acme")


def test_a_delivery_carries_the_event_as_a_standard_payload_with_an_absolute_output_url(
    gateway, view, follow
):
    job = submit(gateway, hook_events=["completed"])
    complete(gateway, job)
    follow()
    (row,) = view.deliveries_of_job(job.id.hex)
    completed = last_event(gateway, job, Job.Completed)
    assert (row.msg_id, row.sequence) == (message_id(completed), completed.originator_version)
    assert (row.status, row.attempts, row.manual, row.lease_token) == (PENDING, 0, False, None)
    assert row.created_at == row.next_attempt_at == completed.timestamp.timestamp()
    assert json.loads(row.payload) == {
        "type": "video.completed",
        "video_id": video_id(job.id),
        "status": "completed",
        "progress": 100,
        "output_url": f"https://videos.example.com/v1/videos/{video_id(job.id)}/content",
        "error": None,
        "sequence": completed.originator_version,
        "occurred_at": completed.timestamp.isoformat(),
    }


def test_one_event_has_one_msg_id_on_every_target_and_one_delivery_per_target(
    gateway, view, follow
):
    first = register(gateway, "https://hooks.example/a")
    second = register(gateway, "https://hooks.example/b", ["failed"])
    job = submit(gateway, hook_events=["failed"])
    gateway.record_progress(job.id, 40, "test")
    fail(gateway, job)
    follow()
    failed = last_event(gateway, job, Job.Failed)
    rows = [row for row in view.deliveries_of_job(job.id.hex) if row.event_type == "failed"]
    assert {row.endpoint_id for row in rows} == {None, first.id.hex, second.id.hex}
    assert {row.msg_id for row in rows} == {message_id(failed)}
    assert len({row.delivery_id for row in rows}) == 3
    assert {row.sequence for row in rows} == {failed.originator_version}
    payload = json.loads(rows[0].payload)
    assert (payload["type"], payload["status"], payload["progress"]) == (
        "video.failed",
        "failed",
        40,
    )
    assert payload["error"] == {"code": "upstream_error", "message": "the model fell over"}
    assert payload["output_url"] is None


def test_the_message_id_is_stable_for_an_event_and_distinct_between_events(gateway, view, follow):
    job = submit(gateway, hook_events=["progress"])
    for percent in (10, 20):
        gateway.record_progress(job.id, percent, "test")
    follow()
    progressed = [e for e in gateway.history(job.id) if isinstance(e, Job.Progressed)]
    rows = view.deliveries_of_job(job.id.hex)
    assert [row.msg_id for row in rows] == [message_id(e) for e in progressed]
    assert [row.sequence for row in rows] == [e.originator_version for e in progressed]
    assert rows[0].msg_id != rows[1].msg_id
    assert message_id(gateway.history(job.id)[1]) == rows[0].msg_id


def test_registered_endpoints_of_the_tenant_get_the_kinds_they_subscribed_to(gateway, view, follow):
    done = register(gateway, "https://hooks.example/done", ["completed"])
    moving = register(gateway, "https://hooks.example/moving", ["progress"])
    everything = register(gateway, "https://hooks.example/all")
    job = submit(gateway)
    gateway.record_progress(job.id, 50, "test")
    complete(gateway, job)
    follow()
    rows = view.deliveries_of_job(job.id.hex)
    assert kinds(of_target(rows, done)) == ["completed"]
    assert kinds(of_target(rows, moving)) == ["progress"]
    assert kinds(of_target(rows, everything)) == ["progress", "completed"]
    assert of_target(rows) == []  # no per-job webhook
    assert {row.url for row in of_target(rows, done)} == {"https://hooks.example/done"}


def test_changing_an_endpoints_events_changes_what_it_gets_next(gateway, view, follow):
    endpoint = register(gateway, "https://hooks.example/a", ["completed"])
    gateway.update_endpoint(endpoint.id, lambda e: e.update(events=["failed"]))
    completed, failed = submit(gateway), submit(gateway)
    complete(gateway, completed)
    fail(gateway, failed)
    follow()
    assert kinds(view.deliveries_of_endpoint(endpoint.id.hex, 10)) == ["failed"]
    assert view.get_endpoint(endpoint.id.hex).events == ["failed"]


def test_another_tenants_endpoint_never_gets_a_delivery(gateway, view, follow):
    theirs = register(gateway, "https://hooks.example/theirs", tenant="other")
    ours = register(gateway, "https://hooks.example/ours")
    job = submit(gateway, hook_events=list(EVENT_FILTERS))
    gateway.record_progress(job.id, 10, "test")
    fail(gateway, job)
    follow()
    assert view.deliveries_of_endpoint(theirs.id.hex, 100) == []
    assert kinds(view.deliveries_of_endpoint(ours.id.hex, 100)) == ["failed", "progress"]
    assert {row.tenant for row in view.deliveries_of_job(job.id.hex)} == {"acme"}
    assert [e.endpoint_id for e in view.endpoints_of("other")] == [theirs.id.hex]


def test_a_disabled_or_deleted_endpoint_gets_nothing_and_its_waiting_deliveries_are_abandoned(
    gateway, view, follow
):
    disabled = register(gateway, "https://hooks.example/disabled")
    deleted = register(gateway, "https://hooks.example/deleted")
    never = register(gateway, "https://hooks.example/never", enabled=False)
    kept = register(gateway, "https://hooks.example/kept")
    job = submit(gateway)
    fail(gateway, submit(gateway))
    gateway.record_progress(job.id, 10, "test")
    follow()
    waiting = view.deliveries_of_endpoint(disabled.id.hex, 10)
    waiting += view.deliveries_of_endpoint(deleted.id.hex, 10)
    assert statuses(view, waiting) == [PENDING] * 4
    gateway.update_endpoint(disabled.id, lambda e: e.update(enabled=False))
    gateway.update_endpoint(deleted.id, lambda e: e.delete("api"))
    complete(gateway, job)
    follow()
    assert statuses(view, waiting) == [ABANDONED] * 4
    assert {view.get_delivery(row.delivery_id).last_error for row in waiting} == {
        "endpoint disabled"
    }
    for endpoint in (disabled, deleted):
        assert "completed" not in kinds(view.deliveries_of_endpoint(endpoint.id.hex, 10))
    assert view.deliveries_of_endpoint(never.id.hex, 10) == []
    assert kinds(view.deliveries_of_endpoint(kept.id.hex, 10)) == [
        "completed",
        "progress",
        "failed",
    ]
    assert [e.endpoint_id for e in view.endpoints_of("acme")] == sorted(
        e.id.hex for e in (disabled, never, kept)
    )


def test_an_endpoint_enabled_again_gets_the_next_events(gateway, view, follow):
    endpoint = register(gateway, "https://hooks.example/a", enabled=False)
    fail(gateway, submit(gateway))
    gateway.update_endpoint(endpoint.id, lambda e: e.update(enabled=True))
    fail(gateway, submit(gateway))
    follow()
    assert len(view.deliveries_of_endpoint(endpoint.id.hex, 10)) == 1
    assert view.get_endpoint(endpoint.id.hex).enabled


def test_a_delivery_in_flight_when_its_endpoint_is_disabled_is_abandoned_not_retried(
    gateway, view, follow
):
    (delivery,) = failed_deliveries(gateway, follow, view)
    now = time.time() + 1
    (claimed,) = view.claim(now, LEASE, 10, "sender")
    gateway.update_endpoint(
        UUID(hex=delivery.endpoint_id), lambda e: e.disable("disabled by the tenant", "api")
    )
    follow()
    assert view.get_delivery(delivery.delivery_id).status == PENDING  # on the wire: left alone
    answer(view, claimed, "sender", now, 500)
    finished = view.get_delivery(delivery.delivery_id)
    assert (finished.status, finished.attempts, finished.last_error) == (
        ABANDONED,
        1,
        "endpoint disabled",
    )
    assert view.claim(now + 3600, LEASE, 10, "sender") == []


# progress is soon stale


def test_newer_progress_supersedes_waiting_progress_for_the_same_target(gateway, view, follow):
    endpoint = register(gateway, "https://hooks.example/a", ["progress"])
    job = submit(gateway, hook_events=["progress", "completed"])
    gateway.record_progress(job.id, 10, "test")
    follow()
    first = view.deliveries_of_job(job.id.hex)
    gateway.record_progress(job.id, 20, "test")
    follow()
    assert statuses(view, first) == [ABANDONED, ABANDONED]
    assert {view.get_delivery(row.delivery_id).last_error for row in first} == {"superseded"}
    old = {row.delivery_id for row in first}
    latest = [row for row in view.deliveries_of_job(job.id.hex) if row.delivery_id not in old]
    assert [json.loads(row.payload)["progress"] for row in latest] == [20, 20]
    assert statuses(view, latest) == [PENDING, PENDING]
    complete(gateway, job)
    follow()
    # The completion supersedes the job webhook's progress; the endpoint only wants progress.
    assert statuses(view, of_target(latest)) == [ABANDONED]
    assert statuses(view, of_target(latest, endpoint)) == [PENDING]


def test_a_leased_progress_delivery_is_not_superseded(gateway, view, follow):
    job = submit(gateway, hook_events=["progress", "completed"])
    gateway.record_progress(job.id, 10, "test")
    follow()
    (on_the_wire,) = view.claim(time.time() + 1, LEASE, 10, "sender")
    gateway.record_progress(job.id, 20, "test")
    complete(gateway, job)
    follow()
    rows = view.deliveries_of_job(job.id.hex)
    assert [(row.event_type, row.status) for row in rows] == [
        ("progress", PENDING),
        ("progress", ABANDONED),
        ("completed", PENDING),
    ]
    assert rows[0].delivery_id == on_the_wire.delivery_id and rows[0].lease_token == "sender"


def test_a_failure_carries_the_last_known_progress(gateway, view, follow):
    job = submit(gateway, hook_events=["failed"])
    gateway.record_progress(job.id, 30, "test")
    gateway.record_progress(job.id, 60, "test")
    follow()
    fail(gateway, job)
    follow()
    (row,) = view.deliveries_of_job(job.id.hex)
    assert json.loads(row.payload)["progress"] == 60
    assert view.job_progress(job.id.hex) == 60


# exactly once


def test_processing_the_same_events_again_inserts_nothing_twice(gateway, view, views, follow):
    register(gateway, "https://hooks.example/a")
    job = submit(gateway, hook_events=list(EVENT_FILTERS))
    gateway.record_progress(job.id, 10, "test")
    complete(gateway, job)
    handled = follow()
    before = view.deliveries_of_job(job.id.hex)
    assert handled == 4 and len(before) == 4  # Registered, Submitted, Progressed, Completed
    assert Follower(gateway, projection_of(view)).run_once() == 0
    assert Follower(gateway, projection_of(views())).run_once() == 0  # a restarted process
    projection = projection_of(view)
    notifications = gateway.recorder.select_notifications(
        start=None, limit=100, topics=projection.topics
    )
    assert len(notifications) == handled
    for notification in notifications:  # a racing follower that read an old position
        event = gateway.mapper.to_domain_event(notification)
        with pytest.raises(IntegrityError):
            projection.process_event(event, Tracking(gateway.name, notification.id))
    assert view.deliveries_of_job(job.id.hex) == before
    assert view.max_tracking_id(gateway.name) == notifications[-1].id


# the queue


def test_claim_leases_only_due_deliveries_oldest_first(gateway, view, follow):
    a, b, c = failed_deliveries(gateway, follow, view, jobs=3)
    assert view.claim(a.created_at - 1, LEASE, 10, "early") == []
    now = c.created_at + 1
    (first,) = view.claim(now, LEASE, 1, "one")
    assert first.delivery_id == a.delivery_id and first.lease_token == "one"
    outcome = answer(view, first, "one", now, 500)
    assert outcome.next_attempt_at == now + 5
    rest = view.claim(now, 3600, 10, "two")
    assert [row.delivery_id for row in rest] == [b.delivery_id, c.delivery_id]
    assert view.claim(now + 4.9, 3600, 10, "three") == []
    (again,) = view.claim(now + 5, 3600, 10, "three")
    assert (again.delivery_id, again.attempts) == (a.delivery_id, 1)


def test_a_lease_holds_against_other_claimers_until_it_expires(gateway, view, follow):
    (delivery,) = failed_deliveries(gateway, follow, view)
    now = time.time() + 1
    assert [row.delivery_id for row in view.claim(now, LEASE, 10, "crashed")] == [
        delivery.delivery_id
    ]
    assert view.claim(now, LEASE, 10, "other") == []
    assert view.claim(now + LEASE, LEASE, 10, "other") == []
    (reclaimed,) = view.claim(now + LEASE + 1, LEASE, 10, "other")
    assert (reclaimed.delivery_id, reclaimed.lease_token) == (delivery.delivery_id, "other")


def test_finishing_with_a_lease_that_was_taken_over_changes_no_delivery(gateway, view, follow):
    (delivery,) = failed_deliveries(gateway, follow, view)
    now = time.time() + 1
    (stale,) = view.claim(now, LEASE, 10, "crashed")
    (current,) = view.claim(now + LEASE + 1, LEASE, 10, "current")
    before = view.get_delivery(delivery.delivery_id)
    answer(view, stale, "crashed", now + LEASE + 2, 200)
    assert view.get_delivery(delivery.delivery_id) == before
    answer(view, current, "current", now + LEASE + 3, 200)
    after = view.get_delivery(delivery.delivery_id)
    assert (after.status, after.attempts, after.lease_token) == (SUCCEEDED, 1, None)


def test_finish_records_the_attempt_and_the_outcome(gateway, view, follow):
    (delivery,) = failed_deliveries(gateway, follow, view)
    now = time.time() + 1
    (claimed,) = view.claim(now, LEASE, 10, "sender")
    outcome = decide(claimed, AttemptResult(503), now, lambda: 0.5)
    attempt = attempt_of(claimed, now, outcome)
    view.finish(claimed, "sender", attempt, outcome)
    assert view.attempts_of([delivery.delivery_id]) == [attempt]
    row = view.get_delivery(delivery.delivery_id)
    assert (row.status, row.attempts, row.next_attempt_at, row.updated_at) == (
        PENDING,
        1,
        now + 5,
        now,
    )
    assert (row.last_status_code, row.last_error, row.lease_token) == (503, "HTTP 503", None)
    (retried,) = view.claim(now + 5, LEASE, 10, "sender")
    answer(view, retried, "sender", now + 5, 204)
    done = view.get_delivery(delivery.delivery_id)
    assert (done.status, done.attempts, done.last_status_code, done.last_error) == (
        SUCCEEDED,
        2,
        204,
        None,
    )
    assert [a.status_code for a in view.attempts_of([delivery.delivery_id])] == [503, 204]


def test_failing_since_is_set_on_an_endpoints_first_failure_and_cleared_by_a_success(
    gateway, view, follow
):
    first, second = failed_deliveries(gateway, follow, view, jobs=2)
    endpoint_id = first.endpoint_id
    now = time.time() + 1
    claimed = view.claim(now, LEASE, 10, "sender")
    assert [row.delivery_id for row in claimed] == [first.delivery_id, second.delivery_id]
    assert view.get_endpoint(endpoint_id).failing_since is None
    failing_since = view.finish(claimed[0], "sender", *_failure(claimed[0], now + 1))
    assert failing_since == now + 1 == view.get_endpoint(endpoint_id).failing_since
    assert view.finish(claimed[1], "sender", *_failure(claimed[1], now + 2)) == now + 1
    (retry,) = view.claim(now + 10, LEASE, 1, "sender")
    answer(view, retry, "sender", now + 10, 200)
    assert view.get_endpoint(endpoint_id).failing_since is None


def test_a_job_webhook_delivery_has_no_endpoint_to_mark_failing(gateway, view, follow):
    job = submit(gateway, hook_events=["failed"])
    fail(gateway, job)
    follow()
    now = time.time() + 1
    (claimed,) = view.claim(now, LEASE, 10, "sender")
    assert view.finish(claimed, "sender", *_failure(claimed, now)) is None


def test_redeliver_requeues_a_finished_delivery_as_a_single_manual_attempt(gateway, view, follow):
    (delivery,) = failed_deliveries(gateway, follow, view)
    now = time.time() + 1
    (claimed,) = view.claim(now, LEASE, 10, "sender")
    answer(view, claimed, "sender", now, 200)
    assert view.redeliver(delivery.delivery_id, now + 100)
    requeued = view.get_delivery(delivery.delivery_id)
    assert (requeued.status, requeued.manual, requeued.next_attempt_at) == (
        PENDING,
        True,
        now + 100,
    )
    assert view.claim(now + 99, LEASE, 10, "sender") == []
    (manual,) = view.claim(now + 100, LEASE, 10, "sender")
    assert manual.manual
    assert not view.redeliver(delivery.delivery_id, now + 101)  # on the wire right now
    answer(view, manual, "sender", now + 101, 500)
    finished = view.get_delivery(delivery.delivery_id)
    assert (finished.status, finished.attempts, finished.manual) == (FAILED, 2, False)


def test_redelivering_a_delivery_waiting_for_a_retry_sends_it_now_and_keeps_its_schedule(
    gateway, view, follow
):
    (delivery,) = failed_deliveries(gateway, follow, view)
    now = time.time() + 1
    (claimed,) = view.claim(now, LEASE, 10, "sender")
    answer(view, claimed, "sender", now, 500)
    assert view.redeliver(delivery.delivery_id, now + 1)
    (again,) = view.claim(now + 1, LEASE, 10, "sender")
    assert not again.manual
    assert answer(view, again, "sender", now + 1, 500).status == PENDING


def test_recover_requeues_failed_and_abandoned_deliveries_in_the_window_but_not_superseded_ones(
    gateway, view, follow
):
    endpoint = register(gateway, "https://hooks.example/a", ["progress", "failed"])
    other = register(gateway, "https://hooks.example/b", ["failed"])
    jobs = [submit(gateway) for _ in range(4)]
    fail(gateway, jobs[0])  # before the window
    fail(gateway, jobs[1])  # failed, in the window
    gateway.record_progress(jobs[2].id, 10, "test")  # superseded, in the window
    gateway.record_progress(jobs[2].id, 20, "test")  # succeeded, in the window
    fail(gateway, jobs[3])  # gone (410), in the window
    follow()
    rows = sorted(
        view.deliveries_of_endpoint(endpoint.id.hex, 100), key=lambda r: (r.created_at, r.sequence)
    )
    early, failed, superseded, delivered, gone = rows
    assert [row.event_type for row in rows] == [
        "failed",
        "failed",
        "progress",
        "progress",
        "failed",
    ]
    assert early.created_at < failed.created_at < gone.created_at
    now = time.time() + 1
    claimed = {row.delivery_id: row for row in view.claim(now, LEASE, 100, "sender")}
    for row, code in ((early, 500), (failed, 500), (delivered, 200), (gone, 410)):
        exhausted = decide(claimed[row.delivery_id], AttemptResult(code), now, lambda: 0.5)
        if exhausted.status == PENDING:  # as if this were the last scheduled attempt
            exhausted = Outcome(FAILED, now, code, exhausted.error)
        view.finish(row, "sender", attempt_of(row, now, exhausted), exhausted)
    for row in view.deliveries_of_endpoint(other.id.hex, 100):  # another endpoint's failures
        view.finish(row, "sender", *_exhausted(row, now))
    assert statuses(view, rows) == [FAILED, FAILED, ABANDONED, SUCCEEDED, ABANDONED]
    assert view.get_delivery(superseded.delivery_id).last_error == "superseded"

    # `since` is inclusive, `until` exclusive
    assert view.recover(endpoint.id.hex, failed.created_at, gone.created_at, now + 1) == 1
    assert statuses(view, rows) == [FAILED, PENDING, ABANDONED, SUCCEEDED, ABANDONED]
    assert view.recover(endpoint.id.hex, gone.created_at, gone.created_at + 1, now + 1) == 1
    assert statuses(view, rows) == [FAILED, PENDING, ABANDONED, SUCCEEDED, PENDING]
    for row in (failed, gone):
        requeued = view.get_delivery(row.delivery_id)
        assert (requeued.manual, requeued.next_attempt_at) == (True, now + 1)
    assert statuses(view, view.deliveries_of_endpoint(other.id.hex, 100)) == [FAILED] * 3


# concurrency


def test_two_senders_claiming_in_a_loop_get_disjoint_sets_that_cover_every_due_delivery(
    gateway, view, views, follow
):
    due = failed_deliveries(gateway, follow, view, endpoints=20, jobs=10)
    now = time.time() + 1
    senders = [views(), views()]
    start = threading.Barrier(len(senders))
    claimed: list[list[str]] = [[] for _ in senders]
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            start.wait()
            while batch := senders[n].claim(now, LEASE, 7, f"sender-{n}"):
                claimed[n].extend(row.delivery_id for row in batch)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(senders))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    first, second = (set(ids) for ids in claimed)
    assert len(first) == len(claimed[0]) and len(second) == len(claimed[1])
    assert first & second == set()
    assert first | second == {row.delivery_id for row in due}
    assert view.claim(now, LEASE, 1000, "late") == []
    for n, ids in enumerate(claimed):
        assert {view.get_delivery(i).lease_token for i in ids} <= {f"sender-{n}"}


def test_the_next_attempt_due_is_the_soonest_pending_one_or_its_lease_end(gateway, view, follow):
    assert view.next_attempt_due() is None  # nothing pending: the sender may sleep
    first, second = failed_deliveries(gateway, follow, view, endpoints=2)
    assert view.next_attempt_due() == first.next_attempt_at
    now = max(first.next_attempt_at, second.next_attempt_at) + 1
    view.claim(now, LEASE, 1, "sender")  # the first: on the wire until its lease ends
    assert view.next_attempt_due() == second.next_attempt_at
    (claimed,) = view.claim(now, LEASE, 1, "sender")
    assert view.next_attempt_due() == now + LEASE
    answer(view, claimed, "sender", now, 200)  # delivered: no longer pending
    assert view.next_attempt_due() == now + LEASE  # the other's lease
