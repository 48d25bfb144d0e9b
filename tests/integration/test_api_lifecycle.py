"""Over HTTP: a video's life after creation — content, cancel, delete, and its event history."""

from __future__ import annotations

import io
from dataclasses import replace

import pytest
from PIL import Image
from starlette.testclient import TestClient

from events.ids import parse_video_id
from service.app import create_app
from tests.conftest import ADMIN_KEY
from tests.helpers import runtime_of, submit, wait_for, wait_for_status


@pytest.fixture
def slow_client(settings):
    """A gateway whose local renderer takes 0.2 s a frame, so jobs stay unfinished a while."""
    app = create_app(replace(settings, local_frame_delay=0.2))
    with TestClient(app, headers={"Authorization": f"Bearer {ADMIN_KEY}"}) as test_client:
        yield test_client


def completed(client) -> str:
    video_id: str = submit(client)["id"]
    wait_for_status(client, video_id)
    return video_id


def rendering(client) -> str:
    """A video that is in progress (on the slow client: 2 s at 24 fps takes ~10 s)."""
    video_id: str = submit(client, seconds="2")["id"]
    wait_for_status(client, video_id, ("in_progress",))
    return video_id


def history(client, video_id: str) -> list[dict]:
    response = client.get(f"/v1/videos/{video_id}/events")
    assert response.status_code == 200, response.text
    data: list[dict] = response.json()["data"]
    return data


def render_stopped(client, video_id: str) -> bool:
    """No output and no half-written temp file left for the video."""
    job_id = parse_video_id(video_id)
    assert job_id is not None
    outputs = runtime_of(client).storage.blobs.staging  # the outputs dir, on local storage
    return not any(
        path.name.startswith((f"{job_id.hex}.", f".{job_id.hex}.")) for path in outputs.iterdir()
    )


# content


def test_content_before_completion_is_409_video_not_ready(slow_client):
    video_id = submit(slow_client)["id"]
    response = slow_client.get(f"/v1/videos/{video_id}/content")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "video_not_ready"


def test_polling_an_unfinished_video_says_when_to_poll_again(slow_client):
    video_id = rendering(slow_client)
    response = slow_client.get(f"/v1/videos/{video_id}")
    assert response.json()["status"] == "in_progress"
    assert response.headers["openai-poll-after-ms"] == "50"


def test_content_of_a_completed_video_is_an_mp4(client):
    response = client.get(f"/v1/videos/{completed(client)}/content")
    assert response.status_code == 200
    assert response.headers["content-type"] == "video/mp4"
    assert response.content[4:8] == b"ftyp"


def test_the_thumbnail_variant_is_a_jpeg(client):
    response = client.get(
        f"/v1/videos/{completed(client)}/content", params={"variant": "thumbnail"}
    )
    assert (response.status_code, response.headers["content-type"]) == (200, "image/jpeg")
    with Image.open(io.BytesIO(response.content)) as image:
        assert image.format == "JPEG"


@pytest.mark.parametrize(
    ("variant", "code"), [("spritesheet", "unsupported_variant"), ("gif", "invalid_value")]
)
def test_an_unsupported_variant_is_400(client, variant, code):
    response = client.get(f"/v1/videos/{completed(client)}/content", params={"variant": variant})
    assert response.status_code == 400
    assert (response.json()["error"]["param"], response.json()["error"]["code"]) == (
        "variant",
        code,
    )


# cancel


def test_canceling_a_rendering_video_stops_it_for_good(slow_client):
    video_id = rendering(slow_client)
    for _ in range(2):  # canceling twice is harmless
        response = slow_client.post(f"/v1/videos/{video_id}/cancel")
        assert (response.status_code, response.json()["status"]) == (200, "canceled")
    wait_for(lambda: render_stopped(slow_client, video_id))
    assert slow_client.get(f"/v1/videos/{video_id}").json()["status"] == "canceled"
    events = history(slow_client, video_id)
    assert events[-1]["type"] == "Canceled"
    assert [e["type"] for e in events].count("Canceled") == 1
    assert events[-1]["actor"] == "api"


def test_canceling_a_completed_video_is_409(client):
    response = client.post(f"/v1/videos/{completed(client)}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_state"


# delete


def test_deleting_a_video_hides_it_but_keeps_its_history(client):
    video_id = completed(client)
    response = client.delete(f"/v1/videos/{video_id}")
    assert response.status_code == 200
    assert response.json() == {"id": video_id, "object": "video.deleted", "deleted": True}
    for suffix in ("", "/content"):
        assert client.get(f"/v1/videos/{video_id}{suffix}").status_code == 404
    wait_for(lambda: video_id not in [v["id"] for v in client.get("/v1/videos").json()["data"]])
    assert render_stopped(client, video_id)  # its files are gone
    assert history(client, video_id)[-1]["type"] == "Deleted"


def test_deleting_a_rendering_video_cancels_it_first(slow_client):
    video_id = rendering(slow_client)
    assert slow_client.delete(f"/v1/videos/{video_id}").status_code == 200
    assert [e["type"] for e in history(slow_client, video_id)][-2:] == ["Canceled", "Deleted"]
    wait_for(lambda: render_stopped(slow_client, video_id))


def test_deleting_twice_is_404_the_second_time(client):
    video_id = completed(client)
    assert client.delete(f"/v1/videos/{video_id}").status_code == 200
    assert client.delete(f"/v1/videos/{video_id}").status_code == 404


# the event history


def test_a_completed_videos_events_tell_its_story_in_order(client):
    events = history(client, completed(client))
    types = [e["type"] for e in events]
    assert types[:3] == ["Submitted", "DispatchIntended", "Dispatched"]
    assert types[-2:] == ["Completed", "OutputStored"]
    assert set(types[3:-2]) == {"Progressed"}
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    actors = [e["actor"] for e in events]
    assert actors[:3] == ["api", "dispatcher", "dispatcher"]
    assert set(actors[3:]) == {"local"}
    progress = [e["data"]["percent"] for e in events if e["type"] == "Progressed"]
    assert progress == sorted(set(progress))
    assert progress[0] > 0 and progress[-1] <= 99
    assert all(e["object"] == "video.event" and e["occurred_at"] for e in events)
