"""A real S3 API server on 127.0.0.1 for the storage tests: moto's, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from service.settings import StorageSettings
from tests.e2e.server import free_port

# moto accepts any credentials; these only have to be the same on both ends.
KEY_ID, SECRET = "vidgate-test", "vidgate-test-secret"


@dataclass(frozen=True)
class S3Server:
    url: str
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Kill the server (the bucket becomes unreachable)."""
        self.process.kill()
        self.process.wait(10)

    def new_bucket(self) -> str:
        """A fresh, empty bucket (each test gets its own)."""
        name = f"vg-{uuid.uuid4().hex[:16]}"
        httpx.put(f"{self.url}/{name}", timeout=10).raise_for_status()
        return name

    def settings(self, bucket: str, prefix: str = "vidgate", **changes: object) -> StorageSettings:
        return StorageSettings(
            url=f"s3://{bucket}/{prefix}",
            endpoint_url=self.url,
            access_key_id=KEY_ID,
            secret_access_key=SECRET,
            **changes,  # type: ignore[arg-type]
        )

    def env(self, bucket: str, prefix: str = "vidgate") -> dict[str, str]:
        """The same, as a vidgate process reads it."""
        return {
            "VIDGATE_STORAGE_URL": f"s3://{bucket}/{prefix}",
            "VIDGATE_S3_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET,
        }


@contextmanager
def moto_server(log: Path, timeout: float = 30.0) -> Iterator[S3Server]:
    """`moto_server` on a free port, until it answers; killed afterwards."""
    port = free_port()
    command = [str(Path(sys.executable).with_name("moto_server")), "-H", "127.0.0.1"]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [*command, "-p", str(port)], stdout=sink, stderr=subprocess.STDOUT
        )
    server = S3Server(f"http://127.0.0.1:{port}", process)
    try:
        _wait_answering(server, process, log, timeout)
        yield server
    finally:
        server.stop()


def _wait_answering(
    server: S3Server, process: subprocess.Popen[bytes], log: Path, timeout: float
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"moto_server exited early:\n{log.read_text()}")
        try:
            httpx.get(server.url, timeout=1.0)  # lists buckets: any answer means it's up
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not answer within {timeout} s:\n{log.read_text()}")
