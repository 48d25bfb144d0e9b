"""The retry policy on numbers: what each answer leads to, and when the next attempt is.

`rng` is injected: 0.5 means no jitter, 0.0 and 1.0 are the jitter's bounds (-20%, +20%).
"""

from __future__ import annotations

from email.utils import formatdate

import pytest
from hypothesis import given
from hypothesis import strategies as st

from projections.deliveries.view import ABANDONED, FAILED, PENDING, SUCCEEDED, DeliveryRow
from service.webhooks.policy import AttemptResult, decide, should_disable

NOW = 1_700_000_000.0
DAY = 24 * 3600.0
TERMINAL_SCHEDULE = [5, 300, 1800, 7200, 18000, 36000, 36000]
PROGRESS_SCHEDULE = [5, 30]


def no_jitter() -> float:
    return 0.5


def lowest() -> float:
    return 0.0


def highest() -> float:
    return 1.0


def delivery(attempts: int = 0, event_type: str = "completed", manual: bool = False) -> DeliveryRow:
    return DeliveryRow(
        delivery_id="dlv_1",
        msg_id="msg_1",
        tenant="acme",
        job_id="j",
        endpoint_id="e",
        url="https://hooks.example/in",
        event_type=event_type,
        payload="{}",
        sequence=3,
        status=PENDING,
        attempts=attempts,
        manual=manual,
        created_at=NOW - 10,
        next_attempt_at=NOW,
        lease_token="t",
        last_status_code=None,
        last_error=None,
        updated_at=NOW - 10,
    )


def wait_after(result: AttemptResult, attempts: int = 0, rng=no_jitter) -> float:
    outcome = decide(delivery(attempts), result, NOW, rng)
    assert outcome.status == PENDING
    return outcome.next_attempt_at - NOW


@pytest.mark.parametrize("code", [200, 201, 204, 299])
def test_any_2xx_answer_is_a_success_without_an_error(code):
    outcome = decide(delivery(), AttemptResult(code), NOW, no_jitter)
    assert (outcome.status, outcome.status_code, outcome.error) == (SUCCEEDED, code, None)


@pytest.mark.parametrize("code", [100, 199, 300, 400, 404, 500, 503])
def test_answers_outside_2xx_are_not_a_success(code):
    assert decide(delivery(), AttemptResult(code), NOW, no_jitter).status == PENDING


def test_a_terminal_event_is_retried_on_the_whole_schedule_and_then_fails():
    waits = [wait_after(AttemptResult(500), attempts) for attempts in range(7)]
    assert waits == TERMINAL_SCHEDULE
    last = decide(delivery(attempts=7), AttemptResult(500), NOW, no_jitter)
    assert (last.status, last.status_code, last.error) == (FAILED, 500, "HTTP 500")
    assert last.next_attempt_at == NOW


def test_a_progress_event_is_retried_twice_briefly_and_then_fails():
    for attempts, expected in enumerate(PROGRESS_SCHEDULE):
        outcome = decide(delivery(attempts, "progress"), AttemptResult(500), NOW, no_jitter)
        assert (outcome.status, outcome.next_attempt_at) == (PENDING, NOW + expected)
    last = decide(delivery(2, "progress"), AttemptResult(500), NOW, no_jitter)
    assert last.status == FAILED


@pytest.mark.parametrize(("rng", "factor"), [(lowest, 0.8), (no_jitter, 1.0), (highest, 1.2)])
def test_jitter_moves_a_retry_by_at_most_twenty_percent(rng, factor):
    for attempts, base in enumerate(TERMINAL_SCHEDULE):
        assert wait_after(AttemptResult(503), attempts, rng) == pytest.approx(base * factor)


@pytest.mark.parametrize("rng", [lowest, no_jitter, highest])
def test_a_429_waits_at_least_a_minute_even_on_the_first_retry(rng):
    wait = wait_after(AttemptResult(429), 0, rng)
    assert 60 <= wait <= 72


@pytest.mark.parametrize("rng", [lowest, no_jitter, highest])
def test_a_timeout_waits_at_least_a_minute_even_on_the_first_retry(rng):
    wait = wait_after(AttemptResult(error="no answer within 15 s", timed_out=True), 0, rng)
    assert 60 <= wait <= 72


def test_an_overload_late_in_the_schedule_keeps_the_longer_scheduled_delay():
    assert wait_after(AttemptResult(429), attempts=2) == 1800
    assert wait_after(AttemptResult(429), attempts=2, rng=lowest) == pytest.approx(1440)


def test_retry_after_beyond_twice_the_delay_is_clamped_to_twice_the_delay():
    assert wait_after(AttemptResult(503, retry_after="120")) == 10
    assert wait_after(AttemptResult(503, retry_after="120"), rng=lowest) == 10
    assert wait_after(AttemptResult(503, retry_after="120"), rng=highest) == pytest.approx(12)


def test_retry_after_within_the_clamp_is_honoured_and_never_undercut_by_jitter():
    assert wait_after(AttemptResult(503, retry_after="8")) == 8
    assert wait_after(AttemptResult(503, retry_after=" 8 "), rng=lowest) == 8


def test_retry_after_shorter_than_the_schedule_does_not_shorten_it():
    assert wait_after(AttemptResult(503, retry_after="1")) == 5
    assert wait_after(AttemptResult(503, retry_after="0"), attempts=1) == 300


def test_retry_after_on_a_429_is_clamped_around_the_overload_minimum():
    assert wait_after(AttemptResult(429, retry_after="3600")) == 120
    assert wait_after(AttemptResult(429, retry_after="90")) == 90


