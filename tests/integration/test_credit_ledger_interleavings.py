"""Hypothesis over random interleavings of submit, complete, fail, cancel and crash on a real
store: the books always balance, and a fresh process replaying the ledger agrees."""

from __future__ import annotations

from dataclasses import replace
from uuid import UUID

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from events.account import Charge, InsufficientCredits, to_micros
from service.persistence.stores import build_gateway
from tests.helpers import SUBMISSION

GRANT = to_micros(20.00)


@pytest.fixture
def sqlite_settings(tmp_path_factory):
    from service.settings import Settings

    return Settings(data_dir=tmp_path_factory.mktemp("ledger"), secret_key="s")


def test_random_interleavings_keep_the_books_balanced(sqlite_settings):
    base = sqlite_settings

    class Ledger(RuleBasedStateMachine):
        counter = 0

        @initialize()
        def open_store(self) -> None:
            Ledger.counter += 1
            self.settings = replace(base, data_dir=base.data_dir / f"run{Ledger.counter}")
            self.gateway = build_gateway(self.settings)
            self.gateway.grant_credits("acme", GRANT)
            self.open: list[UUID] = []
            self.dispatched: set[UUID] = set()

        def teardown(self) -> None:
            self.gateway.close()

        @rule(price=st.sampled_from([0.5, 1.0, 3.2, 7.0]), key=st.none() | st.sampled_from("ab"))
        def submit(self, price: float, key: str | None) -> None:
            fields = {**SUBMISSION, "idempotency_key": key}
            try:
                job, _ = self.gateway.submit_charged(fields, Charge(to_micros(price)))
            except InsufficientCredits:
                return
            if not self.gateway.find_job(job.id).is_terminal:
                self.open.append(job.id)

        @precondition(lambda self: self.open)
        @rule(data=st.data())
        def dispatch(self, data: st.DataObject) -> None:
            job_id = data.draw(st.sampled_from(self.open))
            self.gateway.record_dispatch(job_id, "local", f"up-{job_id.hex}")

        @precondition(lambda self: self.open)
        @rule(
            data=st.data(),
            how=st.sampled_from(["complete", "complete at cost", "fail", "cancel"]),
        )
        def end(self, data: st.DataObject, how: str) -> None:
            job_id = data.draw(st.sampled_from(self.open))
            commands = {
                "complete": lambda j: j.complete({"url": "u"}, "webhook"),
                "complete at cost": lambda j: j.complete({"url": "u"}, "webhook", cost=0.25),
                "fail": lambda j: j.fail("upstream_error", "boom", "poll"),
                "cancel": lambda j: j.cancel("api") if not j.is_terminal else None,
            }
            self.gateway.update_job(job_id, commands[how])
            self.open.remove(job_id)

        @rule()
        def crash(self) -> None:
            """The process dies between two commands; another one opens the same store."""
            self.gateway.close()
            self.gateway = build_gateway(self.settings)

        @invariant()
        def books_balance(self) -> None:
            account = self.gateway.find_account("acme")
            assert account.available + account.reserved + account.spent == GRANT
            assert account.available >= 0
            assert len(account.reservations) == len(set(self.open))

    Ledger.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=20,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow],
    )
    Ledger.TestCase().runTest()
