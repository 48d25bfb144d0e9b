"""`GET /v1/events`: the tenant's job events in log order, for tailing and replay.

Each event keeps its `position` in the application sequence, so a client stores the last
one it saw (`next_after`) and asks for what came after it: a page never skips or repeats an
event, even while new ones are written (see `projections.feed.view`). The feed trails the
event log by the feed projection's lag (milliseconds when the worker runs).

With `Accept: text/event-stream` or `?stream=true` the feed is a live stream instead
(`service.surfaces.openai.streams`): the same items, from `after` (or `Last-Event-ID`) on.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ
from projections.feed.projection import FEED_TYPES
from projections.feed.view import FeedQuery
from service.runtime import Runtime
from service.surfaces.errors import invalid
from service.surfaces.openai.streams import feed_stream
from service.surfaces.sse import wants_stream

DEFAULT_LIMIT, MAX_LIMIT = 100, 1000
MAX_POSITION = 2**63 - 1  # positions are BIGINTs
PARAMETERS = frozenset({"after", "limit", "type", "stream"})
TYPES_BY_NAME = {kind.lower(): kind for kind in FEED_TYPES}


async def list_events(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_READ)
    query = feed_query(request.query_params, principal.tenant)
    if wants_stream(request):
        return await feed_stream(request, query)
    entries, has_more = await run_in_threadpool(rt.feed_view.page, query)
    data = [entry.public_item() for entry in entries]
    next_after = entries[-1].position if entries else query.after
    body = {"object": "list", "data": data, "has_more": has_more, "next_after": next_after}
    return JSONResponse(body)


def feed_query(params: QueryParams, tenant: str) -> FeedQuery:
    unknown = sorted(set(params) - PARAMETERS)
    if unknown:
        raise invalid(unknown[0], f"unknown query parameter {unknown[0]!r}", "unknown_parameter")
    return FeedQuery(
        tenant=tenant,
        after=_after(params.get("after") or "0"),
        limit=_limit(params.get("limit", str(DEFAULT_LIMIT))),
        types=_types(params.getlist("type")),
    )


def _after(raw: str) -> int:
    if not _is_count(raw) or int(raw) > MAX_POSITION:
        raise invalid("after", "after must be an event position (the previous `next_after`)")
    return int(raw)


def _limit(raw: str) -> int:
    if not _is_count(raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise invalid("limit", f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def _types(values: list[str]) -> tuple[str, ...]:
    """`type=Completed,Failed` (or the parameter repeated); names ignore case."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name.lower() not in TYPES_BY_NAME]
    if unknown:
        raise invalid("type", f"unknown event type {unknown[0]!r}: use {', '.join(FEED_TYPES)}")
    return tuple(dict.fromkeys(TYPES_BY_NAME[name.lower()] for name in names))


def _is_count(raw: str) -> bool:
    return raw.isascii() and raw.isdecimal() and len(raw) <= 20


routes = [Route("/v1/events", list_events, methods=["GET"])]
