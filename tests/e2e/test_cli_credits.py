"""`vidgate credits grant|show` through real processes, on each store."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.e2e.server import server_env

pytestmark = pytest.mark.e2e


def vidgate(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_granted_credits_show_in_the_balance(settings):
    env = server_env(settings)
    assert json.loads(vidgate(env, "credits", "show", "acme").stdout)["metered"] is False
    granted = vidgate(env, "credits", "grant", "acme", "5.00", "--note", "trial")
    assert granted.returncode == 0, granted.stderr
    vidgate(env, "credits", "grant", "acme", "2.50")
    shown = json.loads(vidgate(env, "credits", "show", "acme").stdout)
    assert shown == {
        "tenant": "acme",
        "object": "balance",
        "currency": "USD",
        "metered": True,
        "available": 7.5,
        "reserved": 0.0,
        "spent": 0.0,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("grant", "acme", "-3"), "AMOUNT: the amount must be a positive"),
        (("grant", "acme", "lots"), "AMOUNT: 'lots' is not an amount"),
        (("grant", "no such/tenant", "5"), "TENANT must be 1-64"),
    ],
)
def test_a_bad_grant_is_refused_naming_the_argument(settings, args, message):
    refused = vidgate(server_env(settings), "credits", *args)
    assert refused.returncode == 2 and message in refused.stderr
    assert (
        json.loads(vidgate(server_env(settings), "credits", "show", "acme").stdout)["metered"]
        is False
    )
