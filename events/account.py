"""The `Account` aggregate: a tenant's credit ledger, every movement of money an event.

Amounts are integer micro-dollars (1 USD = 1,000,000), so sums never drift. A job's money
moves once each way: `reserve` at submit (saved in the same transaction as the job's
`Submitted`, so a job exists exactly when its reservation does), then exactly one of `settle`
(completed: the actual cost) or `release` (failed, canceled, refused). `settle` and `release`
are idempotent per job: a repeated or late call appends nothing, so a retry after a crash
neither loses nor double-counts.
Invariant, after any sequence of commands: available + reserved + spent == granted.

An account is *metered* (its balance is enforced) once it was granted credits. A tenant whose
keys have a concurrency limit or a monthly budget gets an account too, unmetered unless
granted: it tracks each reservation's key, so the open jobs and the month's spend of a key are
known at the next submit, in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.ids import NAMESPACE

MICROS = 1_000_000


def account_id(tenant: str) -> UUID:
    return uuid5(NAMESPACE, f"/tenants/{tenant}/account")


def to_micros(dollars: float) -> int:
    return round(dollars * MICROS)


def month_of(moment: object) -> str:
    """`2026-12` for a datetime (the month a settlement counts in, UTC)."""
    return f"{getattr(moment, 'year', 0):04d}-{getattr(moment, 'month', 0):02d}"


@dataclass(frozen=True)
class Charge:
    """What a submit reserves, and the limits it must fit: the caller's key, if limited."""

    amount: int
    prepaid: bool = False  # enforce the balance even without an account (no grant: refused)
    key: str | None = None
    max_concurrent: int | None = None
    monthly_budget: int | None = None
    month: str = ""  # the current month (UTC), for the budget

    @property
    def tracks_key(self) -> bool:
        """Whether the key's limits need an account even for an unmetered tenant."""
        limited = self.max_concurrent is not None or self.monthly_budget is not None
        return self.key is not None and limited


class InsufficientCredits(Exception):
    """The account can't cover a reservation; nothing was appended."""

    def __init__(self, price: int, available: int) -> None:
        super().__init__(f"the price {price / MICROS:.2f} exceeds the available balance")
        self.price, self.available = price, available


class KeyLimitReached(Exception):
    """A key's limit refuses the job; `limit` is the key's, `used` what it already has."""

    def __init__(self, kind: str, limit: int, used: int) -> None:
        super().__init__(f"the key's {kind} limit ({limit}) is reached ({used})")
        self.kind, self.limit, self.used = kind, limit, used


class Account(Aggregate):
    TOPIC = "vidgate:Account"

    class Event(Aggregate.Event):
        TOPIC = "vidgate:Account.Event"

    class Opened(Event, Aggregate.Created):
        TOPIC = "vidgate:Account.Opened"
        tenant: str

    class CreditsGranted(Event):
        TOPIC = "vidgate:Account.CreditsGranted"
        amount: int
        note: str

        def apply(self, account: Account) -> None:
            account.granted += self.amount
            account.metered = True

    class CreditsReserved(Event):
        TOPIC = "vidgate:Account.CreditsReserved"
        job_id: UUID
        amount: int
        key: str | None  # the API key (its id, hex) that submitted the job

        def apply(self, account: Account) -> None:
            account.reservations[str(self.job_id)] = self.amount
            if self.key is not None:
                account.holders[str(self.job_id)] = self.key

    class CreditsSettled(Event):
        TOPIC = "vidgate:Account.CreditsSettled"
        job_id: UUID
        amount: int
        reserved: int

        def apply(self, account: Account) -> None:
            account.reservations.pop(str(self.job_id), None)
            account.spent += self.amount
            key = account.holders.pop(str(self.job_id), None)
            if key is not None:
                account.count_spend(key, month_of(self.timestamp), self.amount)

    class CreditsReleased(Event):
        TOPIC = "vidgate:Account.CreditsReleased"
        job_id: UUID
        amount: int
        reason: str

        def apply(self, account: Account) -> None:
            account.reservations.pop(str(self.job_id), None)
            account.holders.pop(str(self.job_id), None)

    @staticmethod
    def create_id(tenant: str) -> UUID:
        return account_id(tenant)

    @event(Opened)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.granted = self.spent = 0
        self.metered = False
        # Only open reservations are kept, so the state (and a snapshot) stays small; keyed
        # by the job id as text because snapshots are JSON objects.
        self.reservations: dict[str, int] = {}
        self.holders: dict[str, str] = {}  # job → the key that submitted it (open jobs only)
        self.key_spend: dict[str, dict[str, int]] = {}  # key → {its latest month: micros}

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.granted - self.reserved - self.spent

    def open_jobs(self, key: str) -> int:
        return sum(1 for holder in self.holders.values() if holder == key)

    def committed(self, key: str, month: str) -> int:
        """What the key spent this month plus what its open jobs hold."""
        settled = self.key_spend.get(key, {}).get(month, 0)
        held = sum(self.reservations[job] for job, k in self.holders.items() if k == key)
        return settled + held

    def count_spend(self, key: str, month: str, amount: int) -> None:
        """Add a settlement to the key's month; an earlier month is dropped, not kept."""
        before = self.key_spend.get(key, {}).get(month, 0)
        self.key_spend[key] = {month: before + amount}

    def grant(self, amount: int, note: str = "") -> None:
        if amount <= 0:
            raise ValueError("a grant must be a positive amount")
        self.trigger_event(self.CreditsGranted, amount=amount, note=note)

    def reserve(self, job_id: UUID, amount: int | Charge) -> None:
        """Hold the charge's amount for the job. Refused with `KeyLimitReached` when its key
        already has `max_concurrent` open jobs or this would take the key past its
        `monthly_budget` this month; with `InsufficientCredits` when the account is metered
        (or the charge `prepaid`) and the balance can't cover it."""
        charge = amount if isinstance(amount, Charge) else Charge(amount)
        if str(job_id) in self.reservations:
            return  # a retried submit: its money is already held
        if charge.key is not None:
            self._check_key_limits(charge.key, charge)
        if (self.metered or charge.prepaid) and charge.amount > self.available:
            raise InsufficientCredits(charge.amount, self.available)
        self.trigger_event(
            self.CreditsReserved, job_id=job_id, amount=charge.amount, key=charge.key
        )

    def _check_key_limits(self, key: str, charge: Charge) -> None:
        if charge.max_concurrent is not None:
            open_jobs = self.open_jobs(key)
            if open_jobs >= charge.max_concurrent:
                raise KeyLimitReached("concurrent jobs", charge.max_concurrent, open_jobs)
        if charge.monthly_budget is not None:
            committed = self.committed(key, charge.month)
            if committed + charge.amount > charge.monthly_budget:
                raise KeyLimitReached("monthly budget", charge.monthly_budget, committed)

    def settle(self, job_id: UUID, amount: int | None = None) -> None:
        """Spend the job's reservation, or `amount` (the upstream's actual cost) instead."""
        reserved = self.reservations.get(str(job_id))
        if reserved is None:
            return  # never reserved here, or already settled/released
        spent = reserved if amount is None else amount
        self.trigger_event(self.CreditsSettled, job_id=job_id, amount=spent, reserved=reserved)

    def release(self, job_id: UUID, reason: str) -> None:
        """Give the job's reservation back (it failed, was canceled, or was refused)."""
        reserved = self.reservations.get(str(job_id))
        if reserved is None:
            return
        self.trigger_event(self.CreditsReleased, job_id=job_id, amount=reserved, reason=reason)
