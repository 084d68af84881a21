"""What a scenario installs in the runner's seams for one run: its fault hooks (the plan, or
a baseline's replay of a recorded world), the partner that answers every callback, and a
recorder that tells the plan and the sandbox policy which execution is the scenario's own."""

from __future__ import annotations

import contextlib
import json
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner._harness.faults.hooks import FaultPlanHooks
from async_durable_execution_runner._harness.faults.kinds import CallbackLimits
from async_durable_execution_runner._harness.recorder import Recorder
from async_durable_execution_runner._harness.scenario.timings import ChoiceScheduler, TimedSandboxes
from async_durable_execution_runner._harness.world import CallbackAnswer, Replay, World
from async_durable_execution_runner._models import Event, EventType, Operation, OperationUpdate
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.seams import (
    InvocationInfo,
    InvokeResult,
    ServiceCall,
    StepAttempt,
    StepBody,
    WrapBody,
)
from async_durable_execution_runner.errors import DurableServiceError

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.scenario import Scenario


class ScenarioFaults:
    """The fault-hook seam for a scenario: the plan, plus invoke faults by ordinal.

    With ``record``, what every step attempt produced and where each unmasked fault landed
    are written to it; with ``replay`` (a baseline), they are taken from it by identity.
    """

    def __init__(
        self,
        hooks: FaultPlanHooks,
        record: World | None = None,
        replay: Replay | None = None,
        *,
        seed: int | str = 0,
    ) -> None:
        self.hooks = hooks
        self.record = record
        self.replay = replay
        self.seed = seed
        self.invokes = 0

    def on_service_call(self, call: ServiceCall) -> Any:
        return self.hooks.on_service_call(call)

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        return self.hooks.on_invocation_returned(invocation)

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        return _reseeded_after(attempt, self._answer(attempt), self.seed)

    def _answer(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        if attempt.duplicate:
            return self._duplicate_answer(attempt)
        if self.replay is not None:
            return self.replay.step(attempt)
        fault = self.hooks.on_step_attempt(attempt)
        if self.record is None:
            return fault
        if isinstance(fault, BaseException):
            self.record.record_injected(attempt, fault)
            return fault
        recorder = self.record.recorder(attempt)
        if fault is None:
            return recorder
        # A fault that runs the body its own way (``body_crash``): what the body gives, when it
        # gives anything, is recorded as any body's.
        faulted = fault
        return WrapBody(lambda body: faulted.wrap(recorder.wrap(body)))

    def _duplicate_answer(self, attempt: StepAttempt) -> BaseException | None:
        """A duplicate delivery's run of an attempt meets what the plan already makes of that
        attempt (a step that raises on it, a partner that is down), as any run of it does.
        Nothing is placed or recorded there: the world is the first delivery's, whose result
        is the one checkpointed (a baseline has no duplicate delivery, a masked fault). A fault
        that fires inside a body, once, is left for the first delivery's run. A run that meets
        an injected error is counted as one (``World.count_injected``), as the first's are."""
        fault = FaultPlanHooks.on_step_attempt(self.hooks, attempt)
        if not isinstance(fault, BaseException):
            return None
        if self.record is not None:
            self.record.count_injected(attempt)
        return fault

    def on_chained_invoke(
        self, execution_arn: str, operation_id: str, function_name: str
    ) -> InvokeResult | None:
        self.invokes += 1
        self.hooks.note_invoke(execution_arn, operation_id, self.invokes)
        if self.replay is not None:
            fault = self.replay.world.invokes.get((execution_arn, operation_id))
        else:
            fault = self.hooks.invoke_fault(self.invokes)
        if self.record is not None:
            self.record.invokes[(execution_arn, operation_id)] = fault
        return fault.result(function_name) if fault is not None else None


def _reseeded_after(
    attempt: StepAttempt, answer: BaseException | WrapBody | None, seed: int | str
) -> WrapBody:
    """``answer``, after which ``random`` is seeded by the attempt's identity.

    The SDK draws a retry's jitter (and a polling strategy may draw its delay) from ``random``
    right after the body returns or raises, with no await in between. Seeded per invocation
    only, that draw depends on how many invocations came before and on what other bodies drew,
    so a masked fault that adds an invocation changes a retry delay, and with it which of two
    racing branches finishes first: the faulted run and its baseline would not be the same
    world. Seeded by (seed, execution, operation, attempt), the draw is the same in both.
    """
    key = f"{seed}:{attempt.execution_arn}:{attempt.operation_id}:{attempt.attempt}"

    def wrap(body: StepBody) -> StepBody:
        inner = answer.wrap(body) if isinstance(answer, WrapBody) else body

        async def reseeding(*state: Any) -> Any:
            try:
                if isinstance(answer, BaseException):
                    raise answer
                return await inner(*state)
            finally:
                random.seed(key)

        return reseeding

    return WrapBody(wrap)


class CallbackDriver(ExecutionObserver):
    """Answers every callback the handler creates: with a payload, or as the plan says.

    A baseline (``replay``) answers each callback the faulted run saw exactly as it was
    answered there, found by the callback's identity (execution, operation id).
    """

    def __init__(
        self,
        scenario: Scenario,
        hooks: FaultPlanHooks,
        record: World | None = None,
        replay: Replay | None = None,
    ) -> None:
        self.scenario = scenario
        self.hooks = hooks
        self.record = record
        self.replay = replay
        self.runner: DurableFunctionTestRunner | None = None
        #: Operation names by (execution, operation id): ids are positional, so the
        #: executions of a chain (the root and the functions it invokes) reuse them.
        self.names: dict[tuple[str, str], str | None] = {}
        self.created = 0
        self.per_name: dict[str, int] = {}

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        if event.id is not None and (execution_arn, event.id) not in self.names:
            self.names[(execution_arn, event.id)] = event.name
        if event.event_type is not EventType.CALLBACK_STARTED or self.runner is None:
            return
        callback_id = str(event.details["CallbackId"])
        parent = self.names.get((execution_arn, event.parent_id)) if event.parent_id else None
        # wait_for_callback(name="x") creates context "x" holding callback "x-callback".
        known = [n for n in (event.name, parent) if n and n in self.scenario.callback_payloads]
        name = known[0] if known else (event.name or parent)
        self.created += 1
        identity = (execution_arn, event.id or "")
        limits = CallbackLimits.from_details(event.details)
        answer = self.replay.world.callbacks.get(identity) if self.replay is not None else None
        if answer is None:
            answer = self._answer(name, limits)
        if self.record is not None:
            self.record.callbacks[identity] = answer
        runner = self.runner
        # The label is the callback's identity: the scheduler keys its timing choices by it.
        label = f"callback {event.id} of {execution_arn.rsplit('/', 2)[-2]}"
        if answer.fault is not None:
            answer.fault.answer(runner, callback_id, answer.delay, label, limits)
            return
        payload = answer.payload
        runner.schedule(
            answer.delay,
            lambda: _quietly(runner.send_callback_success, callback_id, json.dumps(payload)),
            label=f"answer {label}",
        )

    def _answer(self, name: str | None, limits: CallbackLimits) -> CallbackAnswer:
        """This run's own answer for the next callback created: delay and fault by creation
        order, payload by occurrence of its name."""
        ordinal = self.created
        delays = self.scenario.timings.callback_delays
        delay = delays[(ordinal - 1) % len(delays)] if delays else 0.0
        fault = self.hooks.callback_fault(ordinal, limits)
        payload = None
        if fault is None:
            payload = self.scenario.callback_payload(name, self.per_name.get(name or "", 0))
            self.per_name[name or ""] = self.per_name.get(name or "", 0) + 1
        return CallbackAnswer(delay=delay, payload=payload, fault=fault)


def _quietly(fn: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    # The callback may already be closed (the handler stopped waiting, the execution ended):
    # the external system's late answer is refused by the service, which is not our failure.
    with contextlib.suppress(DurableServiceError):
        fn(*args, **kwargs)


class RootRecorder(Recorder):
    """A recorder that also tells the fault plan and the sandbox policy the root's ARN, and
    passes on what the scheduler and the callback driver need to hear: the run's one
    observer, since the service calls every method of every observer it has, and a run
    hears some sixty notifications per invocation."""

    def __init__(
        self,
        hooks: FaultPlanHooks,
        scheduler: ChoiceScheduler | None = None,
        driver: CallbackDriver | None = None,
    ) -> None:
        super().__init__()
        self.hooks = hooks
        self.sandboxes: TimedSandboxes | None = None
        self.scheduler = scheduler
        self.driver = driver

    def on_transition(
        self,
        execution_arn: str,
        update: OperationUpdate,
        previous: Operation | None,
        operation: Operation,
    ) -> None:
        super().on_transition(execution_arn, update, previous, operation)
        if self.scheduler is not None:
            self.scheduler.on_transition(execution_arn, update, previous, operation)

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        super().on_history_event(execution_arn, event)
        if self.driver is not None:
            self.driver.on_history_event(execution_arn, event)

    def on_chained_execution_started(
        self, execution_arn: str, parent_arn: str, operation_id: str
    ) -> None:
        self.hooks.note_invoked(execution_arn, parent_arn, operation_id)

    def on_execution_started(self, execution_arn: str) -> None:
        super().on_execution_started(execution_arn)
        if self.hooks.root_arn is None:
            self.hooks.root_arn = execution_arn
            if self.sandboxes is not None:
                self.sandboxes.root_arn = execution_arn
