"""The provider registry: which providers run, and adapters built from settings or a sandbox."""

from __future__ import annotations

from dataclasses import replace

import httpx
import pytest

from service.providers.registry import build_providers, enabled_providers
from service.sandbox.suite import PROVIDERS, Sandbox, SandboxCredentials, SandboxUrls
from service.settings import Settings

# Each provider's credentials as environment variables.
CREDENTIALS = {
    "veo": {"VIDGATE_GEMINI_API_KEY": "AIza-g"},
    "vertex-veo": {"VIDGATE_VERTEX_API_KEY": "AIza-v", "VIDGATE_VERTEX_PROJECT": "proj"},
    "fal": {"VIDGATE_FAL_KEY": "fal-key", "VIDGATE_FAL_USER_ID": "user-1"},
    "replicate": {"VIDGATE_REPLICATE_API_TOKEN": "r8_token"},
    "minimax": {"VIDGATE_MINIMAX_API_KEY": "mm-key"},
    "luma": {"VIDGATE_LUMA_API_KEY": "luma-key"},
    "runway": {"VIDGATE_RUNWAY_API_KEY": "key_runway"},
    "sora": {"VIDGATE_OPENAI_API_KEY": "sk-openai"},
    "kling": {"VIDGATE_KLING_ACCESS_KEY": "ak", "VIDGATE_KLING_SECRET_KEY": "sk"},
    "seedance": {"VIDGATE_ARK_API_KEY": "ark-key"},
}
EVERY_KEY = {name: value for env in CREDENTIALS.values() for name, value in env.items()}
READS = {"veo", "vertex-veo", "runway", "seedance"}  # the adapters that send stored images


def read_input(sha256: str) -> bytes:
    return b""


@pytest.fixture
def http():
    return httpx.AsyncClient()  # never used for a request: nothing to close


@pytest.fixture
def sandbox() -> Sandbox:
    credentials = SandboxCredentials.from_settings(Settings())
    return Sandbox(SandboxUrls("http://127.0.0.1:8100"), credentials)


def test_only_the_local_provider_runs_without_credentials():
    assert enabled_providers(Settings.from_env({})) == {"local"}


@pytest.mark.parametrize("name", PROVIDERS)
def test_a_providers_credential_enables_it(name):
    assert enabled_providers(Settings.from_env(CREDENTIALS[name])) == {"local", name}


def test_sandbox_mode_enables_every_provider():
    assert enabled_providers(Settings.from_env({"VIDGATE_SANDBOX": "1"})) == {"local", *PROVIDERS}


def test_only_configured_providers_are_built_and_local_is_not_among_them(http):
    env = {**CREDENTIALS["sora"], **CREDENTIALS["kling"]}
    assert set(build_providers(Settings.from_env(env), http, None)) == {"sora", "kling"}


def test_adapters_get_the_configured_credentials_and_upstream_defaults(http):
    secrets = {
        "VIDGATE_REPLICATE_WEBHOOK_SECRET": "whsec_cmVw",
        "VIDGATE_OPENAI_WEBHOOK_SECRET": "whsec_b3Bl",
    }
    env = {**EVERY_KEY, **secrets, "VIDGATE_VERTEX_LOCATION": "global"}
    built = build_providers(Settings.from_env(env), http, None)
    fal, vertex, replicate = built["fal"], built["vertex-veo"], built["replicate"]
    sora, kling = built["sora"], built["kling"]
    assert (fal.key, fal.user_id, fal.base_url) == ("fal-key", "user-1", "https://queue.fal.run")
    assert fal.jwks_url == "https://rest.alpha.fal.ai/.well-known/jwks.json"
    assert (vertex.project, vertex.location, vertex.express) == ("proj", "global", True)
    assert vertex.base_url == "https://aiplatform.googleapis.com"
    assert (replicate.token, replicate.webhook_secret) == ("r8_token", "whsec_cmVw")
    assert replicate.base_url == "https://api.replicate.com/v1"
    assert (sora.api_key, sora.webhook_secret) == ("sk-openai", "whsec_b3Bl")
    assert (kling.access_key, kling.secret_key) == ("ak", "sk")
    assert {name: p.name for name, p in built.items()} == {name: name for name in PROVIDERS}


def test_base_url_overrides_replace_the_upstream(http):
    env = {
        **CREDENTIALS["luma"],
        **CREDENTIALS["fal"],
        "VIDGATE_LUMA_BASE_URL": "http://127.0.0.1:8100/luma/dream-machine/v1/",
        "VIDGATE_FAL_BASE_URL": "http://127.0.0.1:8100/fal",
        "VIDGATE_FAL_JWKS_URL": "http://127.0.0.1:8100/fal/.well-known/jwks.json",
    }
    built = build_providers(Settings.from_env(env), http, None)
    assert built["luma"].base_url == "http://127.0.0.1:8100/luma/dream-machine/v1"
    assert built["fal"].base_url == "http://127.0.0.1:8100/fal"
    assert built["fal"].jwks_url == "http://127.0.0.1:8100/fal/.well-known/jwks.json"


def test_read_input_reaches_the_adapters_that_send_stored_images(http):
    built = build_providers(Settings.from_env(EVERY_KEY), http, None, read_input=read_input)
    assert {name for name, p in built.items() if getattr(p, "read_input", None)} == READS


def test_in_sandbox_mode_every_provider_points_at_the_sandbox(http, sandbox):
    settings = Settings(sandbox=True)
    built = build_providers(settings, http, sandbox, read_input=read_input)
    assert set(built) == set(PROVIDERS)
    assert {name: p.base_url for name, p in built.items()} == sandbox.urls.by_provider()
    c = sandbox.credentials
    assert (built["kling"].access_key, built["kling"].secret_key) == (
        c.kling_access_key,
        c.kling_secret_key,
    )
    assert built["fal"].jwks_url == "http://127.0.0.1:8100/fal/.well-known/jwks.json"
    assert built["fal"].user_id == c.fal_user_id
    assert built["sora"].webhook_secret == c.sora_webhook_secret
    assert built["replicate"].webhook_secret == c.replicate_webhook_secret


def test_the_sandbox_wins_over_configured_credentials(http, sandbox):
    settings = replace(Settings.from_env(EVERY_KEY), sandbox=True)
    built = build_providers(settings, http, sandbox)
    assert built["luma"].api_key == sandbox.credentials.api_key
    assert built["fal"].base_url == sandbox.urls.base_url("fal")


def test_sandbox_mode_without_a_running_sandbox_is_refused(http):
    with pytest.raises(ValueError, match="sandbox"):
        build_providers(Settings(sandbox=True), http, None)


def test_sandbox_credentials_agree_across_processes_and_follow_the_configuration():
    first = SandboxCredentials.from_settings(Settings(secret_key="s1"))
    assert first == SandboxCredentials.from_settings(Settings(secret_key="s1"))
    assert first != SandboxCredentials.from_settings(Settings(secret_key="s2"))
    assert first.sora_webhook_secret.startswith("whsec_")
    configured = Settings.from_env(
        {
            **CREDENTIALS["kling"],
            **CREDENTIALS["fal"],
            "VIDGATE_OPENAI_WEBHOOK_SECRET": "whsec_b3Bl",
        }
    )
    own = SandboxCredentials.from_settings(configured)
    assert (own.kling_access_key, own.kling_secret_key, own.fal_user_id) == ("ak", "sk", "user-1")
    assert own.sora_webhook_secret == "whsec_b3Bl"
