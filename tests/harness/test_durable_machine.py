"""DurableExecutionMachine: a user's stateful suite over the order workflow."""

from __future__ import annotations

import logging

import pytest
from async_durable_execution import InvocationStatus
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, run_state_machine_as_test
from orders import order_workflow, pricing_handler

from async_durable_execution_runner.oracles import ReplayDivergence
from async_durable_execution_runner.stateful import DurableExecutionMachine


class OrderMachine(DurableExecutionMachine):
    handler = order_workflow
    functions = {"pricing": pricing_handler}
    inputs = st.fixed_dictionaries({"id": st.integers(1, 5), "quantity": st.integers(1, 3)})
    callback_payloads = st.fixed_dictionaries({"approved": st.booleans()})

    @invariant()
    def finished_orders_are_shipped_rejected_or_failed(self) -> None:
        for result in self.results.values():
            if result.status is InvocationStatus.SUCCEEDED:
                assert result.result_value["status"] in {"shipped", "rejected"}


TestOrderMachine = OrderMachine.TestCase
TestOrderMachine.settings = settings(
    max_examples=15, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
)


def test_machine_reports_replay_divergence() -> None:
    from buggy import random_branch

    class Divergent(DurableExecutionMachine):
        handler = random_branch.buggy

    with pytest.raises(ReplayDivergence):
        run_state_machine_as_test(
            Divergent,
            settings=settings(
                max_examples=30,
                stateful_step_count=6,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )


def test_machine_requires_a_handler() -> None:
    class Empty(DurableExecutionMachine):
        pass

    with pytest.raises(TypeError, match="must set `handler"):
        Empty()


def test_what_the_sdk_logs_because_of_the_machine_s_faults_is_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Every failed checkpoint the machine injects makes the SDK log errors with tracebacks;
    # a campaign runs hundreds. They are expected: kept out of the log, and counted.
    held: list[int] = []

    class Counting(OrderMachine):
        def teardown(self) -> None:
            super().teardown()
            held.append(self.fault_logs.held)

    with caplog.at_level(logging.INFO):
        run_state_machine_as_test(
            Counting,
            settings=settings(
                max_examples=15,
                stateful_step_count=12,
                deadline=None,
                database=None,
                derandomize=True,
                suppress_health_check=list(HealthCheck),
            ),
        )
    assert sum(held) > 0  # the machine's faults did make the SDK log
    for record in caplog.records:
        text = record.getMessage() + str(record.exc_info[1] if record.exc_info else "")
        assert "(injected)" not in text and "by the machine" not in text, text
