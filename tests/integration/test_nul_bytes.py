"""A NUL byte in any path or query parameter of any documented GET is a client error, never
a 5xx: PostgreSQL text can't hold NUL, and a query that tried failed as if the store were
down (`503 store_unavailable`, which honest clients retry). Every GET of `/openapi.json`,
every parameter, on both stores."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.facades_support import gateway

NUL = "a%00b"


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[TestClient]:
    with gateway(request.param, tmp_path_factory.mktemp("nul") / "var") as client:
        client.post("/v1/videos", json={"model": "local-preview", "prompt": "a fox"})
        yield client


def probes(document: dict[str, Any]) -> Iterator[str]:
    """Each GET with NUL in one parameter at a time (the others as their examples or `x`)."""
    for path, item in document["paths"].items():
        operation = item.get("get")
        if operation is None:
            continue
        parameters = [*item.get("parameters", []), *operation.get("parameters", [])]
        path_names = [p["name"] for p in parameters if p["in"] == "path"]
        queries = [p["name"] for p in parameters if p["in"] == "query"]
        base = path
        for name in path_names:
            base = base.replace("{" + name + "}", "x")
        for name in path_names:
            yield path.replace("{" + name + "}", NUL).replace("{", "").replace("}", "")
        for name in queries:
            yield f"{base}?{name}={NUL}"


def test_nul_in_any_get_parameter_is_never_a_server_error(api):
    document = api.get("/openapi.json").json()
    answers = {url: api.get(url) for url in probes(document)}
    assert len(answers) > 20
    broken = {
        url: (r.status_code, r.text[:120]) for url, r in answers.items() if r.status_code >= 500
    }
    assert not broken
    refused = answers["/v1/videos?model=" + NUL]
    assert refused.status_code == 400 and refused.json()["error"]["param"] == "model"
