"""Server subprocesses for the benchmarks: free ports, readiness, and a sure shutdown."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

HOST = "127.0.0.1"
READY_TIMEOUT = 60.0
STOP_TIMEOUT = 15.0


def free_port() -> int:
    """A port nobody listens on right now (bind port 0 on loopback, read it, close)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


class ServerFailed(RuntimeError):
    """The server exited or never became healthy; the message has its log's tail."""


@contextlib.contextmanager
def running(
    name: str,
    argv: Sequence[str],
    env: Mapping[str, str],
    port: int,
    log_path: Path,
    ready_path: str = "/healthz",
) -> Iterator[Server]:
    """Start `argv`, wait for a 200 on GET `ready_path`, yield; always stop it (TERM, then KILL)."""
    with log_path.open("wb") as log:  # a file, never a pipe: a full pipe would stall the server
        process = subprocess.Popen(
            list(argv),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, process, port, log_path)
    try:
        _wait_healthy(server, ready_path)
        yield server
    finally:
        stop(server)


def stop(server: Server) -> int | None:
    """Graceful stop (uvicorn finishes in-flight requests on SIGTERM), then SIGKILL."""
    process = server.process
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: only its group
            process.wait(5)
    return process.returncode


def _wait_healthy(server: Server, path: str) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    url = f"{server.base_url}{path}"
    while True:
        if server.process.poll() is not None:
            raise ServerFailed(
                f"{server.name} exited with {server.process.returncode} before it was healthy:\n"
                f"{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise ServerFailed(
                f"{server.name} not healthy after {READY_TIMEOUT:.0f}s:\n{server.log_tail()}"
            )
        time.sleep(0.1)


def post_once(url: str, body: bytes, headers: Mapping[str, str]) -> tuple[int, bytes]:
    """One POST; returns (status, body) even for 4xx/5xx."""
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


class PostgresUnavailable(Exception):
    """Why a PostgreSQL run is skipped (driver missing or server unreachable)."""


@contextlib.contextmanager
def fresh_schema(url: str, say: Callable[[str], None]) -> Iterator[str]:
    """A new schema for one run, dropped afterwards (raises PostgresUnavailable)."""
    try:
        import psycopg
        from psycopg import sql
    except ImportError:
        raise PostgresUnavailable("psycopg is not installed") from None
    try:
        psycopg.connect(url, connect_timeout=3, autocommit=True).close()
    except psycopg.Error as error:
        raise PostgresUnavailable(
            f"PostgreSQL not reachable at {url} ({str(error).strip()})"
        ) from None
    schema = f"bench_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    say(f"schema {schema} created in {url}")
    try:
        yield schema
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        say(f"schema {schema} dropped")
