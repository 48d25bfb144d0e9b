"""No input produces a 500, and a rejected request appends nothing (Hypothesis over HTTP)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from service.app import create_app
from tests.conftest import ADMIN_KEY, settings_for
from tests.helpers import event_count

FIELDS = [
    "model",
    "prompt",
    "seconds",
    "size",
    "fps",
    "seed",
    "negative_prompt",
    "aspect_ratio",
    "resolution",
    "image_url",
    "input_reference",
    "duration",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from(
        [
            "local-preview",
            "160x90",
            "1",
            "720p",
            "16:9",
            "data:image/png;base64,AAAA",
            "http://x/y.png",
        ]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory, request):
    # No workers: accepted jobs must not keep appending while a later example counts events.
    settings = replace(
        settings_for("sqlite", tmp_path_factory.mktemp("fuzz") / "var", request), run_workers=False
    )
    app = create_app(settings)
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        yield client


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_any_json_body_gets_a_4xx_or_a_job_never_a_500(fuzz_client, body):
    before = event_count(fuzz_client)
    response = fuzz_client.post("/v1/videos", json=body)
    assert response.status_code in (202, 400), response.text
    if response.status_code == 400:
        assert response.json()["error"]["param"]
        assert event_count(fuzz_client) == before


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=200),
    content_type=st.sampled_from(
        [
            "application/json",
            "multipart/form-data; boundary=xyz",
            "multipart/form-data",
            "application/x-www-form-urlencoded",
            "text/plain",
            "",
            "application/json; charset=latin-1",
        ]
    ),
)
def test_any_raw_body_and_content_type_gets_a_4xx_never_a_500(fuzz_client, raw, content_type):
    before = event_count(fuzz_client)
    response = fuzz_client.post("/v1/videos", content=raw, headers={"Content-Type": content_type})
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert event_count(fuzz_client) == before
        assert json.loads(response.text)["error"]["message"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    query=st.dictionaries(
        st.sampled_from(["after", "limit", "order", "status", "model", "x"]),
        st.text(max_size=40),
        max_size=4,
    ),
    path=st.text(
        alphabet=st.characters(
            min_codepoint=33, blacklist_characters="/?#%", blacklist_categories=["Cs", "Cc"]
        ),
        max_size=40,
    ),
    limit=st.text(max_size=4),
)
def test_any_query_or_id_gets_an_answer_never_a_500(fuzz_client, query, path, limit):
    assert fuzz_client.get("/v1/videos", params=query).status_code < 500
    assert fuzz_client.get("/v1/videos", params={"limit": limit}).status_code < 500
    for suffix in ("", "/content", "/events"):
        assert fuzz_client.get(f"/v1/videos/{path}{suffix}").status_code < 500


@pytest.mark.parametrize("raw", [b'{"seconds": NaN}', b'{"seed": Infinity}', b'{"fps": -Infinity}'])
def test_non_standard_json_numbers_are_refused_naming_the_field(fuzz_client, raw):
    response = fuzz_client.post(
        "/v1/videos", content=raw + b"", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("limit", ["²", "1e3", "-1", "0", "101", " 5", "５"])
def test_a_limit_that_is_not_1_to_100_in_ascii_digits_is_refused(fuzz_client, limit):
    response = fuzz_client.get("/v1/videos", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"
