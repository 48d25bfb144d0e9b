"""`GET /v1/balance`: the tenant's own ledger, in dollars."""

from __future__ import annotations

from events.account import to_micros
from tests.helpers import key_for, runtime_of


def test_an_unmetered_tenant_sees_a_zero_unmetered_balance(client):
    answer = client.get("/v1/balance")
    assert answer.status_code == 200
    assert answer.json() == {
        "object": "balance",
        "currency": "USD",
        "metered": False,
        "available": None,
        "reserved": 0.0,
        "spent": 0.0,
    }


def test_a_tenant_sees_its_grants_and_no_one_elses(client):
    gateway = runtime_of(client).gateway
    gateway.grant_credits("default", to_micros(5.00))
    gateway.grant_credits("other", to_micros(99.00))
    assert client.get("/v1/balance").json()["available"] == 5.0
    other = client.get("/v1/balance", headers=key_for(client, "other"))
    assert other.json()["available"] == 99.0


def test_the_balance_needs_a_key(client):
    assert client.get("/v1/balance", headers={"Authorization": ""}).status_code == 401
