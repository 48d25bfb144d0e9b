"""The OpenAPI document: valid 3.1, in step with the app's routes, and true to its responses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from eventsourcing.domain import Aggregate
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from PIL import Image
from starlette.routing import Mount, Route
from starlette.testclient import TestClient

from events.endpoint import EVENT_FILTERS
from events.job import STATUSES, Job
from projections.deliveries.projection import STATUS
from projections.deliveries.view import AttemptRow, DeliveryRow
from service.app import create_app
from service.settings import Settings
from service.surfaces.openai.webhook_endpoints import ENDPOINT_FIELDS, delivery_object
from service.surfaces.openapi.document import openapi_document
from service.videos.request import FIELDS
from service.webhooks.signing import SecretDeriver, sign
from tests.helpers import TINY, key_for, wait_for, wait_for_status

KEY = "vg_test_key_123"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
OPS_PATHS = {"/healthz", "/readyz", "/openapi.json", "/", "/docs"}
REQUIRED_SCHEMAS = {
    "Error",
    "Video",
    "VideoList",
    "VideoDeleted",
    "CreateVideoRequest",
    "CreateVideoMultipart",
    "VideoEvent",
    "VideoEventList",
    "Model",
    "ModelList",
    "WebhookEndpoint",
    "WebhookEndpointWithSecret",
    "WebhookEndpointList",
    "WebhookEndpointDeleted",
    "CreateWebhookEndpointRequest",
    "UpdateWebhookEndpointRequest",
    "RotateWebhookSecretRequest",
    "RecoverWebhookDeliveriesRequest",
    "WebhookRecovery",
    "DefaultWebhookSecret",
    "WebhookDelivery",
    "WebhookDeliveryAttempt",
    "WebhookDeliveryList",
    "WebhookPayload",
}
SCOPES = {"videos:read", "videos:write", "webhooks:read", "webhooks:write", "video"}  # NovaKit
TINIEST = {"prompt": "x", "seconds": "1", "size": "160x90"}
NOWHERE = "http://127.0.0.1:9/"  # nothing listens: every attempt fails at once


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_document()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, follow_interval=0.01)
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        yield client


@pytest.fixture
def hook_client(tmp_path: Path) -> Iterator[TestClient]:
    """A client whose webhooks may go to loopback (where nothing answers)."""
    settings = Settings(
        data_dir=tmp_path,
        bootstrap_api_key=KEY,
        follow_interval=0.01,
        allowed_private_networks="127.0.0.0/8",
    )
    with TestClient(create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        yield client


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def schema_validator(doc: dict[str, Any], schema: dict[str, Any]) -> OAS31Validator:
    """A validator for `schema` whose `#/components/...` refs resolve against `doc`."""
    return OAS31Validator({**schema, "components": doc["components"]})


def schema_of(doc: dict[str, Any], name: str) -> dict[str, Any]:
    schema: dict[str, Any] = doc["components"]["schemas"][name]
    return schema


# The document itself


def test_the_document_is_valid_openapi_3_1(doc):
    assert doc["openapi"].startswith("3.1.")
    validate(doc, cls=OpenAPIV31SpecValidator)


def test_the_document_is_built_once_and_is_plain_json(doc):
    assert openapi_document() is doc
    assert json.loads(json.dumps(doc)) == doc


def test_every_ref_resolves(doc):
    def refs(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                yield node["$ref"]
            for value in node.values():
                yield from refs(value)
        elif isinstance(node, list):
            for value in node:
                yield from refs(value)

    found = set(refs(doc))
    assert "#/components/schemas/Error" in found
    for ref in found:
        assert ref.startswith("#/"), ref
        target: Any = doc
        for part in ref[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            assert isinstance(target, dict), ref
            assert part in target, f"{ref} does not resolve"
            target = target[part]


def test_every_route_of_the_app_is_documented_and_nothing_more(doc, tmp_path):
    app = create_app(Settings(data_dir=tmp_path))
    served = set()
    for route in app.routes:
        if isinstance(route, Mount) and route.name in ("docs-static", "console"):
            continue  # Swagger UI's own files and the console's pages, not operations
        assert isinstance(route, Route), route
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {model:path} → {model}
        served |= {(method.lower(), path) for method in route.methods or () if method != "HEAD"}
    documented = {(method, path) for path, method, _ in operations(doc)}
    assert documented == served
    assert ("get", "/v1/models/{model}") in documented


def test_every_operation_has_an_id_summary_tags_and_its_errors(doc):
    tags = {tag["name"] for tag in doc["tags"]}
    ids = []
    facade_errors: dict[str, Any] = {}  # x-surface → the one error schema of that facade
    for path, method, operation in operations(doc):
        ids.append(operation["operationId"])
        assert operation["summary"], (method, path)
        assert operation["tags"], (method, path)
        assert set(operation["tags"]) <= tags
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        if path.startswith("/v1/") and operation.get("security") != []:
            assert "401" in errors, (method, path)
        for code, response in errors.items():
            if code in ("416", "503"):  # Starlette's Range refusal; readyz's own body
                continue
            if "upstream" in operation["tags"] and path.startswith("/hooks/"):
                continue  # providers get a small {ok, outcome, error} answer of their own
            schema = response["content"]["application/json"]["schema"]
            surface = operation.get("x-surface")
            if surface is None:
                assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
            else:  # a seed-compatible facade answers in its own error shape, and only one
                assert facade_errors.setdefault(surface, schema) == schema, (method, path, code)
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("post", "/v1/videos", {"200", "202", "400", "401", "403", "409", "413", "415"}),
        ("get", "/v1/videos", {"200", "400", "401", "403"}),
        ("get", "/v1/videos/{video_id}", {"200", "401", "403", "404"}),
        ("delete", "/v1/videos/{video_id}", {"200", "401", "403", "404"}),
        ("get", "/v1/videos/{video_id}/content", {"200", "400", "401", "403", "404", "409"}),
        ("post", "/v1/videos/{video_id}/cancel", {"200", "401", "403", "404", "409"}),
        ("get", "/v1/videos/{video_id}/events", {"200", "401", "403", "404"}),
        ("get", "/v1/models", {"200", "401"}),
        ("get", "/v1/models/{model}", {"200", "401", "404"}),
        ("get", "/v1/webhooks/default/secret", {"200", "401", "403"}),
        ("post", "/v1/webhook_endpoints", {"201", "400", "401", "403", "413", "415"}),
        ("get", "/v1/webhook_endpoints", {"200", "401", "403"}),
        ("get", "/v1/webhook_endpoints/{endpoint_id}", {"200", "401", "403", "404"}),
        (
            "patch",
            "/v1/webhook_endpoints/{endpoint_id}",
            {"200", "400", "401", "403", "404", "413", "415"},
        ),
        ("delete", "/v1/webhook_endpoints/{endpoint_id}", {"200", "401", "403", "404"}),
        (
            "post",
            "/v1/webhook_endpoints/{endpoint_id}/rotate_secret",
            {"200", "400", "401", "403", "404", "413", "415"},
        ),
        (
            "post",
            "/v1/webhook_endpoints/{endpoint_id}/recover",
            {"200", "400", "401", "403", "404", "413", "415"},
        ),
        (
            "get",
            "/v1/webhook_endpoints/{endpoint_id}/deliveries",
            {"200", "400", "401", "403", "404"},
        ),
        ("get", "/v1/videos/{video_id}/deliveries", {"200", "401", "403", "404"}),
        ("post", "/v1/deliveries/{delivery_id}/redeliver", {"202", "401", "403", "404", "409"}),
    ],
)
def test_operations_document_their_status_codes(doc, method, path, codes):
    assert codes <= set(doc["paths"][path][method]["responses"])


def test_v1_needs_a_bearer_key_and_ops_routes_do_not(doc):
    scheme = doc["components"]["securitySchemes"]["bearer"]
    assert scheme["type"] == "http"
    assert scheme["scheme"] == "bearer"
    assert doc["security"] == [{"bearer": []}]
    for path, method, operation in operations(doc):
        if path in OPS_PATHS:
            assert operation["security"] == [], (method, path)
        else:
            for requirement in operation.get("security", doc["security"]):
                assert set(requirement) == {"bearer"}, (method, path)
                assert set(requirement["bearer"]) <= SCOPES, (method, path)


@pytest.mark.parametrize(
    ("path", "method", "scope"),
    [
        ("/v1/webhooks/default/secret", "get", "webhooks:read"),
        ("/v1/webhook_endpoints", "get", "webhooks:read"),
        ("/v1/webhook_endpoints", "post", "webhooks:write"),
        ("/v1/webhook_endpoints/{endpoint_id}", "patch", "webhooks:write"),
        ("/v1/webhook_endpoints/{endpoint_id}/deliveries", "get", "webhooks:read"),
        ("/v1/videos/{video_id}/deliveries", "get", "videos:read"),
        ("/v1/deliveries/{delivery_id}/redeliver", "post", "webhooks:write"),
    ],
)
def test_webhook_operations_name_the_scope_the_code_requires(doc, path, method, scope):
    assert doc["paths"][path][method]["security"] == [{"bearer": [scope]}]


def test_the_outgoing_webhook_is_documented(doc):
    operation = doc["webhooks"]["videoEvent"]["post"]
    assert operation["operationId"] == "videoEvent"
    assert operation["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookPayload"
    }
    headers = {p["name"] for p in operation["parameters"] if p["in"] == "header"}
    assert headers == {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert {"2XX", "410", "429"} <= set(operation["responses"])


# The schemas against the code


def test_the_required_schemas_are_there(doc):
    assert set(doc["components"]["schemas"]) >= REQUIRED_SCHEMAS


def test_the_video_schema_matches_the_job_states(doc):
    video = schema_of(doc, "Video")
    assert video["properties"]["status"]["enum"] == list(STATUSES)
    progress = video["properties"]["progress"]
    assert (progress["minimum"], progress["maximum"]) == (0, 100)
    assert set(video["properties"]["output"]["properties"]) == {
        "url",
        "content_type",
        "width",
        "height",
        "duration",
        "fps",
        "bytes",
        "sha256",
    }


def test_the_request_schemas_list_exactly_the_accepted_fields(doc):
    assert set(schema_of(doc, "CreateVideoRequest")["properties"]) == FIELDS
    multipart = set(schema_of(doc, "CreateVideoMultipart")["properties"])
    assert multipart == FIELDS | {"input_reference[image_url]"}
    seconds = schema_of(doc, "CreateVideoRequest")["properties"]["seconds"]
    assert {option["type"] for option in seconds["anyOf"]} == {"integer", "string"}
    assert schema_of(doc, "CreateVideoRequest")["properties"]["size"]["pattern"] == r"^\d+x\d+$"


def test_the_webhook_schemas_match_the_code(doc):
    kinds = list(EVENT_FILTERS)
    endpoint = schema_of(doc, "WebhookEndpoint")["properties"]
    assert endpoint["events"]["items"]["enum"] == kinds
    assert set(schema_of(doc, "CreateWebhookEndpointRequest")["properties"]) == ENDPOINT_FIELDS
    assert schema_of(doc, "CreateWebhookEndpointRequest")["required"] == ["url"]
    assert set(schema_of(doc, "UpdateWebhookEndpointRequest")["properties"]) == ENDPOINT_FIELDS
    assert schema_of(doc, "UpdateWebhookEndpointRequest")["required"] == []
    payload = schema_of(doc, "WebhookPayload")["properties"]
    assert payload["type"]["enum"] == [f"video.{kind}" for kind in kinds]
    assert payload["status"]["enum"] == [STATUS[kind] for kind in kinds]
    delivery = schema_of(doc, "WebhookDelivery")["properties"]
    assert delivery["event_type"]["enum"] == payload["type"]["enum"]


def test_a_delivery_object_matches_its_schema(doc):
    row = DeliveryRow(
        delivery_id="dlv_" + "a" * 32,
        msg_id="msg_" + "b" * 32,
        tenant="acme",
        job_id="c" * 32,
        endpoint_id=None,
        url="https://example.com/hook",
        event_type="failed",
        payload="{}",
        sequence=3,
        status="pending",
        attempts=1,
        manual=False,
        created_at=1.5e9,
        next_attempt_at=1.5e9 + 5,
        lease_token=None,
        last_status_code=500,
        last_error="HTTP 500",
        updated_at=1.5e9,
    )
    attempt = AttemptRow(
        attempt_id="att_1",
        delivery_id=row.delivery_id,
        msg_id=row.msg_id,
        attempted_at=1.5e9,
        status_code=500,
        latency_ms=12.5,
        response="oops",
        error="HTTP 500",
        trigger="scheduled",
    )
    body = delivery_object(row, [attempt])
    schema = schema_of(doc, "WebhookDelivery")
    assert set(body) == set(schema["properties"])
    assert set(body["attempts"][0]) == set(schema_of(doc, "WebhookDeliveryAttempt")["properties"])
    schema_validator(doc, schema).validate(body)


def test_the_documented_signature_recipe_is_what_the_sender_does(doc):
    deriver = SecretDeriver("server-secret")
    secrets = [deriver.secret("endpoint:x", generation) for generation in (2, 1)]
    body = b'{"type":"video.completed"}'
    header = sign("msg_1", 1700000000, body, [deriver.raw("endpoint:x", g) for g in (2, 1)])
    headers = doc["webhooks"]["videoEvent"]["post"]["parameters"]
    pattern = next(p for p in headers if p["name"] == "webhook-signature")["schema"]["pattern"]
    assert re.fullmatch(pattern, header)
    assert header.split(" ") == [signature("msg_1", "1700000000", body, s) for s in secrets]


def signature(msg_id: str, timestamp: str, body: bytes, secret: str) -> str:
    """The `webhook-signature` entry for one secret, as the document tells receivers."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_the_event_types_are_the_jobs_events(doc):
    kinds = {
        name
        for name, value in vars(Job).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event)
    } - {"Event", "Created"}
    assert set(schema_of(doc, "VideoEvent")["properties"]["type"]["enum"]) == kinds


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        (TINY, True),
        ({**TINY, "seconds": 4}, True),
        ({"prompt": "a cat", "input_reference": {"image_url": "https://example.com/a.png"}}, True),
        ({"prompt": "a cat", "size": "big"}, False),
        ({"prompt": "a cat", "seconds": "four"}, False),
        ({"prompt": "a cat", "colour": "red"}, False),
        ({"model": "local-preview"}, False),
        ({**TINY, "webhook_url": "https://example.com/h", "webhook_events": ["completed"]}, True),
        (
            {**TINY, "webhook_url": "https://example.com/h", "webhook_events": "progress, failed"},
            True,
        ),
        ({**TINY, "webhook_url": "ftp://example.com/h"}, False),
        ({**TINY, "webhook_url": "https://example.com/h", "webhook_events": ["done"]}, False),
        ({**TINY, "webhook_url": "https://example.com/h", "webhook_events": []}, False),
    ],
)
def test_the_create_request_schema_accepts_what_the_api_does(doc, body, valid):
    validator = schema_validator(doc, {"$ref": "#/components/schemas/CreateVideoRequest"})
    assert validator.is_valid(body) is valid


