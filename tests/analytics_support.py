"""Job histories with chosen timestamps, and analytics figures computed independently.

Events are built as the aggregate would record them (same classes, versions in order)
but with timestamps we choose, then appended through the Gateway (`save(*events)`), so
latencies and days are known exactly. `expected` recomputes every figure from decoded
domain events in plain Python (numpy's linear percentiles), without the projection.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import numpy

from events.account import MICROS, Account, to_micros
from events.job import Job

T0 = datetime(2030, 3, 1, 23, 50, tzinfo=UTC)  # ten minutes to midnight: two days
TENANTS = ("acme", "globex")  # every fifth job is globex's
MODELS = (("kling-3-pro", "fal"), ("veo-3.1", "veo"), ("wan-2.5-fast", "replicate"))
FAILURES = ("upstream_error", "timeout", "content_policy")
SOURCES = ("webhook", "poll", "local", "dispatcher")


@dataclass
class Plan:
    """One job's story; times are seconds after `T0`."""

    tenant: str = "acme"
    model: str = "kling-3-pro"
    provider: str = "fal"
    at: float = 0.0
    seconds: Any = "4"  # params.seconds as a client sent it
    estimate: float | None = 0.5
    dispatches: Sequence[float] = (1.0,)  # a re-dispatch appends another
    progress: Sequence[tuple[float, str]] = ()  # (time, source)
    end: tuple[Any, ...] | None = None  # ("completed", t, source, duration, cost) |
    # ("failed", t, source, code) | ("canceled", t)
    price: float | None = None  # what the tenant's ledger reserves (None: not charged)
    job_id: UUID = field(default_factory=uuid4)


def events_of(plan: Plan) -> list[Job.Event]:
    def at(offset: float) -> datetime:
        return T0 + timedelta(seconds=offset)

    history: list[Job.Event] = [
        Job.Submitted(
            originator_id=plan.job_id,
            originator_version=1,
            timestamp=at(plan.at),
            originator_topic="vidgate:Job",
            tenant=plan.tenant,
            model=plan.model,
            provider=plan.provider,
            upstream_model=plan.model,
            prompt="a fox",
            params={"seconds": plan.seconds, "size": "1280x720"},
            inputs={},
            webhook=None,
            idempotency_key=None,
            request_hash="h",
            surface="openai",
            cost_estimate=plan.estimate,
        )
    ]

    def add(event_class: type, when: float, **fields: Any) -> None:
        history.append(
            event_class(
                originator_id=plan.job_id,
                originator_version=len(history) + 1,
                timestamp=at(when),
                **fields,
            )
        )

    steps: list[tuple[float, int, Any]] = [
        (t, 0, ("dispatch", n)) for n, t in enumerate(plan.dispatches, 1)
    ]
    steps += [(t, 1, ("progress", source)) for t, source in plan.progress]
    if plan.end is not None:
        steps.append((plan.end[1], 2, plan.end))
    percent = 0
    for when, _, step in sorted(steps, key=lambda s: (s[0], s[1])):
        if step[0] == "dispatch":
            add(
                Job.Dispatched,
                when,
                provider=plan.provider,
                upstream_id=f"up-{step[1]}",
                attempt=step[1],
                attempt_id=None,
                by=None,
            )
        elif step[0] == "progress":
            percent += 10
            add(Job.Progressed, when, percent=percent, upstream_status="running", source=step[1])
        elif step[0] == "completed":
            output = {"url": "u", "bytes": 9} | ({"duration": step[3]} if step[3] else {})
            add(
                Job.Completed,
                when,
                output=output,
                upstream_url=None,
                cost=step[4],
                upstream_status="done",
                source=step[2],
            )
        elif step[0] == "failed":
            add(
                Job.Failed,
                when,
                code=step[3],
                message="no",
                retryable=False,
                upstream_status=None,
                source=step[2],
            )
        else:
            add(Job.Canceled, when, by="api")
    return history


