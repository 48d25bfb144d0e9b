"""`/` links the docs and the probes; `/docs` is Swagger UI served from our own files."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.parametrize("store", ["sqlite"], indirect=True)


def test_the_landing_page_links_the_docs_and_the_probes(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    links = set(re.findall(r'href="([^"]+)"', page.text))
    assert {"/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/console"} <= links


def test_the_docs_page_loads_only_assets_we_serve(client):
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert assets and all(asset.startswith("/docs/static/") for asset in assets)
    assert "http://" not in page.text and "https://" not in page.text
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 500, asset


def test_a_missing_asset_is_a_404(client):
    assert client.get("/docs/static/nope.js").status_code == 404
