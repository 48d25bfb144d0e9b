"""The jobs list: filters, a form to submit a job, and live rows.

Rows change without a reload: the page follows the tenant's event feed (`/console/events`,
the feed stream of `GET /v1/events`, authenticated by the session instead of a bearer key,
which `EventSource` can't send) and, for each event, fetches that job's row afresh from its
aggregate (`/console/jobs/{id}/row`), so a row is never older than the event that woke it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from events.apikey import VIDEOS_READ, VIDEOS_WRITE
from events.ids import parse_video_id, video_id
from events.job import STATUSES, Job
from projections.feed.projection import JOB_TYPES
from projections.feed.view import FeedQuery
from projections.jobs.view import JobQuery, UnknownCursor
from service.catalog import PROVIDERS
from service.surfaces.console.guard import Visit, console_page, visit
from service.surfaces.console.render import page
from service.surfaces.errors import invalid, text_parameter
from service.surfaces.openai.streams import feed_stream
from service.surfaces.openai.video_object import from_job, from_row
from service.videos import commands
from service.videos.commands import CreateVideo
from service.videos.errors import NotFound

PAGE_SIZE = 50
FILTERS = ("status", "model", "provider", "from", "to")
FORM_FIELDS = ("model", "prompt", "seconds", "size")


@console_page
async def jobs_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    query = _query(request, you)
    # The feed's head before the list: an event after it is streamed, one before it is in
    # the list (or streamed again: a row is fetched whole, so twice is harmless).
    head = await run_in_threadpool(_feed_head, you)
    try:
        rows, more = await run_in_threadpool(you.rt.jobs_view.list_jobs, query)
    except UnknownCursor:
        raise invalid("after", "after must be the id of one of your videos") from None
    # The view trails the log by a moment: the job just deleted from its page may still be
    # there, and the one just submitted not yet.
    deleted = request.query_params.get("deleted")
    videos = [from_row(row, "") for row in rows if video_id(row.job_id) != deleted]
    await _with_created(you, request.query_params.get("created"), videos)
    filters = {name: request.query_params.get(name, "") for name in FILTERS}
    context = you.context(
        videos=videos,
        more=more,
        head=head,
        filters=filters,
        filtered=any(filters.values()),
        statuses=STATUSES,
        providers=PROVIDERS,
        models=[model.id for model in you.rt.catalog.models],
    )
    return page("jobs.html", context)


def _feed_head(you: Visit) -> int:
    return you.rt.feed_view.max_tracking_id(you.rt.gateway.name) or 0


async def _with_created(you: Visit, created: str | None, videos: list[dict[str, Any]]) -> None:
    """The job just submitted from the form, at the top even if the view hasn't caught up."""
    job_id = parse_video_id(created) if created else None
    if job_id is None or any(video["id"] == created for video in videos):
        return
    job = await run_in_threadpool(you.rt.gateway.find_job, job_id)
    if job is not None and job.tenant == you.tenant and not job.deleted:
        videos.insert(0, from_job(job, ""))


def _query(request: Request, you: Visit) -> JobQuery:
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise invalid("status", f"status must be one of {', '.join(STATUSES)}")
    provider = params.get("provider") or None
    if provider is not None and provider not in PROVIDERS:
        raise invalid("provider", f"provider must be one of {', '.join(PROVIDERS)}")
    model = text_parameter(params, "model")
    spec = you.rt.catalog.resolve(model) if model else None
    after = params.get("after") or None
    after_id = parse_video_id(after) if after else None
    if after and after_id is None:
        raise invalid("after", "after must be a video id (video_…)")
    since, until = _day(params.get("from"), "from"), _day(params.get("to"), "to")
    return JobQuery(
        tenant=you.tenant,
        limit=PAGE_SIZE,
        after=after_id,
        status=status,
        model=spec.id if spec else model,
        provider=provider,
        created_from=_midnight(since),
        created_before=_midnight(until + timedelta(days=1)) if until else None,
    )


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise invalid(name, f"{name} must be a date like 2026-12-07, got {raw!r}") from None


def _midnight(day: date | None) -> float | None:
    return None if day is None else datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


@console_page
async def submit_job(request: Request) -> Response:
    you = await visit(request)
    form = await you.form(VIDEOS_WRITE)
    command = CreateVideo(
        you.tenant, _fields(form), surface="console", **you.principal.as_submitter()
    )
    job, _ = await run_in_threadpool(commands.create_video, you.rt, command)
    return RedirectResponse(f"/console/jobs?created={video_id(job.id)}", status_code=303)


def _fields(form: FormData) -> dict[str, Any]:
    """The create fields the form filled in (an empty box is an absent field)."""
    fields: dict[str, Any] = {}
    for name in FORM_FIELDS:
        value = form.get(name)
        if isinstance(value, str) and value.strip():
            fields[name] = value.strip()
    return fields


async def owned_job(you: Visit, raw: str, *, deleted_ok: bool = False) -> Job:
    """The visitor's job `raw`; a 404 for anyone else's (never a 403: ids are not told)."""
    job_id = parse_video_id(raw)
    job = None if job_id is None else await run_in_threadpool(you.rt.gateway.find_job, job_id)
    if job is None or job.tenant != you.tenant or (job.deleted and not deleted_ok):
        raise NotFound(f"no video with id {raw!r}")
    return job


@console_page
async def job_row(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    job = await owned_job(you, request.path_params["video_id"])
    return page("job_row.html", you.context(video=from_job(job, "")))


@console_page
async def tenant_events(request: Request) -> Response:
    """The tenant's job events from `after` (a feed position) on, as Server-Sent Events."""
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    raw = request.query_params.get("after") or "0"
    if not (raw.isascii() and raw.isdecimal() and len(raw) <= 18):
        raise invalid("after", "after must be a feed position")
    query = FeedQuery(tenant=you.tenant, after=int(raw), limit=100, types=JOB_TYPES)
    return await feed_stream(request, query)