# The document against real responses


def check(doc: dict[str, Any], method: str, template: str, response: Any) -> Any:
    """Assert that `response` is documented for the operation, body and headers included."""
    operation = doc["paths"][template][method]
    documented = operation["responses"].get(str(response.status_code))
    assert documented is not None, f"{method} {template} → {response.status_code} undocumented"
    for header in documented.get("headers", {}):
        if header.lower() == "openai-poll-after-ms" and header in response.headers:
            assert response.headers[header].isdigit()
    media_type = response.headers["content-type"].split(";")[0]
    assert media_type in documented.get("content", {}), (method, template, media_type)
    if media_type != "application/json":
        return response.content
    body = response.json()
    schema_validator(doc, documented["content"][media_type]["schema"]).validate(body)
    return body


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_get_openapi_json_returns_the_document_without_a_key(doc, tmp_path):
    with TestClient(create_app(Settings(data_dir=tmp_path, bootstrap_api_key=KEY))) as client:
        response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.json() == json.loads(json.dumps(doc))
    check(doc, "get", "/openapi.json", response)


def test_real_responses_match_the_document(doc, client):
    check(doc, "get", "/healthz", client.get("/healthz"))
    check(doc, "get", "/readyz", client.get("/readyz"))
    video = check(doc, "post", "/v1/videos", client.post("/v1/videos", json=TINY))
    assert video["status"] == "queued"
    one = "/v1/videos/{video_id}"
    vid = video["id"]
    check(doc, "get", "/v1/videos/{video_id}/content", client.get(f"/v1/videos/{vid}/content"))
    wait_for_status(client, vid)
    done = check(doc, "get", one, client.get(f"/v1/videos/{vid}"))
    assert done["output"]["content_type"] == "video/mp4"
    for variant in ("video", "thumbnail"):
        response = client.get(f"/v1/videos/{vid}/content", params={"variant": variant})
        check(doc, "get", "/v1/videos/{video_id}/content", response)
    listing = check(doc, "get", "/v1/videos", client.get("/v1/videos", params={"limit": 5}))
    assert listing["first_id"] == vid
    check(doc, "get", "/v1/videos/{video_id}/events", client.get(f"/v1/videos/{vid}/events"))
    check(doc, "post", "/v1/videos/{video_id}/cancel", client.post(f"/v1/videos/{vid}/cancel"))
    check(doc, "delete", one, client.delete(f"/v1/videos/{vid}"))
    check(doc, "get", one, client.get(f"/v1/videos/{vid}"))
    models = check(doc, "get", "/v1/models", client.get("/v1/models"))
    name = models["data"][0]["id"]
    check(doc, "get", "/v1/models/{model}", client.get(f"/v1/models/{name}"))
    check(doc, "get", "/v1/models/{model}", client.get("/v1/models/no/such/model"))


