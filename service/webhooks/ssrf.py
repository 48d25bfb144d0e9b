"""Refuse outbound connections to non-public addresses (SSRF, OWASP API7).

vidgate POSTs webhooks to tenant-supplied URLs and fetches tenant-supplied images. The check
runs when a TCP connection is opened, *after* DNS resolution, and the socket is then opened to
the vetted IP literal: a name that resolves to a public address for a pre-flight check and to
127.0.0.1 a moment later (DNS rebinding) cannot slip through. Private networks can be
allow-listed explicitly (local development and tests: ``127.0.0.0/8,::1/128``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import anyio
import httpcore
import httpx

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_DEFAULT_LIMITS = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's
_DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)
# Checked on top of `is_global`, which Python 3.11 gets wrong for multicast and for most of
# 192.0.0.0/24, and which differs between Python versions.
_BLOCKED: tuple[Network, ...] = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/96",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001::/23",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)


class DestinationRefused(httpx.ConnectError):
    """The destination resolves only to addresses vidgate may not connect to."""


def parse_networks(raw: str | None) -> tuple[Network, ...]:
    """Parse a comma-separated allow-list such as ``"127.0.0.0/8, ::1/128"``; empty → ()."""
    networks: list[Network] = []
    for entry in (raw or "").split(","):
        if not (entry := entry.strip()):
            continue  # tolerate "a, b," and blank values
        try:
            networks.append(ipaddress.ip_network(entry))
        except ValueError as exc:
            raise ValueError(f"invalid network {entry!r} in allow-list: {exc}") from exc
    return tuple(networks)


def _unmap(address: Address) -> Address:
    """The IPv4 address behind IPv4-mapped, NAT64 and 6to4 encodings, else the address."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour or address


def is_allowed(address: str, allowed: Sequence[Network] = ()) -> bool:
    """Whether vidgate may connect to `address` (an IP literal; anything else is refused)."""
    try:
        original = ipaddress.ip_address(address)
    except ValueError:
        return False
    unmapped = _unmap(original)
    if any(ip in net for net in allowed for ip in (original, unmapped)):
        return True
    # A wrapped IPv4 address is judged as that IPv4 address: ::ffff:127.0.0.1 is loopback.
    return unmapped.is_global and not any(unmapped in net for net in _BLOCKED)


async def _resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to, in resolver order, without duplicates."""
    # anyio.getaddrinfo is loop.getaddrinfo on asyncio and also works under trio.
    infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _ip_literal(host: str) -> str | None:
    """`host` as a normalised IP literal, or None when it is a name."""
    try:
        return str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        return None


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """Resolves and vets every TCP destination, then connects the inner backend to an IP."""

    def __init__(
        self, allowed: Sequence[Network], resolver: Resolver, inner: httpcore.AsyncNetworkBackend
    ) -> None:
        self._allowed = tuple(allowed)
        self._resolver = resolver
        self._inner = inner

    async def _candidates(self, host: str, port: int, within: float | None) -> list[str]:
        if (literal := _ip_literal(host)) is not None:
            return [literal]
        try:
            # Resolution counts towards the connect timeout, as in httpcore's own backends.
            with anyio.fail_after(within):
                return await self._resolver(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host!r} timed out") from exc
        except OSError as exc:
            raise httpcore.ConnectError(f"cannot resolve {host!r}: {exc}") from exc

    # httpcore's AsyncNetworkBackend interface, `timeout` included (unix sockets: see uds).
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        candidates = await self._candidates(host, port, timeout)
        vetted = [address for address in candidates if is_allowed(address, self._allowed)]
        if not vetted:
            refused = ", ".join(candidates) or "no address"
            raise DestinationRefused(
                f"refusing to connect to {host!r}: {refused} is neither public nor allow-listed"
            )
        error: httpcore.ConnectError | None = None
        for address in vetted:  # TLS still verifies `host`: httpcore passes it to start_tls
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                error = exc
        assert error is not None
        raise error

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def guarded_transport(
    allowed: Sequence[Network] = (),
    *,
    resolver: Resolver | None = None,
    backend: httpcore.AsyncNetworkBackend | None = None,
    **transport_kwargs: Any,
) -> httpx.AsyncBaseTransport:
    """An httpx transport that only opens TCP connections to allowed (by default public) IPs.

    `transport_kwargs` go to `httpx.AsyncHTTPTransport` (verify, http1/http2, limits, retries,
    ...); `trust_env` defaults to False. `resolver` (default: getaddrinfo) maps (host, port) to
    addresses; `backend` (default: httpcore.AnyIOBackend) opens the vetted connections.
    """
    if transport_kwargs.get("proxy") is not None or transport_kwargs.get("uds") is not None:
        raise ValueError("a proxy or unix socket would bypass the destination check")
    trust_env = transport_kwargs.pop("trust_env", False)
    ssl_context = httpx.create_ssl_context(
        verify=transport_kwargs.pop("verify", True),
        cert=transport_kwargs.pop("cert", None),
        trust_env=trust_env,
    )
    transport = httpx.AsyncHTTPTransport(
        verify=ssl_context, trust_env=trust_env, **transport_kwargs
    )
    limits: httpx.Limits = transport_kwargs.get("limits", _DEFAULT_LIMITS)
    # httpx 0.28 has no public hook for the network backend, so replace the pool it built
    # (private `_pool`) with an identical one on the guarded backend. tests/unit/test_ssrf.py
    # pins this: if httpx stops using `_pool`, the interception tests fail.
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        http1=transport_kwargs.get("http1", True),
        http2=transport_kwargs.get("http2", False),
        retries=transport_kwargs.get("retries", 0),
        local_address=transport_kwargs.get("local_address"),
        socket_options=transport_kwargs.get("socket_options"),
        network_backend=_GuardedBackend(
            allowed, resolver or _resolve, backend or httpcore.AnyIOBackend()
        ),
    )
    return transport


def guarded_client(
    allowed: Sequence[Network] = (),
    *,
    timeout: httpx.Timeout = _DEFAULT_TIMEOUT,
    **kwargs: Any,
) -> httpx.AsyncClient:
    """An AsyncClient on `guarded_transport(allowed)`: no redirects, no proxies from the env.

    Redirects are not followed: a webhook or image URL has no business bouncing the request
    elsewhere, and the caller sees the 3xx instead. `kwargs` go to `httpx.AsyncClient`.
    """
    return httpx.AsyncClient(
        transport=guarded_transport(allowed),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
        **kwargs,
    )
