"""The loops of the worker role, declared: what each is built from and what wakes it.

`parts_for(settings)` lists them in start order (they stop in the reverse order): on
SQLite, one worker dispatches under a file lock (`SINGLE_WORKER`); on PostgreSQL, every
worker dispatches the jobs it claims (`LEADERLESS`, see `service.workers.claiming`). Each
is built by a small function from `Shared`, the few things more than one loop uses;
whatever only one loop uses, its function builds. A loop is woken by `SAVES` (every event
the gateway saves), by `QUEUED` (the web role queued deliveries: `Runtime.wake_sender`),
or by the name of an earlier loop (after each of its passes that did some work);
otherwise it looks for work every `interval` seconds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar, cast
from uuid import UUID

import httpx

from projections.analytics.projection import AnalyticsProjection
from projections.deliveries.projection import DeliveriesProjection
from projections.feed.projection import FeedProjection
from projections.follower import Follower
from projections.inflight.claims import DispatchClaims
from projections.inflight.projection import UNTRACKED, InflightProjection
from projections.inflight.view import InflightRow, InflightView
from projections.jobs.postgres import PostgresJobsView
from projections.jobs.projection import JobsProjection
from projections.jobs.sqlite import SQLiteJobsView
from projections.jobs.view import JobsView
from service.persistence.stores import build_analytics_view, build_inflight_view, build_live_view
from service.providers.base import Provider
from service.providers.image_fetch import ImageFetcher, UrlInputs
from service.providers.local import LocalProvider
from service.runtime import Runtime, build_dispatch_tracking, build_tracking
from service.settings import Settings
from service.surfaces.webhook_payloads import SurfacePayloads
from service.webhooks.sender import Sender
from service.workers import estimate
from service.workers.canceler import UpstreamCanceler
from service.workers.claiming import Claimer, LeaseFence, RenderLeases, worker_id
from service.workers.dispatcher import Dispatcher
from service.workers.estimate import ProgressEstimate
from service.workers.leader import LeaderLock
from service.workers.leadership import Leadership
from service.workers.loop import Loop
from service.workers.mirror import OutputMirror
from service.workers.poll_policy import PollPolicy
from service.workers.poller import Poller
from service.workers.polling import PollingLoop
from service.workers.projecting import ProjectionLoop
from service.workers.resume import resume_local_renders
from service.workers.sending import SendingLoop
from service.workers.sweeper import Sweeper

SAVES = "saves"
ANALYTICS_LAG = 1.0  # seconds: the analytics projection is batched, nothing wakes it
QUEUED = "queued deliveries"
V = TypeVar("V")


@dataclass
class Shared:
    """What more than one loop uses, built once per worker role."""

    rt: Runtime
    http: httpx.AsyncClient  # fetches what tenants name (through the SSRF guard)
    providers: Mapping[str, Provider]
    local: LocalProvider  # dispatched to by the dispatcher, resumed by the leader
    policy: PollPolicy  # the inflight projection schedules by it, the poller polls by it
    worker: str  # `worker:<host>:<pid>`: who dispatched, in the job's history
    leader: LeaderLock | None  # SQLite: the one worker that dispatches holds it
    claimer: Claimer | None  # PostgreSQL: this worker's claims (no leader)
    dispatcher: Dispatcher  # led by the leader or fed by the claimer
    jobs: Follower  # the jobs projection; the leader waits for it before resuming renders
    inflight: Follower  # the inflight projection; the dispatcher counts its slots from it
    inflight_view: InflightView  # written by its projection, worked by poller and sweeper
    resources: list[object] = field(default_factory=list)  # views to close after the loops

    @property
    def interval(self) -> float:
        """How often a loop looks for work nobody woke it for (`StoreChanges` and this
        process's saves wake the followers)."""
        return self.rt.settings.idle_interval

    def owned(self, view: V) -> V:
        """A view or tracking table of the worker role: closed once the loops have stopped."""
        self.resources.append(view)
        return view

    async def dispatch_if_leader(self, job_id: UUID) -> None:
        """The sweeper re-dispatches through here: only the leader submits."""
        if self.leader is not None and self.leader.held:
            await self.dispatcher.dispatch(job_id)


def jobs_projection(shared: Shared) -> Loop:
    return ProjectionLoop("jobs projection", shared.jobs)


def deliveries_projection(shared: Shared) -> Loop:
    projection = DeliveriesProjection(view=shared.rt.deliveries_view)
    projection.public_url = shared.rt.settings.base_url
    follower = Follower(shared.rt.gateway, projection, interval=shared.interval)
    return ProjectionLoop("deliveries projection", follower)


def inflight_projection(shared: Shared) -> Loop:
    # With claims, any worker's projection of a submission (or of an ending that frees a
    # capped slot) wakes every worker's dispatcher, so they share the claims.
    leaderless = shared.claimer is not None
    return ProjectionLoop("inflight projection", shared.inflight, shared=leaderless)


def analytics_projection(shared: Shared) -> Loop:
    # Rebuildable (vidgate replay): a writer handle of its own that switches to a new
    # generation only between two pages (see service.persistence.blue_green).
    writer = shared.owned(build_analytics_view(shared.rt.settings, pinned=True))
    interval = min(ANALYTICS_LAG, shared.interval)
    follower = Follower(shared.rt.gateway, AnalyticsProjection(writer), interval=interval)
    return ProjectionLoop("analytics projection", follower)


def feed_projection(shared: Shared) -> Loop:
    """The tenant event feed (GET /v1/events): every job event and ledger entry with its
    tenant."""
    projection = FeedProjection(shared.rt.feed_view)
    follower = Follower(shared.rt.gateway, projection, interval=shared.interval)
    return ProjectionLoop("feed projection", follower)


def leadership(shared: Shared) -> Loop:
    """The dispatcher runs only in the process that holds the dispatcher lock."""

    async def resume() -> None:
        await resume_local_renders(shared.rt, shared.local, shared.jobs)

    assert shared.leader is not None
    return Leadership(
        shared.leader,
        [shared.dispatcher],
        on_lead=resume,
        on_step_down=shared.local.close,
    )


def claimer(shared: Shared) -> Loop:
    assert shared.claimer is not None
    return shared.claimer


def render_leases(shared: Shared) -> Loop:
    claims = cast(DispatchClaims, shared.inflight_view)
    lease = shared.rt.settings.dispatch_lease
    return RenderLeases(claims, shared.local, worker=shared.worker, lease=lease)


def sender(shared: Shared) -> Loop:
    rt = shared.rt
    lease = rt.settings.delivery_lease_seconds
    sending = Sender(
        rt.deliveries_view,
        rt.gateway,
        rt.deriver,
        shared.http,
        lease_seconds=lease,
        payloads=SurfacePayloads(rt),
    )
    return SendingLoop(sending, interval=shared.interval)


def mirror(shared: Shared) -> Loop:
    rt = shared.rt
    tracking = shared.owned(build_tracking(rt.settings, "mirror"))
    copier = OutputMirror(
        rt.gateway,
        tracking,
        shared.providers,
        rt.storage,
        interval=shared.interval,
        download_timeout=rt.settings.download_timeout,
    )
    return copier.follower


def canceler(shared: Shared) -> Loop:
    tracking = shared.owned(build_tracking(shared.rt.settings, "canceler"))
    canceling = UpstreamCanceler(
        shared.rt.gateway, tracking, shared.providers, interval=shared.interval
    )
    return canceling.follower


def poller(shared: Shared) -> Loop:
    rt = shared.rt
    polling = Poller(
        shared.inflight_view,
        shared.providers,
        rt.signals,
        rt.metrics,
        shared.policy,
        estimate=progress_estimate(rt),
    )
    return PollingLoop(polling, interval=shared.interval)


def progress_estimate(rt: Runtime) -> ProgressEstimate:
    """Percentages that grow towards each model's typical render time."""
    return ProgressEstimate(estimate.typical_renders(rt.settings, rt.catalog))


def sweeper(shared: Shared) -> Loop:
    capped = shared.rt.settings.provider_concurrency
    return Sweeper(shared.inflight_view, shared.dispatch_if_leader, capped=capped)


@dataclass(frozen=True)
class InflightBacklog:
    """The dispatcher's slot count at taking the lead: the inflight view, once current."""

    follower: Follower
    view: InflightView

    def caught_up(self) -> bool:
        return self.follower.caught_up()

    def position(self) -> int:
        return self.follower.position

    def unfinished(self, provider: str) -> list[InflightRow]:
        return self.view.unfinished(provider)


@dataclass(frozen=True)
class Part:
    """One loop of the worker role: its name, how it is built and what wakes it."""

    name: str
    build: Callable[[Shared], Loop]
    woken_by: tuple[str, ...] = ()


PROJECTIONS: tuple[Part, ...] = (
    Part("jobs projection", jobs_projection, woken_by=(SAVES,)),
    Part("deliveries projection", deliveries_projection, woken_by=(SAVES,)),
    Part("inflight projection", inflight_projection, woken_by=(SAVES,)),
    # Batched, and no one waits on it: saves don't wake it, it looks every ANALYTICS_LAG.
    Part("analytics projection", analytics_projection),
    Part("feed projection", feed_projection, woken_by=(SAVES,)),
)
FOLLOWERS: tuple[Part, ...] = (
    Part("sender", sender, woken_by=(QUEUED, "deliveries projection")),
    Part("mirror", mirror, woken_by=(SAVES,)),
    Part("canceler", canceler, woken_by=(SAVES,)),
    Part("poller", poller, woken_by=("inflight projection",)),
)
SINGLE_WORKER: tuple[Part, ...] = (
    *PROJECTIONS,
    Part("leader", leadership, woken_by=(SAVES,)),  # a save wakes the dispatcher it leads
    *FOLLOWERS,
    Part("sweeper", sweeper),  # at start-up, then every minute
)
# No sweeper: a job whose dispatch went wrong keeps its row, claimable again once its lease
# runs out, so every claim is also a sweep.
LEADERLESS: tuple[Part, ...] = (
    *PROJECTIONS,
    # Claims come from the inflight view: woken when it changed (a submission, an ending
    # that frees a capped slot), else every interval (leases that ran out).
    Part("dispatcher", claimer, woken_by=("inflight projection",)),
    Part("render leases", render_leases),
    *FOLLOWERS,
)


def parts_for(settings: Settings) -> tuple[Part, ...]:
    return LEADERLESS if settings.uses_postgres else SINGLE_WORKER


def build_shared(rt: Runtime, http: httpx.AsyncClient, upstreams: Mapping[str, Provider]) -> Shared:
    settings = rt.settings
    local = LocalProvider(
        rt.signals.apply,  # it reports like a webhook or a poll would; appends nothing
        rt.gateway.find_job,
        rt.storage,
        http,
        concurrency=settings.local_concurrency,
        frame_delay=settings.local_frame_delay,
        fetch_timeout=settings.input_fetch_timeout,
    )
    providers: dict[str, Provider] = {**upstreams, local.name: local}
    leaderless, worker = settings.uses_postgres, worker_id()
    leader = None if leaderless else LeaderLock(settings)
    dispatch_tracking = build_dispatch_tracking(settings)
    policy = poll_policy(settings, providers, estimate.typical_renders(settings, rt.catalog))
    inflight_view = build_inflight_view(settings)
    inflight = Follower(
        rt.gateway,
        InflightProjection(
            inflight_view,
            # With claims, local renders have rows too: their leases say who renders them.
            untracked=() if leaderless else UNTRACKED,
            first_poll=policy.first_delay,
            deadline=policy.deadline_for,
        ),
        interval=settings.idle_interval,
    )
    claims = cast(DispatchClaims, inflight_view) if leaderless else None
    may_dispatch = (
        LeaseFence(claims, worker, settings.dispatch_lease)
        if claims is not None
        else _leading(leader)
    )
    dispatcher = Dispatcher(
        rt.gateway,
        dispatch_tracking,
        providers,
        callbacks=rt.callbacks,
        links=rt.links,
        read_input=rt.storage.read_input,
        interval=settings.idle_interval,
        may_dispatch=may_dispatch,
        metrics=rt.metrics,
        # With claims, caps are counted from the store at claim time (`Claimer`).
        caps=None if leaderless else settings.provider_concurrency,
        backlog=None if leaderless else InflightBacklog(inflight, inflight_view),
        url_inputs=UrlInputs(
            ImageFetcher(http, settings.input_fetch_timeout), rt.storage.save_input
        ),
        worker=worker,
        fenced=leaderless,
        submit_timeout=settings.submit_timeout if leaderless else None,
        outcome_wait=settings.submit_outcome_wait,
        resubmit_unknown=settings.resubmit_unknown,
        hand_back=_handing_back(claims, worker) if claims is not None else None,
        typical=progress_estimate(rt).typical,
    )
    claiming = None
    if claims is not None:
        claiming = Claimer(
            claims,
            dispatcher,
            rt.gateway,
            local,
            worker=worker,
            lease=settings.dispatch_lease,
            caps=settings.provider_concurrency,
            # Woken by any worker's projection of a change; the interval only finds leases
            # that ran out (a dead worker's jobs).
            interval=settings.idle_interval,
        )
    rt.metrics.count_slots_with(claiming.slot_counts if claiming else dispatcher.slot_counts)
    # Rebuildable (vidgate replay): see analytics_projection.
    jobs_writer = cast(
        JobsView,
        build_live_view(settings, "jobs", SQLiteJobsView, PostgresJobsView, pinned=True),
    )
    return Shared(
        rt=rt,
        http=http,
        providers=providers,
        local=local,
        policy=policy,
        worker=worker,
        leader=leader,
        claimer=claiming,
        dispatcher=dispatcher,
        jobs=Follower(
            rt.gateway, JobsProjection(view=jobs_writer), interval=settings.idle_interval
        ),
        inflight=inflight,
        inflight_view=inflight_view,
        resources=[dispatch_tracking, jobs_writer, inflight_view],
    )


def _leading(leader: LeaderLock | None) -> Callable[[UUID], bool]:
    def may_dispatch(job_id: UUID) -> bool:
        return leader is not None and leader.still_held()

    return may_dispatch


def poll_policy(
    settings: Settings, providers: Mapping[str, Provider], typical: Callable[[str], float]
) -> PollPolicy:
    """Providers that call back when a job moves are polled only as a fallback; the others
    from their model's `typical` render time on."""
    return PollPolicy(
        webhook_providers=frozenset(name for name, p in providers.items() if p.calls_back),
        first_poll=settings.poll_first,
        typical=typical,
        grace=settings.poll_grace,
        cap=settings.poll_cap,
        deadline=settings.job_deadline,
    )


def _handing_back(claims: DispatchClaims, worker: str) -> Callable[[UUID, str, datetime], None]:
    """`Dispatcher.hand_back`: this worker's lease on a job, to the worker awaiting its answer."""

    def hand_back(job_id: UUID, to: str, until: datetime) -> None:
        claims.hand_back(job_id, worker, to, until)

    return hand_back
