"""Which bytes a `Range` header asks for (RFC 9110 §14), for a file of 1000 bytes."""

from __future__ import annotations

import pytest

from service.surfaces.byte_ranges import RangeNotSatisfiable, requested_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 100)),
        ("bytes=100-", (100, 1000)),
        ("bytes=-10", (990, 1000)),
        ("bytes=-5000", (0, 1000)),  # more than the file: all of it
        ("bytes=900-5000", (900, 1000)),  # past the end: to the end
        ("bytes=999-999", (999, 1000)),
        ("BYTES = 1-2", (1, 3)),
    ],
)
def test_a_single_range_is_start_and_exclusive_end(header: str, expected: tuple[int, int]) -> None:
    assert requested_range(header, 1000) == expected


@pytest.mark.parametrize(
    "header",
    [None, "", "items=0-1", "bytes=0-1,5-6", "bytes=abc", "bytes=-", "bytes=5-1", "bytes=1"],
)
def test_anything_else_is_the_whole_file(header: str | None) -> None:
    assert requested_range(header, 1000) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0)]
)
def test_a_range_past_the_end_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, size)
