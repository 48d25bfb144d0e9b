"""`vidgate keys create --rpm …` and `vidgate keys limits`, through real processes."""

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


def test_limits_set_at_create_can_be_changed_and_removed(settings):
    env = server_env(settings)
    made = vidgate(
        env, "keys", "create", "--tenant", "acme", "--rpm", "10", "--monthly-budget", "50"
    )
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    shown = json.loads(vidgate(env, "keys", "limits", key).stdout)
    assert shown == {"rpm": 10, "max_concurrent": None, "monthly_budget": 50.0}
    changed = vidgate(env, "keys", "limits", key, "--max-concurrent", "3", "--rpm", "none")
    assert json.loads(changed.stdout) == {"rpm": None, "max_concurrent": 3, "monthly_budget": 50.0}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--rpm", "0"), "--rpm must be a whole number of at least 1, not '0'"),
        (("--max-concurrent", "x"), "--max-concurrent must be a whole number"),
        (("--monthly-budget", "-5"), "--monthly-budget: the amount must be a positive"),
    ],
)
def test_a_bad_limit_is_refused_naming_the_flag(settings, args, message):
    refused = vidgate(server_env(settings), "keys", "create", "--tenant", "acme", *args)
    assert refused.returncode == 2 and message in refused.stderr and refused.stdout == ""


def test_limits_of_an_unknown_key_are_refused(settings):
    refused = vidgate(server_env(settings), "keys", "limits", "vg_nope", "--rpm", "3")
    assert refused.returncode == 1 and "no such key" in refused.stderr
