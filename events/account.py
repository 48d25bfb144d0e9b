"""The `Account` aggregate: a tenant's credit ledger, every movement of money an event.

Amounts are integer micro-dollars (1 USD = 1,000,000), so sums never drift. A job's money
moves once each way: `reserve` at submit (saved in the same transaction as the job's
`Submitted`, so a job exists exactly when its reservation does), then exactly one of `settle`
(completed: the actual cost) or `release` (failed, canceled, refused). `settle` and `release`
are idempotent per job: a repeated or late call appends nothing, so a retry after a crash
neither loses nor double-counts.
Invariant, after any sequence of commands: available + reserved + spent == granted.
"""

from __future__ import annotations

from uuid import UUID, uuid5

from eventsourcing.domain import Aggregate, event

from events.ids import NAMESPACE

MICROS = 1_000_000


def account_id(tenant: str) -> UUID:
    return uuid5(NAMESPACE, f"/tenants/{tenant}/account")


def to_micros(dollars: float) -> int:
    return round(dollars * MICROS)


class InsufficientCredits(Exception):
    """The account can't cover a reservation; nothing was appended."""

    def __init__(self, price: int, available: int) -> None:
        super().__init__(f"the price {price / MICROS:.2f} exceeds the available balance")
        self.price, self.available = price, available


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

    class CreditsReserved(Event):
        TOPIC = "vidgate:Account.CreditsReserved"
        job_id: UUID
        amount: int

        def apply(self, account: Account) -> None:
            account.reservations[str(self.job_id)] = self.amount

    class CreditsSettled(Event):
        TOPIC = "vidgate:Account.CreditsSettled"
        job_id: UUID
        amount: int
        reserved: int

        def apply(self, account: Account) -> None:
            account.reservations.pop(str(self.job_id), None)
            account.spent += self.amount

    class CreditsReleased(Event):
        TOPIC = "vidgate:Account.CreditsReleased"
        job_id: UUID
        amount: int
        reason: str

        def apply(self, account: Account) -> None:
            account.reservations.pop(str(self.job_id), None)

    @staticmethod
    def create_id(tenant: str) -> UUID:
        return account_id(tenant)

    @event(Opened)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.granted = self.spent = 0
        # Only open reservations are kept, so the state (and a snapshot) stays small; keyed
        # by the job id as text because snapshots are JSON objects.
        self.reservations: dict[str, int] = {}

    @property
    def reserved(self) -> int:
        return sum(self.reservations.values())

    @property
    def available(self) -> int:
        return self.granted - self.reserved - self.spent

    def grant(self, amount: int, note: str = "") -> None:
        if amount <= 0:
            raise ValueError("a grant must be a positive amount")
        self.trigger_event(self.CreditsGranted, amount=amount, note=note)

    def reserve(self, job_id: UUID, amount: int) -> None:
        """Hold `amount` for the job; `InsufficientCredits` if the balance can't cover it."""
        if str(job_id) in self.reservations:
            return  # a retried submit: its money is already held
        if amount > self.available:
            raise InsufficientCredits(amount, self.available)
        self.trigger_event(self.CreditsReserved, job_id=job_id, amount=amount)

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
