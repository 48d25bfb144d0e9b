"""The analytics projection folds the ledger's reservations and settlements onto their jobs."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import Tracking

from events.account import Account
from projections.analytics.projection import AnalyticsProjection, as_fact


class Recording:
    """A stand-in view that keeps what the projection records."""

    def __init__(self) -> None:
        self.batches: list[list] = []

    def record(self, jobs, tracking, *, after) -> None:
        self.batches.append(list(jobs))


def ledger_of_one_job():
    account, job = Account(tenant="acme"), uuid4()
    account.grant(5_000_000)
    account.reserve(job, 2_500_000)
    account.settle(job, 400_000)
    return account.collect_events()[2:], job  # reserved, settled


def test_a_settlement_lands_on_its_jobs_row_not_the_accounts():
    events, job = ledger_of_one_job()
    view = Recording()
    AnalyticsProjection(view).process_batch(events, Tracking("vidgate", 9), after=None)
    [[facts]] = view.batches
    assert (facts.job_id, facts.new) == (job.hex, False)  # an update of the job's row
    assert (facts.reserved, facts.settled) == (2_500_000, 400_000)


def test_the_stored_json_form_of_a_job_id_folds_alike():
    events, job = ledger_of_one_job()
    stored = []
    for event in events:
        topic, origin, at, fields = as_fact(event)
        encoded = {**fields, "job_id": {"_type_": "uuid_hex", "_data_": job.hex}}
        stored.append((topic, origin, at, encoded))
    view = Recording()
    AnalyticsProjection(view).process_batch(stored, Tracking("vidgate", 9), after=None)
    [[facts]] = view.batches
    assert (facts.job_id, facts.reserved, facts.settled) == (job.hex, 2_500_000, 400_000)
