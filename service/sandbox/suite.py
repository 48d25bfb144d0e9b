"""The emulator suite: every upstream emulator in one Starlette app, each under `/{provider}`.

`create_suite(...)` builds the app; `run_sandbox(settings)` serves it on 127.0.0.1 inside the
running event loop (what `vidgate serve --sandbox` points every provider at) and yields a
`Sandbox`: where each emulator is (`SandboxUrls`) and the secrets it was built with
(`SandboxCredentials`). `vidgate emulate` serves the same suite in the foreground.

Each emulator is given the URL of its own mount as `base_url`, so the URLs it hands out
(result files, redirects, status URLs) point back under its prefix. Every key-checking emulator
accepts any non-empty credential; Kling checks JWT signatures only when given the key pair.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.sandbox.emulators import (
    fal,
    kling,
    luma,
    minimax,
    replicate,
    runway,
    seedance,
    sora,
    veo,
)
from service.sandbox.emulators.knobs import Knobs
from service.sandbox.server import bind, serving
from service.settings import ProviderSettings, Settings
from service.webhooks.signing import SecretDeriver

PROVIDERS = (
    "fal",
    "veo",
    "vertex-veo",
    "replicate",
    "minimax",
    "luma",
    "runway",
    "sora",
    "kling",
    "seedance",
)
# What each adapter's `base_url` adds to its emulator's mount: the upstream's API prefix.
API_PATHS = {
    "replicate": "/v1",
    "luma": luma.API_PREFIX,
    "runway": "/v1",
    "sora": "/v1",
    "seedance": "/api/v3",
}
SANDBOX_KEY = "vidgate-sandbox"  # sent wherever an API key goes; the emulators take any
VERTEX_PROJECT = "vidgate-sandbox"

Builder = Callable[[Path, str], Starlette]  # (data dir, base URL) → the emulator's app


@dataclass(frozen=True)
class SandboxUrls:
    """Where the suite served at `root` has each emulator."""

    root: str

    def mount(self, provider: str) -> str:
        """The emulator's own base URL (what its `create_app(base_url=…)` was given)."""
        return f"{self.root}/{provider}"

    def base_url(self, provider: str) -> str:
        """The URL in the form the provider's adapter takes as `base_url`."""
        return self.mount(provider) + API_PATHS.get(provider, "")

    @property
    def fal_jwks(self) -> str:
        return f"{self.mount('fal')}/.well-known/jwks.json"

    def by_provider(self) -> dict[str, str]:
        return {name: self.base_url(name) for name in PROVIDERS}


@dataclass(frozen=True)
class SandboxCredentials:
    """The values the suite was built with: adapters built with them pass every check."""

    fal_user_id: str
    replicate_webhook_secret: str
    sora_webhook_secret: str
    kling_access_key: str
    kling_secret_key: str
    api_key: str = SANDBOX_KEY

    @classmethod
    def from_settings(cls, settings: Settings) -> SandboxCredentials:
        """The configured values where set, else values derived from VIDGATE_SECRET_KEY (or a
        fixed seed): every process with the same environment gets the same ones, so a web-only
        process verifies the webhooks of the worker's sandbox. Sandbox jobs are make-believe;
        the secrets only have to agree."""
        p, seed = settings.providers, SecretDeriver(settings.secret_key or SANDBOX_KEY)

        def derived(name: str) -> str:  # scopes no tenant webhook endpoint can have
            return seed.secret(f"sandbox:{name}", 0)

        return cls(
            fal_user_id=p.fal_user_id or SANDBOX_KEY,
            replicate_webhook_secret=p.replicate_webhook_secret or derived("replicate"),
            sora_webhook_secret=p.openai_webhook_secret or derived("sora"),
            kling_access_key=p.kling_access_key or derived("kling-access-key"),
            kling_secret_key=p.kling_secret_key or derived("kling-secret-key"),
        )


@dataclass(frozen=True)
class Sandbox:
    urls: SandboxUrls
    credentials: SandboxCredentials

    def provider_settings(self) -> ProviderSettings:
        """Credentials and base URLs that point every provider at this sandbox."""
        c, key = self.credentials, self.credentials.api_key
        return ProviderSettings(
            gemini_api_key=key,
            vertex_api_key=key,
            vertex_project=VERTEX_PROJECT,
            fal_key=key,
            fal_user_id=c.fal_user_id,
            fal_jwks_url=self.urls.fal_jwks,
            replicate_api_token=key,
            replicate_webhook_secret=c.replicate_webhook_secret,
            minimax_api_key=key,
            luma_api_key=key,
            runway_api_key=key,
            openai_api_key=key,
            openai_webhook_secret=c.sora_webhook_secret,
            kling_access_key=c.kling_access_key,
            kling_secret_key=c.kling_secret_key,
            ark_api_key=key,
            base_urls=self.urls.by_provider(),
        )


