from __future__ import annotations

from pathlib import Path

import pytest

from service.auth.keys import PREFIX, KeyHasher, key_hint, load_or_create_secret, new_api_key
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
            "VIDGATE_DB_POOL_SIZE": "4",
            "VIDGATE_DB_MAX_OVERFLOW": "0",
        }
    )
    assert (settings.port, settings.host, settings.data_dir) == (9001, "0.0.0.0", Path("/tmp/x"))
    assert settings.uses_postgres and not settings.run_workers
    assert (settings.db_pool_size, settings.db_max_overflow) == (4, 0)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"VIDGATE_DATABASE_URL": "mysql://x/y"}, "VIDGATE_DATABASE_URL"),
        ({"VIDGATE_RUN_WORKERS": "maybe"}, "VIDGATE_RUN_WORKERS"),
        ({"VIDGATE_BOOTSTRAP_API_KEY": "short"}, "VIDGATE_BOOTSTRAP_API_KEY"),
        ({"VIDGATE_DB_POOL_SIZE": "0"}, "VIDGATE_DB_POOL_SIZE"),
        ({"VIDGATE_DB_MAX_OVERFLOW": "-1"}, "VIDGATE_DB_MAX_OVERFLOW"),
        ({"VIDGATE_INPUT_FETCH_TIMEOUT_MS": "0"}, "VIDGATE_INPUT_FETCH_TIMEOUT_MS"),
        ({"VIDGATE_DOWNLOAD_TIMEOUT_S": "soon"}, "VIDGATE_DOWNLOAD_TIMEOUT_S"),
    ],
)
def test_a_bad_setting_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_outbound_fetch_deadlines_default_to_30_s_per_image_and_600_s_per_output():
    defaults, custom = (
        Settings.from_env({}),
        Settings.from_env(
            {"VIDGATE_INPUT_FETCH_TIMEOUT_MS": "1500", "VIDGATE_DOWNLOAD_TIMEOUT_S": "90"}
        ),
    )
    assert (defaults.input_fetch_timeout, defaults.download_timeout) == (30.0, 600.0)
    assert (custom.input_fetch_timeout, custom.download_timeout) == (1.5, 90.0)


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


def test_provider_credentials_sandbox_and_emulator_knobs_are_read():
    settings = Settings.from_env(
        {
            "VIDGATE_FAL_KEY": "fal-key",
            "VIDGATE_FAL_USER_ID": "user-1",
            "VIDGATE_OPENAI_API_KEY": "sk-x",
            "VIDGATE_OPENAI_WEBHOOK_SECRET": "whsec_abc",
            "VIDGATE_OPENAI_BASE_URL": "http://127.0.0.1:8100/sora/v1/",
            "VIDGATE_SANDBOX": "yes",
            "VIDGATE_SANDBOX_PORT": "8200",
            "VIDGATE_EMULATE_LATENCY": "0.5",
            "VIDGATE_EMULATE_WEBHOOK_LOSS": "0.25",
            "VIDGATE_EMULATE_STALL_RATE": "0.05",
        }
    )
    providers = settings.providers
    assert (providers.fal_key, providers.fal_user_id) == ("fal-key", "user-1")
    assert providers.openai_webhook_secret == "whsec_abc"
    assert providers.base_urls == {"sora": "http://127.0.0.1:8100/sora/v1"}
    assert providers.configured() == {"fal", "sora"}
    assert (settings.sandbox, settings.sandbox_port) == (True, 8200)
    assert (settings.emulate.latency, settings.emulate.webhook_loss) == (0.5, 0.25)
    assert settings.emulate.stall_rate == 0.05


