"""One `vidgate serve` in sandbox mode per store, shared by a module's tests, and waits that
sample a job until it ends (for the seed-fidelity tests of progress, cancel and outputs)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ADMIN_KEY
from tests.e2e.server import Process, run_vidgate, server_env
from tests.facades_support import store_settings

# The emulators take 4 s a job: long enough to cancel a running job. Poll-only routes are
# first polled near that typical end (3.5 s), webhook routes' fallback polls come after 1 s.
SANDBOX_ENV = {
    "VIDGATE_SANDBOX": "1",
    "VIDGATE_EMULATE_LATENCY": "4",
    "VIDGATE_POLL_FIRST_MS": "300",
    "VIDGATE_POLL_CAP_MS": "1000",
    "VIDGATE_POLL_GRACE_MS": "1000",
}


@dataclass
class Sandbox:
    process: Process
    url: str

    def http(self, key: str = ADMIN_KEY) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )


@contextmanager
def sandbox_gateway(store: str, tmp: Path, **extra: str) -> Iterator[Sandbox]:
    """`extra`: more variables for the server, over `SANDBOX_ENV`."""
    with store_settings(store, tmp / "var") as settings:
        env = server_env(settings, **{**SANDBOX_ENV, **extra})
        with run_vidgate(env, tmp / "serve.log") as process:
            assert process.url
            yield Sandbox(process, process.url)
            assert "Traceback" not in process.output(), process.output()[-4000:]


def sample_until(
    read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool], timeout: float = 90
) -> list[dict[str, Any]]:
    """Every answer of `read()` (taken every 50 ms) up to and including the first `done` one."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while not seen or not done(seen[-1]):
        if time.monotonic() > deadline:
            raise AssertionError(f"never done; last seen: {seen[-1] if seen else None}")
        seen.append(read())
        time.sleep(0.05)
    return seen
