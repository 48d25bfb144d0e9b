"""Over HTTP with the outputs in an S3 bucket (moto's server on 127.0.0.1): content, ranges,
thumbnails, presigned redirects and input links come from the bucket, nothing from disk."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from PIL import Image
from starlette.testclient import TestClient

from events.ids import parse_video_id
from service.app import create_app
from service.settings import Settings
from service.storage.blobs import StorageUnavailable
from service.storage.store import build_storage
from tests.conftest import ADMIN_KEY
from tests.helpers import runtime_of, submit, wait_for_status
from tests.s3_server import S3Server, moto_server


def s3_client(settings: Settings, s3_server: S3Server, **storage: object) -> TestClient:
    bucket_settings = s3_server.settings(s3_server.new_bucket(), **storage)
    app = create_app(replace(settings, storage=bucket_settings))
    return TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"})


@pytest.fixture
def client(settings: Settings, s3_server: S3Server) -> Iterator[TestClient]:
    with s3_client(settings, s3_server) as test_client:
        yield test_client


@pytest.fixture
def redirecting(settings: Settings, s3_server: S3Server) -> Iterator[TestClient]:
    with s3_client(settings, s3_server, content_redirect=True, redirect_ttl=30) as test_client:
        yield test_client


def completed(client: TestClient) -> tuple[str, dict]:
    """A finished video's id and the output its renderer recorded (size, sha256 …)."""
    video_id: str = submit(client)["id"]
    wait_for_status(client, video_id)
    events = client.get(f"/v1/videos/{video_id}/events").json()["data"]
    (done,) = [e for e in events if e["type"] == "Completed"]
    return video_id, done["data"]["output"]


def bucket_keys(client: TestClient) -> set[str]:
    blobs = runtime_of(client).storage.blobs
    storage = runtime_of(client).settings.storage
    bucket = storage.url.removeprefix("s3://").split("/")[0]  # type: ignore[union-attr]
    listing = httpx.get(f"{storage.endpoint_url}/{bucket}?list-type=2").text
    assert blobs.local_file("anything") is None
    return {part.split("</Key>")[0] for part in listing.split("<Key>")[1:]}


def test_a_rendered_video_is_served_from_the_bucket(client: TestClient, settings: Settings) -> None:
    video_id, output = completed(client)
    response = client.get(f"/v1/videos/{video_id}/content")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "video/mp4"
    assert response.headers["accept-ranges"] == "bytes"
    assert hashlib.sha256(response.content).hexdigest() == output["sha256"]
    assert int(response.headers["content-length"]) == output["bytes"]
    job_id = parse_video_id(video_id)
    assert job_id is not None
    assert f"vidgate/outputs/{job_id.hex}.mp4" in bucket_keys(client)
    assert not list((settings.data_dir / "staging").iterdir())  # nothing left on disk
    assert not (settings.data_dir / "outputs").exists()


