"""What the provider contract tests share: request and image builders, the webhook receiver,
adapter factories over httpx transports, a live uvicorn server, and forged webhooks.

A plain module, not a conftest: the `test_<provider>.py` modules import what they use.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any

import anyio
import httpx
import uvicorn
from PIL import Image
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.providers.base import DispatchRequest, Provider, UpstreamStatus
from service.webhooks.signing import SecretDeriver, sign
from tests.contract.provider_contract import wait_for_state

PROMPT = "a red fox in snow"
# Eight PNG signature bytes and no image: enough for adapters that only pass the data on.
STUB_PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 16).decode()
WEBHOOK_ATTACKS = ["forged", "stale", "future", "tampered", "unsigned"]


def png(width: int = 32, height: int = 18) -> bytes:
    """A real, decodable PNG of one colour."""
    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(out, format="PNG")
    return out.getvalue()


def png_input() -> dict[str, str]:
    """`png()` as an inline `DispatchRequest` input."""
    return {"data": base64.b64encode(png()).decode(), "content_type": "image/png"}


def dispatch_request(
    model: str,
    upstream_model: str,
    params: dict[str, Any],
    inputs: dict[str, Any] | None = None,
    /,
    **changes: Any,
) -> DispatchRequest:
    """A `DispatchRequest` for the fox prompt, with `changes` applied on top."""
    base = DispatchRequest(
        job_id=uuid.uuid4(),
        model=model,
        upstream_model=upstream_model,
        prompt=PROMPT,
        params=params,
        inputs={} if inputs is None else inputs,
    )
    return replace(base, **changes)


def asgi_client(app: Any, **options: Any) -> httpx.AsyncClient:
    """An httpx client straight onto an ASGI app: no sockets."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), **options)


async def wait_until(done: Callable[[], bool], within: float = 5.0) -> None:
    """Sleep in small steps until `done()` holds (real seconds)."""
    with anyio.fail_after(within):
        while not done():  # noqa: ASYNC110
            await anyio.sleep(0.01)


class Receiver:
    """Records the webhooks the emulator posts to `path`; `fail` answers the next ones with a
    500. `states()` reads `state_field` out of each recorded JSON body."""

    def __init__(self, path: str, state_field: str = "state") -> None:
        self.calls: list[tuple[dict[str, str], bytes, float]] = []
        self.fail = 0
        self.state_field = state_field
        self.app = Starlette(routes=[Route(path, self.hook, methods=["POST"])])

    async def hook(self, request: Request) -> Response:
        self.calls.append((dict(request.headers), await request.body(), time.monotonic()))
        if self.fail:
            self.fail -= 1
            return Response(status_code=500)
        return Response("ok")

    async def wait(self, count: int, within: float = 5.0) -> None:
        await wait_until(lambda: len(self.calls) >= count, within)

    def states(self) -> list[Any]:
        return [json.loads(body)[self.state_field] for _, body, _ in self.calls]


@asynccontextmanager
async def provider_factory(
    build: Callable[..., Provider],
) -> AsyncIterator[Callable[..., Provider]]:
    """`factory(transport, timeout, **options)` → `build(http, timeout, **options)` over a fresh
    httpx client on `transport`; the clients close on exit."""
    clients: list[httpx.AsyncClient] = []

    def factory(transport: httpx.AsyncBaseTransport, timeout: float, **options: Any) -> Provider:
        clients.append(httpx.AsyncClient(transport=transport))
        return build(clients[-1], timeout, **options)

    yield factory
    for client in clients:
        await client.aclose()


async def finish(
    provider: Provider, clock: Any, request: DispatchRequest, state: str = "completed"
) -> tuple[Any, UpstreamStatus]:
    """Submit, let a minute pass on the fake clock, and wait for `state`."""
    submission = await provider.submit(request)
    clock.advance(60.0)
    return submission, await wait_for_state(provider, submission.upstream_id, {state})


def attack_webhook(
    attack: str,
    headers: dict[str, str],
    body: bytes,
    clock: Any,
    scope: str,
    tamper: tuple[bytes, bytes],
) -> tuple[bytes, str]:
    """Spoil a signed (Standard Webhooks) delivery as `attack` says: `headers` in place, the
    clock moved, or `tamper` replaced in the body. Returns the body and the code expected."""
    if attack == "forged":
        other = SecretDeriver("attacker").raw(scope, 0)
        stamp = int(headers["webhook-timestamp"])
        headers["webhook-signature"] = sign(headers["webhook-id"], stamp, body, [other])
    elif attack == "stale":
        clock.advance(301)
    elif attack == "future":
        clock.advance(-301)
    elif attack == "tampered":
        body = body.replace(*tamper)
    else:
        del headers["webhook-signature"]
    return body, "stale" if attack in ("stale", "future") else "invalid_signature"


@contextmanager
def live_server(build: Callable[[str], Any]) -> Iterator[str]:
    """Serve `build(base_url)` on a real uvicorn on 127.0.0.1; yields the base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(build(base), log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    yield base
    server.should_exit = True
    thread.join(timeout=5)
    sock.close()
