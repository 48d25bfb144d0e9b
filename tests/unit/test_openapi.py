"""The OpenAPI document: valid 3.1, in step with the app's routes, and true to its responses."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.domain import Aggregate
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import OpenAPIV31SpecValidator, validate
from PIL import Image
from starlette.routing import Route
from starlette.testclient import TestClient

from events.job import STATUSES, Job
from service.api.video_request import FIELDS
from service.app import create_app
from service.openapi import openapi_document
from service.settings import Settings
from tests.helpers import TINY, wait_for_status

KEY = "vg_test_key_123"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
OPS_PATHS = {"/healthz", "/readyz", "/openapi.json"}
REQUIRED_SCHEMAS = {
    "Error", "Video", "VideoList", "VideoDeleted", "CreateVideoRequest", "CreateVideoMultipart",
    "VideoEvent", "VideoEventList", "Model", "ModelList",
}  # fmt: skip


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return openapi_document()


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(data_dir=tmp_path, bootstrap_api_key=KEY, follow_interval=0.01)
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
        assert isinstance(route, Route), route
        path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)  # {model:path} → {model}
        served |= {(method.lower(), path) for method in route.methods or () if method != "HEAD"}
    documented = {(method, path) for path, method, _ in operations(doc)}
    assert documented == served
    assert ("get", "/v1/models/{model}") in documented


def test_every_operation_has_an_id_summary_tags_and_its_errors(doc):
    tags = {tag["name"] for tag in doc["tags"]}
    ids = []
    for path, method, operation in operations(doc):
        ids.append(operation["operationId"])
        assert operation["summary"], (method, path)
        assert operation["tags"], (method, path)
        assert set(operation["tags"]) <= tags
        errors = {code: r for code, r in operation["responses"].items() if code >= "400"}
        if path.startswith("/v1/"):
            assert "401" in errors, (method, path)
        for code, response in errors.items():
            if code in ("416", "503"):  # Starlette's Range refusal; readyz's own body
                continue
            schema = response["content"]["application/json"]["schema"]
            assert schema == {"$ref": "#/components/schemas/Error"}, (method, path, code)
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
                assert set(requirement["bearer"]) <= {"videos:read", "videos:write"}


# The schemas against the code


def test_the_required_schemas_are_there(doc):
    assert set(doc["components"]["schemas"]) >= REQUIRED_SCHEMAS


def test_the_video_schema_matches_the_job_states(doc):
    video = schema_of(doc, "Video")
    assert video["properties"]["status"]["enum"] == list(STATUSES)
    progress = video["properties"]["progress"]
    assert (progress["minimum"], progress["maximum"]) == (0, 100)
    assert set(video["properties"]["output"]["properties"]) == {
        "url", "content_type", "width", "height", "duration", "fps", "bytes", "sha256",
    }  # fmt: skip


def test_the_request_schemas_list_exactly_the_accepted_fields(doc):
    assert set(schema_of(doc, "CreateVideoRequest")["properties"]) == FIELDS
    multipart = set(schema_of(doc, "CreateVideoMultipart")["properties"])
    assert multipart == FIELDS | {"input_reference[image_url]"}
    seconds = schema_of(doc, "CreateVideoRequest")["properties"]["seconds"]
    assert {option["type"] for option in seconds["anyOf"]} == {"integer", "string"}
    assert schema_of(doc, "CreateVideoRequest")["properties"]["size"]["pattern"] == r"^\d+x\d+$"


def test_the_event_types_are_the_jobs_events(doc):
    kinds = {
        name for name, value in vars(Job).items()
        if isinstance(value, type) and issubclass(value, Aggregate.Event)
    } - {"Event", "Created"}  # fmt: skip
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
    for bad in (client.post(create, json={"prompt": "x", "size": "big"}),
                client.post(create, content=b"x", headers={"Content-Type": "text/plain"}),
                client.post(create, json=TINY, headers={"Authorization": ""})):  # fmt: skip
        assert bad.status_code in (400, 401, 415)
        check(doc, "post", create, bad)
    check(doc, "get", create, client.get(create, params={"limit": 0}))
