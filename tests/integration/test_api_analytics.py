"""`GET /v1/analytics`: the figures equal what the raw events say, and bad input is a 400."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from starlette.testclient import TestClient

from projections.analytics.projection import AnalyticsProjection
from projections.follower import Follower
from service.app import create_app
from service.surfaces.openapi.document import openapi_document
from tests.analytics_support import (
    all_events,
    append,
    assert_figures_match,
    expected,
    mixed_plans,
)
from tests.conftest import ADMIN_KEY
from tests.helpers import key_for, runtime_of, submit, wait_for, wait_for_status
from tests.unit.test_openapi import check

PATH = "/v1/analytics"


@pytest.fixture
def quiet(settings) -> Iterator[TestClient]:
    """The API without workers (the test feeds the analytics view), as a reader of acme."""
    app = create_app(replace(settings, run_workers=False))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
        client.headers.update(key_for(client, "acme", ("videos:read",)))
        yield client


@pytest.fixture
def history(quiet):
    rt = runtime_of(quiet)
    append(rt.gateway, mixed_plans())
    Follower(rt.gateway, AnalyticsProjection(rt.analytics_view)).run_once()
    return all_events(rt.gateway)


def analytics(client: TestClient, headers: dict[str, str] | None = None, **params) -> dict:
    response = client.get(PATH, params=params, headers=headers)
    assert response.status_code == 200, response.text
    check(openapi_document(), "get", PATH, response)
    body: dict = response.json()
    return body


@pytest.mark.parametrize(
    ("params", "query"),
    [
        ({}, {}),
        ({"group_by": "day"}, {"group_by": ("day",)}),
        ({"group_by": "provider,day"}, {"group_by": ("day", "provider")}),
        ({"group_by": ["model", "provider"]}, {"group_by": ("model", "provider")}),
        ({"group_by": "none", "from": "2030-03-02"}, {"since": "2030-03-02"}),
        (
            {"group_by": "day", "to": "2030-03-01", "model": "veo_3_1"},  # an alias
            {"group_by": ("day",), "until": "2030-03-01", "model": "veo-3.1"},
        ),
        (
            {"provider": "replicate", "group_by": "model"},
            {"provider": "replicate", "group_by": ("model",)},
        ),
    ],
)
def test_figures_equal_those_computed_from_the_raw_events(quiet, history, params, query):
    body = analytics(quiet, **params)
    assert body["group_by"] == list(query.get("group_by", ()))
    assert_figures_match(body["data"], expected(history, "acme", **query))


def test_a_tenant_sees_only_its_own_jobs(quiet, history):
    globex = key_for(quiet, "globex", ("videos:read",))
    theirs = analytics(quiet, globex, group_by="day")
    assert_figures_match(theirs["data"], expected(history, "globex", group_by=("day",)))
    nobody = key_for(quiet, "initech", ("videos:read",))
    [totals] = analytics(quiet, nobody)["data"]
    assert totals["submitted"] == 0


def test_the_answer_names_its_query(quiet):
    body = analytics(quiet, group_by="model,day", to="2030-01-31", provider="fal")
    assert {k: v for k, v in body.items() if k != "data"} == {
        "object": "analytics",
        "group_by": ["day", "model"],
        "from": None,
        "to": "2030-01-31",
        "model": None,
        "provider": "fal",
    }


@pytest.mark.parametrize(
    ("params", "param", "code"),
    [
        ({"group_by": "week"}, "group_by", "invalid_value"),
        ({"group_by": "none,day"}, "group_by", "invalid_value"),
        ({"from": "2030-13-01"}, "from", "invalid_value"),
        ({"from": "yesterday"}, "from", "invalid_value"),
        ({"to": "20300101"}, "to", "invalid_value"),
        ({"from": "2030-03-02", "to": "2030-03-01"}, "from", "invalid_value"),
        ({"provider": "acme"}, "provider", "invalid_value"),
        ({"tenant": "globex"}, "tenant", "unknown_parameter"),
    ],
)
def test_a_bad_parameter_is_a_400_naming_it(quiet, params, param, code):
    response = quiet.get(PATH, params=params)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == param
    assert response.json()["error"]["code"] == code
    check(openapi_document(), "get", PATH, response)


def test_analytics_need_a_key_with_videos_read(quiet):
    assert quiet.get(PATH, headers={"Authorization": ""}).status_code == 401
    writer = key_for(quiet, "acme", ("webhooks:read",))
    response = quiet.get(PATH, headers=writer)
    assert response.status_code == 403
    check(openapi_document(), "get", PATH, response)


def test_the_workers_keep_analytics_up_to_date(client):
    video = submit(client)
    wait_for_status(client, video["id"])

    def counted() -> dict | None:
        [totals] = analytics(client)["data"]
        return totals if totals["completed"] == 1 else None

    totals = wait_for(counted, timeout=20)
    assert totals["submitted"] == 1 and totals["output_seconds"] == 1.0
    assert totals["signals"]["other"] >= 1  # the local renderer's progress and completion
    assert totals["latency"]["submit_to_complete"]["count"] == 1
