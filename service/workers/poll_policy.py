"""When the poller asks an upstream about a job: the schedule, apart from the polling itself.

Poll-only routes are polled on the model's clock: the first status call comes one step
before the render usually ends (`typical / (1 + step)`), each next one after `step` × the
time the job has run so far. A job is then seen done at most `step` × its duration after it
ended, and one that ends near its typical duration (from 0.76 to 1.15 × it) costs ≤ 3 status
calls; one that ends sooner is seen at the first call; one that runs long keeps being
polled, the gaps growing to `cap`. Webhook routes are polled only as a fallback: after
`grace`, backing off ×`backoff` to `cap`, with jitter.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def ninety_seconds(model: str) -> float:
    return 90.0


@dataclass(frozen=True)
class PollPolicy:
    """When to ask an upstream about a job; all values are seconds."""

    webhook_providers: frozenset[str] = frozenset()
    # Poll-only routes: the earliest first status call after dispatch, and the shortest gap.
    first_poll: float = 1.0
    # Poll-only routes: each gap is this share of the job's time so far. The goal is a lag
    # of ≤ 20 %; the rest is left for the poll itself (the call, the append, a busy loop).
    step: float = 0.15
    typical: Callable[[str], float] = ninety_seconds  # model → seconds a render usually takes
    grace: float = 60.0  # webhook routes: the first fallback poll after dispatch
    backoff: float = 1.5  # webhook routes: each fallback gap this much longer than the last
    cap: float = 120.0  # the longest gap between two status calls (not before the first)
    jitter: float = 0.2  # webhook routes' fallback polls
    deadline: float = 3600.0
    deadlines: Mapping[str, float] = field(default_factory=dict)  # per model id

    def first_delay(self, provider: str, model: str) -> float:
        """Deterministic (the projection replays it): no jitter here."""
        if provider in self.webhook_providers:
            return self.grace
        first = max(self.typical(model) / (1 + self.step), self.first_poll)
        return min(first, self.deadline_for(provider, model))  # the last call is at the deadline

    def deadline_for(self, provider: str, model: str) -> float:
        return self.deadlines.get(model, self.deadline)

    def next_delay(
        self, provider: str, model: str, polls: int, elapsed: float, rng: random.Random
    ) -> float:
        """After `polls` status calls, the last one `elapsed` seconds after the dispatch."""
        if provider in self.webhook_providers:
            base = min(self.grace * self.backoff ** max(polls, 0), self.cap)
            return base * rng.uniform(1 - self.jitter, 1 + self.jitter)
        # From the schedule, not from when the last call happened: a call that a busy loop
        # made late must not push every later one back (the delays would add up).
        # No jitter: each job's polls follow its own dispatch, so they are as spread out as
        # the dispatches; and a shorter gap would only cost calls, a longer one lag.
        return max(self.due(provider, model, polls + 1) - elapsed, self.first_poll)

    def due(self, provider: str, model: str, call: int) -> float:
        """Poll-only routes: seconds after the dispatch that status call number `call` (from
        1) is due."""
        at = self.first_delay(provider, model)
        for _ in range(call - 1):
            at += min(max(self.step * at, self.first_poll), self.cap)
        return at
