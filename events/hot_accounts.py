"""Accounts kept in memory between the submits of this process, one submit at a time each.

A metered submit reserves on its tenant's `Account` in the same save as the job. Loading the
account for every submit (a snapshot holding every open reservation, plus the events since)
and letting concurrent submits of one tenant race on its version cost ~6× the submit itself.
So each account is used by one writer at a time per process (its turn, `events.turns`, which
grants and `settle_credits`/`release_credits` take too), and the aggregate saved
by the last submit is reused by the next one. It can only be stale when another writer
(another process, a settlement, a grant) saved the account since: the save then fails on the
version, the kept copy is dropped and the submit retried on a fresh load — and a refusal seen
on a kept copy is confirmed on a fresh load before it is believed.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from uuid import UUID

from events.account import Account

KEPT = 1024  # accounts kept, least recently used dropped first


class HotAccounts:
    def __init__(self, kept: int = KEPT) -> None:
        self._kept = kept
        self._accounts: OrderedDict[UUID, Account] = OrderedDict()
        self._guard = threading.Lock()  # for `_accounts` itself

    def get(self, account_id: UUID) -> Account | None:
        with self._guard:
            account = self._accounts.get(account_id)
            if account is not None:
                self._accounts.move_to_end(account_id)
            return account

    def keep(self, account: Account) -> None:
        """Remember `account` as saved (no pending events)."""
        with self._guard:
            self._accounts[account.id] = account
            self._accounts.move_to_end(account.id)
            while len(self._accounts) > self._kept:
                self._accounts.popitem(last=False)

    def forget(self, account_id: UUID, unless: Account | None = None) -> None:
        """Drop the kept copy (it is, or may be, stale), unless it is `unless` itself."""
        with self._guard:
            if unless is None or self._accounts.get(account_id) is not unless:
                self._accounts.pop(account_id, None)
