"""Local render slots are shared round-robin by tenant: a tenant with many queued renders
cannot keep another tenant's render waiting behind all of them."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.providers.fair_slots import FairSlots, TenantQueue

# A run of operations: ("push", tenant) queues that tenant's next job, ("pop", "") serves one.
operations = st.lists(
    st.one_of(
        st.tuples(st.just("push"), st.sampled_from("abcd")),
        st.tuples(st.just("pop"), st.just("")),
    ),
    max_size=200,
)


def test_a_tenant_with_one_job_is_served_second_not_after_the_other_tenants_fifty():
    queue: TenantQueue[str] = TenantQueue()
    for n in range(50):
        queue.push("flood", f"flood-{n}")
    queue.push("solo", "solo-0")
    served = [queue.pop() for _ in range(3)]
    assert served == [("flood", "flood-0"), ("solo", "solo-0"), ("flood", "flood-1")]


def test_tenants_take_turns_in_the_order_they_came():
    queue: TenantQueue[int] = TenantQueue()
    for tenant, n in [("a", 1), ("a", 2), ("b", 1), ("c", 1), ("b", 2)]:
        queue.push(tenant, n)
    order = [queue.pop() for _ in range(5)]
    assert order == [("a", 1), ("b", 1), ("c", 1), ("a", 2), ("b", 2)]
    assert queue.pop() is None


def test_a_removed_waiter_is_never_served_and_its_tenant_keeps_its_place():
    queue: TenantQueue[int] = TenantQueue()
    for tenant, n in [("a", 1), ("b", 1), ("b", 2), ("c", 1)]:
        queue.push(tenant, n)
    queue.remove("b", 1)
    queue.remove("b", 99)  # not waiting: nothing happens
    assert [queue.pop() for _ in range(3)] == [("a", 1), ("b", 2), ("c", 1)]


@given(operations)
def test_each_tenant_is_served_in_its_own_arrival_order(ops):
    queue: TenantQueue[int] = TenantQueue()
    pushed: Counter[str] = Counter()
    served: dict[str, list[int]] = {}
    for op, tenant in ops:
        if op == "push":
            queue.push(tenant, pushed[tenant])
            pushed[tenant] += 1
        elif (turn := queue.pop()) is not None:
            served.setdefault(turn[0], []).append(turn[1])
    for items in served.values():
        assert items == list(range(len(items)))
    assert len(queue) == sum(pushed.values()) - sum(map(len, served.values()))


@given(operations)
def test_no_tenant_is_served_twice_while_another_waits_unserved(ops):
    """Between two services of one tenant, every other tenant that was waiting all along
    is served once: a waiting job is passed over at most once per other tenant per round."""
    queue: TenantQueue[int] = TenantQueue()
    waiting: Counter[str] = Counter()
    passed_over: Counter[str] = Counter()  # services of *others* since the tenant was last served
    for op, tenant in ops:
        if op == "push":
            queue.push(tenant, 0)
            waiting[tenant] += 1
            continue
        turn = queue.pop()
        if turn is None:
            assert not +waiting
            continue
        served = turn[0]
        waiting[served] -= 1
        passed_over[served] = 0
        for other in (+waiting).keys() - {served}:
            passed_over[other] += 1
            # fewer other tenants than there are letters: at most 3 others go first
            assert passed_over[other] <= 3


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_slots_go_round_robin_to_waiting_tenants(anyio_backend):
    slots, started = FairSlots(1), []
    release = asyncio.Event()

    async def render(tenant: str, n: int) -> None:
        async with slots.slot(tenant):
            started.append(f"{tenant}{n}")
            await release.wait()
            release.clear()

    tasks = [asyncio.create_task(render("flood", n)) for n in range(5)]
    await asyncio.sleep(0)  # flood0 holds the slot, flood1..4 wait
    tasks.append(asyncio.create_task(render("solo", 0)))
    for _ in range(6):
        await asyncio.sleep(0.01)
        release.set()
    await asyncio.gather(*tasks)
    assert started == ["flood0", "flood1", "solo0", "flood2", "flood3", "flood4"]
    assert slots.free == 1 and slots.waiting == 0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_a_waiter_that_gives_up_leaves_the_line_and_takes_no_slot(anyio_backend):
    slots = FairSlots(1)
    holder_may_finish = asyncio.Event()

    async def hold() -> None:
        async with slots.slot("a"):
            await holder_may_finish.wait()

    holder = asyncio.create_task(hold())
    await asyncio.sleep(0)
    waiter = asyncio.create_task(slots.slot("b").__aenter__())
    await asyncio.sleep(0)
    assert slots.waiting == 1
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert slots.waiting == 0
    holder_may_finish.set()
    await holder
    assert slots.free == 1