def test_a_range_of_the_video_is_a_206_with_those_bytes(client: TestClient) -> None:
    video_id, output = completed(client)
    whole = client.get(f"/v1/videos/{video_id}/content").content
    first = client.get(f"/v1/videos/{video_id}/content", headers={"Range": "bytes=0-99"})
    assert first.status_code == 206
    assert first.content == whole[:100]
    assert first.headers["content-range"] == f"bytes 0-99/{output['bytes']}"
    tail = client.get(f"/v1/videos/{video_id}/content", headers={"Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, whole[-10:])
    head = client.head(f"/v1/videos/{video_id}/content", headers={"Range": "bytes=0-99"})
    assert (head.status_code, head.content, head.headers["content-length"]) == (206, b"", "100")


def test_a_range_past_the_end_is_a_416_and_a_malformed_one_a_400_as_for_a_local_file(
    client: TestClient,
) -> None:
    video_id, output = completed(client)
    url = f"/v1/videos/{video_id}/content"
    response = client.get(url, headers={"Range": f"bytes={output['bytes']}-"})
    assert (response.status_code, response.content) == (416, b"")
    assert response.headers["content-range"] == f"bytes */{output['bytes']}"
    malformed = client.get(url, headers={"Range": "bytes=9-1"})
    assert malformed.status_code == 400
    assert malformed.text == "Range header: start must be less than end"


def test_a_stale_if_range_gets_the_whole_file(client: TestClient) -> None:
    video_id, output = completed(client)
    url = f"/v1/videos/{video_id}/content"
    etag = client.get(url).headers["etag"]
    fresh = client.get(url, headers={"Range": "bytes=0-9", "If-Range": etag})
    stale = client.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert fresh.status_code == 206 and len(fresh.content) == 10
    assert stale.status_code == 200 and len(stale.content) == output["bytes"]


def test_the_thumbnail_is_made_once_into_the_bucket(client: TestClient) -> None:
    video_id, _ = completed(client)
    url = f"/v1/videos/{video_id}/content"
    response = client.get(url, params={"variant": "thumbnail"})
    assert (response.status_code, response.headers["content-type"]) == (200, "image/jpeg")
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "JPEG"
    job_id = parse_video_id(video_id)
    assert job_id is not None
    assert f"vidgate/outputs/{job_id.hex}.jpg" in bucket_keys(client)
    assert client.get(url, params={"variant": "thumbnail"}).content == response.content


def test_deleting_a_video_deletes_its_objects(client: TestClient) -> None:
    video_id, _ = completed(client)
    client.get(f"/v1/videos/{video_id}/content", params={"variant": "thumbnail"})
    assert client.delete(f"/v1/videos/{video_id}").status_code == 200
    assert not [key for key in bucket_keys(client) if key.startswith("vidgate/outputs/")]


def test_with_redirects_content_is_a_short_lived_presigned_url(redirecting: TestClient) -> None:
    video_id, output = completed(redirecting)
    response = redirecting.get(f"/v1/videos/{video_id}/content", follow_redirects=False)
    assert response.status_code == 307
    location = response.headers["location"]
    storage = runtime_of(redirecting).settings.storage
    assert location.startswith(f"{storage.endpoint_url}/") and "X-Amz-Expires=30" in location
    fetched = httpx.get(location)  # no API key: the signature is the credential
    assert hashlib.sha256(fetched.content).hexdigest() == output["sha256"]
    ranged = httpx.get(location, headers={"Range": "bytes=0-9"})
    assert (ranged.status_code, ranged.content) == (206, fetched.content[:10])


def test_an_input_link_streams_the_image_from_the_bucket(redirecting: TestClient) -> None:
    rt = runtime_of(redirecting)
    sha256 = rt.storage.save_input(b"\x89PNG not really")
    path = httpx.URL(rt.links.url(sha256, "image/png")).path
    response = redirecting.get(path, headers={"Authorization": ""}, follow_redirects=False)
    # streamed even with redirects on: an upstream's fetcher may not follow one
    assert (response.status_code, response.content) == (200, b"\x89PNG not really")
    assert response.headers["content-type"] == "image/png"
    rt.storage.blobs.delete(rt.storage.input_key(sha256))
    assert redirecting.get(path).status_code == 404


def test_an_image_to_video_job_reads_its_uploaded_input_from_the_bucket(
    client: TestClient, tmp_path: Path
) -> None:
    image = io.BytesIO()
    Image.new("RGB", (32, 18), (200, 40, 40)).save(image, format="PNG")
    fields = {"model": "local-preview", "prompt": "a fox", "seconds": "1", "size": "160x90"}
    files = {"input_reference": ("ref.png", image.getvalue(), "image/png")}
    response = client.post("/v1/videos", data=fields, files=files)
    assert response.status_code == 202, response.text
    assert wait_for_status(client, response.json()["id"])["status"] == "completed"
    sha256 = hashlib.sha256(image.getvalue()).hexdigest()
    assert f"vidgate/inputs/{sha256[:2]}/{sha256}" in bucket_keys(client)


def test_a_bucket_that_does_not_exist_stops_start_up_naming_it(
    settings: Settings, s3_server: S3Server
) -> None:
    missing = replace(settings, storage=s3_server.settings("no-such-bucket"))
    with pytest.raises(StorageUnavailable, match="VIDGATE_STORAGE_URL=s3://no-such-bucket/"):
        build_storage(missing)


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)  # only the file store matters
def test_while_the_bucket_is_unreachable_content_is_a_503_and_a_delete_still_deletes(
    settings: Settings, tmp_path: Path
) -> None:
    with moto_server(tmp_path / "moto.log") as server:
        bucket_settings = server.settings(server.new_bucket())
        app = create_app(replace(settings, storage=bucket_settings))
        with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as client:
            video_id, _ = completed(client)
            server.stop()
            content = client.get(f"/v1/videos/{video_id}/content")
            deleted = client.delete(f"/v1/videos/{video_id}")  # its objects stay behind
            after = client.get(f"/v1/videos/{video_id}")
    assert content.status_code == 503, content.text
    assert content.json()["error"]["code"] == "store_unavailable"
    assert content.headers["retry-after"]
    assert deleted.status_code == 200, deleted.text
    assert after.status_code == 404
