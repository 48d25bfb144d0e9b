"""The seeds' own examples against a real `vidgate serve --sandbox`, changing only the base URL
and the key: NovaKit's curl and Python `requests` snippets (verbatim below) and its request
body; the v2 API's request and response, its jobs endpoint and its webhookUrl, delivered to a
receiver on 127.0.0.1 and verified as Standard Webhooks.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS31Validator
from standardwebhooks import Webhook

from service.surfaces.openapi.document import openapi_document
from tests.conftest import ADMIN_KEY, STORES
from tests.e2e.server import Process, run_vidgate, server_env
from tests.facades_support import store_settings
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
requests = pytest.importorskip("requests")  # what NovaKit's Python examples use

SANDBOX_ENV = {
    "VIDGATE_SANDBOX": "1",
    "VIDGATE_EMULATE_LATENCY": "1",
    "VIDGATE_POLL_FIRST_MS": "300",
    "VIDGATE_POLL_CAP_MS": "1000",
}
NOVAKIT_URL, NOVAKIT_KEY = "https://www.novakit.ai", "sk_your_api_key"

# NovaKit's examples, as the seed prints them.
CURL = """curl -X POST "https://www.novakit.ai/api/v1/videos/generations?async=true" \\
-H "Authorization: Bearer sk_your_api_key" \\
-H "Content-Type: application/json" \\
-d '{
"prompt": "A drone flyover of a tropical beach at golden hour, cinematic",
"duration_seconds": 5,
"aspect_ratio": "16:9"
}'"""
PYTHON_START = """import requests
response = requests.post(
"https://www.novakit.ai/api/v1/videos/generations?async=true",
headers={
"Authorization": "Bearer sk_your_api_key",
"Content-Type": "application/json"
},
json={
"prompt": "The person slowly turns and smiles",
"mode": "image_to_video",
"source_image": "https://example.com/portrait.jpg",
"duration_seconds": 3
}
)
job_id = response.json()["id"]
print(f"Job started: {job_id}")"""
PYTHON_POLL = """import requests
import time
# Start the job
response = requests.post(
    "https://www.novakit.ai/api/v1/videos/generations?async=true",
    headers={"Authorization": "Bearer sk_your_api_key"},
    json={"prompt": "Ocean waves crashing on rocks", "duration_seconds": 5}
)
job_id = response.json()["id"]
# Poll until complete
while True:
    status = requests.get(
        f"https://www.novakit.ai/api/v1/jobs/{job_id}?poll=true",
        headers={"Authorization": "Bearer sk_your_api_key"}
    ).json()
    print(f"Status: {status['status']}, Progress: {status.get('progress', 0)}%")
    if status["status"] == "completed":
        print(f"Video URL: {status['outputData']['video']['url']}")
        break
    elif status["status"] == "failed":
        print(f"Failed: {status.get('errorMessage')}")
        break
    time.sleep(5)"""
REQUEST_BODY = """{
"prompt": "A timelapse of a flower blooming",
"model": "fal-ai/minimax/video-01",
"duration_seconds": 5,
"resolution": "720p",
"fps": 30,
"aspect_ratio": "16:9",
"mode": "text_to_video",
"source_image": null,
"negative_prompt": "blurry, static",
"seed": null,
"prompt_optimizer": true,
"loop": false
}"""


@dataclass
class Gateway:
    process: Process
    url: str
    video_key: str  # a key with only NovaKit's `video` scope

    def ours(self, snippet: str) -> str:
        """The snippet pointed at this gateway: only the base URL and the key change."""
        return snippet.replace(NOVAKIT_URL, self.url).replace(NOVAKIT_KEY, self.video_key)

    def http(self, key: str = ADMIN_KEY) -> httpx.Client:
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {key}"}, timeout=60
        )


