"""Behaviour knobs shared by every emulator (latency, failures, webhook faults)."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from service.settings import EmulatorSettings, Settings

ERROR_KINDS = ("4xx", "5xx", "429", "timeout")


@dataclass
class Knobs:
    """How an emulator misbehaves; probabilities are 0-1.

    `latency` is the seconds from submission until a job finishes (progress moves
    evenly in between); `fail_rate` makes finished jobs fail; `error_rate` makes API
    calls answer with one of `error_kinds` instead; the webhook knobs lose, duplicate,
    delay (`webhook_delay` seconds) or reorder deliveries; `stall_rate` makes a job
    never finish (it stays queued or running until canceled).
    """

    latency: float = 3.0
    fail_rate: float = 0.0
    error_rate: float = 0.0
    error_kinds: tuple[str, ...] = ("5xx",)
    retry_after: int = 1
    webhook_loss: float = 0.0
    webhook_duplicate: float = 0.0
    webhook_delay: float = 0.0
    webhook_reorder: float = 0.0
    stall_rate: float = 0.0
    rng: random.Random = field(default_factory=random.Random)

    def chance(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    def finish_after(self) -> float:
        """Seconds until a new job ends: `latency`, or never for a job that stalls."""
        return math.inf if self.chance(self.stall_rate) else max(0.0, self.latency)

    @classmethod
    def from_settings(cls, settings: Settings | EmulatorSettings) -> Knobs:
        """The knobs `VIDGATE_EMULATE_*` set (read and checked by `service.settings`)."""
        knobs = settings.emulate if isinstance(settings, Settings) else settings
        return cls(
            latency=knobs.latency,
            fail_rate=knobs.fail_rate,
            error_rate=knobs.error_rate,
            webhook_loss=knobs.webhook_loss,
            webhook_duplicate=knobs.webhook_duplicate,
            webhook_delay=knobs.webhook_delay,
            webhook_reorder=knobs.webhook_reorder,
            stall_rate=knobs.stall_rate,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Knobs:
        """The knobs from `VIDGATE_EMULATE_*` variables in `env` (the README documents them)."""
        return cls.from_settings(EmulatorSettings.from_env(env))
