"""Real servers for end-to-end tests: `vidgate` processes on 127.0.0.1, killed for real."""

from __future__ import annotations

import itertools
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from service.settings import Settings


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


# A port handed out here is free when asked but bound later: the kernel's own picks (every
# server started on port 0, every outgoing connection) come from the ephemeral range, so a
# port taken from there could be given to another process meanwhile (CI saw a vidgate refused
# its port: an emulator had it). Ports come from below that range instead, a block per xdist
# worker and in turn within it, so no other pick of ours or the kernel's can take them.
PORTS_FROM, BLOCK = 10_000, 2_000
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_BLOCKS = max(1, (min(_ephemeral_low(), 32_768) - PORTS_FROM) // BLOCK)
_FIRST = PORTS_FROM + (int(_WORKER) if _WORKER.isdigit() else 0) % _BLOCKS * BLOCK
_turn = itertools.count(os.getpid() % BLOCK)


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on, which no other test or server will be given."""
    for _ in range(BLOCK):
        port = _FIRST + next(_turn) % BLOCK
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (another service on this machine): the next one
            return port
    raise RuntimeError(f"no free port in {_FIRST}-{_FIRST + BLOCK - 1}")


def server_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment that makes a `vidgate` process use these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIDGATE_")}
    env.update(
        {
            "VIDGATE_DATA_DIR": str(settings.data_dir),
            "VIDGATE_FOLLOW_INTERVAL_MS": str(max(1, int(settings.follow_interval * 1000))),
            "VIDGATE_POLL_AFTER_MS": str(settings.poll_after_ms),
            "VIDGATE_LOCAL_FRAME_DELAY_MS": str(int(settings.local_frame_delay * 1000)),
            "VIDGATE_DELIVERY_LEASE_SECONDS": str(int(settings.delivery_lease_seconds)),
            "VIDGATE_DISPATCH_LEASE_S": str(settings.dispatch_lease),
            "VIDGATE_SUBMIT_TIMEOUT_S": str(settings.submit_timeout),
        }
    )
    if settings.allowed_private_networks:
        env["VIDGATE_ALLOWED_PRIVATE_NETWORKS"] = settings.allowed_private_networks
    if settings.secret_key:
        env["VIDGATE_SECRET_KEY"] = settings.secret_key
    if settings.bootstrap_api_key:
        env["VIDGATE_BOOTSTRAP_API_KEY"] = settings.bootstrap_api_key
    if settings.database_url:
        env["VIDGATE_DATABASE_URL"] = settings.database_url
        env["VIDGATE_DATABASE_SCHEMA"] = settings.database_schema
    env.update(extra)
    return env


@dataclass
class Process:
    process: subprocess.Popen[bytes]
    log: Path
    url: str | None = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown hooks, like a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)


@contextmanager
def run_vidgate(
    env: dict[str, str], log: Path, *args: str, port: int | None = None, wait: bool = True
) -> Iterator[Process]:
    """Run `python -m service.cli ARGS` (default `serve`); stop it however the test ended."""
    command = [sys.executable, "-m", "service.cli", *(args or ("serve",))]
    if not args or args[0] == "serve":
        port = port or free_port()
        env = {**env, "PORT": str(port), "HOST": "127.0.0.1"}
    with log.open("ab") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
    handle = Process(process, log, f"http://127.0.0.1:{port}" if port else None)
    try:
        if wait and handle.url:
            _wait_healthy(handle)
        yield handle
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def _wait_healthy(handle: Process, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if handle.process.poll() is not None:
            raise RuntimeError(f"vidgate exited early:\n{handle.output()}")
        try:
            if httpx.get(f"{handle.url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"vidgate did not become ready in {timeout}s:\n{handle.output()}")


@contextmanager
def serve_in_thread(build: Callable[[str], Any], timeout: float = 30.0) -> Iterator[str]:
    """Serve `build(base_url)` (an ASGI app, lifespan included) on a real uvicorn on
    127.0.0.1 in a thread of this process; yields the base URL. Cheaper than a process
    when a test needs many short-lived gateways."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(build(base), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the gateway did not start")
            time.sleep(0.02)
        yield base
    finally:
        server.should_exit = True
        thread.join(timeout=20)
        sock.close()
