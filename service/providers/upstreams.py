"""The upstream provider adapters a process talks to, and the sandbox behind them if asked.

In sandbox mode the process that runs the workers also serves the emulators (in-process,
on loopback), unless `VIDGATE_SANDBOX_URL` names emulators that run elsewhere
(`vidgate emulate`); a web-only process points at the worker's emulators, which then need
a fixed `VIDGATE_SANDBOX_PORT`. The sandbox (and every emulator) is imported only then.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import TYPE_CHECKING

import httpx

from service.providers.base import Provider
from service.providers.registry import build_providers
from service.settings import Settings, SettingsError
from service.webhooks.ssrf import guarded_client, parse_networks

if TYPE_CHECKING:
    from service.sandbox.suite import Sandbox

LOOPBACK = "127.0.0.0/8"


@asynccontextmanager
async def upstream_providers(
    settings: Settings,
    *,
    serve_sandbox: bool,
    transport: httpx.AsyncBaseTransport | None = None,
    read_input: Callable[[str], bytes] | None = None,
) -> AsyncIterator[dict[str, Provider]]:
    """The adapters by name (without "local"), over their own HTTP client."""
    async with AsyncExitStack() as stack:
        sandbox = None
        if settings.sandbox:
            sandbox = (
                await stack.enter_async_context(_served_sandbox(settings))
                if serve_sandbox and not settings.sandbox_url
                else _remote_sandbox(settings)
            )
        # Upstream hosts are the operator's configuration, but adapters also fetch what
        # tenants name (image URLs): keep the SSRF guard, opened to loopback for a sandbox.
        allowed = settings.allowed_private_networks
        if sandbox is not None:
            allowed = ",".join(filter(None, (allowed, LOOPBACK)))
        http = (
            httpx.AsyncClient(transport=transport)
            if transport is not None
            else guarded_client(parse_networks(allowed))
        )
        await stack.enter_async_context(http)
        yield build_providers(settings, http, sandbox, read_input=read_input)


@asynccontextmanager
async def _served_sandbox(settings: Settings) -> AsyncIterator[Sandbox]:
    from service.sandbox.suite import run_sandbox

    async with run_sandbox(settings) as sandbox:
        yield sandbox


def _remote_sandbox(settings: Settings) -> Sandbox:
    from service.sandbox.suite import Sandbox, SandboxCredentials, SandboxUrls

    if not (settings.sandbox_url or settings.sandbox_port):
        raise SettingsError(
            "a web-only process (VIDGATE_RUN_WORKERS=false) in sandbox mode needs the "
            "worker's emulators at a fixed VIDGATE_SANDBOX_PORT, or VIDGATE_SANDBOX_URL"
        )
    urls = SandboxUrls(settings.sandbox_url or f"http://127.0.0.1:{settings.sandbox_port}")
    return Sandbox(urls, SandboxCredentials.from_settings(settings))
