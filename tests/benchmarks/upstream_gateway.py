"""A sandbox gateway for bench_upstream.py: `vidgate serve` with its emulators in-process on a
fixed port, a fresh store, and the few API calls the bench makes to it."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from bench_submit import HEADERS, _vidgate_command, _vidgate_env
from servers import HOST, Server, ServerFailed, free_port, fresh_schema, running
from upstream_load import Samples, parse_metrics

SETTLE_TIMEOUT = 10.0
SETTLE_CORES = 0.15  # the server is "quiet" below this: its followers have caught up


class BenchFailed(RuntimeError):
    """The gateway did something a measurement cannot go on with; the message says what."""


@dataclass
class Gateway:
    server: Server
    secret_key: str  # VIDGATE_SECRET_KEY: callback tokens and the sandbox's secrets follow it
    sandbox_url: str  # the emulator suite (GET /_requests)

    def api(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.server.base_url, headers=HEADERS, trust_env=False, timeout=30.0
        )

    def alive(self) -> None:
        if self.server.process.poll() is not None:
            raise ServerFailed(f"{self.server.name} died:\n{self.server.log_tail()}")

    def log_excerpt(self, lines: int = 20) -> str:
        """The server log's last lines but the access log and httpx's request lines."""
        text = self.server.log_path.read_text(errors="replace").splitlines()
        kept = [line for line in text if not line.startswith(("INFO:     ", "INFO httpx:"))]
        return "server log (without access lines):\n" + "\n".join(kept[-lines:])

    def log_problems(self) -> list[str]:
        text = self.server.log_path.read_text(errors="replace").splitlines()
        bad = [line for line in text if line.startswith("ERROR") or "Traceback" in line]
        if not bad:
            return []
        return [f"the server log has {len(bad)} ERROR/Traceback lines, e.g. {bad[0]}"]

    def settle(self) -> float:
        """Wait until the server is quiet; its cores over the last 0.5 s."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while True:
            before = _cpu_seconds(self.server.process.pid)
            time.sleep(0.5)
            self.alive()
            cores = (_cpu_seconds(self.server.process.pid) - before) / 0.5
            if cores < SETTLE_CORES or time.monotonic() > deadline:
                return cores


@contextlib.contextmanager
def sandbox_gateway(
    postgres_url: str | None,
    knobs: dict[str, str],
    say: Callable[[str], None],
    secret: str | None = None,
) -> Iterator[Gateway]:
    """`vidgate serve --sandbox` with a fresh data dir (and, given `postgres_url`, a fresh
    schema), `knobs` in its environment; always stopped, the schema dropped. `secret` (else a
    new one): its VIDGATE_SECRET_KEY, which emulators in another process must share."""
    with (
        _store_env(postgres_url, say) as store_env,
        tempfile.TemporaryDirectory(prefix="vidgate-bench-") as tmp,
    ):
        port, sandbox_port = free_port(), free_port()
        while sandbox_port == port:
            sandbox_port = free_port()
        secret = secret or secrets.token_urlsafe(32)
        env = {**_vidgate_env(Path(tmp) / "var"), **store_env, **knobs}
        env.update(
            PORT=str(port),
            VIDGATE_RUN_WORKERS="true",
            VIDGATE_SANDBOX="true",
            VIDGATE_SANDBOX_PORT=str(sandbox_port),
            VIDGATE_SECRET_KEY=secret,
        )
        argv = [*_vidgate_command(), "serve"]
        with running("vidgate serve (sandbox)", argv, env, port, Path(tmp) / "server.log") as s:
            yield Gateway(s, secret, f"http://{HOST}:{sandbox_port}")


@contextlib.contextmanager
def _store_env(postgres_url: str | None, say: Callable[[str], None]) -> Iterator[dict[str, str]]:
    if postgres_url is None:
        yield {}
        return
    with fresh_schema(postgres_url, say) as schema:
        yield {"VIDGATE_DATABASE_URL": postgres_url, "VIDGATE_DATABASE_SCHEMA": schema}


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# the API calls


def check_routes(api: httpx.Client, want: dict[str, str]) -> None:
    """Each model (value) must take the route (key) it stands for: `provider` in /v1/models."""
    listed = {m["id"]: m.get("provider") for m in ok_json(api.get("/v1/models"))["data"]}
    wrong = [
        f"{model} → {listed.get(model)} (want {route})"
        for route, model in want.items()
        if listed.get(model) != route
    ]
    if wrong:
        raise BenchFailed("models not on the route they are here for: " + ", ".join(wrong))


def submit(api: httpx.Client, model: str) -> str:
    response = api.post("/v1/videos", json={"model": model, "prompt": "bench upstream"})
    if response.status_code != 202:
        raise BenchFailed(f"POST /v1/videos {model} → {response.status_code} {response.text[:300]}")
    return str(response.json()["id"])


def job_events(api: httpx.Client, video: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = ok_json(api.get(f"/v1/videos/{video}/events"))["data"]
    return data


def metrics(api: httpx.Client) -> Samples:
    response = api.get("/metrics")
    if response.status_code != 200:
        raise BenchFailed(f"GET /metrics → {response.status_code} {response.text[:300]}")
    return parse_metrics(response.text)


def ok_json(response: httpx.Response) -> Any:
    if response.status_code != 200:
        raise BenchFailed(
            f"{response.request.method} {response.request.url.path} → "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()
