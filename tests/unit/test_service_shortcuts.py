"""The service's hand-built shortcuts give exactly what the long way gives."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

from tests.integration import crash_handlers as h

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._service.execution import (
    Execution,
    ExecutionStatus,
    new_execution,
)
from async_durable_execution_runner._service.history import History
from async_durable_execution_runner._service.ledger import ClientTokenLedger
from async_durable_execution_runner._service.scheduler import DueItem, EarliestFirst
from async_durable_execution_runner._service.seams import (
    DeliverDuplicate,
    Fault,
    InvocationInfo,
    NoFaults,
    NoInterleaving,
    SandboxPolicy,
    ServiceCall,
)

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


def test_new_execution_is_the_dataclass_constructor() -> None:
    history = History()
    args = ("arn", "id", "n", "f", '{"a": 1}', 60, NOW, history)
    for parent in (None, ("parent-arn", "op")):
        fast = new_execution(*args, parent)
        slow = Execution(*args, parent=parent)
        assert type(fast) is Execution
        for f in dataclasses.fields(Execution):
            got, want = getattr(fast, f.name), getattr(slow, f.name)
            if isinstance(want, ClientTokenLedger):
                assert isinstance(got, ClientTokenLedger)
                assert (got._size, list(got._entries), got.recorded) == (
                    want._size,
                    list(want._entries),
                    want.recorded,
                )
            else:
                assert got == want, f.name
        assert fast.is_open and fast.status is ExecutionStatus.RUNNING
        # Nothing shared between executions.
        other = new_execution(*args, parent)
        assert other.operations is not fast.operations
        assert other.invocations is not fast.invocations
        assert other.callbacks is not fast.callbacks
        assert other.client_tokens is not fast.client_tokens
        fast.status = ExecutionStatus.STOPPED
        assert not fast.is_open


# --- the seams are read once per runner: what overrides a default must still be asked ----


class _Cold(SandboxPolicy):
    def environment(self, execution_arn: str, invocation_index: int) -> str:
        return "cold" if invocation_index > 1 else "warm"


class _Pages(NoInterleaving):
    def __init__(self) -> None:
        self.asked: list[int] = []

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        self.asked.append(invocation_index)
        return 1


class _LoseFirstResponse(NoFaults):
    def __init__(self) -> None:
        self.heard: list[int] = []

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        self.heard.append(invocation.index)
        return invocation.index == 1


class _Duplicate(NoFaults):
    def on_service_call(self, call: ServiceCall) -> Fault | None:
        first = call.invocation_index == 1 and call.checkpoint_index == 1
        return DeliverDuplicate() if call.kind == "checkpoint" and first else None


def _run(**seams: Any) -> tuple[DurableFunctionTestRunner, Any]:
    runner = DurableFunctionTestRunner(h.step_wait_step, **seams)
    return runner, runner.run(1)


def test_a_policy_that_overrides_environment_is_asked_each_invocation() -> None:
    runner, result = _run(sandbox_policy=_Cold())
    with runner:
        assert [i.environment for i in result.invocations] == ["warm", "cold"]


def test_an_instance_that_brings_its_own_method_is_asked() -> None:
    class Open(SandboxPolicy):
        __slots__ = ("__dict__",)

    policy = Open()
    policy.environment = lambda arn, index: "cold"  # type: ignore[method-assign]
    runner, result = _run(sandbox_policy=policy)
    with runner:
        assert [i.environment for i in result.invocations] == ["cold", "cold"]


def test_an_interleaving_that_overrides_page_size_is_asked_each_invocation() -> None:
    pages = _Pages()
    runner, result = _run(interleaving=pages)
    with runner:
        assert result.result_value == 3
        assert pages.asked == [1, 2]


def test_faults_that_hear_returned_invocations_are_asked_each_invocation() -> None:
    faults = _LoseFirstResponse()
    runner, result = _run(faults=faults)
    with runner:
        assert result.result_value == 3
        assert faults.heard == [1, 2, 3]  # the lost response is invoked again
        assert result.invocations[0].status is None


def test_a_duplicate_delivery_is_still_made() -> None:
    runner, result = _run(faults=_Duplicate())
    with runner:
        assert result.result_value == 3
        assert "duplicate" in [i.environment for i in result.invocations]


def test_seams_set_after_construction_are_read_again() -> None:
    with DurableFunctionTestRunner(h.step_wait_step) as runner:
        invocations = runner.executor.invocations
        invocations.sandbox_policy = _Cold()
        pages = _Pages()
        invocations.interleaving = pages
        faults = _LoseFirstResponse()
        invocations.faults = faults
        result = runner.run(1)
        assert [i.environment for i in result.invocations] == ["warm", "cold", "cold"]
        assert pages.asked == [1, 2, 3]
        assert faults.heard == [1, 2, 3]
        invocations.faults = _Duplicate()
        again = runner.run(1)
        assert "duplicate" in [i.environment for i in again.invocations]


class _LatestFirst(EarliestFirst):
    """Not the service's own order (a subclass): the loop must ask it."""

    window = dt.timedelta(days=2)

    def __init__(self) -> None:
        self.asked = 0

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        self.asked += 1
        return max(candidates, key=lambda item: (item.due, item.seq))


def test_a_scheduler_policy_set_after_construction_is_asked() -> None:
    with DurableFunctionTestRunner(h.step_wait_step) as runner:
        executor = runner.executor
        assert type(executor.policy) is EarliestFirst
        policy = _LatestFirst()
        executor.policy = policy
        assert executor.policy is policy
        result = runner.run(1)
        # Latest first: the execution's time-out (a day away) comes before the resumption.
        assert policy.asked > 0
        assert result.error is not None
        assert result.error.type == "Execution.TimedOut"