def test_create_variants_and_errors_match_the_document(doc, client):
    create = "/v1/videos"
    replay = {"Idempotency-Key": "retry-1"}
    first = client.post(create, json=TINY, headers=replay)
    assert first.status_code == 202
    check(doc, "post", create, first)
    again = client.post(create, json=TINY, headers=replay)
    assert again.status_code == 200
    check(doc, "post", create, again)
    conflict = client.post(create, json={**TINY, "prompt": "another"}, headers=replay)
    assert conflict.status_code == 409
    check(doc, "post", create, conflict)
    form = {key: str(value) for key, value in TINY.items()}
    image = {"input_reference": ("first.png", png(), "image/png")}
    upload = client.post(create, data=form, files=image)
    assert upload.status_code == 202, upload.text
    check(doc, "post", create, upload)
    for bad in (
        client.post(create, json={"prompt": "x", "size": "big"}),
        client.post(create, content=b"x", headers={"Content-Type": "text/plain"}),
        client.post(create, json=TINY, headers={"Authorization": ""}),
    ):
        assert bad.status_code in (400, 401, 415)
        check(doc, "post", create, bad)
    check(doc, "get", create, client.get(create, params={"limit": 0}))


def test_webhook_routes_match_the_document(doc, hook_client):
    client, one = hook_client, "/v1/webhook_endpoints/{endpoint_id}"
    default = check(
        doc, "get", "/v1/webhooks/default/secret", client.get("/v1/webhooks/default/secret")
    )
    assert default["key"].startswith("whsec_")
    endpoint = create_endpoint(doc, client)
    eid, base = endpoint["id"], f"/v1/webhook_endpoints/{endpoint['id']}"
    assert endpoint["events"] == list(EVENT_FILTERS)
    check(doc, "get", one, client.get(base))
    patched = check(doc, "patch", one, client.patch(base, json={"description": None}))
    assert patched["description"] == ""

    def listed() -> bool:
        listing = client.get("/v1/webhook_endpoints")
        check(doc, "get", "/v1/webhook_endpoints", listing)
        return eid in {e["id"] for e in listing.json()["data"]}

    wait_for(listed, timeout=10)  # the list is read from a view that trails the write
    rotate = f"{base}/rotate_secret"
    rotated = check(
        doc, "post", one + "/rotate_secret", client.post(rotate, json={"grace_period_seconds": 60})
    )
    assert rotated["secret"] != endpoint["secret"]
    check(doc, "post", one + "/rotate_secret", client.post(rotate))  # no body: the default grace

    hooked = {**TINIEST, "webhook_url": NOWHERE + "job", "webhook_events": "completed,failed"}
    check(doc, "post", "/v1/videos", client.post("/v1/videos", json=hooked))
    delivery = attempted_delivery(doc, client)
    assert delivery["endpoint_id"] == eid
    page = client.get(f"{base}/deliveries", params={"limit": 10})
    assert check(doc, "get", one + "/deliveries", page)["data"]
    redeliver = "/v1/deliveries/{delivery_id}/redeliver"
    check(doc, "post", redeliver, client.post("/v1/deliveries/dlv_nope/redeliver"))
    check(doc, "delete", one, client.delete(base))
    check(doc, "get", one, client.get(base))


