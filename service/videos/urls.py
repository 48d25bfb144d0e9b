"""Whether a URL someone gave us can be fetched by our HTTP client as it reads URLs."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

import httpx


def parsed_web_url(url: str) -> SplitResult | None:
    """The parts of an absolute http(s) URL with a host that httpx parses too; None otherwise.

    urllib alone accepts what httpx refuses (`http://0177.0.0.1/` is not an IPv4 address to
    httpx; non-IDNA hosts), and a URL accepted here must not fail later, at every fetch.
    """
    if not url.isprintable():
        return None
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port  # .port raises on "x" or 99999
        httpx.URL(url)
    except (ValueError, httpx.InvalidURL):  # "http://[::1", NFKC-unsafe or non-IDNA hosts
        return None
    if parts.scheme.lower() not in ("http", "https") or not host or port == 0:
        return None
    return parts
