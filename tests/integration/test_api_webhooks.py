"""Over HTTP: webhook endpoints (CRUD, validation, scopes, tenant isolation) and secrets.

Deliveries themselves (a real receiver on 127.0.0.1) are in test_api_webhook_deliveries.py.
"""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta, timezone

import hypothesis
from hypothesis import strategies as st

from events.apikey import VIDEOS_READ, VIDEOS_WRITE, WEBHOOKS_READ
from tests.helpers import event_count, key_for, submit, wait_for

ALL_EVENTS = ["progress", "completed", "failed", "canceled"]
HOOK = "https://hooks.example.com/vidgate"
REDELIVER = f"/v1/deliveries/dlv_{'0' * 32}/redeliver"
ROUTES = [  # every route of one endpoint
    ("GET", ""),
    ("PATCH", ""),
    ("DELETE", ""),
    ("POST", "/rotate_secret"),
    ("POST", "/recover"),
    ("GET", "/deliveries"),
]


def error_of(response, status: int) -> dict:
    """The OpenAI-shaped error of `response`, after checking its status."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


def create(client, headers=None, **fields) -> dict:
    response = client.post("/v1/webhook_endpoints", json={"url": HOOK, **fields}, headers=headers)
    assert response.status_code == 201, response.text
    body: dict = response.json()
    return body


def body_for(method: str) -> dict:
    return {"json": {"description": "mine now"}} if method == "PATCH" else {}


def listed_ids(client, headers=None) -> list[str]:
    response = client.get("/v1/webhook_endpoints", headers=headers)
    assert response.status_code == 200, response.text
    return [endpoint["id"] for endpoint in response.json()["data"]]


# create, read, list, update, delete


def test_creating_an_endpoint_returns_it_with_its_secret_and_all_events_by_default(client):
    response = client.post("/v1/webhook_endpoints", json={"url": HOOK, "description": "prod"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"].startswith("we_") and len(created["id"]) == 35
    assert created["object"] == "webhook_endpoint"
    assert created["url"] == HOOK
    assert created["events"] == ALL_EVENTS
    assert created["description"] == "prod"
    assert created["enabled"] is True
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32


def test_the_secret_is_shown_on_create_only_never_on_get_list_or_patch(client):
    created = create(client, events=["completed"])
    fetched = client.get(f"/v1/webhook_endpoints/{created['id']}").json()
    assert fetched == {k: v for k, v in created.items() if k != "secret"}
    patched = client.patch(f"/v1/webhook_endpoints/{created['id']}", json={"description": "x"})
    assert patched.status_code == 200 and "secret" not in patched.json()
    listed = wait_for(lambda: client.get("/v1/webhook_endpoints").json()["data"])
    assert [e["id"] for e in listed] == [created["id"]] and "secret" not in listed[0]


def test_the_list_shows_only_the_tenants_own_endpoints(client):
    mine = {create(client)["id"], create(client, events=["failed"])["id"]}
    acme = key_for(client, "acme")
    theirs = create(client, headers=acme)["id"]
    assert wait_for(lambda: set(listed_ids(client)) == mine)
    assert wait_for(lambda: listed_ids(client, acme) == [theirs])


def test_patch_changes_url_events_description_and_enabled(client):
    endpoint_id = create(client)["id"]
    changes = {
        "url": "http://other.example.com/hook",
        "events": ["canceled", "completed"],
        "description": "staging",
        "enabled": False,
    }
    patched = client.patch(f"/v1/webhook_endpoints/{endpoint_id}", json=changes)
    assert patched.status_code == 200, patched.text
    body = patched.json()
    assert body["url"] == changes["url"] and body["description"] == "staging"
    assert body["events"] == ["completed", "canceled"]  # canonical order
    assert body["enabled"] is False and body["disabled_reason"] == "disabled by the tenant"
    assert client.get(f"/v1/webhook_endpoints/{endpoint_id}").json() == body
    enabled = client.patch(f"/v1/webhook_endpoints/{endpoint_id}", json={"enabled": True}).json()
    assert enabled["enabled"] is True and enabled["disabled_reason"] is None


def test_deleting_an_endpoint_answers_deleted_and_then_it_is_404_everywhere(client):
    endpoint_id = create(client)["id"]
    response = client.delete(f"/v1/webhook_endpoints/{endpoint_id}")
    assert response.status_code == 200, response.text
    deleted = {"id": endpoint_id, "object": "webhook_endpoint.deleted", "deleted": True}
    assert response.json() == deleted
    for method, suffix in ROUTES:
        path = f"/v1/webhook_endpoints/{endpoint_id}{suffix}"
        response = client.request(method, path, **body_for(method))
        assert error_of(response, 404)["param"] == "endpoint_id", (method, path)
    assert listed_ids(client) == []


def test_rotating_a_secret_returns_a_new_one(client):
    created = create(client)
    response = client.post(f"/v1/webhook_endpoints/{created['id']}/rotate_secret")
    assert response.status_code == 200, response.text
    rotated = response.json()
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != created["secret"]
    assert "secret" not in client.get(f"/v1/webhook_endpoints/{created['id']}").json()


# the tenant's default secret (signs per-job webhook_url callbacks)


def test_the_default_secret_is_stable_per_tenant_and_differs_between_tenants(client):
    first = client.get("/v1/webhooks/default/secret")
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"key"} and first.json()["key"].startswith("whsec_")
    assert client.get("/v1/webhooks/default/secret").json() == first.json()
    acme = client.get("/v1/webhooks/default/secret", headers=key_for(client, "acme")).json()
    assert acme["key"].startswith("whsec_") and acme != first.json()
    assert create(client)["secret"] != first.json()["key"]


# tenant isolation: another tenant's endpoint does not exist for you


def test_another_tenants_endpoint_is_404_never_403_and_stays_unchanged(client):
    endpoint_id = create(client)["id"]
    acme = key_for(client, "acme")
    before = event_count(client)
    for method, suffix in ROUTES:
        path = f"/v1/webhook_endpoints/{endpoint_id}{suffix}"
        response = client.request(method, path, headers=acme, **body_for(method))
        assert error_of(response, 404)["param"] == "endpoint_id", (method, path)
    assert event_count(client) == before
    assert client.get(f"/v1/webhook_endpoints/{endpoint_id}").json()["description"] == ""


def test_another_tenants_video_deliveries_are_404(client):
    video = submit(client)
    response = client.get(f"/v1/videos/{video['id']}/deliveries", headers=key_for(client, "acme"))
    assert error_of(response, 404)["param"] == "video_id"


def test_a_malformed_or_unknown_id_is_404_naming_it(client):
    video_hex = submit(client)["id"].removeprefix("video_")
    unknown = uuid.uuid4().hex
    raws = ["nope", "we_123", "we_" + "g" * 32, "we_" + unknown, unknown, "we_" + unknown[:31]]
    raws += ["video_" + video_hex, "we_" + video_hex]  # a video is not an endpoint
    for raw in raws:
        for method, suffix in ROUTES:
            path = f"/v1/webhook_endpoints/{raw}{suffix}"
            response = client.request(method, path, **body_for(method))
            assert error_of(response, 404)["param"] == "endpoint_id", (method, path)
    for raw in ["dlv_nope", f"dlv_{uuid.uuid4().hex}", "nope"]:
        response = client.post(f"/v1/deliveries/{raw}/redeliver")
        assert error_of(response, 404)["param"] == "delivery_id", raw
    for raw in ["video_nope", f"video_{uuid.uuid4().hex}"]:
        response = client.get(f"/v1/videos/{raw}/deliveries")
        assert error_of(response, 404)["param"] == "video_id", raw


# bad input: 400 naming the field, and nothing appended to the log

BAD_CREATES = [
    ({}, "url"),
    ({"url": ""}, "url"),
    ({"url": 42}, "url"),
    ({"url": "ftp://files.example.com/"}, "url"),
    ({"url": "hooks.example.com/path"}, "url"),
    ({"url": "http://user:pass@hooks.example.com/"}, "url"),
    ({"url": "https://hooks.example.com/" + "a" * 2048}, "url"),
    ({"url": "http://[::1"}, "url"),
    ({"url": "https://hooks.example.com:99999/"}, "url"),
    ({"url": "http://hooks.example.com:port/"}, "url"),
    ({"url": "http://☃.example.com/"}, "url"),
    ({"url": HOOK, "events": ["completed", "started"]}, "events"),
    ({"url": HOOK, "events": []}, "events"),
    ({"url": HOOK, "events": "completed,bogus"}, "events"),
    ({"url": HOOK, "events": [1]}, "events"),
    ({"url": HOOK, "enabled": "yes"}, "enabled"),
    ({"url": HOOK, "enabled": 1}, "enabled"),
    ({"url": HOOK, "description": "d" * 501}, "description"),
    ({"url": HOOK, "secret": "whsec_mine"}, "secret"),
]
BAD_CHANGES = [
    ("", {"url": "javascript:alert(1)"}, "url"),
    ("", {"url": "http://admin@hooks.example.com/"}, "url"),
    ("", {"events": []}, "events"),
    ("", {"enabled": "false"}, "enabled"),
    ("", {"id": "we_mine"}, "id"),
    ("/rotate_secret", {"grace_period_seconds": -1}, "grace_period_seconds"),
    ("/rotate_secret", {"grace_period_seconds": 7 * 24 * 3600 + 1}, "grace_period_seconds"),
    ("/rotate_secret", {"grace_period_seconds": "60"}, "grace_period_seconds"),
    ("/rotate_secret", {"grace_period_seconds": True}, "grace_period_seconds"),
    ("/rotate_secret", {"grace_period_seconds": 1.5}, "grace_period_seconds"),
    ("/rotate_secret", {"grace": 60}, "grace"),
    ("/recover", {"since": 2_000_000_000, "until": 1_000_000_000}, "since"),
    ("/recover", {"since": 1_000_000_000, "until": 1_000_000_000}, "since"),
    ("/recover", {"since": "yesterday"}, "since"),
    ("/recover", {"since": "2024-01-01T00:00:00"}, "since"),  # no zone
    ("/recover", {"until": 10**400}, "until"),
    ("/recover", {"until": True}, "until"),
    ("/recover", {"from": 0}, "from"),
    ("/deliveries?limit=0", None, "limit"),
    ("/deliveries?limit=201", None, "limit"),
    ("/deliveries?limit=ten", None, "limit"),
]


def test_bad_endpoint_input_is_400_naming_the_field_and_appends_nothing(client):
    before = event_count(client)
    for body, param in BAD_CREATES:
        response = client.post("/v1/webhook_endpoints", json=body)
        assert error_of(response, 400)["param"] == param, body
    assert event_count(client) == before


def test_bad_changes_are_400_naming_the_field_and_append_nothing(client):
    endpoint = create(client)
    before = event_count(client)
    for suffix, body, param in BAD_CHANGES:
        method = "GET" if body is None else "PATCH" if suffix == "" else "POST"
        path = f"/v1/webhook_endpoints/{endpoint['id']}{suffix}"
        response = client.request(method, path, json=body)
        assert error_of(response, 400)["param"] == param, (suffix, body)
    too_big = b'{"grace_period_seconds": 60' + b" " * 70_000 + b"}"
    response = client.post(f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", content=too_big)
    assert error_of(response, 413)["param"] == "body"
    assert event_count(client) == before
    assert client.get(f"/v1/webhook_endpoints/{endpoint['id']}").json() == {
        k: v for k, v in endpoint.items() if k != "secret"
    }


# scopes


def test_a_key_with_only_video_scopes_gets_403_on_webhook_routes(client):
    videos_only = key_for(client, "default", (VIDEOS_READ, VIDEOS_WRITE))
    endpoint_id = create(client)["id"]
    before = event_count(client)
    calls = [
        ("GET", "/v1/webhooks/default/secret"),
        ("GET", "/v1/webhook_endpoints"),
        ("POST", "/v1/webhook_endpoints"),
        ("POST", REDELIVER),
        *[(method, f"/v1/webhook_endpoints/{endpoint_id}{suffix}") for method, suffix in ROUTES],
    ]
    for method, path in calls:
        response = client.request(method, path, headers=videos_only, json={"url": HOOK})
        assert error_of(response, 403)["code"] == "missing_scope", (method, path)
    assert event_count(client) == before


def test_a_webhooks_read_key_may_read_but_not_write(client):
    reader = key_for(client, "default", (WEBHOOKS_READ,))
    endpoint_id = create(client)["id"]
    reads = [
        "/v1/webhooks/default/secret",
        "/v1/webhook_endpoints",
        f"/v1/webhook_endpoints/{endpoint_id}",
        f"/v1/webhook_endpoints/{endpoint_id}/deliveries",
    ]
    for path in reads:
        assert client.get(path, headers=reader).status_code == 200, path
    before = event_count(client)
    writes = [
        ("POST", "/v1/webhook_endpoints"),
        ("POST", REDELIVER),
        *[
            (m, f"/v1/webhook_endpoints/{endpoint_id}{suffix}")
            for m, suffix in ROUTES
            if m != "GET"
        ],
    ]
    for method, path in writes:
        response = client.request(method, path, headers=reader, json={"url": HOOK})
        assert error_of(response, 403)["code"] == "missing_scope", (method, path)
    assert event_count(client) == before


# no input is a 500, and a refused one appends nothing

printable = st.text(st.characters(blacklist_categories=["Cc", "Cs", "Zl", "Zp"]), max_size=20)
urls = st.one_of(
    st.builds((HOOK + "/{}").format, printable),
    st.builds((HOOK + "/{}").format, printable),
    st.builds("{}://{}".format, st.sampled_from(["http", "https", "HTTP", "ftp"]), st.text()),
    st.builds("http://{}:{}/".format, st.text(max_size=12), st.text(max_size=6)),
    st.text(max_size=40),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=5,
)


def mostly(valid: st.SearchStrategy) -> st.SearchStrategy:
    """`valid` three times in four, any JSON value otherwise."""
    return st.one_of(valid, valid, valid, json_values)


endpoint_bodies = st.fixed_dictionaries(
    {"url": urls},
    optional={
        "events": mostly(st.lists(st.sampled_from([*ALL_EVENTS, " completed"]), min_size=1)),
        "description": mostly(st.text(max_size=30)),
        "enabled": mostly(st.booleans()),
    },
)
zones = st.builds(timezone, st.timedeltas(timedelta(hours=-23), timedelta(hours=23)))
windows = st.dictionaries(
    st.sampled_from(["since", "until"]),
    mostly(st.integers(0, 2**40) | st.datetimes(timezones=zones).map(str)),
)


@hypothesis.settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(body=endpoint_bodies, window=windows)
def test_any_endpoint_body_or_recovery_window_gets_a_4xx_or_success_never_a_500(
    client, body, window
):
    before = event_count(client)
    response = client.post("/v1/webhook_endpoints", json=body)
    assert response.status_code in (201, 400), response.text
    hypothesis.event(f"create: {response.status_code}")
    if response.status_code == 400:
        assert response.json()["error"]["param"] in body
        assert event_count(client) == before
        return
    path = f"/v1/webhook_endpoints/{response.json()['id']}"
    assert client.patch(path, json=body).status_code == 200
    recovered = client.post(f"{path}/recover", json=window)
    if body.get("enabled") is False:  # nothing is re-queued for a disabled endpoint
        assert recovered.status_code == 409, recovered.text
        return
    assert recovered.status_code in (200, 400), recovered.text
    hypothesis.event(f"recover: {recovered.status_code}")
