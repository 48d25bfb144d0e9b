"""One entry of a job's audit history; rendered in `projections.feed.item`, which the
tenant event feed shares."""

from __future__ import annotations

from projections.feed.item import history_item

__all__ = ["history_item"]
