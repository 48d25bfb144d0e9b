"""`--rpm` through real processes: the 11th request within a minute is a 429 with the
RateLimit headers, counted together by two web processes sharing one store."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest

from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e


def key_with_rpm(env, rpm: int) -> str:
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "service.cli",
            "keys",
            "create",
            "--tenant",
            "acme",
            "--rpm",
            str(rpm),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def assert_eleventh_is_refused(urls: list[str], key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    answers = [
        httpx.get(f"{urls[i % len(urls)]}/v1/videos", headers=headers, timeout=30)
        for i in range(11)
    ]
    assert [a.status_code for a in answers] == [200] * 10 + [429]
    refused = answers[-1]
    assert refused.json()["error"]["code"] == "rate_limited"
    assert refused.headers["RateLimit-Limit"] == "10"
    assert refused.headers["RateLimit-Remaining"] == "0"
    reset = int(refused.headers["RateLimit-Reset"])
    assert 0 < reset <= 60 and refused.headers["Retry-After"] == str(reset)


def test_one_web_process_refuses_the_eleventh_request(settings, tmp_path):
    env = server_env(settings)
    key = key_with_rpm(env, 10)
    with run_vidgate(env, tmp_path / "web.log") as web:
        assert_eleventh_is_refused([web.url], key)


@pytest.mark.parametrize("store", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_two_web_processes_count_one_keys_requests_together(settings, tmp_path):
    env = server_env(settings, VIDGATE_RUN_WORKERS="false")
    key = key_with_rpm(env, 10)
    with (
        run_vidgate(env, tmp_path / "web1.log") as first,
        run_vidgate(env, tmp_path / "web2.log") as second,
    ):
        assert_eleventh_is_refused([first.url, second.url], key)
