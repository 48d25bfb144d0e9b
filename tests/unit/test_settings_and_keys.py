from __future__ import annotations

from pathlib import Path

import pytest

from service.keys import PREFIX, KeyHasher, key_hint, load_or_create_secret, new_api_key
from service.settings import Settings, SettingsError


def test_defaults_are_the_embedded_sqlite_gateway_on_loopback():
    settings = Settings.from_env({})
    assert (settings.host, settings.port, settings.data_dir) == ("127.0.0.1", 8000, Path("var"))
    assert not settings.uses_postgres and settings.run_workers


def test_environment_overrides_are_read():
    settings = Settings.from_env(
        {
            "PORT": "9001",
            "HOST": "0.0.0.0",
            "VIDGATE_DATA_DIR": "/tmp/x",
            "VIDGATE_DATABASE_URL": "postgresql://u@h/db",
            "VIDGATE_RUN_WORKERS": "false",
        }
    )
    assert (settings.port, settings.host, settings.data_dir) == (9001, "0.0.0.0", Path("/tmp/x"))
    assert settings.uses_postgres and not settings.run_workers


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"VIDGATE_DATABASE_URL": "mysql://x/y"}, "VIDGATE_DATABASE_URL"),
        ({"VIDGATE_RUN_WORKERS": "maybe"}, "VIDGATE_RUN_WORKERS"),
        ({"VIDGATE_BOOTSTRAP_API_KEY": "short"}, "VIDGATE_BOOTSTRAP_API_KEY"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_keys_are_prefixed_random_and_hashed_under_the_secret():
    key = new_api_key()
    assert key.startswith(PREFIX) and len(key) > 40 and key != new_api_key()
    assert KeyHasher("s1").hash(key) == KeyHasher("s1").hash(key)
    assert KeyHasher("s1").hash(key) != KeyHasher("s2").hash(key)
    assert key not in KeyHasher("s1").hash(key)
    assert key_hint(key).endswith(key[-4:]) and len(key_hint(key)) < 10


def test_the_generated_secret_is_kept_and_reused(tmp_path):
    first = load_or_create_secret(None, tmp_path)
    assert load_or_create_secret(None, tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert load_or_create_secret("configured", tmp_path) == "configured"
