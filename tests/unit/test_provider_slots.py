"""The bookkeeping behind per-provider concurrency caps: who holds a slot, who waits."""

from __future__ import annotations

from uuid import UUID, uuid4

from service.workers.slots import ProviderSlots


def jobs(n: int) -> list[UUID]:
    return [uuid4() for _ in range(n)]


def test_jobs_are_admitted_up_to_the_cap_first_queued_first():
    slots = ProviderSlots({"fal": 2})
    a, b, c = jobs(3)
    for job in (a, b, c):
        slots.queue("fal", job)
    assert slots.admit() == [a, b]
    assert slots.admit() == []  # c waits
    assert slots.counts() == {"fal": (2, 1)}


def test_a_job_that_ends_frees_its_slot_for_the_next_in_line():
    slots = ProviderSlots({"fal": 1})
    a, b, c = jobs(3)
    for job in (a, b, c):
        slots.queue("fal", job)
    slots.admit()
    slots.release(a)
    assert slots.admit() == [b]
    assert slots.holds(b) and not slots.holds(c)


def test_a_waiting_job_that_ends_leaves_the_line_without_taking_a_slot():
    slots = ProviderSlots({"fal": 1})
    a, b, c = jobs(3)
    for job in (a, b, c):
        slots.queue("fal", job)
    slots.admit()
    slots.release(b)  # canceled while queued
    slots.release(a)
    assert slots.admit() == [c]
    assert slots.counts() == {"fal": (1, 0)}


def test_queueing_a_known_job_again_changes_nothing():
    slots = ProviderSlots({"fal": 1})
    a, b = jobs(2)
    assert slots.queue("fal", a) and slots.queue("fal", b)
    slots.admit()
    assert not slots.queue("fal", a) and not slots.queue("fal", b)
    assert slots.counts() == {"fal": (1, 1)}


def test_each_provider_has_its_own_cap_and_line():
    slots = ProviderSlots({"fal": 1, "kling": 2})
    f1, f2, k1, k2, k3 = jobs(5)
    for provider, job in (("fal", f1), ("kling", k1), ("fal", f2), ("kling", k2), ("kling", k3)):
        slots.queue(provider, job)
    assert set(slots.admit()) == {f1, k1, k2}
    slots.release(k1)
    assert slots.admit() == [k3]
    assert slots.counts() == {"fal": (1, 1), "kling": (2, 0)}


def test_jobs_found_holding_slots_count_even_over_a_lowered_cap():
    slots = ProviderSlots({"fal": 1})
    a, b, c = jobs(3)
    slots.hold("fal", a)
    slots.hold("fal", b)  # dispatched when the cap was higher
    slots.queue("fal", c)
    assert slots.admit() == []
    slots.release(a)
    assert slots.admit() == []  # still one holding: the cap is met
    slots.release(b)
    assert slots.admit() == [c]


def test_a_waiting_job_found_holding_a_slot_moves_out_of_the_line():
    slots = ProviderSlots({"fal": 2})
    a = uuid4()
    slots.queue("fal", a)
    slots.hold("fal", a)
    assert slots.counts() == {"fal": (1, 0)} and slots.holds(a)


def test_releasing_an_unknown_job_and_uncapped_providers_are_no_ops():
    slots = ProviderSlots({"fal": 1})
    slots.release(uuid4())
    assert not slots.capped("luma") and slots.capped("fal")
    assert slots.counts() == {"fal": (0, 0)}


def test_clear_forgets_everything():
    slots = ProviderSlots({"fal": 1})
    a, b = jobs(2)
    slots.queue("fal", a)
    slots.queue("fal", b)
    slots.admit()
    slots.clear()
    assert not slots.knows(a) and slots.counts() == {"fal": (0, 0)}
