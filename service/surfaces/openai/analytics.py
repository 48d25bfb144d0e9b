"""`GET /v1/analytics`: the tenant's job figures, from the `analytics` view.

Jobs count on the UTC day of their submission. The view trails the event log by a moment
(its projection polls), and a job submitted a moment ago may be missing yet.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.apikey import VIDEOS_READ
from projections.analytics.view import DIMENSIONS, SOURCES, AnalyticsQuery, Figures, Latency
from service.catalog import PROVIDERS
from service.runtime import Runtime
from service.surfaces.errors import invalid, text_parameter

PARAMETERS = ("group_by", "from", "to", "model", "provider")
NO_GROUPING = "none"
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


async def get_analytics(request: Request) -> Response:
    rt: Runtime = request.app.state.runtime
    principal = await rt.authenticator.authenticate(request)
    principal.require(VIDEOS_READ)
    query = analytics_query(request, principal.tenant, rt)
    figures = await run_in_threadpool(rt.analytics_view.figures, query)
    return JSONResponse(
        {
            "object": "analytics",
            "group_by": list(query.group_by),
            "from": query.since,
            "to": query.until,
            "model": query.model,
            "provider": query.provider,
            "data": [group_object(group) for group in figures],
        }
    )


def analytics_query(request: Request, tenant: str, rt: Runtime) -> AnalyticsQuery:
    """The query the request asks for; a 400 naming the field for anything else."""
    params = request.query_params
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise invalid(unknown[0], f"unknown query parameter {unknown[0]!r}", "unknown_parameter")
    since, until = _day(params.get("from"), "from"), _day(params.get("to"), "to")
    if since and until and since > until:
        raise invalid("from", f"from ({since}) must not be after to ({until})")
    provider = params.get("provider") or None
    if provider is not None and provider not in PROVIDERS:
        raise invalid("provider", f"provider must be one of {', '.join(PROVIDERS)}")
    model = text_parameter(params, "model")
    spec = rt.catalog.resolve(model) if model else None  # an alias counts as its model
    return AnalyticsQuery(
        tenant=tenant,
        group_by=_group_by(params.getlist("group_by")),
        since=since,
        until=until,
        model=spec.id if spec else model,  # a model no longer in the catalog still has history
        provider=provider,
    )


def _group_by(values: list[str]) -> tuple[str, ...]:
    names = {name.strip() for value in values for name in value.split(",")} - {""}
    if names == {NO_GROUPING}:
        return ()
    wrong = sorted(names - set(DIMENSIONS))
    if wrong:
        allowed = ", ".join(DIMENSIONS)
        raise invalid(
            "group_by",
            f"group_by takes {allowed} (comma-separated, or repeated) or {NO_GROUPING}; "
            f"got {wrong[0]!r}",
        )
    return tuple(name for name in DIMENSIONS if name in names)


def _day(value: str | None, field: str) -> str | None:
    if not value:
        return None
    try:
        if not DATE.match(value):
            raise ValueError(value)
        return date.fromisoformat(value).isoformat()
    except ValueError:
        raise invalid(field, f"{field} must be a date like 2025-11-25, got {value!r}") from None


def group_object(group: Figures) -> dict[str, Any]:
    """One group's figures as the API shows them (seconds to the millisecond)."""
    return {
        **group.key,
        "submitted": group.submitted,
        "completed": group.completed,
        "failed": group.failed,
        "canceled": group.canceled,
        "unfinished": group.submitted - group.completed - group.failed - group.canceled,
        "failures": group.failures,
        "output_seconds": round(group.output_seconds, 3),
        "estimated_cost": round(group.estimated_cost, 6),
        "cost": round(group.cost, 6),
        "spent": None if group.spent is None else round(group.spent, 6),
        "latency": {name: _latency(span) for name, span in group.latency.items()},
        "signals": {**group.signals, **_shares(group.signals)},
    }


def _shares(signals: dict[str, int]) -> dict[str, float | None]:
    """Webhook and poll shares of all state changes (None when there were none)."""
    total = sum(signals.values())
    return {f"{s}_share": round(signals[s] / total, 4) if total else None for s in SOURCES}


def _latency(span: Latency) -> dict[str, Any]:
    def seconds(value: float | None) -> float | None:
        return None if value is None else round(value, 3)

    return {
        "count": span.count,
        "p50": seconds(span.p50),
        "p90": seconds(span.p90),
        "p99": seconds(span.p99),
    }


routes = [Route("/v1/analytics", get_analytics, methods=["GET"])]
