"""`service.lane`: blocking calls from the event loop, run in order by the lane's thread."""

from __future__ import annotations

import asyncio
import threading

import pytest

from service.lane import Lane


def test_calls_run_in_the_lanes_thread_and_hand_back_results_and_errors() -> None:
    lane = Lane("test", threads=3)
    threads: list[str] = []

    def named(n: int) -> int:
        threads.append(threading.current_thread().name)
        return n * 2

    def broken() -> int:
        raise ValueError("no")

    async def main() -> list[object]:
        calls = [lane.run(lambda n=n: named(n)) for n in range(10)]
        return await asyncio.gather(*calls, lane.run(broken), return_exceptions=True)

    results = asyncio.run(main())
    lane.close()
    assert results[:10] == [n * 2 for n in range(10)]
    assert isinstance(results[10], ValueError)
    assert set(threads) <= {"test-0", "test-1", "test-2"}


def test_a_closed_lane_refuses_calls() -> None:
    lane = Lane()
    lane.close()
    with pytest.raises(RuntimeError):
        asyncio.run(lane.run(lambda: 1))
