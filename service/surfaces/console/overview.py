"""The read-only pages: analytics charts, balance and ledger, the model catalog.

Each reads what its API reads (`/v1/analytics`, `/v1/balance` and the feed's ledger
entries, `/v1/models`), through the same views and the same renderings.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from events.apikey import VIDEOS_READ
from projections.feed.projection import LEDGER_TYPES
from projections.feed.view import FeedQuery
from service.billing.balance import balance_object
from service.surfaces.console.charts import Chart, bar_chart
from service.surfaces.console.guard import Visit, console_page, visit
from service.surfaces.console.render import page
from service.surfaces.openai.analytics import analytics_query, group_object

LEDGER_SHOWN = 200


@console_page
async def analytics_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    query = analytics_query(request, you.tenant, you.rt)  # from, to, model, provider
    groups = {}
    for dimension in ("day", "model", "provider"):
        grouped = replace(query, group_by=(dimension,))
        figures = await run_in_threadpool(you.rt.analytics_view.figures, grouped)
        groups[dimension] = [group_object(group) for group in figures]
    filters = {name: request.query_params.get(name, "") for name in ("from", "to", "model")}
    context = you.context(charts=charts(groups), groups=groups, filters=filters)
    return page("analytics.html", context)


def charts(groups: dict[str, list[dict[str, Any]]]) -> list[Chart]:
    """Jobs and failures by day; latency, spend by day, model and provider."""
    day, model, provider = groups["day"], groups["model"], groups["provider"]
    return [
        bar_chart("Jobs submitted by day", _points(day, "day", lambda g: g["submitted"])),
        bar_chart("Failures by day", _points(day, "day", lambda g: g["failed"])),
        bar_chart(
            "Median latency by model (submit → complete, s)",
            _points(model, "model", _median_latency),
            unit=" s",
        ),
        bar_chart("Spend by day", _points(day, "day", lambda g: g["cost"]), unit="$"),
        bar_chart("Spend by model", _points(model, "model", lambda g: g["cost"]), unit="$"),
        bar_chart(
            "Spend by provider", _points(provider, "provider", lambda g: g["cost"]), unit="$"
        ),
    ]


def _points(groups: list[dict[str, Any]], key: str, value: Any) -> list[tuple[str, float]]:
    return [(str(group[key]), float(value(group) or 0.0)) for group in groups]


def _median_latency(group: dict[str, Any]) -> float:
    p50 = group["latency"].get("submit_to_complete", {}).get("p50")
    return float(p50 or 0.0)


@console_page
async def billing_page(request: Request) -> Response:
    you = await visit(request)
    you.principal.require(VIDEOS_READ)
    account = await run_in_threadpool(you.rt.gateway.find_account, you.tenant)
    ledger = await run_in_threadpool(_ledger, you)
    context = you.context(balance=balance_object(account), ledger=ledger)
    return page("billing.html", context)


def _ledger(you: Visit) -> list[dict[str, Any]]:
    """The newest ledger entries, newest first (the feed pages oldest first)."""
    query = FeedQuery(tenant=you.tenant, types=LEDGER_TYPES, limit=500)
    entries: list[dict[str, Any]] = []
    more = True
    while more:
        page_of, more = you.rt.feed_view.page(query)
        entries = (entries + [entry.public_item() for entry in page_of])[-LEDGER_SHOWN:]
        if page_of:
            query = replace(query, after=page_of[-1].position)
    return entries[::-1]


@console_page
async def models_page(request: Request) -> Response:
    you = await visit(request)
    enabled = you.rt.enabled_providers
    models = [model.as_json(enabled) for model in you.rt.catalog.models]
    return page("models.html", you.context(models=models, enabled=sorted(enabled)))