def test_recover_and_redeliver_match_the_document(doc, hook_client):
    client, one = hook_client, "/v1/webhook_endpoints/{endpoint_id}"
    base = f"/v1/webhook_endpoints/{create_endpoint(doc, client)['id']}"
    # Not a progress update: a newer event of a running video supersedes it at once.
    delivery = attempted_delivery(doc, client, "video.completed")
    redeliver = "/v1/deliveries/{delivery_id}/redeliver"

    def requeued() -> dict[str, Any] | None:
        response = client.post(f"/v1/deliveries/{delivery['id']}/redeliver")
        body: dict[str, Any] = check(doc, "post", redeliver, response)
        return body if response.status_code == 202 else None  # 409 while it is on the wire

    again = wait_for(requeued, timeout=10)
    assert again["id"] == delivery["id"]  # its status: pending, or failed if already retried
    window = {"since": 0, "until": "2100-01-01T00:00:00Z"}
    recovered = check(doc, "post", one + "/recover", client.post(f"{base}/recover", json=window))
    assert recovered["requeued"] >= 0
    check(doc, "post", one + "/recover", client.post(f"{base}/recover"))


def create_endpoint(doc: dict[str, Any], client: TestClient) -> dict[str, Any]:
    """A webhook endpoint at `NOWHERE`, checked against the document."""
    created = client.post("/v1/webhook_endpoints", json={"url": NOWHERE, "description": "t"})
    assert created.status_code == 201, created.text
    endpoint: dict[str, Any] = check(doc, "post", "/v1/webhook_endpoints", created)
    return endpoint


