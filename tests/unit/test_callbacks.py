"""Signed callback URLs and input links: what a token proves, and what it refuses."""

from __future__ import annotations

import uuid

import pytest

from service.providers.callbacks import CallbackTokens, InputLinks, InvalidCallback

BASE = "https://gw.example"


def test_a_callback_url_names_the_job_for_its_provider() -> None:
    tokens, job = CallbackTokens(["k1"], BASE), uuid.uuid4()
    url = tokens.url("fal", job)
    assert url.startswith(f"{BASE}/hooks/fal/")
    assert tokens.job_id("fal", url.rsplit("/", 1)[1]) == job


def test_a_token_for_one_provider_is_refused_on_another() -> None:
    tokens = CallbackTokens(["k1"], BASE)
    token = tokens.token("fal", uuid.uuid4())
    with pytest.raises(InvalidCallback):
        tokens.job_id("replicate", token)


@pytest.mark.parametrize("mangle", [lambda t: t[:-2] + "xx", lambda t: "x" + t, lambda t: ""])
def test_tampered_tokens_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    tokens = CallbackTokens(["k1"], BASE)
    with pytest.raises(InvalidCallback):
        tokens.job_id("fal", mangle(tokens.token("fal", uuid.uuid4())))


def test_a_token_signed_with_another_key_is_refused() -> None:
    forged = CallbackTokens(["attacker"], BASE).token("fal", uuid.uuid4())
    with pytest.raises(InvalidCallback):
        CallbackTokens(["k1"], BASE).job_id("fal", forged)


def test_tokens_from_before_a_key_rotation_still_verify() -> None:
    job = uuid.uuid4()
    old = CallbackTokens(["k1"], BASE).token("luma", job)
    rotated = CallbackTokens(["k1", "k2"], BASE)
    assert rotated.job_id("luma", old) == job
    assert rotated.job_id("luma", rotated.token("luma", job)) == job


def test_expired_tokens_are_refused_as_expired() -> None:
    now = [1_000_000.0]
    tokens = CallbackTokens(["k1"], BASE, max_age=3600, clock=lambda: now[0])
    job = uuid.uuid4()
    token = tokens.token("fal", job)
    now[0] += 3599
    assert tokens.job_id("fal", token) == job
    now[0] += 2
    with pytest.raises(InvalidCallback) as refused:
        tokens.job_id("fal", token)
    assert refused.value.expired


def test_input_links_name_a_stored_input_and_its_type() -> None:
    links = InputLinks(["k1"], BASE)
    url = links.url("ab" * 32, "image/png")
    assert url.startswith(f"{BASE}/v1/inputs/")
    assert links.resolve(url.rsplit("/", 1)[1]) == ("ab" * 32, "image/png")
    with pytest.raises(InvalidCallback):
        InputLinks(["other"], BASE).resolve(url.rsplit("/", 1)[1])
