"""Stateful property: however orders interleave -- several executions at once, approvals
answered, failed or timed out in any order, crashes and service errors armed for the next
checkpoint, the clock moved by seconds or days -- every order that finishes ends as its
approval says, and every order that has not finished is waiting for something.

``OrderMachine`` subclasses ``DurableExecutionMachine`` for ``examples/orders.py``. The base
class's rules start executions, deliver/fail/time out callbacks, arm crashes and retryable
service errors, and advance the clock; its invariant runs the history oracles after every
step. This suite adds invariants read from each execution's own operations, so they hold
whatever sequence of rules Hypothesis picks:

- finished and SUCCEEDED: the approval callback succeeded, and the result is ``rejected``
  (with the reservation) if it said ``approved: false``, else ``shipped`` at the price the
  pricing function computes;
- finished and FAILED: only because the approval failed or timed out (``CallbackError``);
  the armed faults are all masked;
- TIMED_OUT: only after a day (the execution's timeout) without an answer;
- not finished: the execution has an open callback, a running wait, a step awaiting its
  retry, or a chained invoke in flight -- it is never stuck.

To adapt: set ``handler``, ``functions``, ``inputs`` and ``callback_payloads`` for your
workflow, and write its business rules as ``@invariant``s over ``self.results``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from async_durable_execution import InvocationStatus
from hypothesis import strategies as st
from hypothesis.stateful import invariant
from orders import order_workflow, pricing_handler

from async_durable_execution_runner import (
    ExecutionStatus,
    OperationStatus,
    OperationType,
)
from async_durable_execution_runner.stateful import DurableExecutionMachine
from async_durable_execution_runner.strategies import scenario_settings


class OrderMachine(DurableExecutionMachine):
    handler = order_workflow
    functions = {"pricing": pricing_handler}
    inputs = st.fixed_dictionaries({"id": st.integers(1, 99), "quantity": st.integers(1, 5)})
    callback_payloads = st.fixed_dictionaries({"approved": st.booleans()})

    def __init__(self) -> None:
        super().__init__()
        self.orders: dict[str, dict[str, Any]] = {}

    def start_execution(self, payload: Any) -> str:
        arn = super().start_execution(payload)
        self.orders[arn] = payload
        return arn

    @invariant()
    def finished_orders_end_as_their_approval_says(self) -> None:
        for arn, result in self.results.items():
            order = self.orders[arn]
            approval = result.get_callback("approval-callback")
            if result.execution_status is ExecutionStatus.TIMED_OUT:
                # Nobody answered for a day: the execution's own timeout (86 400 s) ended it.
                events = result.history
                lasted = events[-1]["EventTimestamp"] - events[0]["EventTimestamp"]
                assert lasted >= dt.timedelta(seconds=86_400), f"timed out after {lasted}"
                continue
            if result.execution_status is ExecutionStatus.FAILED:
                assert result.error is not None
                assert result.error.error_type == "CallbackError", (
                    f"order {order} failed for another reason: {result.error}"
                )
                assert approval.status in {OperationStatus.FAILED, OperationStatus.TIMED_OUT}
                continue
            assert result.status is InvocationStatus.SUCCEEDED, result.status
            assert approval.status is OperationStatus.SUCCEEDED
            answer = json.loads(approval.result or "null") or {}
            if answer.get("approved", True):
                assert result.result_value == {
                    "status": "shipped",
                    "receipt": {"order": order["id"], "charged": 10 * order["quantity"]},
                    "tracking": f"shipped-{order['id']}",
                }
            else:
                assert result.result_value == {
                    "status": "rejected",
                    "reservation": f"reservation-{order['id']}",
                }

    @invariant()
    def unfinished_orders_are_waiting_for_something(self) -> None:
        for arn in self.started:
            if arn in self.results:
                continue
            execution = self.runner.executor.get(arn)
            waiting = [
                op
                for op in execution.operations.values()
                if (op.type is OperationType.CALLBACK and op.status is OperationStatus.STARTED)
                or (op.type is OperationType.WAIT and op.status is OperationStatus.STARTED)
                or (op.type is OperationType.STEP and op.status is OperationStatus.PENDING)
                or (
                    op.type is OperationType.CHAINED_INVOKE and op.status is OperationStatus.STARTED
                )
            ]
            assert waiting, f"order {self.orders[arn]} is pending with nothing to wait for"


TestOrderMachine = OrderMachine.TestCase
# The loaded profile's example budget; a run is a sequence of up to 10 rules.
TestOrderMachine.settings = scenario_settings(stateful_step_count=10)
