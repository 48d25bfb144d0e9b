"""`vidgate keys …` and the first-start key, through real processes."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace

import pytest

from tests.e2e.api import TINY, client
from tests.e2e.server import run_vidgate, server_env

pytestmark = pytest.mark.e2e
KEY = re.compile(r"\bvg_[A-Za-z0-9_-]{40,}\b")


def vidgate(env, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_created_key_works_once_printed_and_only_within_its_scopes(settings, tmp_path):
    env = server_env(settings)
    made = vidgate(env, "keys", "create", "--tenant", "acme", "--scope", "videos:read")
    assert made.returncode == 0, made.stderr
    key = made.stdout.strip()
    assert KEY.fullmatch(key)
    with run_vidgate(env, tmp_path / "server.log") as server, client(server.url, key) as http:
        assert http.get("/v1/videos").status_code == 200
        assert http.post("/v1/videos", json=TINY).status_code == 403
    if not settings.database_url:  # only the keyed hash is stored, never the key
        stored = b"".join(p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file())
        assert key.encode() not in stored


def test_a_revoked_key_is_refused(settings, tmp_path):
    env = server_env(settings)
    key = vidgate(env, "keys", "create", "--tenant", "acme").stdout.strip()
    assert vidgate(env, "keys", "revoke", key).returncode == 0
    with run_vidgate(env, tmp_path / "server.log") as server, client(server.url, key) as http:
        assert http.get("/v1/videos").status_code == 401


def test_a_lost_key_is_revoked_by_the_id_keys_list_shows(settings, tmp_path):
    env = server_env(settings)
    key = vidgate(env, "keys", "create", "--tenant", "lost").stdout.strip()
    rows = [line.split("\t") for line in vidgate(env, "keys", "list").stdout.splitlines()]
    (key_id,) = [row[-1] for row in rows if row[0] == "lost"]
    assert vidgate(env, "keys", "revoke", key_id).returncode == 0
    unknown = vidgate(env, "keys", "revoke", "00000000-0000-0000-0000-000000000000")
    assert unknown.returncode == 1 and "no such key" in unknown.stderr
    with run_vidgate(env, tmp_path / "server.log") as server, client(server.url, key) as http:
        assert http.get("/v1/videos").status_code == 401


def test_bad_cli_input_is_refused_with_a_message(settings):
    env = server_env(settings)
    bad_tenant = vidgate(env, "keys", "create", "--tenant", "no spaces please")
    bad_scope = vidgate(env, "keys", "create", "--tenant", "acme", "--scope", "root")
    assert bad_tenant.returncode == 2 and "--tenant" in bad_tenant.stderr
    assert bad_scope.returncode == 2 and "invalid choice" in bad_scope.stderr


def test_the_first_start_without_keys_prints_one_key_once(settings, tmp_path):
    env = server_env(replace(settings, bootstrap_api_key=None))
    log = tmp_path / "server.log"
    with run_vidgate(env, log):
        pass
    printed = set(KEY.findall(log.read_text()))
    assert len(printed) == 1
    with run_vidgate(env, log) as server, client(server.url, printed.pop()) as http:
        assert http.get("/v1/videos").status_code == 200
    assert len(set(KEY.findall(log.read_text()))) == 1  # the second start shows no new key