def test_the_new_settings_default_to_no_providers_and_a_three_second_emulator():
    settings = Settings.from_env({})
    assert settings.providers.configured() == frozenset()
    assert (settings.sandbox, settings.sandbox_port) == (False, 0)
    assert settings.providers.vertex_location == "us-central1"
    assert settings.emulate.latency == 3.0 and settings.emulate.fail_rate == 0.0


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"VIDGATE_EMULATE_FAIL_RATE": "1.5"}, "VIDGATE_EMULATE_FAIL_RATE"),
        ({"VIDGATE_EMULATE_ERROR_RATE": "often"}, "VIDGATE_EMULATE_ERROR_RATE"),
        ({"VIDGATE_EMULATE_WEBHOOK_REORDER": "nan"}, "VIDGATE_EMULATE_WEBHOOK_REORDER"),
        ({"VIDGATE_EMULATE_STALL_RATE": "2"}, "VIDGATE_EMULATE_STALL_RATE"),
        ({"VIDGATE_EMULATE_WEBHOOK_DUPLICATE": "-0.1"}, "VIDGATE_EMULATE_WEBHOOK_DUPLICATE"),
        ({"VIDGATE_EMULATE_LATENCY": "-1"}, "VIDGATE_EMULATE_LATENCY"),
        ({"VIDGATE_EMULATE_WEBHOOK_DELAY": "soon"}, "VIDGATE_EMULATE_WEBHOOK_DELAY"),
        ({"VIDGATE_SANDBOX": "maybe"}, "VIDGATE_SANDBOX"),
        ({"VIDGATE_SANDBOX_PORT": "70000"}, "VIDGATE_SANDBOX_PORT"),
        ({"VIDGATE_FAL_KEY": "k"}, "VIDGATE_FAL_USER_ID"),
        ({"VIDGATE_KLING_ACCESS_KEY": "ak"}, "VIDGATE_KLING_SECRET_KEY"),
        ({"VIDGATE_KLING_SECRET_KEY": "sk"}, "VIDGATE_KLING_ACCESS_KEY"),
        ({"VIDGATE_VERTEX_API_KEY": "AIza"}, "VIDGATE_VERTEX_PROJECT"),
        ({"VIDGATE_VERTEX_LOCATION": "us central"}, "VIDGATE_VERTEX_LOCATION"),
        ({"VIDGATE_REPLICATE_WEBHOOK_SECRET": "secret"}, "VIDGATE_REPLICATE_WEBHOOK_SECRET"),
        ({"VIDGATE_RUNWAY_BASE_URL": "api.dev.runwayml.com"}, "VIDGATE_RUNWAY_BASE_URL"),
    ],
)
def test_a_bad_provider_or_emulator_setting_is_refused_naming_the_variable(env, named):
    with pytest.raises(SettingsError, match=named):
        Settings.from_env(env)


def test_emulator_knobs_are_built_from_settings_or_the_environment():
    from service.sandbox.emulators.knobs import Knobs

    env = {"VIDGATE_EMULATE_LATENCY": "0.3", "VIDGATE_EMULATE_FAIL_RATE": "0.1"}
    from_settings = Knobs.from_settings(Settings.from_env(env))
    assert (from_settings.latency, from_settings.fail_rate) == (0.3, 0.1)
    assert (Knobs.from_env(env).latency, Knobs.from_env({}).latency) == (0.3, 3.0)
    with pytest.raises(SettingsError, match="VIDGATE_EMULATE_FAIL_RATE"):
        Knobs.from_env({"VIDGATE_EMULATE_FAIL_RATE": "2"})


def test_provider_caps_are_read_per_provider_and_default_to_none():
    assert Settings.from_env({}).provider_concurrency == {}
    env = {"VIDGATE_PROVIDER_CONCURRENCY": " fal=20, kling = 5 ,"}
    assert Settings.from_env(env).provider_concurrency == {"fal": 20, "kling": 5}


@pytest.mark.parametrize(
    ("raw", "entry"),
    [
        ("fal", "'fal'"),
        ("fal=0", "'fal=0'"),
        ("fal=-2", "'fal=-2'"),
        ("fal=two", "'fal=two'"),
        ("fal=2,nope=3", "'nope=3' names no upstream provider"),
        ("local=2", "'local=2' names no upstream provider"),
        ("fal=2,fal=3", "'fal=3' repeats provider 'fal'"),
    ],
)
def test_a_bad_provider_cap_is_refused_naming_the_entry(raw, entry):
    with pytest.raises(SettingsError, match="VIDGATE_PROVIDER_CONCURRENCY") as refused:
        Settings.from_env({"VIDGATE_PROVIDER_CONCURRENCY": raw})
    assert entry in str(refused.value)


def test_every_upstream_provider_can_be_capped():
    from service.providers.registry import BY_NAME

    caps = ",".join(f"{name}=1" for name in BY_NAME)
    assert set(
        Settings.from_env({"VIDGATE_PROVIDER_CONCURRENCY": caps}).provider_concurrency
    ) == set(BY_NAME)


def test_output_links_last_three_days_unless_configured():
    assert Settings.from_env({}).output_link_ttl == 3 * 24 * 3600
    assert Settings.from_env({"VIDGATE_OUTPUT_LINK_TTL_S": "600"}).output_link_ttl == 600
    with pytest.raises(SettingsError, match="VIDGATE_OUTPUT_LINK_TTL_S"):
        Settings.from_env({"VIDGATE_OUTPUT_LINK_TTL_S": "5"})  # below a minute