def create_suite(
    knobs: Knobs,
    *,
    data_dir: Path,
    root_url: str,
    credentials: SandboxCredentials,
    sora_webhook_url: str | None,
    fal_signing_key: Ed25519PrivateKey | None = None,
    verify_kling: bool = True,
) -> Starlette:
    """All the emulators as one app served at `root_url`, sharing `knobs`; each keeps its
    files under `data_dir / provider`. Sora posts every event to the one `sora_webhook_url`
    (a project-wide setting upstream); the others post to the URL each job names. fal's
    public keys are at `SandboxUrls.fal_jwks`. `app.state.emulators` maps name → emulator."""
    urls = SandboxUrls(root_url.rstrip("/"))
    builders = _builders(knobs, credentials, sora_webhook_url, fal_signing_key, verify_kling)
    apps = {name: build(data_dir / name, urls.mount(name)) for name, build in builders.items()}
    emulators = {name: app.state.emulator for name, app in apps.items()}

    log = RequestLog()

    async def index(request: Request) -> JSONResponse:
        return JSONResponse({"providers": urls.by_provider()})

    async def requests(request: Request) -> JSONResponse:
        """Every API call the emulators answered: what fault and load tests assert on."""
        return JSONResponse({"data": log.entries})

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Starlette runs no lifespan of a mounted app: close what the emulators started here.
        try:
            yield
        finally:
            for emulator in emulators.values():
                if (aclose := getattr(emulator, "aclose", None)) is not None:
                    await aclose()

    routes = [
        Route("/", index),
        Route("/_requests", requests),
        *(Mount(f"/{name}", app) for name, app in apps.items()),
    ]
    suite = Starlette(routes=routes, lifespan=lifespan, middleware=[Middleware(log.middleware)])
    suite.state.emulators = emulators
    suite.state.requests = log
    return suite


def _builders(
    knobs: Knobs,
    c: SandboxCredentials,
    sora_webhook_url: str | None,
    fal_signing_key: Ed25519PrivateKey | None,
    verify_kling: bool,
) -> dict[str, Builder]:
    access, secret = (c.kling_access_key, c.kling_secret_key) if verify_kling else (None, None)
    return {
        "fal": lambda d, url: fal.create_app(
            knobs, data_dir=d, base_url=url, user_id=c.fal_user_id, signing_key=fal_signing_key
        ),
        "veo": lambda d, url: veo.create_app(knobs, data_dir=d, base_url=url),
        "vertex-veo": lambda d, url: veo.create_app(knobs, data_dir=d, base_url=url),
        "replicate": lambda d, url: replicate.create_app(
            knobs, data_dir=d, base_url=url, webhook_secret=c.replicate_webhook_secret
        ),
        "minimax": lambda d, url: minimax.create_app(knobs, data_dir=d, base_url=url),
        "luma": lambda d, url: luma.create_app(knobs, data_dir=d, base_url=url),
        "runway": lambda d, url: runway.create_app(knobs, data_dir=d, base_url=url),
        "sora": lambda d, url: sora.create_app(  # Sora hands out no URLs of its own
            knobs, data_dir=d, webhook_url=sora_webhook_url, webhook_secret=c.sora_webhook_secret
        ),
        "kling": lambda d, url: kling.create_app(
            knobs, data_dir=d, base_url=url, access_key=access, secret_key=secret
        ),
        "seedance": lambda d, url: seedance.create_app(knobs, data_dir=d, base_url=url),
    }


def suite_for(settings: Settings, sandbox: Sandbox, *, verify_kling: bool = True) -> Starlette:
    """`create_suite` as `settings` configure it (knobs, data dir, the gateway's Sora hook)."""
    return create_suite(
        Knobs.from_settings(settings),
        data_dir=settings.data_dir / "sandbox",
        root_url=sandbox.urls.root,
        credentials=sandbox.credentials,
        sora_webhook_url=f"{settings.base_url}/hooks/sora",
        verify_kling=verify_kling,
    )


@asynccontextmanager
async def run_sandbox(settings: Settings) -> AsyncIterator[Sandbox]:
    """Serve the suite on 127.0.0.1:`settings.sandbox_port` (0: a free port) in this event
    loop, without touching the process's signal handlers; stop it on exit."""
    sock = bind("127.0.0.1", settings.sandbox_port)
    try:
        sandbox = Sandbox(SandboxUrls(root_url(sock)), SandboxCredentials.from_settings(settings))
        suite = suite_for(settings, sandbox)
    except BaseException:
        sock.close()
        raise
    async with serving(suite, sock):
        yield sandbox


async def emulate(settings: Settings, sock: socket.socket, out: TextIO | None = None) -> None:
    """`vidgate emulate`: serve the suite on the bound `sock` until SIGINT or SIGTERM,
    printing one `<provider> <base url>` line per provider (to `out`, else stdout) once it
    listens.

    Kling checks JWT signatures only when VIDGATE_KLING_* keys are configured (a gateway with
    the same environment signs with them); otherwise any well-formed token passes."""
    sandbox = Sandbox(SandboxUrls(root_url(sock)), SandboxCredentials.from_settings(settings))
    suite = suite_for(
        settings, sandbox, verify_kling=settings.providers.kling_access_key is not None
    )
    stop, loop = asyncio.Event(), asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with serving(suite, sock):
            for name, url in sandbox.urls.by_provider().items():
                print(name, url, file=out, flush=True)
            await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


def root_url(sock: socket.socket) -> str:
    """The `http://host:port` a bound socket is reached at."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class RequestLog:
    """The last `limit` requests to the suite: method, path, the status answered (None if
    none was), start and end (unix seconds)."""

    def __init__(self, limit: int = 20_000) -> None:
        self.entries: list[dict[str, Any]] = []
        self.limit = limit

    def middleware(self, app: ASGIApp) -> ASGIApp:
        async def logged(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or scope["path"] == "/_requests":
                await app(scope, receive, send)
                return
            started, answered = time.time(), {"status": None}

            async def noted(message: Message) -> None:
                if message["type"] == "http.response.start":
                    answered["status"] = message["status"]
                await send(message)

            try:
                await app(scope, receive, noted)
            finally:
                self.entries.append(
                    {
                        "method": scope["method"],
                        "path": scope["path"],
                        "query": scope.get("query_string", b"").decode(),
                        "status": answered["status"],  # what creates are counted by
                        "start": started,
                        "end": time.time(),
                    }
                )
                del self.entries[: -self.limit]

        return logged
