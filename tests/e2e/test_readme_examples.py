"""The README's examples, run as written against a real `vidgate serve` on 127.0.0.1.

Each test takes the fenced blocks of one README section and runs them with bash or Python.
What a reader would paste in for themselves is all that changes: the port (a free one, not
8000), the placeholders `vg_...` (the key) and `video_3f…` (the id the example just got),
and `.venv` (this test's own environment, linked into the working directory).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image

from service.auth.keys import key_hint
from service.media.render import probe_video
from tests.conftest import ADMIN_KEY, settings_for
from tests.e2e.api import client, completed, wait_for
from tests.e2e.server import Process, run_vidgate, server_env

pytestmark = pytest.mark.e2e
README = Path(__file__).parents[2] / "README.md"
DOCUMENTED_URL = "http://127.0.0.1:8000"
KEY = re.compile(r"\bvg_[A-Za-z0-9_-]{20,}\b")


def blocks(section: str, language: str) -> list[str]:
    """The fenced blocks in `language` of the README section whose title starts so."""
    text = README.read_text()
    start = text.index(f"\n## {section}")
    end = text.find("\n## ", start + 1)
    return re.findall(rf"```{language}\n(.*?)```", text[start:end], re.S)


def only(found: list[str]) -> str:
    assert len(found) == 1, found
    return found[0]


class Reader:
    """Runs what a reader pastes, in a working directory of their own."""

    def __init__(self, server: Process, workdir: Path, env: dict[str, str]) -> None:
        self.server, self.workdir = server, workdir
        venv = Path(sys.prefix)  # the README says `.venv/bin/vidgate`: make it this one
        (workdir / ".venv").symlink_to(venv, target_is_directory=True)
        self.env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"}

    def filled(self, text: str, **placeholders: str) -> str:
        assert self.server.url
        text = text.replace(DOCUMENTED_URL, self.server.url)
        for placeholder, value in placeholders.items():
            assert placeholder in text, f"the README no longer shows {placeholder!r}"
            text = text.replace(placeholder, value)
        return text

    def sh(self, script: str, **placeholders: str) -> subprocess.CompletedProcess[str]:
        ran = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", self.filled(script, **placeholders)],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert ran.returncode == 0, f"{script}\n--- stdout\n{ran.stdout}\n--- stderr\n{ran.stderr}"
        return ran

    def python(self, code: str, **placeholders: str) -> None:
        ran = subprocess.run(
            [sys.executable, "-c", self.filled(code, **placeholders)],
            cwd=self.workdir,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert ran.returncode == 0, f"{code}\n--- stderr\n{ran.stderr}"

    def wait_until_completed(self, video_id: str) -> None:
        assert self.server.url
        with client(self.server.url, ADMIN_KEY) as http:
            wait_for(http, video_id, completed, timeout=120)


def json_values(text: str) -> list[dict]:
    """The JSON documents printed one after another (curl adds no newline between them)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(text, at)) < len(text):
        value, at = decoder.raw_decode(text, at)
        values.append(value)
    return values


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def reader_for(tmp_path: Path, request: pytest.FixtureRequest, *args: str, **extra: str):
    settings = settings_for("sqlite", tmp_path / "var", request)  # as `make serve`: SQLite
    env = server_env(settings, **extra)
    workdir = tmp_path / "reader"
    workdir.mkdir()
    return env, workdir, run_vidgate(env, tmp_path / "server.log", *args)


@pytest.fixture
def reader(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Reader]:
    env, workdir, serving = reader_for(tmp_path, request)
    with serving as server:
        yield Reader(server, workdir, {**env, "AUTH": f"Authorization: Bearer {ADMIN_KEY}"})


def test_a_first_video_with_curl(reader: Reader):
    setup, create, look = only(blocks("A first video, with curl", "sh")).split("\n\n")
    made = reader.sh(f"{setup}\n{create}", **{"vg_...": ADMIN_KEY})
    (video,) = json_values(made.stdout)
    assert video["object"] == "video" and video["status"] == "queued"
    reader.wait_until_completed(video["id"])

    looked = reader.sh(f"{setup}\n{look}", **{"vg_...": ADMIN_KEY, "video_3f...": video["id"]})
    got, history = json_values(looked.stdout)
    assert got["status"] == "completed"
    assert [e["type"] for e in history["data"]][-1] == "OutputStored"
    fox = probe_video(reader.workdir / "fox.mp4")
    assert (fox.width, fox.height) == (1280, 720) and 3.5 <= fox.duration <= 4.5