def attempted_delivery(
    doc: dict[str, Any], client: TestClient, event_type: str | None = None
) -> dict[str, Any]:
    """Submit a tiny video; wait until one of its deliveries (of a type) has been attempted."""
    video = check(doc, "post", "/v1/videos", client.post("/v1/videos", json=TINIEST))

    def attempted() -> list[dict[str, Any]]:
        response = client.get(f"/v1/videos/{video['id']}/deliveries")
        data = check(doc, "get", "/v1/videos/{video_id}/deliveries", response)["data"]
        return [d for d in data if d["attempts"] and event_type in (None, d["event_type"])]

    found: dict[str, Any] = wait_for(attempted, timeout=30)[0]
    return found


def test_webhook_errors_match_the_document(doc, hook_client):
    client, create = hook_client, "/v1/webhook_endpoints"
    one = create + "/{endpoint_id}"
    for bad in (
        client.post(create, json={"events": ["completed"]}),
        client.post(create, json={"url": "http://user:pw@example.com/"}),
        client.post(create, json={"url": NOWHERE, "events": "completed,done"}),
        client.post(create, content=b"x", headers={"Content-Type": "text/plain"}),
        client.post(create, json={"url": NOWHERE, "description": "x" * 70_000}),
        client.post(create, json={"url": NOWHERE}, headers={"Authorization": ""}),
        client.post(create, json={"url": NOWHERE}, headers=key_for(client, "t", ("videos:read",))),
    ):
        assert bad.status_code in (400, 401, 403, 413, 415), bad.text
        check(doc, "post", create, bad)
    endpoint = check(doc, "post", create, client.post(create, json={"url": NOWHERE}))
    base = f"{create}/{endpoint['id']}"
    check(doc, "patch", one, client.patch(base, json={"enabled": "yes"}))
    check(doc, "patch", one, client.patch(base, json={"secret": "mine"}))
    check(doc, "patch", one, client.patch(base))  # an empty body is no JSON object
    check(doc, "get", one, client.get(f"{create}/we_{'0' * 32}"))
    check(doc, "get", one, client.get(base, headers=key_for(client, "other")))
    rotate = client.post(f"{base}/rotate_secret", json={"grace_period_seconds": -1})
    check(doc, "post", one + "/rotate_secret", rotate)
    backwards = client.post(f"{base}/recover", json={"since": 2_000_000_000, "until": 1})
    assert backwards.status_code == 400
    check(doc, "post", one + "/recover", backwards)
    naive = client.post(f"{base}/recover", json={"since": "2026-01-01T00:00:00"})
    check(doc, "post", one + "/recover", naive)
    limit = client.get(f"{base}/deliveries", params={"limit": 201})
    assert limit.status_code == 400
    check(doc, "get", one + "/deliveries", limit)
    check(doc, "get", "/v1/videos/{video_id}/deliveries", client.get("/v1/videos/nope/deliveries"))
    unknown_key = {"Authorization": "Bearer vg_no_such_key"}
    secret = "/v1/webhooks/default/secret"
    check(doc, "get", secret, client.get(secret, headers=unknown_key))
    reader = key_for(client, "default", ("webhooks:read",))
    check(doc, "delete", one, client.delete(base, headers=reader))


