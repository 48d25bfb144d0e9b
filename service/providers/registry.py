"""Which providers run, and their adapters built from settings (or the sandbox).

Each adapter module declares its `PLUGIN` (name, how settings build it); `PLUGINS` lists
them. A provider is enabled when its credential is set (`ProviderSettings.configured`);
the built-in local renderer always is. In sandbox mode every provider is enabled and
points at the emulator suite (`service.sandbox.suite`) with the credentials it was built
with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from service.providers import (
    fal,
    kling,
    luma,
    minimax,
    replicate,
    runway,
    seedance,
    sora,
    veo,
    veo_vertex,
)
from service.providers.base import Plugin, Provider, ReadInput
from service.providers.local import LocalProvider
from service.settings import Settings

if TYPE_CHECKING:  # the emulators are imported only where a sandbox runs
    from service.sandbox.suite import Sandbox

PLUGINS: tuple[Plugin, ...] = (
    fal.PLUGIN,
    veo.PLUGIN,
    veo_vertex.PLUGIN,
    replicate.PLUGIN,
    minimax.PLUGIN,
    luma.PLUGIN,
    runway.PLUGIN,
    sora.PLUGIN,
    kling.PLUGIN,
    seedance.PLUGIN,
)
BY_NAME = {plugin.name: plugin for plugin in PLUGINS}
BUILT_IN = frozenset({LocalProvider.name})  # enabled on every gateway, no keys needed


def enabled_providers(settings: Settings) -> frozenset[str]:
    """The built-in renderer, plus every provider with credentials (all in sandbox mode)."""
    upstreams = frozenset(BY_NAME) if settings.sandbox else settings.providers.configured()
    return upstreams | BUILT_IN


def build_providers(
    settings: Settings,
    http: httpx.AsyncClient,
    sandbox: Sandbox | None,
    *,
    read_input: ReadInput | None = None,
) -> dict[str, Provider]:
    """The upstream adapters by name (the local renderer is not among them), all on `http`.

    With `sandbox` every provider points at it; otherwise the configured ones use their
    credentials and `VIDGATE_<NAME>_BASE_URL` overrides. `read_input` reaches the adapters
    that can send stored images (Veo, Vertex, Runway, Seedance).
    """
    if settings.sandbox and sandbox is None:
        raise ValueError(
            "sandbox mode needs the running sandbox (service.sandbox.suite.run_sandbox)"
        )
    config = sandbox.provider_settings() if sandbox is not None else settings.providers
    return {
        name: BY_NAME[name].build(http, config, read_input) for name in sorted(config.configured())
    }
