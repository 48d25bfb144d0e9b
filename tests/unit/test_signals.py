"""Upstream statuses become job events; late, duplicate and backwards ones become nothing."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from events.job import Job
from service.providers.base import UpstreamStatus
from service.videos.signals import apply_status


def new_job() -> Job:
    job = Job(
        tenant="t",
        model="veo-3.1",
        provider="veo",
        upstream_model="veo-3.1-generate-preview",
        prompt="p",
        params={},
        inputs={},
        webhook=None,
        idempotency_key=None,
        request_hash="h",
        surface="openai",
        cost_estimate=None,
    )
    job.dispatch("veo", "op-1")
    job.collect_events()
    return job


def kinds(job: Job) -> list[str]:
    return [type(event).__name__ for event in job.collect_events()]


def test_progress_then_completion_from_webhooks() -> None:
    job = new_job()
    apply_status(job, UpstreamStatus("in_progress", "IN_PROGRESS", progress=40), "webhook")
    apply_status(job, UpstreamStatus("completed", "COMPLETED", output_url="https://x"), "webhook")
    assert kinds(job) == ["Progressed", "Completed"]
    assert job.status == "completed"
    assert job.output == {
        "url": f"/v1/videos/video_{job.id.hex}/content",
        "content_type": "video/mp4",
    }


def test_the_upstream_url_stays_in_the_event_not_the_output() -> None:
    job = new_job()
    apply_status(job, UpstreamStatus("completed", "done", output_url="gs://b/v.mp4"), "poll")
    (completed,) = job.collect_events()
    assert isinstance(completed, Job.Completed)
    assert completed.upstream_url == "gs://b/v.mp4" and completed.source == "poll"
    assert "gs://" not in str(job.output)


def test_in_progress_without_a_percent_still_shows_the_job_started() -> None:
    job = new_job()
    apply_status(job, UpstreamStatus("in_progress", "dreaming"), "poll")
    apply_status(job, UpstreamStatus("in_progress", "dreaming"), "poll")
    assert kinds(job) == ["Progressed"]
    assert job.status == "in_progress"


def test_queued_records_nothing() -> None:
    job = new_job()
    apply_status(job, UpstreamStatus("queued", "IN_QUEUE"), "poll")
    assert kinds(job) == []


def test_upstream_failure_keeps_its_code_and_raw_status() -> None:
    job = new_job()
    apply_status(
        job,
        UpstreamStatus("failed", "Fail", error_code="content_policy", error_message="blocked"),
        "webhook",
    )
    (failed,) = job.collect_events()
    assert isinstance(failed, Job.Failed)
    assert (failed.code, failed.upstream_status, failed.source) == (
        "content_policy",
        "Fail",
        "webhook",
    )


def test_an_upstream_cancel_cancels_the_job() -> None:
    job = new_job()
    apply_status(job, UpstreamStatus("canceled", "CANCELLED"), "poll")
    assert kinds(job) == ["Canceled"]


STATES = st.sampled_from(["queued", "in_progress", "completed", "failed", "canceled"])
STATUSES = st.builds(
    lambda state, percent: UpstreamStatus(state, state.upper(), progress=percent),
    STATES,
    st.one_of(st.none(), st.integers(0, 100)),
)


@given(st.lists(st.tuples(STATUSES, st.sampled_from(["webhook", "poll"])), max_size=30))
def test_any_signal_sequence_leaves_a_valid_history(signals: list) -> None:  # type: ignore[type-arg]
    job = new_job()
    for status, source in signals:
        apply_status(job, status, source)
    events = job.collect_events()
    terminal = [e for e in events if isinstance(e, Job.Completed | Job.Failed | Job.Canceled)]
    assert len(terminal) <= 1
    if terminal:
        assert events[-1] is terminal[0]
    percents = [e.percent for e in events if isinstance(e, Job.Progressed)]
    assert percents == sorted(set(percents)) and all(0 < p < 100 for p in percents)


def test_a_completion_already_in_our_storage_is_stored_in_the_same_save() -> None:
    """The local renderer's completion: its output, and nothing left for the mirror."""
    job = new_job()
    output = {"url": f"/v1/videos/video_{job.id.hex}/content", "bytes": 9, "sha256": "ab" * 32}
    apply_status(job, UpstreamStatus("completed", None, stored_output=output), "local")
    completed, stored = job.collect_events()
    assert isinstance(completed, Job.Completed) and isinstance(stored, Job.OutputStored)
    assert completed.output == output and completed.upstream_status is None
    assert (stored.bytes, stored.sha256, stored.source) == (9, "ab" * 32, "local")
    assert job.output_stored


def test_a_failure_without_an_upstream_status_records_none() -> None:
    job = new_job()
    failed = UpstreamStatus("failed", None, error_code="render_failed", error_message="crashed")
    apply_status(job, failed, "local")
    (event,) = job.collect_events()
    assert isinstance(event, Job.Failed)
    assert (event.code, event.upstream_status, event.retryable) == ("render_failed", None, False)