def test_lost_the_first_key(reader: Reader):
    create_and_list, revoke = only(blocks("Lost the first key?", "sh")).rsplit("\n", 2)[:2]
    ran = reader.sh(create_and_list)
    (new_key,) = KEY.findall(ran.stdout)
    rows = [line.split("\t") for line in ran.stdout.splitlines() if "\t" in line]
    (lost_id,) = [row[-1] for row in rows if row[1] == key_hint(ADMIN_KEY)]
    reader.sh(revoke, **{"5d1c…": lost_id})
    assert reader.server.url
    for key, status in ((ADMIN_KEY, 401), (new_key, 200)):
        with client(reader.server.url, key) as http:
            assert http.get("/v1/videos").status_code == status


def test_every_model_offline_in_sandbox_mode(tmp_path: Path, request: pytest.FixtureRequest):
    start, *rest = only(blocks("Every model, offline", "sh")).splitlines()
    assert start.startswith("VIDGATE_SANDBOX=1 make serve")  # started here as `serve --sandbox`
    env, workdir, serving = reader_for(tmp_path, request, "serve", "--sandbox")
    with serving as server:
        reader = Reader(server, workdir, {**env, "AUTH": f"Authorization: Bearer {ADMIN_KEY}"})
        models, video = json_values(reader.sh("\n".join(rest)).stdout)
        assert len(models["data"]) == 43 and all(m["available"] for m in models["data"])
        assert video["model"] == "veo-3.1"
        reader.wait_until_completed(video["id"])


def test_with_the_openai_sdk(reader: Reader):
    Image.new("RGB", (160, 90), "navy").save(reader.workdir / "still.png")
    assert reader.server.url
    reader.python(only(blocks("With the `openai` SDK", "python")), **{"vg_...": ADMIN_KEY})
    lighthouse = probe_video(reader.workdir / "lighthouse.mp4")
    assert (lighthouse.width, lighthouse.height) == (1280, 720)
    with client(reader.server.url, ADMIN_KEY) as http:
        listed = http.get("/v1/videos").json()["data"]
    assert sorted(v["prompt"] for v in listed) == ["a lighthouse at dusk", "slow push in"]


def test_from_the_command_line(tmp_path: Path, request: pytest.FixtureRequest):
    script = only(blocks("From the command line", "sh")).splitlines()
    setup, wait, _bar, image, *follow = script
    # Slow renders: the image video must still be rendering when the block cancels it.
    env, workdir, serving = reader_for(tmp_path, request, VIDGATE_LOCAL_FRAME_DELAY_MS="50")
    with serving as server:
        reader = Reader(server, workdir, env)
        Image.new("RGB", (160, 90), "navy").save(workdir / "still.png")
        waited = reader.sh(f"{setup}\n{wait}", **{"vg_...": ADMIN_KEY})
        fox = json.loads(waited.stdout)
        assert fox["status"] == "completed" and "100%" in waited.stderr
        assert probe_video(workdir / "fox.mp4").frames > 0
        made = reader.sh(f"{setup}\n{image}", **{"vg_...": ADMIN_KEY})
        still = json.loads(made.stdout)
        assert still["status"] in ("queued", "in_progress")
        ids = {"vg_...": ADMIN_KEY, "video_3f…": fox["id"], "video_9a…": still["id"]}
        ran = reader.sh("\n".join([setup, *follow]), **ids)
        assert fox["id"] in ran.stdout and "vidgate" in ran.stdout.splitlines()[-1]
        with client(server.url or "", ADMIN_KEY) as http:
            assert http.get(f"/v1/videos/{still['id']}").json()["status"] == "canceled"


def test_the_landing_page_links_what_the_readme_says(reader: Reader):
    assert reader.server.url
    page = httpx.get(f"{reader.server.url}/", timeout=10).text
    for link in ("/docs", "/openapi.json", "/healthz", "/readyz", "/metrics", "/console"):
        assert f'href="{link}"' in page
