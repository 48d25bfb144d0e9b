"""The `Range` header of a download (RFC 9110 §14), read as Starlette's `FileResponse` reads
it for a local file, so that a file in a bucket answers the same: a malformed header is a
400, a range starting past the end a 416. One difference: a request for several ranges gets
the whole file (a server may ignore a Range, §14.2) rather than a multipart answer."""

from __future__ import annotations


class MalformedRange(Exception):
    """A header that asks for no range vidgate can read (a 400)."""


class RangeNotSatisfiable(Exception):
    """A range starting past the end of the file (a 416)."""


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(start, end exclusive) of the one range asked for in a file of `size` bytes; None for
    the whole file (no header, or several ranges)."""
    if header is None:
        return None
    unit, equals, spec = header.partition("=")
    if not equals:
        raise MalformedRange("Malformed range header.")
    if unit.strip().lower() != "bytes":
        raise MalformedRange("Only support bytes range")
    ranges = [bounds for part in spec.split(",") if (bounds := _bounds(part.strip(), size))]
    if not ranges:
        raise MalformedRange("Range header: range must be requested")
    if any(not 0 <= start < size for start, _ in ranges):
        raise RangeNotSatisfiable
    if any(start >= end for start, end in ranges):
        raise MalformedRange("Range header: start must be less than end")
    return ranges[0] if len(ranges) == 1 else None


def _bounds(part: str, size: int) -> tuple[int, int] | None:
    """`a-b`, `a-` or `-n` as (start, end exclusive); None for a part that is none of them."""
    first, dash, last = (piece.strip() for piece in part.partition("-"))
    if not dash or not (first or last):
        return None
    try:
        if not first:  # the last `n` bytes
            return max(size - int(last), 0), size
        start = int(first)
        return start, (int(last) + 1 if last and int(last) < size else size)
    except ValueError:
        return None
