"""Webhook signatures as clients check them: with the Standard Webhooks library, and by hand."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from service.webhooks.signing import SecretDeriver, endpoint_scope, sign, tenant_scope, verifies

DERIVER = SecretDeriver("server-secret")
SCOPE = endpoint_scope("0f0e0d0c0b0a09080706050403020100")
BODY = json.dumps({"type": "video.completed", "video_id": "video_1", "note": "ünïcødé"}).encode()


def signed(body: bytes = BODY, generations: tuple[int, ...] = (1,)) -> dict[str, str]:
    """The headers the sender puts on a delivery of `body`."""
    msg_id, timestamp = "msg_2b8c9e", int(time.time())
    keys = [DERIVER.raw(SCOPE, generation) for generation in generations]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(msg_id, timestamp, body, keys),
    }


def verify_by_hand(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """What a client without the library does (the spec in a few lines)."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    return any(
        hmac.compare_digest(expected, signature.removeprefix("v1,"))
        for signature in headers["webhook-signature"].split(" ")
        if signature.startswith("v1,")
    )


def test_a_signature_verifies_with_the_standard_webhooks_library():
    headers = signed()
    payload = Webhook(DERIVER.secret(SCOPE, 1)).verify(BODY, headers)
    assert payload["type"] == "video.completed"


def test_a_signature_verifies_with_plain_hmac_sha256_and_base64():
    assert verify_by_hand(DERIVER.secret(SCOPE, 1), signed(), BODY)


def test_a_signature_is_one_v1_entry_in_standard_base64_of_32_bytes():
    (entry,) = signed()["webhook-signature"].split(" ")
    version, signature = entry.split(",")
    assert version == "v1"
    assert len(base64.b64decode(signature, validate=True)) == 32


def test_two_keys_give_two_space_separated_signatures_each_verifying_with_its_own_secret():
    headers = signed(generations=(2, 1))
    newest, previous = headers["webhook-signature"].split(" ")
    only_newest = {**headers, "webhook-signature": newest}
    only_previous = {**headers, "webhook-signature": previous}
    new_secret, old_secret = DERIVER.secret(SCOPE, 2), DERIVER.secret(SCOPE, 1)
    assert verify_by_hand(new_secret, only_newest, BODY)
    assert verify_by_hand(old_secret, only_previous, BODY)
    assert not verify_by_hand(new_secret, only_previous, BODY)
    assert not verify_by_hand(old_secret, only_newest, BODY)
    for secret in (new_secret, old_secret):
        Webhook(secret).verify(BODY, headers)
        assert verify_by_hand(secret, headers, BODY)


def test_a_secret_that_signed_nothing_does_not_verify():
    headers = signed(generations=(2, 1))
    with pytest.raises(WebhookVerificationError):
        Webhook(DERIVER.secret(SCOPE, 3)).verify(BODY, headers)
    assert not verify_by_hand(DERIVER.secret(SCOPE, 3), headers, BODY)


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda h, b: (h, b.replace(b"completed", b"failed")), id="body"),
        pytest.param(lambda h, b: (h, b + b" "), id="body-whitespace"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "msg_other"}, b), id="id"),
        pytest.param(
            lambda h, b: ({**h, "webhook-timestamp": str(int(h["webhook-timestamp"]) + 1)}, b),
            id="timestamp",
        ),
    ],
)
def test_a_tampered_body_id_or_timestamp_fails_verification(tamper):
    headers, body = tamper(signed(), BODY)
    secret = DERIVER.secret(SCOPE, 1)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(body, headers)
    assert not verify_by_hand(secret, headers, body)


def test_a_derived_secret_is_whsec_and_base64_of_32_bytes_matching_the_raw_key():
    secret = DERIVER.secret(SCOPE, 1)
    assert secret.startswith("whsec_")
    raw = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    assert len(raw) == 32 and raw == DERIVER.raw(SCOPE, 1)


def test_derived_secrets_are_stable_across_restarts():
    assert SecretDeriver("server-secret").secret(SCOPE, 1) == DERIVER.secret(SCOPE, 1)
    assert SecretDeriver("server-secret").secret(tenant_scope("acme"), 4) == DERIVER.secret(
        tenant_scope("acme"), 4
    )


def test_derived_secrets_differ_per_scope_generation_and_server_secret():
    secrets = [
        DERIVER.secret(endpoint_scope("a" * 32), 1),
        DERIVER.secret(endpoint_scope("a" * 32), 2),
        DERIVER.secret(endpoint_scope("b" * 32), 1),
        DERIVER.secret(tenant_scope("acme"), 1),
        DERIVER.secret(tenant_scope("acme"), 2),
        DERIVER.secret(tenant_scope("other"), 1),
        SecretDeriver("another-server-secret").secret(tenant_scope("acme"), 1),
    ]
    assert len(set(secrets)) == len(secrets)


def test_an_endpoint_and_a_tenant_with_the_same_name_get_different_secrets():
    assert DERIVER.secret(endpoint_scope("acme"), 1) != DERIVER.secret(tenant_scope("acme"), 1)


@given(
    key=st.binary(min_size=1, max_size=64),
    body=st.binary(max_size=512),
    msg_id=st.text(st.characters(codec="ascii", exclude_characters=" "), min_size=1),
    timestamp=st.integers(0, 2**40),
)
def test_any_key_and_body_sign_exactly_like_plain_hmac(key, body, msg_id, timestamp):
    header = sign(msg_id, timestamp, body, [key])
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    assert header == "v1," + base64.b64encode(digest).decode()


def test_verifies_accepts_any_of_several_signatures_and_nothing_forged():
    old, new = b"o" * 32, b"n" * 32
    header = sign("msg_1", 1700000000, b"{}", [new, old])
    assert verifies("msg_1", 1700000000, b"{}", old, header)
    assert verifies("msg_1", 1700000000, b"{}", new, header)
    assert not verifies("msg_1", 1700000000, b"{ }", new, header)
    assert not verifies("msg_2", 1700000000, b"{}", new, header)
    assert not verifies("msg_1", 1700000001, b"{}", new, header)
    assert not verifies("msg_1", 1700000000, b"{}", b"x" * 32, header)


def test_verifies_ignores_malformed_and_foreign_entries():
    key = b"k" * 32
    good = sign("m", 1, b"b", [key])
    assert verifies("m", 1, b"b", key, f"v1,!!notbase64 v1a,{good[3:]} {good}")
    assert not verifies("m", 1, b"b", key, f"v2,{good[3:]} garbage v1,")
