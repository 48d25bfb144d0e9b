"""The `Gateway` application: load, act, save — with optimistic-concurrency retries."""

from __future__ import annotations

import contextlib
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast
from uuid import UUID

from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProjectorFunction,
    Repository,
    project_aggregate,
)
from eventsourcing.persistence import IntegrityError
from eventsourcing.utils import get_topic

from events.account import Account, Charge, InsufficientCredits, KeyLimitReached, to_micros
from events.apikey import ApiKey, KeyLimits
from events.endpoint import WebhookEndpoint
from events.hot_accounts import HotAccounts
from events.job import Job
from events.turns import Turns
from events.upstream import UpstreamLink

SAVE_ATTEMPTS = 6
ACCOUNTLESS_SECONDS = 5.0  # how long "this tenant is unmetered" is believed without a read
# Its own generator: the global one is shared with callers (and with Hypothesis in tests).
_JITTER = random.Random()


ENDINGS = (Job.Completed, Job.Failed, Job.Canceled)


class JobContention(Exception):
    """Too many concurrent writers on one aggregate; the caller may retry later."""


class Gateway(Application[UUID]):
    """Every aggregate of vidgate lives in this one application sequence."""

    name = "vidgate"
    # An account takes an event per reservation and per settlement: a snapshot every 100
    # keeps loading it (once per metered submit) short however long its history grows.
    snapshotting_intervals = {Account: 100}

    def __init__(
        self, env: dict[str, str] | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(env)
        self._listeners: list[Callable[[], None]] = []
        self._clock = clock
        self._accountless: dict[str, float] = {}  # tenant → when "it has no account" was seen
        self._hot = HotAccounts()
        self._turns = Turns()

    def construct_repository(self) -> Repository[UUID]:
        """Jobs, keys and endpoints load from their events alone: a snapshot store in the
        general repository would cost every load one more query. Accounts, whose histories
        grow with every job, load through `_accounts`, which reads snapshots."""
        self._accounts: Repository[UUID] = Repository(
            event_store=self.events, snapshot_store=self.snapshots
        )
        return Repository(event_store=self.events)

    def take_snapshot(
        self,
        aggregate_id: UUID,
        version: int | None = None,
        projector_func: ProjectorFunction[Any, Any] = project_aggregate,
    ) -> None:
        """As the library's, but loading through the snapshot-reading repository, so a
        snapshot starts from the last one instead of replaying the whole history."""
        assert self.snapshots is not None
        aggregate = self._accounts.get(aggregate_id, version=version, projector_func=projector_func)
        snapshot_class = getattr(type(aggregate), "Snapshot", type(self).snapshot_class)
        assert snapshot_class is not None
        self.snapshots.put([snapshot_class.take(aggregate)])

    def on_saved(self, listener: Callable[[], None]) -> None:
        """Call `listener` after every save in this process (wakes followers early)."""
        self._listeners.append(listener)

    def save(self, *objs: Any, hot: bool = False, **kwargs: Any) -> Any:
        """Save, and wake this process's listeners. An account saved outside the submit path
        (`hot`) makes its kept copy stale: it is dropped."""
        if not hot:
            for obj in objs:
                if isinstance(obj, Account):
                    self._hot.forget(obj.id, unless=obj)
        recordings = super().save(*objs, **kwargs)
        for listener in self._listeners:
            listener()
        return recordings

    # jobs

    def submit(self, **fields: Any) -> tuple[Job, bool]:
        """Create a job; with an idempotency key, return the existing one (and False)."""
        return self.submit_charged(fields, None)

    def submit_charged(self, fields: Mapping[str, Any], charge: Charge | None) -> tuple[Job, bool]:
        """`submit`, reserving the `charge` when the tenant is metered or the key limited.

        A tenant is metered when it was granted credits (or always, with `charge.prepaid`);
        a key with a concurrency limit or a monthly budget is tracked on its tenant's
        account (opened for it if needed). The reservation is saved in the same transaction
        as `Submitted`; `InsufficientCredits` or `KeyLimitReached` when it can't be made,
        and nothing is saved. A concurrent writer on the account makes the save fail whole:
        it is retried against the reloaded account, so concurrent submits never overspend.
        Submits on one account take turns in this process (see `events.hot_accounts`).
        """
        tenant = str(fields.get("tenant"))
        for attempt in range(SAVE_ATTEMPTS):
            job = Job(**fields)
            if fields.get("idempotency_key"):
                existing = self.find_job(job.id)
                if existing is not None:
                    return existing, False
            if not self._tracked(tenant, charge):
                try:
                    self.save(job)
                except IntegrityError:  # a concurrent submit with the same idempotency key
                    existing = self.find_job(job.id)
                    if existing is None:
                        raise
                    return existing, False
                return job, True
            assert charge is not None
            with self._turns.of(Account.create_id(tenant)):  # see `events.hot_accounts`
                saved = self._save_reserved(job, charge)
            if saved:
                return job, True
            existing = self.find_job(job.id)
            if existing is not None:
                return existing, False
            time.sleep(_JITTER.uniform(0, 0.005 * (attempt + 1)))
        raise JobContention(f"the account of {tenant!r} changed under every try")

    def _tracked(self, tenant: str, charge: Charge | None) -> bool:
        """Whether the submit must reserve on an account (one may not exist yet)."""
        if charge is None:
            return False
        if charge.prepaid or charge.tracks_key:
            return True
        return not self._known_accountless(tenant)

    def _save_reserved(self, job: Job, charge: Charge) -> bool:
        """Save the job with its reservation; False when another writer got there first."""
        account = self._reserve(job, charge)
        if account is None:
            objs: tuple[Any, ...] = (job,)
        else:
            objs = (job, account)
        try:
            self.save(*objs, hot=True)
        except BaseException as error:
            # The kept copy took the reservation that was not saved: never reuse it (its next
            # save would skip a version).
            self._hot.forget(Account.create_id(job.tenant))
            if isinstance(error, IntegrityError):
                return False
            raise
        if account is not None:
            self._hot.keep(account)
        return True

    def _reserve(self, job: Job, charge: Charge) -> Account | None:
        """The tenant's account with the job's charge reserved, or None when untracked. A
        refusal seen on the kept copy is checked again on a fresh load."""
        kept = self._hot.get(Account.create_id(job.tenant))
        if kept is not None:
            try:
                kept.reserve(job.id, charge)
                return kept
            except (InsufficientCredits, KeyLimitReached):
                self._hot.forget(kept.id)  # maybe stale: a grant or an ended job since
        account = self.find_account(job.tenant)
        if account is None:
            if charge.prepaid:
                raise InsufficientCredits(charge.amount, 0)
            if not charge.tracks_key:
                return None  # unmetered, and no key limit to keep count for
            account = Account(tenant=job.tenant)  # its creation is part of this save
        account.reserve(job.id, charge)
        return account

    def find_job(self, job_id: UUID, version: int | None = None) -> Job | None:
        try:
            job: Job = self.repository.get(job_id, version=version)
        except AggregateNotFoundError:
            return None
        return job if isinstance(job, Job) else None

    def update_job(self, job_id: UUID, command: Callable[[Job], None]) -> Job:
        """Run `command` on the job; when it ends the job, the job's money moves in the same
        transaction (see `_settlement`)."""
        job: Job = self._update(job_id, command, self._settlement)
        return job

    def _settlement(self, job: Job) -> list[Account]:
        """The metered tenant's account with the ended job's reservation settled or released.

        Completed: settled at the upstream's reported cost, else at the reserved price.
        Canceled after dispatch: settled (the upstream was asked to render and may charge).
        Failed, or canceled before dispatch: released.
        """
        ended = next((e for e in job.pending_events if isinstance(e, ENDINGS)), None)
        if ended is None:
            return []
        account = self.find_account(job.tenant)
        if account is None:
            return []  # unmetered
        if isinstance(ended, Job.Completed):
            account.settle(job.id, None if ended.cost is None else to_micros(ended.cost))
        elif isinstance(ended, Job.Canceled) and job.is_dispatched:
            account.settle(job.id)
        else:
            account.release(
                job.id, reason=ended.code if isinstance(ended, Job.Failed) else "canceled"
            )
        return [account] if account.pending_events else []

    def _update(
        self,
        aggregate_id: UUID,
        command: Callable[[Any], None],
        companions: Callable[[Any], Sequence[Any]] = lambda _: (),
        load: Callable[[UUID], Any] | None = None,
    ) -> Any:
        """Load the aggregate (with `load`, else from its events), run `command` on it, and
        save what it produced.

        `companions` are aggregates saved in the same transaction when it produced
        something. A concurrent writer makes the save fail as a whole; the aggregate is then
        reloaded and the command re-run, so its guards see the latest state.
        """
        load = load or self.repository.get
        for attempt in range(SAVE_ATTEMPTS):
            with self._turns.of(aggregate_id):  # see `events.turns`
                aggregate: Any = load(aggregate_id)
                command(aggregate)
                if not aggregate.pending_events:
                    return aggregate  # nothing happened: no empty write transaction
                try:
                    self.save(aggregate, *companions(aggregate))
                    return aggregate
                except IntegrityError:
                    pass  # another process wrote it: reload after a pause, outside the turn
            time.sleep(_JITTER.uniform(0, 0.005 * (attempt + 1)))
        raise JobContention(f"{aggregate_id} changed {SAVE_ATTEMPTS} times under us")

    def record_dispatch(self, job_id: UUID, provider: str, upstream_id: str) -> Job:
        """`Dispatched`, and the upstream-id link to the job in the same transaction."""

        def link(job: Job) -> list[UpstreamLink]:
            new = UpstreamLink(provider=provider, upstream_id=upstream_id, job_id=job.id)
            return [] if self.job_for_upstream(provider, upstream_id) else [new]

        job: Job = self._update(job_id, lambda job: job.dispatch(provider, upstream_id), link)
        return job

    def record_intent(self, job_id: UUID, provider: str, attempt_id: str) -> Job:
        """`DispatchIntended`, saved before the upstream is asked (see `Job.intend_dispatch`)."""
        job: Job = self._update(job_id, lambda job: job.intend_dispatch(provider, attempt_id))
        return job

    def job_for_upstream(self, provider: str, upstream_id: str) -> UUID | None:
        """The job a provider's own id belongs to (see `events.upstream`)."""
        try:
            link: Any = self.repository.get(UpstreamLink.create_id(provider, upstream_id))
        except AggregateNotFoundError:
            return None
        return link.job_id if isinstance(link, UpstreamLink) else None

    def record_progress(
        self, job_id: UUID, percent: int, source: str, upstream_status: str | None = None
    ) -> Job:
        return self.update_job(
            job_id, lambda job: job.progress_to(percent, source, upstream_status)
        )

    def record_failure(
        self,
        job_id: UUID,
        code: str,
        message: str,
        source: str,
        *,
        retryable: bool = False,
        upstream_status: str | None = None,
    ) -> Job:
        return self.update_job(
            job_id,
            lambda job: job.fail(
                code, message, source, retryable=retryable, upstream_status=upstream_status
            ),
        )

    def record_stored_completion(self, job_id: UUID, output: dict[str, Any], source: str) -> Job:
        """Completed and OutputStored in one save: the output is already in our storage."""

        def complete_and_store(job: Job) -> None:
            job.complete(output, source)
            if job.status == "completed" and not job.output_stored:
                job.store_output(output["url"], output["bytes"], output["sha256"], source)

        return self.update_job(job_id, complete_and_store)

    def history(self, job_id: UUID) -> list[Job.Event]:
        """Every event of the job, in order (its audit trail)."""
        return [cast(Job.Event, event) for event in self.events.get(job_id)]

    # credits

    def find_account(self, tenant: str) -> Account | None:
        try:
            account: Any = self._accounts.get(Account.create_id(tenant))
        except AggregateNotFoundError:
            self._accountless[tenant] = self._clock()
            return None
        return account if isinstance(account, Account) else None

    def _known_accountless(self, tenant: str) -> bool:
        """Whether `tenant` had no account within `ACCOUNTLESS_SECONDS`. An account opened by
        another process (a first `vidgate credits grant`) meters this one within that time;
        one opened here, at once."""
        seen = self._accountless.get(tenant)
        return seen is not None and self._clock() - seen < ACCOUNTLESS_SECONDS

    def grant_credits(self, tenant: str, amount: int, note: str = "") -> Account:
        """Add credits, opening the tenant's account (and so metering it) if needed."""
        self._accountless.pop(tenant, None)
        if self.find_account(tenant) is None:
            self._accountless.pop(tenant, None)
            with contextlib.suppress(IntegrityError):  # opened concurrently: grant on that
                self.save(Account(tenant=tenant))
        account: Account = self._update(
            Account.create_id(tenant),
            lambda account: account.grant(amount, note),
            load=self._accounts.get,
        )
        return account

    def settle_credits(self, tenant: str, job_id: UUID, amount: int | None = None) -> None:
        """Spend the job's reservation (the actual cost, when the upstream reported one)."""
        if self.find_account(tenant) is not None:
            self._update(
                Account.create_id(tenant),
                lambda account: account.settle(job_id, amount),
                load=self._accounts.get,
            )

    def release_credits(self, tenant: str, job_id: UUID, reason: str) -> None:
        """Give the job's reservation back (failed, canceled before dispatch, refused)."""
        if self.find_account(tenant) is not None:
            self._update(
                Account.create_id(tenant),
                lambda account: account.release(job_id, reason),
                load=self._accounts.get,
            )

    # webhook endpoints

    def register_endpoint(self, **fields: Any) -> WebhookEndpoint:
        endpoint = WebhookEndpoint(**fields)
        self.save(endpoint)
        return endpoint

    def find_endpoint(self, endpoint_id: UUID) -> WebhookEndpoint | None:
        try:
            endpoint: Any = self.repository.get(endpoint_id)
        except AggregateNotFoundError:
            return None
        return endpoint if isinstance(endpoint, WebhookEndpoint) else None

    def update_endpoint(
        self, endpoint_id: UUID, command: Callable[[WebhookEndpoint], None]
    ) -> WebhookEndpoint:
        endpoint: WebhookEndpoint = self._update(endpoint_id, command)
        return endpoint

    # API keys

    def issue_key(
        self,
        key_hash: str,
        tenant: str,
        scopes: Sequence[str],
        hint: str,
        limits: KeyLimits | None = None,
    ) -> ApiKey:
        """Store a key's hash (and its limits, in the same save); issuing the same key twice
        keeps the first."""
        key = ApiKey(key_hash=key_hash, tenant=tenant, scopes=list(scopes), hint=hint)
        if limits is not None:
            key.set_limits(limits, by="issuer")
        try:
            self.save(key)
        except IntegrityError:
            existing = self.find_key(key_hash)
            if existing is None:
                raise
            return existing
        return key

    def find_key(self, key_hash: str) -> ApiKey | None:
        try:
            key: ApiKey = self.repository.get(ApiKey.create_id(key_hash))
        except AggregateNotFoundError:
            return None
        return key

    def key_with_id(self, key_id: UUID) -> ApiKey | None:
        try:
            key: object = self.repository.get(key_id)
        except AggregateNotFoundError:
            return None
        return key if isinstance(key, ApiKey) else None

    def set_key_limits(self, key_hash: str, limits: KeyLimits, by: str) -> ApiKey | None:
        """Change a key's limits; None when there is no such key."""
        if self.find_key(key_hash) is None:
            return None
        key: ApiKey = self._update(ApiKey.create_id(key_hash), lambda k: k.set_limits(limits, by))
        return key

    def revoke_key(self, key_hash: str, by: str) -> bool:
        key = self.find_key(key_hash)
        if key is None:
            return False
        key.revoke(by)
        if key.pending_events:
            self.save(key)
        return True

    def list_keys(self, page: int = 500) -> list[ApiKey]:
        """Every key ever issued, oldest first (an admin listing: keys are few)."""
        keys: list[ApiKey] = []
        start: int | None = None
        while issued := self.recorder.select_notifications(
            start=start, limit=page, topics=[get_topic(ApiKey.Issued)]
        ):
            keys += [self.repository.get(UUID(str(n.originator_id))) for n in issued]
            start = issued[-1].id + 1
        return keys

    def has_any_key(self) -> bool:
        issued = self.recorder.select_notifications(
            start=None, limit=1, topics=[get_topic(ApiKey.Issued)]
        )
        return bool(issued)
