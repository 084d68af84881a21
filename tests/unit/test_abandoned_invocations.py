"""An invocation abandoned as hung is reported under the executor's own request, even when
its thread unwinds before the drive that gave up on it has looked (a starved handler that
returns just after its wall-clock deadline)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._service.invocation import (
    Abandoned,
    InvocationAbandoned,
    InvocationOutcome,
    InvocationRequest,
)
from async_durable_execution_runner._service.locking import StateLock, UnlockedInvoker


class _Session:
    execution_arn = "arn:execution-1"
    invocation_index = 1
    steers_steps = False  # ``LockedSession`` reads it when it wraps a session

    def response_turns(self) -> int:  # ``LockedSession`` binds it when it wraps a session
        return 0


class _UnwoundBeforeTheDriveLooks:
    """The wrapped invoker's side of the race: the abandoned invocation's thread has already
    unwound with InvocationAbandoned when ``drive`` hands back the Abandoned outcome."""

    def __init__(self) -> None:
        self.handed: InvocationRequest | None = None

    def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        self.handed = request
        raise InvocationAbandoned

    def drive(
        self,
        loop: Callable[[], Any],
        wall_deadline: float | None,
        busy: Callable[[], bool] | None = None,
    ) -> Abandoned:
        with contextlib.suppress(InvocationAbandoned):
            loop()
        assert self.handed is not None
        hung = InvocationOutcome(
            status=None, death=ErrorObject(error_type="Sandbox.Timedout", error_message="hung")
        )
        return Abandoned(self.handed, hung)

    def close(self) -> None:
        pass


def test_a_hung_invocation_that_unwound_first_is_reported_under_the_executors_request() -> None:
    inner = _UnwoundBeforeTheDriveLooks()
    invoker = UnlockedInvoker(inner, StateLock())
    request = InvocationRequest(
        execution_arn="arn:execution-1",
        function_name="f",
        checkpoint_token="token",
        operations=(),
        next_marker="",
        session=_Session(),  # type: ignore[arg-type]
        request_id="request-1",
        environment="warm",
        wall_timeout=1.0,
    )

    outcome = invoker.drive(lambda: invoker.invoke(request), None)

    assert isinstance(outcome, Abandoned)
    assert inner.handed is not request  # the wrapper handed on a request of its own
    assert outcome.request is request
    assert not invoker._originals  # nothing left behind
