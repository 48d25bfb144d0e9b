"""The SSRF guard against a real HTTP server on 127.0.0.1: refused by default, reachable when
allow-listed, and redirects are not followed. Nothing here leaves the loopback interface.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from service.webhooks.ssrf import (
    DestinationRefused,
    guarded_client,
    guarded_transport,
    parse_networks,
)

LOOPBACK_V4 = parse_networks("127.0.0.0/8")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
        else:
            self.send_response(200)
            self.send_header("Content-Length", "5")
        self.end_headers()
        if self.path != "/redirect":
            self.wfile.write(b"hello")

    def log_message(self, format: str, *args: object) -> None:
        pass  # keep test output quiet


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1  # every accepted TCP connection, before any HTTP is read
        return True


@dataclass
class Server:
    httpd: CountingServer

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    @property
    def connections(self) -> int:
        return self.httpd.connections


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    httpd = CountingServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    yield Server(httpd)
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def dual_stack() -> bool:
    """Whether an IPv6 socket can reach 127.0.0.1 as ::ffff:127.0.0.1 on this machine."""
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            probe.bind(("::ffff:127.0.0.1", 0))
        return True
    except OSError:
        return False


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "0.0.0.0"])
async def test_loopback_is_refused_by_default(server, host):
    before = server.connections
    async with guarded_client() as client:
        with pytest.raises(DestinationRefused):
            await client.get(f"http://{host}:{server.port}/")
    assert server.connections == before


@pytest.mark.anyio
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_loopback_is_reachable_when_allow_listed(server, host):
    async with guarded_client(LOOPBACK_V4) as client:
        response = await client.get(f"http://{host}:{server.port}/")
    assert (response.status_code, response.text) == (200, "hello")


@pytest.mark.anyio
@pytest.mark.skipif(not dual_stack(), reason="no IPv4-mapped IPv6 sockets on this machine")
async def test_ipv4_mapped_loopback_is_reachable_when_allow_listed(server):
    async with guarded_client(LOOPBACK_V4) as client:
        response = await client.get(f"http://[::ffff:127.0.0.1]:{server.port}/")
    assert response.status_code == 200


@pytest.mark.anyio
async def test_redirects_are_not_followed(server):
    async with guarded_client(LOOPBACK_V4) as client:
        response = await client.get(f"http://127.0.0.1:{server.port}/redirect")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.anyio
async def test_a_name_rebound_to_loopback_never_reaches_the_server(server):
    async def rebinding(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    before = server.connections
    url = f"http://evil.test:{server.port}/"
    async with httpx.AsyncClient(transport=guarded_transport(resolver=rebinding)) as client:
        with pytest.raises(DestinationRefused, match=r"evil\.test.*127\.0\.0\.1"):
            await client.get(url)
    assert server.connections == before
    # ...although the very same connection succeeds once loopback is allow-listed.
    transport = guarded_transport(LOOPBACK_V4, resolver=rebinding)
    async with httpx.AsyncClient(transport=transport) as client:
        assert (await client.get(url)).status_code == 200
    assert server.connections == before + 1