def test_retry_after_as_an_http_date_counts_from_now():
    in_eight_seconds = formatdate(NOW + 8, usegmt=True)
    assert wait_after(AttemptResult(503, retry_after=in_eight_seconds)) == pytest.approx(8)
    far = formatdate(NOW + 3600, usegmt=True)
    assert wait_after(AttemptResult(503, retry_after=far), attempts=1) == 600


def test_retry_after_as_an_http_date_with_an_unknown_zone_is_read_as_gmt():
    header = formatdate(NOW + 8).replace("+0000", "-0000")
    assert header.endswith("-0000")
    assert wait_after(AttemptResult(503, retry_after=header)) == pytest.approx(8)


def test_retry_after_as_a_date_in_the_past_keeps_the_schedule():
    long_ago = formatdate(NOW - 3600, usegmt=True)
    assert wait_after(AttemptResult(503, retry_after=long_ago)) == 5


@pytest.mark.parametrize(
    "header", ["soon", "-30", "1.5", "Thu, 99 Foo", "Fri, 31 Dec 99999 23:59:59 GMT", "   "]
)
def test_an_unparseable_retry_after_is_ignored(header):
    assert wait_after(AttemptResult(503, retry_after=header)) == 5


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_a_failure_saying_redirects_are_not_followed(code):
    outcome = decide(delivery(), AttemptResult(code), NOW, no_jitter)
    assert (outcome.status, outcome.status_code) == (PENDING, code)
    assert outcome.error == f"HTTP {code}: redirects are not followed"


@pytest.mark.parametrize("attempts", [0, 3, 7])
def test_410_gone_abandons_the_delivery_at_once(attempts):
    outcome = decide(delivery(attempts), AttemptResult(410), NOW, no_jitter)
    assert (outcome.status, outcome.status_code, outcome.error) == (ABANDONED, 410, "HTTP 410")
    assert outcome.next_attempt_at == NOW


def test_a_refused_destination_abandons_the_delivery_with_the_reason():
    result = AttemptResult(error="127.0.0.1 is a loopback address", refused=True)
    outcome = decide(delivery(), result, NOW, no_jitter)
    assert (outcome.status, outcome.status_code) == (ABANDONED, None)
    assert outcome.error == "127.0.0.1 is a loopback address"


def test_a_connection_error_is_retried_with_its_message():
    outcome = decide(delivery(), AttemptResult(error="ConnectError: refused"), NOW, no_jitter)
    assert (outcome.status, outcome.error, outcome.next_attempt_at) == (
        PENDING,
        "ConnectError: refused",
        NOW + 5,
    )
    assert decide(delivery(), AttemptResult(), NOW, no_jitter).error == "no response"


@pytest.mark.parametrize(
    "result", [AttemptResult(500), AttemptResult(429), AttemptResult(error="x", timed_out=True)]
)
def test_a_manual_attempt_fails_after_one_failure(result):
    outcome = decide(delivery(manual=True), result, NOW, no_jitter)
    assert (outcome.status, outcome.next_attempt_at) == (FAILED, NOW)


def test_a_manual_attempt_can_still_succeed_or_be_abandoned():
    assert decide(delivery(manual=True), AttemptResult(204), NOW, no_jitter).status == SUCCEEDED
    assert decide(delivery(manual=True), AttemptResult(410), NOW, no_jitter).status == ABANDONED


@pytest.mark.parametrize(
    ("failing_since", "disabled"),
    [
        (None, False),
        (NOW, False),
        (NOW - 5 * DAY + 1, False),
        (NOW - 5 * DAY, True),
        (NOW - 30 * DAY, True),
    ],
)
def test_an_endpoint_is_disabled_once_it_has_been_failing_for_five_days(failing_since, disabled):
    assert should_disable(failing_since, NOW) is disabled


retry_after_headers = st.one_of(
    st.none(),
    st.integers(0, 10**7).map(str),
    st.floats(-DAY, 30 * DAY).map(lambda delta: formatdate(NOW + delta, usegmt=True)),
    st.text(max_size=40),
)


@given(
    attempts=st.integers(0, 12),
    code=st.one_of(st.none(), st.integers(100, 599)),
    jitter=st.floats(0.0, 1.0),
    event_type=st.sampled_from(["progress", "completed", "failed", "canceled"]),
    manual=st.booleans(),
    timed_out=st.booleans(),
    refused=st.booleans(),
    retry_after=retry_after_headers,
)
def test_any_outcome_is_never_in_the_past_and_a_retry_is_never_beyond_its_bound(
    attempts, code, jitter, event_type, manual, timed_out, refused, retry_after
):
    result = AttemptResult(code, timed_out=timed_out, refused=refused, retry_after=retry_after)
    outcome = decide(delivery(attempts, event_type, manual), result, NOW, lambda: jitter)
    schedule = PROGRESS_SCHEDULE if event_type == "progress" else TERMINAL_SCHEDULE
    succeeded = code is not None and 200 <= code < 300
    assert (outcome.status == SUCCEEDED) == succeeded
    assert outcome.next_attempt_at >= NOW
    assert outcome.status_code == code
    if succeeded:
        return
    assert outcome.error
    if code == 410 or refused:
        assert outcome.status == ABANDONED
    elif manual or attempts >= len(schedule):
        assert outcome.status == FAILED
    else:
        assert outcome.status == PENDING
        bound = 2 * max(schedule[attempts], 60) * 1.2
        assert outcome.next_attempt_at <= NOW + bound
        assert outcome.next_attempt_at <= NOW + 2 * max(TERMINAL_SCHEDULE) * 1.2
        if code == 429 or timed_out:
            assert outcome.next_attempt_at >= NOW + 60
    if outcome.status != PENDING:
        assert outcome.next_attempt_at == NOW
