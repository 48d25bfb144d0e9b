"""The credit ledger on a real store: reservations saved with the job, no overspend."""

from __future__ import annotations

import threading

import pytest

from events.account import Account, Charge, InsufficientCredits, to_micros
from events.job import Job
from tests.helpers import SUBMISSION


def submit(gateway, charge: float, prepaid: bool = False, **overrides):
    fields = {**SUBMISSION, "idempotency_key": None, **overrides}
    return gateway.submit_charged(fields, Charge(to_micros(charge), prepaid=prepaid))


def test_an_unmetered_tenant_submits_without_an_account(gateway):
    _job, created = submit(gateway, 3.20)
    assert created and gateway.find_account("acme") is None


def test_a_prepaid_tenant_without_credits_is_refused_and_nothing_is_saved(gateway):
    before = gateway.recorder.max_notification_id() or 0
    with pytest.raises(InsufficientCredits):
        submit(gateway, 3.20, prepaid=True)
    assert (gateway.recorder.max_notification_id() or 0) == before


def test_a_job_priced_above_the_balance_is_refused_and_appends_nothing(gateway):
    gateway.grant_credits("acme", to_micros(1.00), note="trial")
    before = gateway.recorder.max_notification_id()
    with pytest.raises(InsufficientCredits) as refused:
        submit(gateway, 3.20)
    assert refused.value.available == to_micros(1.00)
    assert gateway.recorder.max_notification_id() == before


def test_the_reservation_is_saved_with_the_job_in_one_transaction(gateway):
    gateway.grant_credits("acme", to_micros(5.00))
    job, _ = submit(gateway, 1.00)
    account = gateway.find_account("acme")
    assert account.reserved == to_micros(1.00)
    reserved = [e for e in gateway.events.get(account.id) if isinstance(e, Account.CreditsReserved)]
    assert [e.job_id for e in reserved] == [job.id]


def test_a_retried_submit_with_the_same_key_reserves_once(gateway):
    gateway.grant_credits("acme", to_micros(5.00))
    first, _ = submit(gateway, 1.00, idempotency_key="same")
    again, created = submit(gateway, 1.00, idempotency_key="same")
    assert again.id == first.id and not created
    assert gateway.find_account("acme").reserved == to_micros(1.00)


def test_twenty_concurrent_submits_on_five_dollars_accept_exactly_five(gateway):
    gateway.grant_credits("acme", to_micros(5.00))
    accepted: list[Job] = []
    refused: list[InsufficientCredits] = []
    errors: list[BaseException] = []

    def one() -> None:
        try:
            accepted.append(submit(gateway, 1.00)[0])
        except InsufficientCredits as error:
            refused.append(error)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=one) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert (len(accepted), len(refused)) == (5, 15)
    account = gateway.find_account("acme")
    assert (account.available, account.reserved) == (0, to_micros(5.00))


def test_settle_and_release_balance_the_books_and_a_snapshot_keeps_them(gateway):
    gateway.grant_credits("acme", to_micros(100.00))
    jobs = [submit(gateway, 1.00)[0] for _ in range(60)]
    settled_at_cost, released, open_ = jobs[0::3], jobs[1::3], jobs[2::3]
    for _ in range(2):  # the second round is late or repeated: it changes nothing
        for job in settled_at_cost:
            gateway.settle_credits("acme", job.id, to_micros(0.75))
        for job in released:
            gateway.release_credits("acme", job.id, reason="failed")
            gateway.settle_credits("acme", job.id)
    account = gateway.find_account("acme")
    assert account.spent == 20 * to_micros(0.75)
    assert account.reserved == len(open_) * to_micros(1.00)
    assert account.available + account.reserved + account.spent == to_micros(100.00)
    assert account.version > 100  # loaded through a snapshot


def ended(gateway, how: str, dispatched: bool = False):
    gateway.grant_credits("acme", to_micros(10.00))
    job, _ = submit(gateway, 2.00)
    if dispatched:
        gateway.record_dispatch(job.id, "local", f"up-{job.id.hex}")
    output = {"url": "file:///x.mp4", "bytes": 1, "sha256": "0" * 64}
    commands = {
        "completed at cost": lambda j: j.complete(output, "webhook", cost=1.25),
        "completed": lambda j: j.complete(output, "webhook"),
        "failed": lambda j: j.fail("upstream_error", "boom", "poll"),
        "canceled": lambda j: j.cancel("api"),
        "deleted": lambda j: j.delete("api"),
    }
    gateway.update_job(job.id, commands[how])
    account = gateway.find_account("acme")
    return account.available, account.reserved, account.spent


@pytest.mark.parametrize(
    ("how", "dispatched", "spent"),
    [
        ("completed at cost", True, 1.25),
        ("completed", True, 2.00),
        ("failed", True, 0.0),
        ("canceled", False, 0.0),
        ("canceled", True, 2.00),
        ("deleted", False, 0.0),
    ],
)
def test_the_end_of_a_job_moves_its_money_in_the_same_save(gateway, how, dispatched, spent):
    available, reserved, spent_micros = ended(gateway, how, dispatched)
    assert (reserved, spent_micros) == (0, to_micros(spent))
    assert available == to_micros(10.00 - spent)


def test_a_late_signal_after_the_end_moves_no_more_money(gateway):
    ended(gateway, "failed", dispatched=True)
    account = gateway.find_account("acme")
    job_id = next(e.job_id for e in gateway.events.get(account.id) if hasattr(e, "job_id"))
    gateway.update_job(job_id, lambda j: j.complete({"url": "u"}, "webhook", cost=9.0))
    assert gateway.find_account("acme").version == account.version


def test_only_accounts_read_snapshots_and_a_long_history_loads_from_one(gateway):
    gateway.grant_credits("acme", to_micros(500.00))
    for _ in range(120):
        submit(gateway, 1.00)
    account = gateway.find_account("acme")
    assert account.version > 100 and list(gateway.snapshots.get(account.id))
    assert gateway.repository.snapshot_store is None  # jobs load without the extra query


def test_a_first_grant_meters_the_granting_process_at_once(gateway):
    submit(gateway, 1.00)  # seen unmetered
    gateway.grant_credits("acme", to_micros(1.50))
    submit(gateway, 1.00)
    with pytest.raises(InsufficientCredits):
        submit(gateway, 1.00)
