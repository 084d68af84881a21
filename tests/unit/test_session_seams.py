"""A session asks the seams only when they can answer: what ``NoFaults`` and ``NoInterleaving``
subclasses override must still be asked (they are the documented defaults to subclass)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from async_durable_execution_runner import DurableFunctionTestRunner, NoFaults, NoInterleaving
from async_durable_execution_runner._service.observer import ExecutionNotifier
from async_durable_execution_runner._service.seams import ServiceCall, StepAttempt
from async_durable_execution_runner._service.session import InvocationSession


class _Api:
    """A service that accepts every call and changes nothing."""

    def checkpoint(
        self, arn: str, token: str, updates: Sequence[Any], client_token: str | None = None
    ) -> tuple[str, list[Any]]:
        return "next", []

    def get_execution_state(
        self, arn: str, token: str, marker: str, max_items: int = 1000
    ) -> tuple[list[Any], str | None]:
        return [], None


def _session(faults: Any, interleaving: Any) -> InvocationSession:
    return InvocationSession(
        "arn",
        1,
        _Api(),
        notifier=ExecutionNotifier(),
        faults=faults,
        interleaving=interleaving,
    )


class _SlowResponses(NoInterleaving):
    def response_turns(self, call: ServiceCall) -> int:
        return 3 if call.kind == "checkpoint" else 0


class _SlowSteps(NoInterleaving):
    def step_turns(self, attempt: StepAttempt) -> int:
        return 2


def test_a_no_interleaving_subclass_that_overrides_response_turns_is_asked() -> None:
    session = _session(NoFaults(), _SlowResponses())
    session.checkpoint("token", [])
    assert session.response_turns() == 3
    assert session.last_call is not None
    assert session.last_call.checkpoint_index == 1


def test_a_no_interleaving_subclass_that_overrides_step_turns_steers_steps() -> None:
    assert _session(NoFaults(), _SlowSteps()).steers_steps
    assert not _session(NoFaults(), _SlowResponses()).steers_steps
    assert not _session(NoFaults(), NoInterleaving()).steers_steps


def test_the_defaults_describe_no_call() -> None:
    session = _session(NoFaults(), NoInterleaving())
    session.checkpoint("token", [])
    assert (session.calls, session.checkpoints, session.last_call) == (1, 1, None)
    assert session.response_turns() == 0


class _CountingCalls(NoFaults):
    def __init__(self) -> None:
        self.calls: list[ServiceCall] = []

    def on_service_call(self, call: ServiceCall) -> None:
        self.calls.append(call)


def test_a_no_faults_subclass_that_overrides_on_service_call_sees_every_call() -> None:
    from tests.integration import crash_handlers as h

    faults = _CountingCalls()
    with DurableFunctionTestRunner(h.ten_steps, faults=faults) as runner:
        result = runner.run(input=0, timeout=30)
    assert result.status.value == "SUCCEEDED", result
    assert len(result.invocations) == 1
    checkpoints = [c for c in faults.calls if c.kind == "checkpoint"]
    assert len(checkpoints) >= 10  # at least one per step
    assert [c.call_index for c in faults.calls] == list(range(1, len(faults.calls) + 1))
