"""A 405 names every method its path takes in `Allow` — the ones `/openapi.json` documents
(HEAD with GET) — not only the first route's: `/v1/videos/{id}` once left out DELETE,
`/v1/webhook_endpoints` GET, and `/v1/webhook_endpoints/{id}` PATCH and DELETE."""

from __future__ import annotations

import re

import pytest

METHODS = {"get", "put", "post", "patch", "delete"}


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_every_documented_path_answers_a_405_with_all_its_methods(client):
    document = client.get("/openapi.json").json()
    checked = 0
    for template, item in document["paths"].items():
        documented = {method.upper() for method in item if method in METHODS}
        unused = sorted(METHODS - {m.lower() for m in documented})
        if not unused:
            continue
        path = re.sub(r"\{[^}]+\}", "x", template)
        response = client.request(unused[0].upper(), path)
        assert response.status_code == 405, (template, response.status_code)
        allowed = set(response.headers["allow"].split(", "))
        expected = documented | ({"HEAD"} if "GET" in documented else set())
        assert allowed == expected, template
        checked += 1
    assert checked > 20


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/videos/video_00000000000000000000000000000000", "DELETE, GET, HEAD"),
        ("/v1/webhook_endpoints", "GET, HEAD, POST"),
        ("/v1/webhook_endpoints/we_x", "DELETE, GET, HEAD, PATCH"),
    ],
)
def test_the_paths_the_audit_found_name_all_their_methods(client, path, methods):
    assert client.put(path).headers["allow"] == methods
