"""Helpers for bench_upstream.py: signed Replicate webhooks, a closed loop that posts them (or
any request) from a few httpx clients, and what `/metrics` and the emulators' request log say.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
import secrets
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import httpx
from loadgen import _percentile
from prometheus_client.parser import text_string_to_metric_families

from service.providers.callbacks import CallbackTokens
from service.sandbox.suite import SandboxCredentials
from service.settings import Settings
from service.webhooks.signing import sign

MAX_ERRORS_KEPT = 5


# signed Replicate webhooks


@dataclass(frozen=True)
class Hook:
    """One webhook as Replicate would post it; replaying it keeps its id and body."""

    worker: int  # which client sends it: one job's hooks always go through the same one
    path: str  # /hooks/replicate/{token}
    msg_id: str
    body: bytes


class ReplicateHooks:
    """Builds the webhooks a sandbox gateway started with `secret_key` accepts: its callback
    token for the job, signed with the secret its Replicate emulator signs with."""

    def __init__(self, secret_key: str) -> None:
        credentials = SandboxCredentials.from_settings(Settings(secret_key=secret_key))
        secret = credentials.replicate_webhook_secret
        self.key = base64.b64decode(secret.removeprefix("whsec_"))
        self.tokens = CallbackTokens([secret_key], "http://127.0.0.1")  # the URL is not signed

    def progress(self, job_id: UUID, prediction_id: str, percent: int, worker: int) -> Hook:
        """A `processing` prediction whose tqdm log has reached `percent`."""
        bar = "#" * (percent // 10)
        prediction = {
            "id": prediction_id,
            "model": "wan-video/wan-2.5-t2v-fast",
            "status": "processing",
            "logs": f"Generating video …\n{percent:3d}%|{bar:<10}| {percent}/100\n",
            "output": None,
            "error": None,
        }
        body = json.dumps(prediction, separators=(",", ":")).encode()
        path = f"/hooks/replicate/{self.tokens.token('replicate', job_id)}"
        return Hook(worker, path, f"msg_{secrets.token_hex(12)}", body)

    def headers(self, hook: Hook) -> dict[str, str]:
        """Standard Webhooks headers, stamped now (a retry is re-stamped, its id kept)."""
        stamp = int(time.time())
        return {
            "content-type": "application/json",
            "webhook-id": hook.msg_id,
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(hook.msg_id, stamp, hook.body, [self.key]),
        }


# the closed loop


@dataclass
class Load:
    """What one batch of requests got: outcomes, latency, wall time."""

    sent: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    latencies_ms: list[float] = field(default_factory=list)  # sorted once done
    elapsed: float = 0.0
    errors: list[str] = field(default_factory=list)  # the first few unexpected answers

    def rate(self, outcome: str | None = None) -> float:
        n = self.sent if outcome is None else self.outcomes[outcome]
        return n / self.elapsed if self.elapsed > 0 else 0.0

    def p(self, percentile: float) -> float:
        return _percentile(self.latencies_ms, percentile)


async def post_hooks(
    base_url: str, hooks: Sequence[Hook], signer: ReplicateHooks, clients: int
) -> Load:
    """Post `hooks`, each client its own share in order; the outcome is the answer's."""

    async def send(client: httpx.AsyncClient, hook: Hook) -> httpx.Response:
        return await client.post(hook.path, content=hook.body, headers=signer.headers(hook))

    shares: list[list[Hook]] = [[] for _ in range(clients)]
    for hook in hooks:
        shares[hook.worker % clients].append(hook)
    return await _drive(base_url, shares, send, _hook_outcome)


async def get_many(base_url: str, path: str, count: int, clients: int) -> Load:
    """`count` GETs of `path`, spread evenly over the clients (the baseline)."""

    async def send(client: httpx.AsyncClient, _: int) -> httpx.Response:
        return await client.get(path)

    shares = [list(range(i, count, clients)) for i in range(clients)]
    return await _drive(base_url, shares, send, lambda r: "ok" if r.status_code == 200 else "")


def _hook_outcome(response: httpx.Response) -> str:
    """`accepted`/`duplicate` from a 200; anything else is unexpected here."""
    if response.status_code != 200:
        return ""
    try:
        return str(response.json().get("outcome", ""))
    except ValueError:
        return ""


async def _drive(base_url: str, shares: Sequence[Sequence[Any]], send: Any, outcome: Any) -> Load:
    """One httpx.AsyncClient (one keep-alive connection) per share, each sending its share
    one request at a time: a closed loop with `len(shares)` requests in flight."""
    load = Load()

    async def worker(share: Sequence[Any]) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        async with httpx.AsyncClient(
            base_url=base_url, limits=limits, trust_env=False, timeout=30.0
        ) as client:
            for item in share:
                started = time.perf_counter()
                try:
                    response = await send(client, item)
                except httpx.HTTPError as error:
                    load.outcomes[f"error: {type(error).__name__}"] += 1
                    continue
                finally:
                    load.sent += 1
                load.latencies_ms.append((time.perf_counter() - started) * 1000)
                got = outcome(response)
                load.outcomes[got or f"HTTP {response.status_code}"] += 1
                if not got and len(load.errors) < MAX_ERRORS_KEPT:
                    request = response.request
                    load.errors.append(
                        f"{request.method} {request.url.path} → "
                        f"{response.status_code} {response.text[:300]}"
                    )

    started = time.perf_counter()
    await asyncio.gather(*(worker(share) for share in shares if share))
    load.elapsed = time.perf_counter() - started
    load.latencies_ms.sort()
    return load


# /metrics and the emulators' request log


Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse_metrics(text: str) -> Samples:
    """Every sample of a Prometheus text exposition by (name, labels)."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: Samples, name: str, **labels: str | Iterable[str]) -> float:
    """The sum of `name` over the samples whose labels match (a value or a set of values)."""

    def matches(have: dict[str, str]) -> bool:
        for key, want in labels.items():
            allowed = {want} if isinstance(want, str) else set(want)
            if have.get(key) not in allowed:
                return False
        return True

    return sum(value for (n, lab), value in samples.items() if n == name and matches(dict(lab)))


def status_gets(
    entries: Iterable[dict[str, Any]], provider: str, upstream_id: str, before: float
) -> int:
    """GETs the emulator answered about this upstream job (its status URL: the id at the end
    of the path, before `/status`, or as a query value) that started before `before`.

    The cut-off leaves out the mirror's calls after the completion (downloads, and
    Replicate's download reads the prediction again)."""
    return len(status_get_entries(entries, provider, upstream_id, before))


def status_get_entries(
    entries: Iterable[dict[str, Any]], provider: str, upstream_id: str, before: float
) -> list[dict[str, Any]]:
    """The request-log entries `status_gets` counts, in the log's order."""
    key = re.split(r"[:/]", upstream_id)[-1]
    in_query = re.compile(rf"(^|&)[^=&]+={re.escape(key)}(&|$)")
    return [
        e
        for e in entries
        if e["method"] == "GET"
        and e["path"].startswith(f"/{provider}/")
        and e["start"] < before
        and (e["path"].endswith((f"/{key}", f"/{key}/status")) or in_query.search(e["query"]))
    ]
