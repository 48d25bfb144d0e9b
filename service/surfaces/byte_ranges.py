"""The `Range` header of a download (RFC 9110 §14): one range of bytes, or the whole file."""

from __future__ import annotations


class RangeNotSatisfiable(Exception):
    """The range starts past the end of the file (a 416)."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of a single `bytes=` range of a file of `size` bytes; None for
    the whole file: no header, another unit, a malformed or a multi-range header (which a
    server may answer with the whole file, RFC 9110 §14.2)."""
    unit, _, spec = (header or "").partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first, dash, last = (part.strip() for part in spec.partition("-"))
    if not dash or not (first or last) or not (first + last).isdigit():
        return None
    if not first:  # `bytes=-N`: the last N bytes
        if int(last) == 0 or size == 0:
            raise RangeNotSatisfiable
        return max(size - int(last), 0), size
    start = int(first)
    end = min(int(last) + 1, size) if last else size
    if last and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable
    return start, end
