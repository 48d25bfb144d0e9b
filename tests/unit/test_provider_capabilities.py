"""What is special about each provider is declared by its adapter (the `Provider`
protocol's capabilities), the way the gateway used to look it up by name."""

from __future__ import annotations

import json

import httpx
import pytest

from service.providers.base import InputForm, WebhookKind
from service.providers.local import LocalProvider
from service.providers.registry import BUILT_IN, PLUGINS, build_providers
from service.sandbox.suite import PROVIDERS
from service.settings import Settings
from service.storage.store import Storage
from tests.unit.test_registry import EVERY_KEY


@pytest.fixture
def built():
    http = httpx.AsyncClient()  # never used for a request: nothing to close
    return build_providers(Settings.from_env(EVERY_KEY), http, None)


def named(built, has) -> set[str]:
    return {name for name, provider in built.items() if has(provider)}


def test_every_provider_has_a_plugin_under_its_adapters_name(built):
    assert [plugin.name for plugin in PLUGINS] == list(PROVIDERS)
    assert {name: provider.name for name, provider in built.items()} == {n: n for n in PROVIDERS}


def test_signed_webhooks_are_verified_and_the_others_are_hints(built):
    assert named(built, lambda p: p.webhook is WebhookKind.SIGNED) == {"fal", "replicate", "sora"}
    assert named(built, lambda p: p.webhook is WebhookKind.HINT) == set(PROVIDERS) - {
        "fal",
        "replicate",
        "sora",
    }


def test_the_providers_that_call_back_are_polled_only_as_a_fallback(built):
    calls_back = {"fal", "replicate", "minimax", "luma", "kling"}
    assert named(built, lambda p: p.calls_back) == calls_back
    env = {**EVERY_KEY, "VIDGATE_OPENAI_WEBHOOK_SECRET": "whsec_b3Bl"}
    with_secret = build_providers(Settings.from_env(env), httpx.AsyncClient(), None)
    assert named(with_secret, lambda p: p.calls_back) == calls_back | {"sora"}


def test_uploads_go_as_links_to_the_providers_that_fetch_by_url(built):
    assert named(built, lambda p: p.inputs is InputForm.LINK) == {"fal", "replicate", "luma"}
    assert named(built, lambda p: p.inputs is InputForm.STORED) == set()


def test_only_minimax_answers_a_callback_handshake(built):
    challenge = json.dumps({"challenge": "c-1"}).encode()
    answers = {name: p.handshake(challenge) for name, p in built.items()}
    assert {name for name, answer in answers.items() if answer} == {"minimax"}
    assert answers["minimax"] == {"challenge": "c-1"}
    assert built["minimax"].handshake(b'{"task_id": "1"}') is None


def test_every_upstream_is_polled_and_canceled_upstream(built):
    assert named(built, lambda p: p.polled and p.cancels_upstream) == set(PROVIDERS)


def test_only_one_provider_posts_every_webhook_to_one_url():
    assert {p.name: p.one_url_hooks for p in PLUGINS if p.one_url_hooks} == {"sora": "OpenAI video"}


def test_the_local_renderer_takes_no_webhooks_and_is_never_polled(tmp_path):
    local = LocalProvider(None, None, Storage(tmp_path), httpx.AsyncClient())
    assert BUILT_IN == {local.name} == {"local"}
    assert local.webhook is WebhookKind.NONE and local.inputs is InputForm.STORED
    assert not local.polled and not local.cancels_upstream and not local.calls_back