def mixed_plans(count: int = 60, seed: int = 7) -> list[Plan]:
    """Completed (by webhook, poll, locally; with and without duration and cost), failed
    (several codes, some timed out by the poller), canceled before and after dispatch,
    never dispatched, still running, re-dispatched; two tenants, across midnight."""
    rng = random.Random(seed)
    plans = []
    for n in range(count):
        model, provider = rng.choice(MODELS)
        at = rng.uniform(0, 1200)
        dispatched = at + rng.uniform(0.05, 3)
        dispatches = [] if n % 11 == 0 else [dispatched]
        if n % 7 == 0 and dispatches:
            dispatches.append(dispatched + rng.uniform(1, 5))  # re-dispatched
        last = dispatches[-1] if dispatches else at
        progress = [
            (last + rng.uniform(0.1, 20), rng.choice(SOURCES[:3])) for _ in range(rng.randint(0, 3))
        ]
        done = max([last, *(t for t, _ in progress)]) + rng.uniform(0.5, 90)
        kind = n % 6
        if kind in (0, 1, 2):
            end = (
                "completed",
                done,
                rng.choice(SOURCES[:3]),
                rng.choice([None, 4.0, 8.5]),
                rng.choice([None, 0.25, 1.5]),
            )
        elif kind == 3:
            end = ("failed", done, rng.choice(SOURCES), rng.choice(FAILURES))
        elif kind == 4:
            end = ("canceled", done if dispatches else at + 0.5)
        else:
            end = None  # still running (or never dispatched)
        if end is not None and end[0] == "failed" and end[3] == "timeout":
            end = ("failed", done, "poll", "timeout")
        if not dispatches and end is not None and end[0] == "completed":
            end = ("failed", at + 1, "dispatcher", "upstream_error")
        tenant = TENANTS[n % 5 == 4]
        # acme is metered from its 10th job on (its first were submitted before a grant);
        # globex never is. Not drawn from `rng`: the mix of stories stays as it was.
        price = None if tenant == "globex" or n < 10 else (1.0, 2.5, 0.75)[n % 3]
        plans.append(
            Plan(
                tenant=tenant,
                price=price,
                model=model,
                provider=provider,
                at=at,
                seconds=rng.choice(["4", 8, "5.5", None]),
                estimate=rng.choice([None, 0.4, 2.0]),
                dispatches=dispatches,
                progress=progress,
                end=end,
            )
        )
    return plans


def append(gateway: Any, plans: Iterable[Plan]) -> None:
    """Append each plan's events through the Gateway, a job per save (as in production).

    A priced plan's money moves as the Gateway moves it: reserved with `Submitted`, then,
    with the rest of the job, settled (completed: at its reported cost, else the price;
    canceled after dispatch: the price) or released (failed, canceled before dispatch)."""
    accounts: dict[str, Account] = {}
    for plan in plans:
        history = events_of(plan)
        if plan.price is None:
            gateway.save(*history)
            continue
        account = (
            accounts.get(plan.tenant)
            or gateway.find_account(plan.tenant)
            or Account(tenant=plan.tenant)
        )
        accounts[plan.tenant] = account
        account.reserve(plan.job_id, to_micros(plan.price))
        gateway.save(history[0], account)
        _move_money(account, plan)
        gateway.save(*history[1:], account)


def _move_money(account: Account, plan: Plan) -> None:
    end = plan.end
    if end is None:
        return
    if end[0] == "completed":
        account.settle(plan.job_id, None if end[4] is None else to_micros(end[4]))
    elif end[0] == "canceled" and plan.dispatches:
        account.settle(plan.job_id)
    else:
        account.release(plan.job_id, reason="failed" if end[0] == "failed" else "canceled")


# the independent computation


def all_events(gateway: Any) -> list[Any]:
    notifications = gateway.recorder.select_notifications(start=None, limit=10**9)
    return [gateway.mapper.to_domain_event(n) for n in notifications]


