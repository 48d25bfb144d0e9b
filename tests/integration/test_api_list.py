"""Over HTTP: listing videos — pages, order, filters, tenant isolation, refused parameters."""

from __future__ import annotations

import pytest

from tests.helpers import key_for, submit, wait_for


def listing(client, headers=None, **params) -> dict:
    response = client.get("/v1/videos", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict = response.json()
    return body


def ids(page: dict) -> list[str]:
    return [video["id"] for video in page["data"]]


def five_videos(client, status: str | None = None) -> list[str]:
    """Five new videos' ids, oldest first, once the list (a projection) shows them all."""
    created = [submit(client, prompt=f"fox number {n}")["id"] for n in range(5)]
    query = {"limit": 100} if status is None else {"limit": 100, "status": status}
    wait_for(lambda: set(created) <= set(ids(listing(client, **query))))
    return created


def test_pages_run_newest_first_and_chain_with_after(client):
    created = five_videos(client)
    first = listing(client, limit=2)
    assert first["object"] == "list"
    assert ids(first) == created[:-3:-1]
    assert (first["has_more"], first["first_id"], first["last_id"]) == (
        True,
        created[4],
        created[3],
    )
    second = listing(client, limit=2, after=first["last_id"])
    assert ids(second) == [created[2], created[1]]
    last = listing(client, limit=2, after=second["last_id"])
    assert (ids(last), last["has_more"]) == ([created[0]], False)


def test_order_asc_lists_oldest_first(client):
    created = five_videos(client)
    page = listing(client, order="asc", limit=3)
    assert (ids(page), page["has_more"]) == (created[:3], True)
    rest = listing(client, order="asc", limit=3, after=page["last_id"])
    assert (ids(rest), rest["has_more"]) == (created[3:], False)


def test_an_empty_page_has_no_first_or_last_id(client):
    page = listing(client)
    assert page == {
        "object": "list",
        "data": [],
        "has_more": False,
        "first_id": None,
        "last_id": None,
    }


def test_status_and_model_filter_the_list(client):
    created = five_videos(client, status="completed")
    assert set(ids(listing(client, status="completed"))) == set(created)
    assert ids(listing(client, status="failed")) == []
    assert set(ids(listing(client, model="local-preview"))) == set(created)
    assert set(ids(listing(client, model="local"))) == set(created)  # an alias filters too
    assert ids(listing(client, model="sora-2")) == []


def test_another_tenant_lists_none_of_our_videos_and_cannot_page_after_them(client):
    created = five_videos(client)
    other = key_for(client, "acme")
    assert ids(listing(client, headers=other)) == []
    response = client.get("/v1/videos", params={"after": created[0]}, headers=other)
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "after"


@pytest.mark.parametrize(
    ("params", "param"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "101"}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": ""}, "limit"),
        ({"order": "newest"}, "order"),
        ({"status": "done"}, "status"),
        ({"after": "nope"}, "after"),
        ({"after": "video_" + "0" * 32}, "after"),
        ({"page": "2"}, "page"),
    ],
)
def test_a_bad_list_parameter_is_400_naming_it(client, params, param):
    response = client.get("/v1/videos", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize("limit", ["²", "٣", "１０"])
def test_a_limit_of_non_ascii_digits_is_400_not_a_crash(client, limit):
    # '²'.isdigit() is True but int('²') raises: this once crashed the list with a 500.
    response = client.get("/v1/videos", params={"limit": limit})
    assert response.status_code == 400
    assert response.json()["error"]["param"] == "limit"
