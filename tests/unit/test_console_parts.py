"""The console's pure parts: session cookies and CSRF tokens, and the chart geometry."""

from __future__ import annotations

import time
from uuid import uuid4

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from starlette.requests import Request

from service.surfaces.console.charts import HEIGHT, bar_chart
from service.surfaces.console.session import (
    COOKIE,
    MAX_AGE,
    CsrfRefused,
    Session,
    Sessions,
)

SECRET = "unit-secret"


def request_with(cookie: str) -> Request:
    headers = [(b"cookie", f"{COOKIE}={cookie}".encode())]
    return Request({"type": "http", "method": "GET", "path": "/console", "headers": headers})


def cookie_of(session: Session, *, secret: str = SECRET, age: int = 0) -> str:
    """The cookie a `Sessions` would write, signed `age` seconds ago."""

    class Then(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - age

    signer = URLSafeTimedSerializer(secret, salt="vidgate.console.session", signer=Then)
    return signer.dumps(session.payload())


def test_a_signed_session_reads_back():
    session = Session.fresh(uuid4(), "acme")
    assert Sessions(SECRET, secure=False).read(request_with(cookie_of(session))) == session


@pytest.mark.parametrize(
    "cookie",
    [
        cookie_of(Session.fresh(uuid4(), "acme"), secret="another-secret"),
        cookie_of(Session.fresh(uuid4(), "acme"), age=MAX_AGE + 60),
        "garbage",
    ],
    ids=["another secret", "expired", "garbage"],
)
def test_a_forged_expired_or_garbled_cookie_is_no_session(cookie):
    assert Sessions(SECRET, secure=False).read(request_with(cookie)) is None


def test_a_csrf_token_is_good_for_its_own_session_only():
    sessions = Sessions(SECRET, secure=False)
    mine, theirs = Session.fresh(), Session.fresh()
    sessions.check_csrf(mine, sessions.csrf_token(mine))
    for token in (sessions.csrf_token(theirs), "", None, "x.y.z"):
        with pytest.raises(CsrfRefused):
            sessions.check_csrf(mine, token)
    other_secret = Sessions("another-secret", secure=False)
    with pytest.raises(CsrfRefused):
        sessions.check_csrf(mine, other_secret.csrf_token(mine))


def test_bars_scale_to_the_largest_value_and_sit_on_one_baseline():
    chart = bar_chart("jobs", [("2026-12-06", 2), ("2026-12-07", 4), ("a-very-long-model-id", 0)])
    low, high, zero = chart.bars
    assert high.height == 2 * low.height > 0 and zero.height == 0
    assert all(bar.y + bar.height == pytest.approx(HEIGHT - 40) for bar in chart.bars)
    assert low.x < high.x < zero.x
    assert zero.label.endswith("…") and len(zero.label) <= 14
    assert high.text == "4"


def test_money_bars_read_as_dollars_and_no_points_is_an_empty_chart():
    assert bar_chart("spend", [("veo", 1.5)], unit="$").bars[0].text == "$1.50"
    assert bar_chart("latency", [("veo", 2.25)], unit=" s").bars[0].text == "2.25 s"
    assert bar_chart("nothing", []).empty