def expected(
    events: Iterable[Any],
    tenant: str,
    group_by: Sequence[str] = (),
    since: str | None = None,
    until: str | None = None,
    model: str | None = None,
    provider: str | None = None,
) -> list[dict[str, Any]]:
    """The API's `data` for these events, computed without the projection (unrounded)."""
    jobs: dict[UUID, dict[str, Any]] = {}
    for e in events:
        if isinstance(e, Account.CreditsReserved):
            jobs[e.job_id]["charged"] = True
        if isinstance(e, Account.CreditsSettled):
            jobs[e.job_id]["settled"] = e.amount
        if isinstance(e, Job.Submitted):
            jobs[e.originator_id] = {
                "tenant": e.tenant,
                "model": e.model,
                "provider": e.provider,
                "day": e.timestamp.astimezone(UTC).date().isoformat(),
                "submitted": e.timestamp.timestamp(),
                "seconds": _num(e.params.get("seconds")),
                "estimate": e.cost_estimate,
                "dispatched": None,
                "end": None,
                "signals": defaultdict(int),
                "charged": False,
                "settled": 0,
            }
            continue
        job = jobs.get(e.originator_id)
        if job is None:
            continue
        if isinstance(e, Job.Dispatched) and job["dispatched"] is None:
            job["dispatched"] = e.timestamp.timestamp()
        if isinstance(e, Job.Progressed | Job.Completed | Job.Failed):
            job["signals"][e.source if e.source in ("webhook", "poll") else "other"] += 1
        if isinstance(e, Job.Completed | Job.Failed | Job.Canceled) and job["end"] is None:
            job["end"] = e
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = defaultdict(list)
    for job in jobs.values():
        if job["tenant"] != tenant or (model and job["model"] != model):
            continue
        if (provider and job["provider"] != provider) or (since and job["day"] < since):
            continue
        if until and job["day"] > until:
            continue
        groups[tuple(job[d] for d in group_by)].append(job)
    if not group_by and not groups:
        groups[()] = []
    return [_figures(dict(zip(group_by, key, strict=True)), groups[key]) for key in sorted(groups)]


def _figures(key: dict[str, str], jobs: list[dict[str, Any]]) -> dict[str, Any]:
    def ended(kind: type) -> list[dict[str, Any]]:
        return [j for j in jobs if isinstance(j["end"], kind)]

    completed, failed = ended(Job.Completed), ended(Job.Failed)
    failures: dict[str, int] = defaultdict(int)
    for job in failed:
        failures[job["end"].code] += 1
    signals = {s: sum(j["signals"][s] for j in jobs) for s in ("webhook", "poll", "other")}
    total = sum(signals.values())
    return {
        **key,
        "submitted": len(jobs),
        "completed": len(completed),
        "failed": len(failed),
        "canceled": len(ended(Job.Canceled)),
        "unfinished": sum(j["end"] is None for j in jobs),
        "failures": dict(sorted(failures.items())),
        "output_seconds": sum(
            _num(j["end"].output.get("duration")) or j["seconds"] or 0 for j in completed
        ),
        "estimated_cost": sum(j["estimate"] or 0 for j in jobs),
        "cost": sum(
            j["end"].cost if j["end"].cost is not None else (j["estimate"] or 0) for j in completed
        ),
        "spent": (
            sum(j["settled"] for j in jobs) / MICROS if any(j["charged"] for j in jobs) else None
        ),
        "latency": {
            "submit_to_dispatch": _span(
                j["dispatched"] - j["submitted"] for j in jobs if j["dispatched"] is not None
            ),
            "dispatch_to_complete": _span(
                j["end"].timestamp.timestamp() - j["dispatched"]
                for j in completed
                if j["dispatched"] is not None
            ),
            "submit_to_complete": _span(
                j["end"].timestamp.timestamp() - j["submitted"] for j in completed
            ),
        },
        "signals": {
            **signals,
            "webhook_share": signals["webhook"] / total if total else None,
            "poll_share": signals["poll"] / total if total else None,
        },
    }


def _span(values: Iterable[float]) -> dict[str, Any]:
    found = list(values)
    if not found:
        return {"count": 0, "p50": None, "p90": None, "p99": None}
    p50, p90, p99 = numpy.percentile(found, [50, 90, 99])
    return {"count": len(found), "p50": float(p50), "p90": float(p90), "p99": float(p99)}


def _num(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def assert_figures_match(actual: Any, wanted: Any, tolerance: float = 1e-3) -> None:
    """Equal, numbers within `tolerance` (the API rounds seconds to milliseconds)."""
    assert _close(actual, wanted, tolerance), f"\n got: {actual}\nwant: {wanted}"


def _close(a: Any, b: Any, tolerance: float) -> bool:
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_close(a[k], b[k], tolerance) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_close(x, y, tolerance) for x, y in zip(a, b, strict=True))
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        return abs(a - b) <= tolerance
    return bool(a == b)
