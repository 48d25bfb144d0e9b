"""The `Job` aggregate: one video generation, from submission to a stored output.

Rules (pure, no clock, no I/O in event bodies): terminal states absorb every later signal;
progress never goes backwards; a duplicate or late upstream signal produces no event.
Explicit topics keep stored events readable when modules move; a class version with its
`upcast_vN_vN+1` methods reads records stored before a field existed (see `OutputStored`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from events.ids import idempotent_job_id

QUEUED, IN_PROGRESS = "queued", "in_progress"
COMPLETED, FAILED, CANCELED = "completed", "failed", "canceled"
TERMINAL = frozenset({COMPLETED, FAILED, CANCELED})
STATUSES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED, CANCELED)


class JobError(Exception):
    """A command the job's current state does not allow."""


class JobAlreadyFinished(JobError):
    """The job is completed or failed, so it can no longer be canceled."""


class JobNotCompleted(JobError):
    """Only a completed job has an output to store."""


class Job(Aggregate):
    TOPIC = "vidgate:Job"

    class Event(Aggregate.Event):
        TOPIC = "vidgate:Job.Event"

    class Submitted(Event, Aggregate.Created):
        TOPIC = "vidgate:Job.Submitted"
        tenant: str
        model: str
        provider: str
        upstream_model: str
        prompt: str
        params: dict[str, Any]
        inputs: dict[str, Any]
        webhook: dict[str, Any] | None
        idempotency_key: str | None
        request_hash: str
        surface: str
        cost_estimate: float | None

    class DispatchIntended(Event):
        """Saved before the upstream is asked to render, so a crash before `Dispatched` leaves
        a trace. `unknown_outcome_of`: the earlier attempt this one replaces, whose submit may
        also have reached the upstream (a second paid render is possible, and said so)."""

        TOPIC = "vidgate:Job.DispatchIntended"
        provider: str
        attempt: int
        attempt_id: str
        unknown_outcome_of: str | None
        by: str | None  # the worker that intends it (`worker:<host>:<pid>`); None before v2
        class_version = 2  # v2 added `by`

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["by"] = None

        def apply(self, job: Job) -> None:
            job.pending_attempt, job.intents = self.attempt_id, self.attempt
            job.intended_at, job.intended_by = self.timestamp, self.by

    class Dispatched(Event):
        TOPIC = "vidgate:Job.Dispatched"
        provider: str
        upstream_id: str
        attempt: int
        attempt_id: str | None  # None: dispatched before intents were recorded
        by: str | None  # the worker that dispatched it; None before v3
        class_version = 3  # v2 added `attempt_id`, v3 `by`

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["attempt_id"] = None

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["by"] = None

        def apply(self, job: Job) -> None:
            job.upstream_id, job.dispatch_attempts = self.upstream_id, self.attempt
            job.pending_attempt = None

    class Progressed(Event):
        TOPIC = "vidgate:Job.Progressed"
        percent: int
        upstream_status: str | None
        source: str

        def apply(self, job: Job) -> None:
            job.status, job.progress = IN_PROGRESS, self.percent

    class Completed(Event):
        TOPIC = "vidgate:Job.Completed"
        output: dict[str, Any]
        upstream_url: str | None
        cost: float | None
        upstream_status: str | None
        source: str

        def apply(self, job: Job) -> None:
            job.status, job.progress, job.output = COMPLETED, 100, dict(self.output)
            job.finished_at, job.reported_cost = self.timestamp, self.cost

    class Failed(Event):
        TOPIC = "vidgate:Job.Failed"
        code: str
        message: str
        retryable: bool
        upstream_status: str | None
        source: str

        def apply(self, job: Job) -> None:
            job.status, job.error = FAILED, {"code": self.code, "message": self.message}
            job.finished_at = self.timestamp

    class Canceled(Event):
        TOPIC = "vidgate:Job.Canceled"
        by: str

        def apply(self, job: Job) -> None:
            job.status, job.finished_at = CANCELED, self.timestamp

    class OutputStored(Event):
        TOPIC = "vidgate:Job.OutputStored"
        url: str
        bytes: int
        sha256: str
        source: str
        media: dict[str, Any] | None  # width, height, duration, fps: from the mirror
        # Every video of a job that made several (Midjourney: 4), the first included: each
        # {url, bytes, sha256, width, height, duration, fps}; None for one video.
        outputs: list[dict[str, Any]] | None
        class_version = 3  # v2 added `media`, v3 `outputs`

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            # Some v1 records already carry `media` (it was added before this version
            # number was): keep theirs; the older ones had none.
            state.setdefault("media", None)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            state["outputs"] = None

        def apply(self, job: Job) -> None:
            media = self.media or {}
            job.output = {**(job.output or {}), **media, "url": self.url, "bytes": self.bytes}
            job.output["sha256"] = self.sha256
            if self.outputs:
                job.output["outputs"] = [dict(output) for output in self.outputs]
            job.output_stored = True

    class Deleted(Event):
        TOPIC = "vidgate:Job.Deleted"
        by: str

        def apply(self, job: Job) -> None:
            job.deleted = True

    @staticmethod
    def create_id(tenant: str, idempotency_key: str | None) -> UUID:
        """Idempotent submissions map to a deterministic id; the rest get a random one."""
        return idempotent_job_id(tenant, idempotency_key) if idempotency_key else uuid4()

    @event(Submitted)
    def __init__(
        self,
        *,
        tenant: str,
        model: str,
        provider: str,
        upstream_model: str,
        prompt: str,
        params: dict[str, Any],
        inputs: dict[str, Any],
        webhook: dict[str, Any] | None,
        idempotency_key: str | None,
        request_hash: str,
        surface: str,
        cost_estimate: float | None,
    ) -> None:
        self.tenant, self.model, self.provider = tenant, model, provider
        self.upstream_model, self.prompt, self.params = upstream_model, prompt, dict(params)
        self.inputs, self.webhook, self.surface = dict(inputs), webhook, surface
        self.idempotency_key, self.request_hash = idempotency_key, request_hash
        self.cost_estimate = cost_estimate
        self.reported_cost: float | None = None  # the upstream's actual cost, when it said
        self.status, self.progress = QUEUED, 0
        self.upstream_id: str | None = None
        self.dispatch_attempts = 0
        self.intents = 0  # DispatchIntended so far: the last one numbers the attempt
        self.pending_attempt: str | None = None  # intended, not (yet) known dispatched
        self.intended_at: datetime | None = None  # when the last intent was saved
        self.intended_by: str | None = None  # and by which worker
        self.output: dict[str, Any] | None = None
        self.output_stored = False
        self.error: dict[str, str] | None = None
        self.finished_at: datetime | None = None
        self.deleted = False

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL

    @property
    def requested_model(self) -> str:
        """The model as the client named it (an alias, or the text-to-video id an image
        switched to its twin), which the compatible APIs echo; else the catalog id."""
        return str(self.params.get("requested_model") or self.model)

    @property
    def video_count(self) -> int:
        """How many videos the job made: Midjourney's four (`Completed` says how many, the
        mirror's `OutputStored` lists them), else one."""
        output = self.output or {}
        return len(output.get("outputs") or ()) or int(output.get("video_count") or 1)

    @property
    def is_dispatched(self) -> bool:
        return self.upstream_id is not None

    @property
    def charged(self) -> float | None:
        """Dollars the job costs its owner once it ended (what a metered account settles):
        completed at the upstream's reported cost, else the price; canceled after dispatch at
        the price; failed or canceled before dispatch nothing. None while it runs."""
        if self.status == COMPLETED:
            return self.reported_cost if self.reported_cost is not None else self.cost_estimate
        if self.status == CANCELED and self.is_dispatched:
            return self.cost_estimate
        return 0.0 if self.is_terminal else None

    def intend_dispatch(self, provider: str, attempt_id: str, by: str | None = None) -> None:
        """Record that the upstream is about to be asked to render (under `attempt_id`).

        Intending the pending attempt again records nothing (a resubmit the upstream dedupes,
        or one after a lookup found nothing); a new attempt while one is pending records that
        the pending one's outcome is unknown. A dispatched or ended job intends nothing.
        """
        if self.is_terminal or self.is_dispatched or self.pending_attempt == attempt_id:
            return
        self.trigger_event(
            self.DispatchIntended,
            provider=provider,
            attempt=self.intents + 1,
            attempt_id=attempt_id,
            unknown_outcome_of=self.pending_attempt,
            by=by,
        )

    def dispatch(self, provider: str, upstream_id: str, by: str | None = None) -> None:
        """Record that the provider accepted the job under `upstream_id` (for the pending
        attempt, when one was intended); `by`: the worker that submitted it."""
        if self.is_terminal or self.upstream_id == upstream_id:
            return
        self.trigger_event(
            self.Dispatched,
            provider=provider,
            upstream_id=upstream_id,
            attempt=self.intents if self.pending_attempt else self.dispatch_attempts + 1,
            attempt_id=self.pending_attempt,
            by=by,
        )

    def progress_to(self, percent: int, source: str, upstream_status: str | None = None) -> None:
        """Record progress; late, duplicate or backwards signals record nothing."""
        percent = min(int(percent), 99)  # 100 means completed, and only `complete` says that
        if self.is_terminal or percent <= self.progress:
            return
        self.trigger_event(
            self.Progressed, percent=percent, upstream_status=upstream_status, source=source
        )

    def complete(
        self,
        output: dict[str, Any],
        source: str,
        *,
        upstream_url: str | None = None,
        cost: float | None = None,
        upstream_status: str | None = None,
    ) -> None:
        """Record the finished output; a job that already ended records nothing."""
        if self.is_terminal:
            return
        self.trigger_event(
            self.Completed,
            output=output,
            upstream_url=upstream_url,
            cost=cost,
            upstream_status=upstream_status,
            source=source,
        )

    def fail(
        self,
        code: str,
        message: str,
        source: str,
        *,
        retryable: bool = False,
        upstream_status: str | None = None,
    ) -> None:
        """Record a failure; a job that already ended records nothing."""
        if self.is_terminal:
            return
        self.trigger_event(
            self.Failed,
            code=code,
            message=message,
            retryable=retryable,
            upstream_status=upstream_status,
            source=source,
        )

    def cancel(self, by: str) -> None:
        """Cancel an unfinished job; canceling twice is harmless."""
        if self.status == CANCELED:
            return
        if self.is_terminal:
            raise JobAlreadyFinished(f"the job is already {self.status}")
        self.trigger_event(self.Canceled, by=by)

    def store_output(
        self,
        url: str,
        size: int,
        sha256: str,
        source: str,
        media: dict[str, Any] | None = None,
        outputs: list[dict[str, Any]] | None = None,
    ) -> None:
        """Record where the output is kept for good (and, from the mirror, what it is; and
        every video, for a job that made several)."""
        if self.status != COMPLETED:
            raise JobNotCompleted(f"the job is {self.status}")
        if self.output_stored and (self.output or {}).get("sha256") == sha256:
            return
        self.trigger_event(
            self.OutputStored,
            url=url,
            bytes=size,
            sha256=sha256,
            source=source,
            media=media,
            outputs=outputs,
        )

    def delete(self, by: str) -> None:
        """Delete the job (canceling it first if it is still running)."""
        if self.deleted:
            return
        if not self.is_terminal:
            self.cancel(by)
        self.trigger_event(self.Deleted, by=by)
