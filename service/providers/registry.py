"""Which upstream providers run, and their adapters built from settings (or the sandbox).

A provider is enabled when its credential is set (`ProviderSettings.configured`); "local", the
built-in renderer, always is. In sandbox mode every provider is enabled and points at the
emulator suite (`service.sandbox.suite`) with the credentials it was built with.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import httpx

from service.providers.base import Provider
from service.providers.fal import FalProvider
from service.providers.kling import KlingProvider
from service.providers.luma import LumaProvider
from service.providers.minimax import MiniMaxProvider
from service.providers.replicate import ReplicateProvider
from service.providers.runway import RunwayProvider
from service.providers.seedance import SeedanceProvider
from service.providers.sora import SoraProvider
from service.providers.veo import GeminiVeoProvider
from service.providers.veo_vertex import VertexVeoProvider
from service.settings import ProviderSettings, Settings

if TYPE_CHECKING:  # the emulators are imported only where a sandbox runs
    from service.sandbox.suite import Sandbox

ReadInput = Callable[[str], bytes]  # a stored input's bytes by its sha256
Builder = Callable[[httpx.AsyncClient, ProviderSettings, Mapping[str, Any]], Provider]


def enabled_providers(settings: Settings) -> frozenset[str]:
    """ "local", plus every provider with credentials (all of them in sandbox mode)."""
    upstreams = frozenset(BUILDERS) if settings.sandbox else settings.providers.configured()
    return upstreams | {"local"}


def build_providers(
    settings: Settings,
    http: httpx.AsyncClient,
    sandbox: Sandbox | None,
    *,
    read_input: ReadInput | None = None,
) -> dict[str, Provider]:
    """The upstream adapters by name ("local" is not among them), all on `http`.

    With `sandbox` every provider points at it; otherwise the configured ones use their
    credentials and `VIDGATE_<NAME>_BASE_URL` overrides. `read_input` reaches the adapters
    that can send stored images (Veo, Vertex, Runway, Seedance).
    """
    if settings.sandbox and sandbox is None:
        raise ValueError(
            "sandbox mode needs the running sandbox (service.sandbox.suite.run_sandbox)"
        )
    config = sandbox.provider_settings() if sandbox is not None else settings.providers
    reads: dict[str, Any] = {} if read_input is None else {"read_input": read_input}
    return {name: BUILDERS[name](http, config, reads) for name in sorted(config.configured())}


def _base(config: ProviderSettings, name: str) -> dict[str, Any]:
    """The `base_url` override for `name`, if any (else the adapter's default upstream)."""
    url = config.base_urls.get(name)
    return {"base_url": url} if url else {}


def _fal(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    jwks: dict[str, Any] = {"jwks_url": c.fal_jwks_url} if c.fal_jwks_url else {}
    return FalProvider(
        http, key=_set(c.fal_key), user_id=_set(c.fal_user_id), **_base(c, "fal"), **jwks
    )


def _veo(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return GeminiVeoProvider(http, api_key=_set(c.gemini_api_key), **_base(c, "veo"), **reads)


def _vertex(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    # An API key means Vertex AI express mode (`x-goog-api-key`), not an OAuth token.
    return VertexVeoProvider(
        http,
        project=_set(c.vertex_project),
        location=c.vertex_location,
        token_or_key=_set(c.vertex_api_key),
        express=True,
        **_base(c, "vertex-veo"),
        **reads,
    )


def _replicate(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    # Without a configured secret the adapter fetches it (GET /webhooks/default/secret).
    return ReplicateProvider(
        http,
        token=_set(c.replicate_api_token),
        webhook_secret=c.replicate_webhook_secret,
        **_base(c, "replicate"),
    )


def _minimax(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return MiniMaxProvider(http, api_key=_set(c.minimax_api_key), **_base(c, "minimax"))


def _luma(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return LumaProvider(http, api_key=_set(c.luma_api_key), **_base(c, "luma"))


def _runway(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return RunwayProvider(http, api_key=_set(c.runway_api_key), **_base(c, "runway"), **reads)


def _sora(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return SoraProvider(
        http,
        api_key=_set(c.openai_api_key),
        webhook_secret=c.openai_webhook_secret,
        **_base(c, "sora"),
    )


def _kling(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return KlingProvider(
        http,
        access_key=_set(c.kling_access_key),
        secret_key=_set(c.kling_secret_key),
        **_base(c, "kling"),
    )


def _seedance(http: httpx.AsyncClient, c: ProviderSettings, reads: Mapping[str, Any]) -> Provider:
    return SeedanceProvider(http, api_key=_set(c.ark_api_key), **_base(c, "seedance"), **reads)


def _set(value: str | None) -> str:
    """A credential `configured()` vouched for (settings refuse half-configured pairs)."""
    assert value is not None
    return value


BUILDERS: dict[str, Builder] = {
    "fal": _fal,
    "veo": _veo,
    "vertex-veo": _vertex,
    "replicate": _replicate,
    "minimax": _minimax,
    "luma": _luma,
    "runway": _runway,
    "sora": _sora,
    "kling": _kling,
    "seedance": _seedance,
}
