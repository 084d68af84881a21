"""The interleaving seam: how long (in event-loop turns) things take inside an invocation.

Real I/O makes a step body or a service response take time, so the handler's concurrent
tasks (``parallel``, ``map``, ``asyncio.gather``) complete in different orders. An
``Interleaving`` says, per step attempt and per service response, how many event-loop
turns it takes, and how many operations come back per page of state; the default is the
fastest possible: no extra turns, full pages. asyncio still starts tasks in creation order,
so only orders real I/O could produce are reachable.
"""

from __future__ import annotations

from typing import Protocol

from async_durable_execution_runner._service.faults import ServiceCall, StepAttempt


class Interleaving(Protocol):
    def step_turns(self, attempt: StepAttempt) -> int:
        """Event-loop turns a step body takes before it starts running."""
        ...

    def response_turns(self, call: ServiceCall) -> int:
        """Event-loop turns before a service response reaches the SDK."""
        ...

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        """Operations per page of state for this invocation (``None``: the service default)."""
        ...


class NoInterleaving:
    def step_turns(self, attempt: StepAttempt) -> int:
        return 0

    def response_turns(self, call: ServiceCall) -> int:
        return 0

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        return None