@pytest.fixture(scope="module", params=STORES)
def gateway(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    tmp = tmp_path_factory.mktemp("facades-e2e")
    with store_settings(request.param, tmp / "var") as settings:
        env = server_env(settings, **SANDBOX_ENV)
        made = subprocess.run(
            [
                sys.executable,
                "-m",
                "service.cli",
                "keys",
                "create",
                "--tenant",
                "default",
                "--scope",
                "video",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        with run_vidgate(env, tmp / "serve.log") as process:
            assert process.url
            yield Gateway(process, process.url, made.stdout.strip())
            assert "Traceback" not in process.output(), process.output()[-4000:]


def run_python(snippet: str) -> list[str]:
    """Run a documentation snippet; what it printed, line by line."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(snippet, "<novakit example>", "exec"), {})
    return printed.getvalue().splitlines()


def is_mp4(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.content[4:8] == b"ftyp"


# NovaKit


def test_novakits_curl_example_starts_a_job(gateway):
    done = subprocess.run(
        ["bash", "-c", gateway.ours(CURL)], capture_output=True, text=True, timeout=60, check=True
    )
    job = json.loads(done.stdout)
    assert job["status"] == "pending" and job["id"].startswith("job_")
    assert job["model"] == "fal-ai/minimax/video-01" and job["estimated_credits"] > 0


def test_novakits_python_example_starts_an_image_to_video_job(gateway):
    (line,) = run_python(gateway.ours(PYTHON_START))
    job_id = line.removeprefix("Job started: ")
    assert job_id.startswith("job_")
    with gateway.http(gateway.video_key) as http:
        job = http.get(f"/api/v1/jobs/{job_id}").json()
    assert job["inputParams"]["mode"] == "image_to_video"
    assert job["model"] == "fal-ai/minimax/video-01/image-to-video"


def test_novakits_polling_example_ends_with_the_video_url(gateway):
    printed = run_python(gateway.ours(PYTHON_POLL))
    assert printed[0].startswith("Status: ") and printed[-2] == "Status: completed, Progress: 100%"
    url = printed[-1].removeprefix("Video URL: ")
    assert url.startswith(f"{gateway.url}/api/v1/files/") and url.endswith(".mp4")
    assert is_mp4(httpx.get(url))  # like NovaKit's CDN links, it needs no key


def test_novakits_request_body_example_answers_synchronously(gateway):
    with gateway.http(gateway.video_key) as http:
        response = http.post(
            "/api/v1/videos/generations",
            content=REQUEST_BODY,
            headers={"Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) >= {"created", "data", "model", "model_tier", "usage"}
        assert set(body["data"]) == {"url", "duration_seconds", "width", "height"}
        assert body["model"] == "fal-ai/minimax/video-01"
        assert set(body["usage"]) == {"credits_used", "seconds_used", "seconds_remaining"}
        assert is_mp4(httpx.get(body["data"]["url"]))
        job_id = body["id"].removeprefix("job_")
    with gateway.http() as admin:
        events = admin.get(f"/v1/videos/video_{job_id}/events").json()["data"]
    assert events[0]["data"]["surface"] == "novakit"
    assert [e["type"] for e in events][-2:] == ["Completed", "OutputStored"]


def test_novakits_errors_are_its_own(gateway):
    with httpx.Client(base_url=gateway.url, timeout=30) as anonymous:
        unknown_key = anonymous.post(
            "/api/v1/videos/generations?async=true",
            json={"prompt": "x"},
            headers={"Authorization": f"Bearer {NOVAKIT_KEY}"},
        )
    assert unknown_key.status_code == 401 and "API key" in unknown_key.json()["error"]
    with gateway.http(gateway.video_key) as http:
        missing = http.post("/api/v1/videos/generations?async=true", json={})
        assert (missing.status_code, missing.json()["error"]) == (400, "prompt is required")
        assert http.get("/api/v1/jobs/job_nope").json() == {
            "error": "Job not found",
            "code": "not_found",
            "param": "jobId",
        }


# The v2 API


def test_v2s_request_answers_as_its_response_example_then_completes(gateway):
    with gateway.http() as http:
        response = http.post(
            "/v2/videos/generate",
            json={"prompt": "a drone shot over a misty forest", "model": "veo-3.1-fast"},
        )
        assert response.status_code == 202
        answer = response.json()
        assert set(answer) == {"jobId", "status"} and answer["status"] == "QUEUED"
        job = wait_v2(http, answer["jobId"])
        assert job["status"] == "COMPLETED" and job["progress"] == 100
        assert is_mp4(http.get(job["result"]["videoUrl"]))
        events = http.get(f"/v1/videos/video_{uuid.UUID(answer['jobId']).hex}/events").json()
    assert events["data"][0]["data"]["surface"] == "v2"


def wait_v2(http: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job: dict[str, Any] = http.get(f"/v2/jobs/{job_id}").json()
        if job["status"] not in ("QUEUED", "PROCESSING"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"{job_id} did not finish in {timeout}s")


def test_v2s_webhook_url_receives_signed_events_in_v2s_words(gateway):
    with Receiver() as receiver, gateway.http() as http:
        response = http.post(
            "/v2/videos/generate",
            json={
                "prompt": "a lighthouse at dusk",
                "model": "kling-2.6",
                "webhookUrl": f"{receiver.url}/v2",
            },
        )
        assert response.status_code == 202, response.text
        job_id = response.json()["jobId"]
        secret = http.get("/v1/webhooks/default/secret").json()["key"]

        def completed() -> bool:
            return any(json.loads(r.body)["event"] == "completed" for r in receiver.received())

        receiver.wait_for(lambda _: completed(), timeout=60)
        assert wait_v2(http, job_id)["status"] == "COMPLETED"
    payloads = [Webhook(secret).verify(r.body, r.headers) for r in receiver.received("/v2")]
    documented = openapi_document()["webhooks"]["v2JobEvent"]["post"]["requestBody"]
    schema = OAS31Validator(documented["content"]["application/json"]["schema"])
    for payload in payloads:
        schema.validate(payload)
    assert {p["jobId"] for p in payloads} == {job_id}  # matched by the jobId POST answered
    assert {p["event"] for p in payloads} <= {"progress", "completed"}  # the seed's names
    done = next(p for p in payloads if p["event"] == "completed")
    assert (done["status"], done["model"], done["progress"]) == ("COMPLETED", "kling-2.6", 100)
    assert done["error"] is None and done["occurredAt"].endswith("Z")
    assert is_mp4(httpx.get(done["result"]["videoUrl"]))  # a signed link: no key
    assert httpx.get(done["result"]["thumbnailUrl"]).headers["content-type"] == "image/jpeg"


def test_v2s_errors_are_its_own(gateway):
    with gateway.http() as http:
        bad = http.post("/v2/videos/generate", json={"prompt": "", "model": "veo-3"})
        assert bad.status_code == 400
        assert bad.json()["error"] == "Validation error" and bad.json()["field"] == "prompt"
        stranger = http.post(
            "/v2/videos/generate",
            json={"prompt": "x", "model": "veo-3"},
            headers={"Authorization": "Bearer vg_unknown"},
        )
        assert (stranger.status_code, stranger.json()["error"]) == (401, "Unauthorized")
        missing = http.get(f"/v2/jobs/{uuid.uuid4()}")
        assert (missing.status_code, missing.json()["error"]) == (404, "Not found")
