"""Upstream webhook receivers: `POST /hooks/{provider}/{token}` and OpenAI's `/hooks/sora`.

Everything is verified on the raw body before anything is parsed or written: the signed
token (it names the job), then the provider's own signature where it has one (fal's
ED25519 with the user-id check, Replicate's Standard Webhooks). Unsigned callbacks
(MiniMax, Luma, Kling …) are only hints: the status is fetched from the provider.
A signal is appended first and answered after; a duplicate answers 200 and appends
nothing; a forged or unknown one answers 401/404; a store that is down answers 503
(the provider retries).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from events.job import Job
from service.metrics import Metrics
from service.providers.base import Provider, ProviderRejected, ProviderUnavailable, UpstreamStatus
from service.providers.callbacks import InvalidCallback
from service.providers.minimax import challenge_response
from service.runtime import Runtime
from service.videos.signals import WEBHOOK

log = logging.getLogger(__name__)
MAX_HOOK_BODY = 1024 * 1024
# Providers whose webhook body is signed by them: their payload is trusted once verified.
SIGNED = frozenset({"fal", "replicate", "sora"})


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
        if name == "minimax" and (answer := challenge_response(body)) is not None:
            rt.callbacks.job_id(name, token)  # a challenge on a forged URL is refused too
            return JSONResponse(answer)
        job = await _job(rt, rt.callbacks.job_id(name, token), name)
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


async def sora_hook(request: Request) -> Response:
    """OpenAI posts every project webhook to one URL; the video id names the job."""
    rt: Runtime = request.app.state.runtime
    outcomes: Metrics = rt.metrics
    try:
        provider = _provider(request, "sora")
        body = await _body(request)
        status = _verified(provider, request.headers, body)
        video = str(status.extra.get("video_id", ""))
        job_id = await run_in_threadpool(rt.gateway.job_for_upstream, "sora", video)
        if job_id is None:
            raise HookRefused(404, f"no job for OpenAI video {video!r}", "unknown")
        job = await _job(rt, job_id, "sora")
        appended = await _record(rt, job, status)
    except HookRefused as error:
        outcomes.webhook("sora", error.outcome)
        return _answer(error.status, error.outcome, error=error.message)
    outcome = "accepted" if appended else "duplicate"
    outcomes.webhook("sora", outcome)
    return _answer(200, outcome)


def _provider(request: Request, name: str) -> Provider:
    providers: Mapping[str, Provider] = request.app.state.providers
    provider = providers.get(name)
    if provider is None or name == "local":
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


async def _job(rt: Runtime, job_id: Any, provider: str) -> Job:
    job = await run_in_threadpool(rt.gateway.find_job, job_id)
    if job is None:
        raise HookRefused(404, "the callback names no job", "unknown")
    if job.provider != provider:
        raise HookRefused(401, "the callback is for another provider's job", "rejected")
    if job.upstream_id is None:  # the webhook overtook our record of the dispatch
        raise HookRefused(503, "the job's dispatch is not recorded yet; retry", "early")
    return job


async def _status(
    provider: Provider, job: Job, headers: Mapping[str, str], body: bytes
) -> UpstreamStatus:
    """The job's status as the webhook tells it (signed) or as the provider says (a hint)."""
    assert job.upstream_id is not None
    if provider.name not in SIGNED:
        try:
            return await provider.status(job.upstream_id)
        except ProviderUnavailable as error:  # the poller will catch up; don't make it retry
            raise HookRefused(202, f"status fetch failed: {error}", "deferred") from None
        except ProviderRejected as error:
            message = f"the provider does not know the job: {error}"
            raise HookRefused(404, message, "unknown") from None
    verify = getattr(provider, "verify_webhook", None)
    try:
        status = await verify(headers, body) if verify else provider.parse_webhook(headers, body)
    except ProviderRejected as error:
        raise HookRefused(401, f"webhook refused: {error}", "rejected") from None
    except ProviderUnavailable as error:
        raise HookRefused(503, f"cannot verify the webhook now: {error}", "unverified") from None
    if not _same_upstream(job.upstream_id, status):
        raise HookRefused(401, "the webhook is about another upstream job", "rejected")
    return status


def _verified(provider: Provider, headers: Mapping[str, str], body: bytes) -> UpstreamStatus:
    try:
        return provider.parse_webhook(headers, body)
    except ProviderRejected as error:
        raise HookRefused(401, f"webhook refused: {error}", "rejected") from None
    except ProviderUnavailable as error:
        raise HookRefused(503, f"cannot verify the webhook now: {error}", "unverified") from None


def _same_upstream(upstream_id: str, status: UpstreamStatus) -> bool:
    """Whether a verified payload is about the job the token names (fal, Replicate)."""
    named = status.extra.get("request_id") or status.extra.get("prediction_id")
    if not named:
        return True
    return upstream_id == named or upstream_id.endswith(f":{named}")


async def _record(rt: Runtime, job: Job, status: UpstreamStatus) -> bool:
    _, appended = await run_in_threadpool(rt.signals.apply, job.id, status, WEBHOOK)
    return appended


routes = [
    Route("/hooks/sora", sora_hook, methods=["POST"]),
    Route("/hooks/{provider}/{token}", provider_hook, methods=["POST"]),
]
