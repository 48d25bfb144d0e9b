"""Behaviour knobs shared by every emulator (latency, failures, webhook faults)."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

ERROR_KINDS = ("4xx", "5xx", "429", "timeout")


@dataclass
class Knobs:
    """How an emulator misbehaves; probabilities are 0-1.

    `latency` is the seconds from submission until a job finishes (progress moves
    evenly in between); `fail_rate` makes finished jobs fail; `error_rate` makes API
    calls answer with one of `error_kinds` instead; the webhook knobs lose, duplicate,
    delay (`webhook_delay` seconds) or reorder deliveries.
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
    rng: random.Random = field(default_factory=random.Random)

    def chance(self, probability: float) -> bool:
        return probability > 0 and self.rng.random() < probability

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Knobs:
        """The knobs from `VIDGATE_EMULATE_*` variables (the README documents them)."""

        def number(name: str, default: float) -> float:
            raw = env.get(f"VIDGATE_EMULATE_{name}")
            return float(raw) if raw else default

        return cls(
            latency=number("LATENCY", 3.0),
            fail_rate=number("FAIL_RATE", 0.0),
            error_rate=number("ERROR_RATE", 0.0),
            webhook_loss=number("WEBHOOK_LOSS", 0.0),
            webhook_duplicate=number("WEBHOOK_DUPLICATE", 0.0),
            webhook_delay=number("WEBHOOK_DELAY", 0.0),
            webhook_reorder=number("WEBHOOK_REORDER", 0.0),
        )
