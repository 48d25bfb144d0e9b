"""A progress estimate for upstreams that report none (Veo says only `done: false`).

At each status call that finds a job running without a percent, the poller records
`elapsed / typical` on a curve that rises fast, then slows and never reaches `cap`: a
monotonic guess that a client can show, marked `source: estimate` in the `Progressed` event.
The aggregate keeps it from ever going backwards; only `Completed` says 100.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from service.catalog import Catalog
from service.settings import Settings

ESTIMATE = "estimate"  # the `source` of a Progressed event whose percent is a guess


@dataclass(frozen=True)
class ProgressEstimate:
    """`typical(model)`: the seconds a render of that model usually takes."""

    typical: Callable[[str], float]
    cap: int = 95  # a guess stays below this; the real end says 100

    def percent(self, model: str, elapsed: float) -> int:
        """1 at the start, ~82 % at the typical duration, approaching `cap` after it."""
        typical = max(self.typical(model), 1.0)
        share = 1.0 - math.exp(-2.0 * max(elapsed, 0.0) / typical)
        return max(1, min(self.cap - 1, math.floor(self.cap * share)))


def from_catalog(catalog: Catalog, default: float = 90.0) -> ProgressEstimate:
    """Each model's `render_seconds` (unknown ids: `default`)."""
    return ProgressEstimate(catalog_renders(catalog, default))


def catalog_renders(catalog: Catalog, default: float = 90.0) -> Callable[[str], float]:
    """model → its catalog `render_seconds` (unknown ids: `default`)."""

    def typical(model: str) -> float:
        spec = catalog.resolve(model)
        return spec.render_seconds if spec is not None else default

    return typical


def typical_renders(settings: Settings, catalog: Catalog) -> Callable[[str], float]:
    """model → the seconds its render usually takes, what both the progress estimate and
    the poll schedule go by: `VIDGATE_TYPICAL_RENDER_S` for every model where set; in
    sandbox mode the emulators' latency (they all finish after it); else the catalog's."""
    if settings.typical_render is not None:
        return constant(settings.typical_render)
    if settings.sandbox:
        return constant(settings.emulate.latency)
    return catalog_renders(catalog)


def constant(seconds: float) -> Callable[[str], float]:
    return lambda model: seconds


def fixed(seconds: float) -> ProgressEstimate:
    """Every model takes `seconds`: the sandbox, whose emulators all finish after their
    configured latency (`VIDGATE_EMULATE_LATENCY`)."""
    return ProgressEstimate(constant(seconds))
