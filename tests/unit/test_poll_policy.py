"""The poll schedule: poll-only routes on the model's clock, webhook routes as a fallback."""

from __future__ import annotations

import itertools
import random

from hypothesis import given
from hypothesis import strategies as st

from service.workers.poll_policy import PollPolicy

POLLED, HOOKED = "runway", "fal"


def policy(typical: float = 90.0, **changes: float) -> PollPolicy:
    return PollPolicy(
        webhook_providers=frozenset({HOOKED}), typical=lambda model: typical, **changes
    )


def polls_until_done(p: PollPolicy, duration: float, rng: random.Random) -> list[float]:
    """Seconds after the dispatch of each status call, up to the first that finds the job
    done (`duration` seconds after the dispatch), as the poller makes them."""
    times = [p.first_delay(POLLED, "m")]
    while times[-1] < duration:
        times.append(times[-1] + p.next_delay(POLLED, "m", len(times), times[-1], rng))
    return times


def test_a_polled_job_is_first_asked_one_step_before_its_typical_end() -> None:
    times = polls_until_done(policy(typical=90.0, jitter=0.0), 100.0, random.Random(1))
    assert [round(t, 6) for t in times] == [75.0, 90.0, 108.0]


def test_the_first_poll_waits_at_least_the_floor_and_at_most_until_the_deadline() -> None:
    assert policy(typical=0.0, first_poll=1.0).first_delay(POLLED, "m") == 1.0
    assert policy(typical=7200.0, deadline=3600.0).first_delay(POLLED, "m") == 3600.0


def test_the_first_poll_follows_the_model() -> None:
    p = PollPolicy(typical=lambda model: {"slow": 240.0}.get(model, 60.0))
    assert p.first_delay(POLLED, "slow") == 200.0 and p.first_delay(POLLED, "fast") == 50.0


@given(
    typical=st.floats(6.0, 600.0),  # up to cap / step: no gap is capped before the third
    share=st.floats(1 / 1.44, 1.1),
    seed=st.integers(0, 2**32),
)
def test_a_job_ending_near_its_typical_time_costs_at_most_three_calls_and_a_fifth_of_its_time(
    typical: float, share: float, seed: int
) -> None:
    duration = typical * share
    times = polls_until_done(policy(typical=typical), duration, random.Random(seed))
    assert len(times) <= 3
    assert times[-1] - duration <= 0.2 * duration + 1e-9


@given(
    typical=st.floats(0.0, 600.0),
    duration=st.floats(0.0, 7200.0),
    seed=st.integers(0, 2**32),
)
def test_a_job_is_seen_done_within_a_fifth_of_its_time_or_the_floor(
    typical: float, duration: float, seed: int
) -> None:
    p = policy(typical=typical)
    times = polls_until_done(p, duration, random.Random(seed))
    if duration <= times[0]:
        assert len(times) == 1  # it ended before the first poll: that one finds it
    else:
        assert times[-1] - duration <= max(0.2 * duration, p.first_poll) + 1e-9


@given(duration=st.floats(200.0, 7200.0), seed=st.integers(0, 2**32))
def test_a_long_job_keeps_being_polled_at_most_a_cap_apart(duration: float, seed: int) -> None:
    p = policy(typical=60.0, cap=120.0)
    times = polls_until_done(p, duration, random.Random(seed))
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert all(gap <= 120.0 for gap in gaps)
    assert times[-1] - duration <= 120.0


def test_webhook_routes_are_polled_after_the_grace_backing_off_to_the_cap() -> None:
    p = policy(grace=60.0, cap=120.0)
    rng = random.Random(1)
    assert p.first_delay(HOOKED, "m") == 60.0
    delays = [p.next_delay(HOOKED, "m", n, 0.0, rng) for n in range(12)]
    assert 60 * 0.8 <= delays[0] <= 60 * 1.2
    assert all(d <= 120 * 1.2 for d in delays) and delays[-1] >= 120 * 0.8


def test_per_model_deadlines_override_the_default() -> None:
    p = PollPolicy(deadline=3600, deadlines={"sora-2-pro": 7200})
    assert p.deadline_for("sora", "sora-2-pro") == 7200
    assert p.deadline_for("sora", "sora-2") == 3600
