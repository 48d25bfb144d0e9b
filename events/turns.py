"""Writers on one aggregate in this process take turns.

Optimistic concurrency keeps the store right whatever the writers do, but writers of one
process racing on one aggregate mostly fail each other's saves: under a burst (sixteen
requests changing one webhook endpoint) some ran out of retries and answered 503. Taking
turns here leaves the retries to writers in other processes.
"""

from __future__ import annotations

import threading
from uuid import UUID

STRIPES = 256  # two aggregates share a lock only when their ids hash alike


class Turns:
    def __init__(self, stripes: int = STRIPES) -> None:
        # Re-entrant: a writer may, within its turn, write another aggregate on the same stripe.
        self._locks = [threading.RLock() for _ in range(stripes)]

    def of(self, aggregate_id: UUID) -> threading.RLock:
        return self._locks[aggregate_id.int % len(self._locks)]
