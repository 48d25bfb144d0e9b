"""Upstream webhook receivers: `POST /hooks/{provider}/{token}`, and `/hooks/{provider}`
for providers that post every webhook to one URL (OpenAI's project webhooks).

Everything is verified on the raw body before anything is parsed or written: the signed
token (it names the job), then, for a provider whose callbacks are `SIGNED`, its own
signature (`Provider.verify_webhook`: fal's ED25519 with the user-id check, Replicate's
Standard Webhooks). Unsigned callbacks (`HINT`) are only hints: the status is fetched
from the provider. A handshake (`Provider.handshake`) is answered as the provider asks.
A signal is appended first and answered after; a duplicate answers 200 and appends
nothing; a forged or unknown one answers 401/404; a store that is down answers 503
(the provider retries).

A callback for a job whose submit never got its answer recorded (its worker was killed or
froze between the upstream's create and `Dispatched`) recovers the dispatch where the
callback names the upstream job (`Provider.callback_names`: fal, Replicate, MiniMax — an
unsigned name is checked with the upstream first): `Dispatched` is recorded, by `webhook`,
and the job goes on as if its worker had recorded it.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import partial
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.job import Job
from service.metrics import Metrics
from service.providers.base import (
    Plugin,
    Provider,
    ProviderRejected,
    ProviderUnavailable,
    UpstreamStatus,
    WebhookKind,
    is_about,
    named_upstream,
)
from service.providers.callbacks import InvalidCallback
from service.providers.registry import PLUGINS
from service.runtime import Runtime
from service.surfaces.waiting import settled
from service.videos.signals import WEBHOOK
from service.workers.dispatcher import dispatch_request

log = logging.getLogger(__name__)
MAX_HOOK_BODY = 1024 * 1024
EARLY_HOOK_WAIT = 10.0  # seconds an early webhook waits for its job's dispatch to be recorded


class HookRefused(Exception):
    def __init__(self, status: int, message: str, outcome: str) -> None:
        super().__init__(message)
        self.status, self.message, self.outcome = status, message, outcome


def _answer(status: int, outcome: str, **extra: Any) -> Response:
    return JSONResponse({"ok": status < 300, "outcome": outcome, **extra}, status_code=status)


async def provider_hook(request: Request) -> Response:
    name, token = request.path_params["provider"], request.path_params["token"]
    rt: Runtime = request.app.state.runtime
    outcomes: Metrics = rt.metrics
    try:
        provider = _provider(request, name)
        body = await _body(request)
        if (answer := provider.handshake(body)) is not None:
            rt.callbacks.job_id(name, token)  # a challenge on a forged URL is refused too
            return JSONResponse(answer)
        job = await _job(request, rt, rt.callbacks.job_id(name, token), name, (provider, body))
        status = await _status(provider, job, request.headers, body)
        appended = await _record(rt, job, status)
    except InvalidCallback as error:
        outcomes.webhook(name, "rejected")
        return _answer(401, "rejected", error=str(error))
    except HookRefused as error:
        outcomes.webhook(name, error.outcome)
        return _answer(error.status, error.outcome, error=error.message)
    outcome = "accepted" if appended else "duplicate"
    outcomes.webhook(name, outcome)
    return _answer(200, outcome)


async def one_url_hook(request: Request, plugin: Plugin) -> Response:
    """A provider that posts every webhook to one URL: the verified payload names its job."""
    name = plugin.name
    rt: Runtime = request.app.state.runtime
    outcomes: Metrics = rt.metrics
    try:
        provider = _provider(request, name)
        body = await _body(request)
        status = await _verified(provider, request.headers, body)
        upstream_id = named_upstream(status) or ""
        job_id = await run_in_threadpool(rt.gateway.job_for_upstream, name, upstream_id)
        if job_id is None:
            message = f"no job for {plugin.one_url_hooks} {upstream_id!r}"
            raise HookRefused(404, message, "unknown")
        job = await _job(request, rt, job_id, name)
        appended = await _record(rt, job, status)
    except HookRefused as error:
        outcomes.webhook(name, error.outcome)
        return _answer(error.status, error.outcome, error=error.message)
    outcome = "accepted" if appended else "duplicate"
    outcomes.webhook(name, outcome)
    return _answer(200, outcome)


def _provider(request: Request, name: str) -> Provider:
    providers: Mapping[str, Provider] = request.app.state.providers
    provider = providers.get(name)
    if provider is None or provider.webhook is WebhookKind.NONE:
        raise HookRefused(404, f"provider {name!r} is not enabled on this gateway", "unknown")
    return provider


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_HOOK_BODY:
        raise HookRefused(413, "the webhook body is too large", "rejected")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_HOOK_BODY:
            raise HookRefused(413, "the webhook body is too large", "rejected")
    return body


async def _job(
    request: Request,
    rt: Runtime,
    job_id: Any,
    provider: str,
    recover: tuple[Provider, bytes] | None = None,
) -> Job:
    """The job a callback is for, once its dispatch is recorded (`recover`: the provider
    and body a cut-off dispatch may be recovered from)."""
    job = await run_in_threadpool(rt.gateway.find_job, job_id)
    if job is None:
        raise HookRefused(404, "the callback names no job", "unknown")
    if job.provider != provider:
        raise HookRefused(401, "the callback is for another provider's job", "rejected")
    if job.upstream_id is None:
        # The webhook overtook our record of the dispatch (the upstream answered the submit
        # and called back before `Dispatched` was saved). Not every upstream retries a 503
        # (MiniMax's emulator, like MiniMax, does not), and a lost signal waits for the
        # fallback poll: so hold it until the dispatch is recorded, for a while.
        job = await settled(request, job, _dispatched_or_over, _early_wait(job))
    if job.upstream_id is None and job.pending_attempt and recover and not job.is_terminal:
        job = await _recovered(rt, *recover, job, request.headers)
    if job.upstream_id is None:
        raise HookRefused(503, "the job's dispatch is not recorded yet; retry", "early")
    return job


def _early_wait(job: Job) -> float:
    """`EARLY_HOOK_WAIT`, counted from the job's intent where there is one: a worker that
    has not recorded its answer by then is dead or frozen (then recover from the callback)."""
    if job.intended_at is None:
        return EARLY_HOOK_WAIT
    age = (datetime.now(UTC) - job.intended_at).total_seconds()
    return max(0.0, EARLY_HOOK_WAIT - age)


async def _recovered(
    rt: Runtime, provider: Provider, body: bytes, job: Job, headers: Mapping[str, str]
) -> Job:
    """Record the dispatch a callback names (the submit's answer never was), if it does."""
    if not provider.named_by_callback:
        return job
    try:
        named = await provider.callback_names(dispatch_request(job), headers, body)
        if named and provider.webhook is not WebhookKind.SIGNED:
            await provider.status(named)  # an unsigned name: the upstream must know it
    except ProviderRejected as error:
        raise HookRefused(401, f"webhook refused: {error}", "rejected") from None
    except ProviderUnavailable as error:
        raise HookRefused(503, f"cannot verify the webhook now: {error}", "unverified") from None
    if not named:
        return job
    log.warning("%s: its dispatch is recovered from %s's callback", job.id, provider.name)
    record = partial(rt.gateway.record_dispatch, by=WEBHOOK)
    recovered: Job = await run_in_threadpool(record, job.id, provider.name, named)
    return recovered


def _dispatched_or_over(job: Job) -> bool:
    return job.upstream_id is not None or job.is_terminal


async def _status(
    provider: Provider, job: Job, headers: Mapping[str, str], body: bytes
) -> UpstreamStatus:
    """The job's status as the webhook tells it (signed) or as the provider says (a hint)."""
    assert job.upstream_id is not None
    if provider.webhook is not WebhookKind.SIGNED:
        try:
            return await provider.status(job.upstream_id)
        except ProviderUnavailable as error:  # the poller will catch up; don't make it retry
            raise HookRefused(202, f"status fetch failed: {error}", "deferred") from None
        except ProviderRejected as error:
            message = f"the provider does not know the job: {error}"
            raise HookRefused(404, message, "unknown") from None
    status = await _verified(provider, headers, body)
    if not is_about(job.upstream_id, status):
        raise HookRefused(401, "the webhook is about another upstream job", "rejected")
    return status


async def _verified(provider: Provider, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
    try:
        return await provider.verify_webhook(headers, body)
    except ProviderRejected as error:
        raise HookRefused(401, f"webhook refused: {error}", "rejected") from None
    except ProviderUnavailable as error:
        raise HookRefused(503, f"cannot verify the webhook now: {error}", "unverified") from None


async def _record(rt: Runtime, job: Job, status: UpstreamStatus) -> bool:
    _, appended = await run_in_threadpool(rt.signals.apply, job.id, status, WEBHOOK)
    return appended


def _one_url_route(plugin: Plugin) -> Route:
    async def endpoint(request: Request) -> Response:
        return await one_url_hook(request, plugin)

    return Route(f"/hooks/{plugin.name}", endpoint, methods=["POST"])


routes = [
    *(_one_url_route(plugin) for plugin in PLUGINS if plugin.one_url_hooks),
    Route("/hooks/{provider}/{token}", provider_hook, methods=["POST"]),
]
