"""SSRF guard: address policy, allow-list parsing, and the connect-time check in the transport.

No test here opens a socket: names go through a fake resolver and connections through a
recording mock backend, so we can see exactly which IP the guard let httpcore connect to.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl

import anyio
import httpcore
import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.webhooks.ssrf import (
    DestinationRefused,
    guarded_client,
    guarded_transport,
    is_allowed,
    parse_networks,
)

LOOPBACK = parse_networks("127.0.0.0/8,::1/128")
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

REFUSED = [
    # IPv4 special-purpose ranges (each listed range, first and last-ish address)
    "0.0.0.0",
    "0.255.255.255",
    "10.0.0.1",
    "10.255.255.254",
    "100.64.0.1",
    "100.127.255.254",
    "127.0.0.1",
    "127.255.255.254",
    "169.254.169.254",
    "169.254.0.1",
    "172.16.0.1",
    "172.31.255.254",
    "192.0.0.1",
    "192.0.0.9",
    "192.0.0.170",
    "192.0.0.255",
    "192.168.0.1",
    "192.168.255.254",
    "198.18.0.1",
    "198.19.255.254",
    "224.0.0.1",
    "239.255.255.250",
    "240.0.0.1",
    "255.255.255.254",
    "255.255.255.255",
    "192.0.2.1",
    "203.0.113.7",
    # IPv6
    "::",
    "::1",
    "fc00::1",
    "fd00::2",
    "fdff:ffff::1",
    "fe80::1",
    "fe80::1%eth0",
    "febf::1",
    "ff00::1",
    "ff02::1",
    "ff0e::1",
    "2001:db8::1",
    "::127.0.0.1",
    # 127.0.0.1 and 169.254.169.254 wrapped: IPv4-mapped, NAT64, 6to4
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "::ffff:169.254.169.254",
    "64:ff9b::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b::169.254.169.254",
    "2002:7f00:1::",
    "2002:7f00:1:1::1",
    "2002:a9fe:a9fe::",
    "::ffff:10.0.0.1",
    "64:ff9b::192.168.0.1",
    # not an IP literal at all
    "localhost",
    "",
    "127.1",
    "8.8.8.8.",
    "[::1]",
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "9.9.9.9",
    "100.63.255.255",
    "100.128.0.1",
    "172.15.255.255",
    "172.32.0.1",
    "192.0.1.1",
    "192.167.255.255",
    "198.20.0.1",
    "223.255.255.255",
    "2606:4700::1111",
    "2001:4860:4860::8888",
    "::ffff:8.8.8.8",
    "64:ff9b::8.8.8.8",
    "2002:808:808::1",
]


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address):
    assert not is_allowed(address, ())


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address):
    assert is_allowed(address, ())


@pytest.mark.parametrize("address", ["127.0.0.1", "127.9.9.9", "::ffff:127.0.0.1", "::1"])
def test_the_allow_list_admits_private_addresses(address):
    assert is_allowed(address, LOOPBACK)


@pytest.mark.parametrize("address", ["10.0.0.1", "169.254.169.254", "::ffff:10.0.0.1", "fe80::1"])
def test_the_allow_list_admits_nothing_else(address):
    assert not is_allowed(address, LOOPBACK)


@given(st.ip_addresses(v=4))
def test_ipv4_mapped_form_is_judged_like_the_ipv4_address(address):
    assert is_allowed(str(address)) == is_allowed("::ffff:" + str(address))
    assert is_allowed(str(address), LOOPBACK) == is_allowed("::ffff:" + str(address), LOOPBACK)


@given(st.ip_addresses(v=4))
def test_nat64_form_is_judged_like_the_ipv4_address(address):
    assert is_allowed(str(address)) == is_allowed("64:ff9b::" + str(address))


def test_parse_networks():
    assert parse_networks("127.0.0.0/8, ::1/128") == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert parse_networks(" 10.0.0.0/8 ,") == (ipaddress.ip_network("10.0.0.0/8"),)
    assert parse_networks("192.168.1.10") == (ipaddress.ip_network("192.168.1.10/32"),)
    assert parse_networks("") == ()
    assert parse_networks(None) == ()
    assert parse_networks(" , ") == ()


@pytest.mark.parametrize(
    "raw", ["localhost", "127.0.0.1/8", "10.0.0.0/33", "127.0.0.0/8;::1/128", "::1/129"]
)
def test_parse_networks_names_the_bad_entry(raw):
    entry = raw.split(",")[-1].strip()
    with pytest.raises(ValueError, match="invalid network") as caught:
        parse_networks(f"::1/128, {raw}")
    assert repr(entry) in str(caught.value)


# --- the transport --------------------------------------------------------------------------

DNS = {
    "evil.test": ["127.0.0.1"],
    "rebind.test": ["8.8.8.8", "10.0.0.1"],
    "flip.test": ["169.254.169.254", "1.1.1.1"],
    "multi.test": ["9.9.9.9", "1.1.1.1"],
    "private.test": ["10.0.0.1", "::1", "fe80::1"],
}


class FakeResolver:
    def __init__(self):
        self.asked = []

    async def __call__(self, host, port):
        self.asked.append((host, port))
        if host not in DNS:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return list(DNS[host])


class RecordingStream(httpcore.AsyncMockStream):
    def __init__(self, buffer, backend):
        super().__init__(buffer)
        self.backend = backend

    async def start_tls(self, ssl_context, server_hostname=None, timeout=None):  # noqa: ASYNC109
        self.backend.tls.append((ssl_context, server_hostname))
        return self


class RecordingBackend(httpcore.AsyncNetworkBackend):
    """Stands in for the real network: records what it was asked to connect to."""

    def __init__(self, unreachable=()):
        self.connected = []
        self.tls = []
        self.unreachable = set(unreachable)

    async def connect_tcp(
        self,
        host,
        port,
        timeout=None,  # noqa: ASYNC109 - httpcore's interface
        local_address=None,
        socket_options=None,
    ):
        self.connected.append((host, port))
        if host in self.unreachable:
            raise httpcore.ConnectError(f"{host} unreachable")
        return RecordingStream([OK], self)

    async def sleep(self, seconds):
        pass


def client_for(backend, resolver=None, allowed=(), **kwargs):
    transport = guarded_transport(
        allowed, resolver=resolver or FakeResolver(), backend=backend, **kwargs
    )
    return httpx.AsyncClient(transport=transport, trust_env=False)


@pytest.mark.anyio
async def test_a_name_resolving_to_loopback_is_refused_before_any_connection():
    backend, resolver = RecordingBackend(), FakeResolver()
    async with client_for(backend, resolver) as client:
        with pytest.raises(DestinationRefused) as caught:
            await client.get("http://evil.test:8080/hook")
    assert backend.connected == []  # the backend would have answered 200
    assert resolver.asked == [("evil.test", 8080)]
    assert "evil.test" in str(caught.value) and "127.0.0.1" in str(caught.value)
    assert isinstance(caught.value, httpx.ConnectError)
    assert caught.value.request.url == "http://evil.test:8080/hook"


@pytest.mark.anyio
async def test_the_refusal_names_every_refused_address():
    async with client_for(RecordingBackend()) as client:
        with pytest.raises(DestinationRefused, match=r"'private\.test': 10\.0\.0\.1, ::1, fe80::1"):
            await client.get("http://private.test/")


@pytest.mark.anyio
async def test_the_same_name_connects_when_allow_listed():
    backend = RecordingBackend()
    async with client_for(backend, allowed=LOOPBACK) as client:
        response = await client.get("http://evil.test:8080/hook")
    assert response.status_code == 200
    assert backend.connected == [("127.0.0.1", 8080)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("host", "expected"),
    [("rebind.test", "8.8.8.8"), ("flip.test", "1.1.1.1"), ("multi.test", "9.9.9.9")],
)
async def test_only_a_vetted_public_address_is_connected_to(host, expected):
    backend = RecordingBackend()
    async with client_for(backend) as client:
        response = await client.get(f"http://{host}/")
    assert response.status_code == 200
    assert backend.connected == [(expected, 80)]


@pytest.mark.anyio
async def test_an_unreachable_vetted_address_falls_back_to_the_next_one():
    backend = RecordingBackend(unreachable={"9.9.9.9"})
    async with client_for(backend) as client:
        response = await client.get("http://multi.test/")
    assert response.status_code == 200
    assert backend.connected == [("9.9.9.9", 80), ("1.1.1.1", 80)]


@pytest.mark.anyio
async def test_every_connection_is_checked_so_later_rebinding_is_caught():
    answers = iter([["8.8.8.8"], ["127.0.0.1"]])
    backend = RecordingBackend()

    async def resolver(host, port):
        return next(answers)

    async with client_for(backend, resolver) as client:
        assert (await client.get("http://rebind.test/")).status_code == 200
        with pytest.raises(DestinationRefused):  # OK said "Connection: close": new connection
            await client.get("http://rebind.test/")
    assert backend.connected == [("8.8.8.8", 80)]


@pytest.mark.anyio
@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:7f00:1::]/",
        "https://10.0.0.1/",
    ],
)
async def test_ip_literals_are_checked_without_resolving(url):
    backend, resolver = RecordingBackend(), FakeResolver()
    async with client_for(backend, resolver) as client:
        with pytest.raises(DestinationRefused):
            await client.get(url)
    assert backend.connected == [] and resolver.asked == []


@pytest.mark.anyio
async def test_a_public_ip_literal_is_connected_to_directly():
    backend, resolver = RecordingBackend(), FakeResolver()
    async with client_for(backend, resolver) as client:
        assert (await client.get("http://[2606:4700::1111]:81/")).status_code == 200
    assert backend.connected == [("2606:4700::1111", 81)] and resolver.asked == []


@pytest.mark.anyio
async def test_tls_verifies_the_original_hostname_not_the_ip():
    backend = RecordingBackend()
    async with client_for(backend) as client:
        await client.get("https://rebind.test/")
    assert backend.connected == [("8.8.8.8", 443)]
    [(context, server_hostname)] = backend.tls
    assert server_hostname == "rebind.test"
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED


@pytest.mark.anyio
async def test_transport_options_reach_the_replacement_pool():
    backend = RecordingBackend()
    limits = httpx.Limits(max_connections=3, max_keepalive_connections=1, keepalive_expiry=2.0)
    transport = guarded_transport(
        resolver=FakeResolver(), backend=backend, verify=False, limits=limits, retries=2
    )
    # Pins the private-attribute swap in guarded_transport (httpx 0.28 / httpcore 1.0).
    pool = transport._pool
    assert isinstance(pool, httpcore.AsyncConnectionPool)
    assert (pool._max_connections, pool._max_keepalive_connections) == (3, 1)
    assert (pool._keepalive_expiry, pool._retries) == (2.0, 2)
    async with httpx.AsyncClient(transport=transport) as client:
        await client.get("https://rebind.test/")
    [(context, _)] = backend.tls
    assert context.verify_mode == ssl.CERT_NONE


@pytest.mark.anyio
async def test_unresolvable_names_are_a_plain_connect_error():
    async with client_for(RecordingBackend()) as client:
        with pytest.raises(httpx.ConnectError) as caught:
            await client.get("http://nowhere.test/")
    assert not isinstance(caught.value, DestinationRefused)


@pytest.mark.anyio
async def test_resolution_counts_towards_the_connect_timeout():
    async def slow(host, port):
        await anyio.sleep(10)
        return ["8.8.8.8"]

    transport = guarded_transport(resolver=slow, backend=RecordingBackend())
    async with httpx.AsyncClient(
        transport=transport, timeout=httpx.Timeout(1.0, connect=0.05)
    ) as c:
        with pytest.raises(httpx.ConnectTimeout):
            await c.get("http://slow.test/")


@pytest.mark.parametrize("option", [{"proxy": "http://proxy.test:3128"}, {"uds": "/tmp/s"}])
def test_options_that_bypass_the_check_are_rejected(option):
    with pytest.raises(ValueError, match="bypass"):
        guarded_transport(**option)


def test_guarded_client_defaults():
    client = guarded_client()
    assert client.follow_redirects is False and client.trust_env is False
    assert client.timeout == httpx.Timeout(15.0, connect=5.0)
    assert client._transport._pool._network_backend.__class__.__name__ == "_GuardedBackend"