def test_sent_webhooks_match_the_document(doc, tmp_path):
    received: list[httpx.Request] = []
    lock = threading.Lock()

    def receiver(request: httpx.Request) -> httpx.Response:
        with lock:
            received.append(request)
        return httpx.Response(204)

    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, follow_interval=0.01)
    app = create_app(settings, transport=httpx.MockTransport(receiver))
    with TestClient(app, headers={"Authorization": f"Bearer {KEY}"}) as client:
        endpoint = client.post(
            "/v1/webhook_endpoints",
            json={"url": "https://hooks.example.com/vidgate", "events": ["completed"]},
        ).json()
        default = client.get("/v1/webhooks/default/secret").json()["key"]
        job_hook = "https://example.com/job"
        video = client.post(
            "/v1/videos", json={**TINIEST, "webhook_url": job_hook, "webhook_events": ["completed"]}
        ).json()
        wait_for(lambda: len(received) >= 2)
        secrets = {job_hook: [default], endpoint["url"]: [endpoint["secret"]]}
        for request in received:
            body = verify(doc, request, secrets[str(request.url)])
            assert body["video_id"] == video["id"]
            assert body["type"] == "video.completed"

        def recorded() -> list[dict[str, Any]] | None:  # the outcome is stored after the POST
            response = client.get(f"/v1/videos/{video['id']}/deliveries")
            data = check(doc, "get", "/v1/videos/{video_id}/deliveries", response)["data"]
            return data if {d["status"] for d in data} == {"succeeded"} else None

        deliveries = wait_for(recorded, timeout=10)
        assert {d["endpoint_id"] for d in deliveries} == {None, endpoint["id"]}
        assert deliveries[0]["attempts"][0]["status_code"] == 204

        path = f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret"
        rotated = client.post(path).json()
        client.post("/v1/videos", json=TINIEST)  # its `completed` goes to the endpoint only
        wait_for(lambda: len(received) >= 3)
        verify(doc, received[2], [rotated["secret"], endpoint["secret"]])  # newest first


def verify(doc: dict[str, Any], request: httpx.Request, secrets: list[str]) -> Any:
    """Check a webhook as the document describes it; returns its payload."""
    operation = doc["webhooks"]["videoEvent"]["post"]
    assert request.method == "POST"
    for header in operation["parameters"]:
        value = request.headers[header["name"]]
        schema_validator(doc, header["schema"]).validate(value)
    msg_id, timestamp = request.headers["webhook-id"], request.headers["webhook-timestamp"]
    expected = [signature(msg_id, timestamp, request.content, secret) for secret in secrets]
    assert request.headers["webhook-signature"].split(" ") == expected
    body = json.loads(request.content)
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    schema_validator(doc, schema).validate(body)
    return body
