"""Signed output links: what a token proves, and what it refuses (the clock is injected)."""

from __future__ import annotations

import uuid

import pytest

from service.storage.links import InvalidLink, OutputLinks

V2, TASKS = "/v2/files", "/v1/video/files"


def test_a_link_names_its_job_for_its_surface() -> None:
    links, job = OutputLinks(["k1"]), uuid.uuid4()
    assert links.job_id(V2, links.token(V2, job)) == job


def test_a_link_for_one_surface_is_refused_on_another() -> None:
    links = OutputLinks(["k1"])
    with pytest.raises(InvalidLink) as refused:
        links.job_id(TASKS, links.token(V2, uuid.uuid4()))
    assert not refused.value.expired


# Tampering that always changes what is signed (the last base64 character of a signature
# holds padding bits too: changing it may change nothing).
@pytest.mark.parametrize(
    "mangle", [lambda t: ("B" if t[0] == "A" else "A") + t[1:], lambda t: "x" + t, lambda t: ""]
)
def test_tampered_links_are_refused(mangle) -> None:  # type: ignore[no-untyped-def]
    links = OutputLinks(["k1"])
    with pytest.raises(InvalidLink):
        links.job_id(V2, mangle(links.token(V2, uuid.uuid4())))


def test_a_link_signed_with_another_key_is_refused() -> None:
    forged = OutputLinks(["attacker"]).token(V2, uuid.uuid4())
    with pytest.raises(InvalidLink):
        OutputLinks(["k1"]).job_id(V2, forged)


def test_links_from_before_a_key_rotation_still_work() -> None:
    job = uuid.uuid4()
    old = OutputLinks(["k1"]).token(V2, job)
    assert OutputLinks(["k1", "k2"]).job_id(V2, old) == job


def test_a_link_expires_after_its_max_age() -> None:
    now = [1_000_000.0]
    links = OutputLinks(["k1"], max_age=3600, clock=lambda: now[0])
    job = uuid.uuid4()
    token = links.token(V2, job)
    now[0] += 3600
    assert links.job_id(V2, token) == job
    now[0] += 2
    with pytest.raises(InvalidLink) as refused:
        links.job_id(V2, token)
    assert refused.value.expired


def test_links_need_a_key() -> None:
    with pytest.raises(ValueError, match="at least one key"):
        OutputLinks([])
