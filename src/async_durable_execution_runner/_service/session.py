"""One invocation's conversation with the service: call counting, fault hooks, crashes."""

from __future__ import annotations

import _thread
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from async_durable_execution_runner._service.seams import (
    Crash,
    DeliverDuplicate,
    FailCall,
    FaultHooks,
    Interleaving,
    LoseResponse,
    NoInterleaving,
    OperationRequest,
    ServiceCall,
    StepAttempt,
    WrapBody,
    interleaves_responses,
    interleaves_steps,
    steers_step_attempts,
    watches_service_calls,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._models import Operation, OperationUpdate
    from async_durable_execution_runner._service.observer import ExecutionNotifier


class ServiceApi(Protocol):
    """The calls an invocation's SDK makes to the service (a session makes them for its own
    execution)."""

    def checkpoint(
        self,
        arn: str,
        token: str,
        updates: Sequence[OperationUpdate],
        client_token: str | None = None,
    ) -> tuple[str, list[Operation]]: ...

    def get_execution_state(
        self, arn: str, token: str, marker: str, max_items: int = ...
    ) -> tuple[list[Operation], str | None]: ...


def session_watching(faults: FaultHooks, interleaving: Interleaving) -> tuple[bool, bool]:
    """Whether a session with these seams describes each service call to them, and whether
    they may steer step attempts (decided by the methods their classes override)."""
    return (
        watches_service_calls(faults) or interleaves_responses(interleaving),
        steers_step_attempts(faults) or interleaves_steps(interleaving),
    )


class SandboxCrashed(BaseException):
    """The sandbox died mid-invocation. Derives from ``BaseException`` so that user code's
    ``except Exception`` cannot swallow it."""


class InvocationSession:
    """What the handler's service client talks to during one invocation.

    Its parameters may be passed by position: the service builds one per invocation, and a
    class called with keywords packs them into a dict for ``__init__``.

    Each of its service calls takes ``lock`` (the runner's state lock, which the invocation
    runs without: ``_service.locking``), and a checkpoint that is answered calls
    ``on_change`` (the runner persists there) before its answer leaves. The session takes
    the lock itself rather than through a wrapper: one object fewer per invocation, one
    Python call fewer per checkpoint. Without a lock it takes one of its own, which no other
    code holds.
    """

    def __init__(
        self,
        execution_arn: str,
        invocation_index: int,
        api: ServiceApi,
        notifier: ExecutionNotifier,
        faults: FaultHooks,
        interleaving: Interleaving | None = None,
        watching: tuple[bool, bool] | None = None,
        lock: _thread.RLock | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.execution_arn = execution_arn
        self.invocation_index = invocation_index
        # The service's own calls, each made with this session's execution (``execution_arn``).
        self._api = api
        self._notifier = notifier
        self.faults = faults
        self.interleaving: Interleaving = interleaving or NoInterleaving()
        # What a ``DeliverDuplicate`` fault does once its call is applied (the service sets it).
        self.on_duplicate: Callable[[], None] | None = None
        self.last_call: ServiceCall | None = None
        self.calls = 0
        self.checkpoints = 0
        self.crash_reason: str | None = None
        # Set when the invocation was abandoned (hung past its deadline): late calls bounce.
        self.abandoned = False
        # Whether anything looks at each call (a fault hook answering calls, an interleaving):
        # else a call is only counted, not described; and whether anything may change how a
        # step attempt runs. The service passes them in, worked out once for its seams.
        self._calls_watched, self._steers_steps = (
            watching if watching is not None else session_watching(self.faults, self.interleaving)
        )
        #: The lock each service call takes (the runner's state lock, or one of its own).
        self.lock = self._lock = lock if lock is not None else _thread.RLock()
        self._on_change = on_change
        #: Where the in-process client that serves this invocation keeps the SDK's objects
        #: for its answers (a ``SdkOperationCache``, the invoker's): set by the invoker that
        #: runs it, read by a client shared between invokers (``shared_client``).
        self.sdk_cache: Any = None

    @property
    def observed(self) -> bool:
        """Whether any observer is listening (else per-operation notifications are skipped)."""
        return self._notifier.has_observers

    @property
    def steers_steps(self) -> bool:
        """Whether fault hooks or the interleaving may change how a step attempt runs."""
        return self._steers_steps

    @property
    def crashed(self) -> bool:
        return self.crash_reason is not None

    def _gate(
        self,
        kind: Literal["checkpoint", "get_execution_state"],
        updates: Sequence[OperationUpdate],
    ) -> LoseResponse | DeliverDuplicate | None:
        if self.crashed or self.abandoned:
            raise SandboxCrashed(self.crash_reason or "invocation abandoned")
        self.calls += 1
        if kind == "checkpoint":
            self.checkpoints += 1
        if not self._calls_watched:
            return None
        call = ServiceCall(
            kind=kind,
            execution_arn=self.execution_arn,
            invocation_index=self.invocation_index,
            call_index=self.calls,
            checkpoint_index=self.checkpoints,
            updates=tuple(updates),
        )
        self.last_call = call
        fault = self.faults.on_service_call(call)
        if isinstance(fault, Crash):
            self.crash_reason = fault.reason
            raise SandboxCrashed(fault.reason)
        if isinstance(fault, FailCall):
            raise fault.error
        return fault

    def checkpoint(
        self, token: str, updates: Sequence[OperationUpdate], client_token: str | None = None
    ) -> tuple[str, list[Operation]]:
        with self._lock:
            if self._calls_watched or self.crash_reason is not None or self.abandoned:
                fault = self._gate("checkpoint", updates)
            else:
                # ``_gate``'s answer for a call no fault hook or interleaving looks at, without
                # the call (one per checkpoint of every invocation).
                self.calls += 1
                self.checkpoints += 1
                fault = None
            response = self._api.checkpoint(self.execution_arn, token, updates, client_token)
            if fault is not None:
                if isinstance(fault, DeliverDuplicate):
                    if self.on_duplicate is not None:
                        self.on_duplicate()
                else:
                    raise fault.error
            on_change = self._on_change
            if on_change is not None:
                on_change()  # persisted before the SDK hears the checkpoint was taken
            return response

    def get_execution_state(
        self, token: str, marker: str, max_items: int
    ) -> tuple[list[Operation], str | None]:
        with self._lock:
            fault = self._gate("get_execution_state", ())
            response = self._api.get_execution_state(self.execution_arn, token, marker, max_items)
            if isinstance(fault, LoseResponse):
                raise fault.error
            return response

    def operation_requested(self, request: OperationRequest) -> None:
        with self._lock:
            self._notifier.operation_requested(request)

    def step_attempt(
        self,
        operation_id: str,
        name: str | None,
        sub_type: str | None,
        attempt: int,
        semantics: str | None = None,
        retried: tuple[tuple[type[BaseException], ...], tuple[str, ...]] = ((), ()),
        crash_sandbox: Callable[[str], None] | None = None,
    ) -> tuple[BaseException | WrapBody | None, int]:
        """What the fault hooks and the interleaving say about a step body about to run
        (``retried`` and ``crash_sandbox``: see ``StepAttempt``)."""
        step = StepAttempt(
            execution_arn=self.execution_arn,
            invocation_index=self.invocation_index,
            operation_id=operation_id,
            name=name,
            attempt=attempt,
            sub_type=sub_type,
            semantics=semantics,
            retried_types=retried[0],
            retried_messages=retried[1],
            crash_sandbox=crash_sandbox,
        )
        with self._lock:
            self._notifier.step_attempt(step)
            return self.faults.on_step_attempt(step), self.interleaving.step_turns(step)

    def response_turns(self) -> int:
        """Event-loop turns before the last call's response reaches the SDK."""
        call = self.last_call
        return self.interleaving.response_turns(call) if call is not None else 0
