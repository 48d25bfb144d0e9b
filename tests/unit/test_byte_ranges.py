"""Which bytes a `Range` header asks for (RFC 9110 §14), for a file of 1000 bytes: as
Starlette's `FileResponse` reads it for a local file."""

from __future__ import annotations

import pytest
from starlette.responses import FileResponse

from service.surfaces.byte_ranges import MalformedRange, RangeNotSatisfiable, requested_range

SINGLE = [
    ("bytes=0-99", (0, 100)),
    ("bytes=100-", (100, 1000)),
    ("bytes=-10", (990, 1000)),
    ("bytes=-5000", (0, 1000)),  # more than the file: all of it
    ("bytes=900-5000", (900, 1000)),  # past the end: to the end
    ("bytes=999-999", (999, 1000)),
    ("BYTES = 1-2", (1, 3)),
    ("bytes=abc,5-6", (5, 7)),  # a part that is no range is skipped
]
MALFORMED = ["bytes", "items=0-1", "bytes=abc", "bytes=-", "bytes=1", "bytes=5-1", "bytes="]
PAST_THE_END = [("bytes=1000-", 1000), ("bytes=-0", 1000), ("bytes=0-", 0)]


@pytest.mark.parametrize(("header", "expected"), SINGLE)
def test_a_single_range_is_start_and_exclusive_end(header: str, expected: tuple[int, int]) -> None:
    assert requested_range(header, 1000) == expected


def test_no_header_or_several_ranges_is_the_whole_file() -> None:
    assert requested_range(None, 1000) is None
    assert requested_range("bytes=0-1,5-6", 1000) is None


@pytest.mark.parametrize("header", MALFORMED)
def test_a_malformed_header_is_refused(header: str) -> None:
    with pytest.raises(MalformedRange):
        requested_range(header, 1000)


@pytest.mark.parametrize(("header", "size"), PAST_THE_END)
def test_a_range_past_the_end_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        requested_range(header, size)


@pytest.mark.parametrize(
    "header", [h for h, _ in SINGLE] + MALFORMED + [h for h, _ in PAST_THE_END[:2]]
)
def test_it_reads_every_header_as_starlettes_file_response_does(header: str) -> None:
    """The bucket's answers match the local file's (Starlette's parser, a private method)."""
    try:
        ours: object = [requested_range(header, 1000)]
    except MalformedRange:
        ours = "400"
    except RangeNotSatisfiable:
        ours = "416"
    try:
        theirs: object = FileResponse._parse_range_header(header, 1000)
    except Exception as error:  # Starlette's own MalformedRangeHeader / RangeNotSatisfiable
        theirs = "416" if type(error).__name__ == "RangeNotSatisfiable" else "400"
    assert ours == theirs
