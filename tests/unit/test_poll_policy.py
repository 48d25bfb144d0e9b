"""The poll schedule: poll-only routes on the model's clock, webhook routes as a fallback."""

from __future__ import annotations

import itertools
import random

import pytest
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
    times = polls_until_done(policy(typical=92.0), 100.0, random.Random(1))
    assert [round(t, 6) for t in times] == [80.0, 92.0, 105.8]


def test_a_late_call_does_not_push_the_later_ones_back() -> None:
    p, rng = policy(typical=92.0), random.Random(1)
    assert p.next_delay(POLLED, "m", 1, 80.0, rng) == pytest.approx(12.0)
    assert p.next_delay(POLLED, "m", 1, 83.0, rng) == pytest.approx(9.0)  # 3 s late: still at 92
    assert p.next_delay(POLLED, "m", 1, 95.0, rng) == p.first_poll  # past it: soon, not at once


def test_the_first_poll_waits_at_least_the_floor_and_at_most_until_the_deadline() -> None:
    assert policy(typical=0.0, first_poll=1.0).first_delay(POLLED, "m") == 1.0
    assert policy(typical=7200.0, deadline=3600.0).first_delay(POLLED, "m") == 3600.0


def test_the_first_poll_follows_the_model() -> None:
    p = PollPolicy(typical=lambda model: {"slow": 240.0}.get(model, 60.0))
    assert p.first_delay(POLLED, "slow") == pytest.approx(240 / 1.15)
    assert p.first_delay(POLLED, "fast") == pytest.approx(60 / 1.15)


@given(
    # From the floor / step (no gap is the floor) to cap / step (none is capped so early).
    typical=st.floats(8.0, 800.0),
    share=st.floats(1 / 1.15**2, 1.15),
    seed=st.integers(0, 2**32),
)
def test_a_job_ending_near_its_typical_time_costs_at_most_three_calls_and_a_fifth_of_its_time(
    typical: float, share: float, seed: int
) -> None:
    duration = typical * share
    times = polls_until_done(policy(typical=typical), duration, random.Random(seed))
    assert len(times) <= 3
    assert times[-1] - duration <= 0.15 * duration + 1e-9  # 0.05 left for the poll itself


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
        assert times[-1] - duration <= max(p.step * duration, p.first_poll) + 1e-9


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


@given(
    typical=st.floats(8.0, 800.0),
    share=st.floats(1 / 1.15**2, 4.0),
    late=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=40),
)
def test_calls_made_late_add_their_own_delay_to_the_lag_but_no_more(
    typical: float, share: float, late: list[float]
) -> None:
    """However late each call was made (a busy loop), the next is due on the schedule."""
    p, rng, duration = policy(typical=typical), random.Random(0), typical * share
    at = p.first_delay(POLLED, "m") + late[0]
    calls = 1
    while at < duration:
        delay = p.next_delay(POLLED, "m", calls, at, rng)
        calls += 1
        at += delay + late[calls % len(late)]
    assert at - duration <= p.step * duration + max(late) + 1e-9
