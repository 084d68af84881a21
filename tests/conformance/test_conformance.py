"""Run every conformance requirement through the local runner and check status, result, history.

Each requirement runs once per wire format: ``objects`` hands the SDK its own operation objects,
``json`` sends Lambda-shaped JSON through the SDK's decoding. Requirements whose handler crashes the
sandbox run with process isolation.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest

from async_durable_execution_runner import DurableFunctionTestResult, DurableFunctionTestRunner

from .handlers import callback, child, invoke, step, wait, wait_for_callback
from .spec import (
    CallbackAction,
    Requirement,
    format_history,
    load_requirements,
    match_history,
    match_result,
)

HANDLER_MODULES: dict[str, ModuleType] = {
    "step": step,
    "wait": wait,
    "child": child,
    "callback": callback,
    "invoke": invoke,
    "wait_for_callback": wait_for_callback,
}

WIRE_FORMATS = ("objects", "json")

# Real seconds; the runner's clock is virtual, so this only bounds a hung execution.
TIMEOUT = 30.0

_CALLBACK_CLOSED = frozenset({"CallbackSucceeded", "CallbackFailed", "CallbackTimedOut"})
_EXECUTION_CLOSED = frozenset(
    {"ExecutionSucceeded", "ExecutionFailed", "ExecutionTimedOut", "ExecutionStopped"}
)


#: Optional requirements the runner does not meet, with why: a strict xfail each, so meeting
#: one shows (XPASS fails) and so does a regression in every other. "Optional" means a miss
#: does not block a release; it does not mean a miss goes unseen.
KNOWN_OPTIONAL_GAPS: dict[str, str] = {}


def _requirement_param(requirement: Requirement) -> Any:
    marks: list[pytest.MarkDecorator] = []
    if requirement.id not in HANDLER_MODULES[requirement.suite].HANDLERS:
        marks.append(pytest.mark.skip(reason=f"no handler written for {requirement.test_id}"))
    gap = KNOWN_OPTIONAL_GAPS.get(requirement.test_id)
    if gap is not None:
        assert requirement.optional, f"{requirement.test_id} is not optional: fix it instead"
        marks.append(pytest.mark.xfail(reason=gap, strict=True))
    return pytest.param(requirement, id=requirement.test_id, marks=marks)


@pytest.mark.parametrize("wire_format", WIRE_FORMATS)
@pytest.mark.parametrize("requirement", [_requirement_param(r) for r in load_requirements()])
def test_requirement(requirement: Requirement, wire_format: str) -> None:
    outcome = _execute(requirement, wire_format)
    error = (
        None
        if outcome.error is None
        else {"ErrorType": outcome.error.type, "ErrorMessage": outcome.error.message}
    )
    problems = match_result(
        requirement.expected_result, status=outcome.status, result=outcome.result, error=error
    )
    problems += match_history(requirement.expected_history, outcome.history)
    assert not problems, _report(requirement, problems, outcome)


@pytest.mark.parametrize("suite", sorted(HANDLER_MODULES))
def test_every_requirement_has_a_handler(suite: str) -> None:
    module = HANDLER_MODULES[suite]
    requirement_ids = {requirement.id for requirement in load_requirements(suite)}
    assert set(module.HANDLERS) == requirement_ids
    assert requirement_ids >= module.CRASHES
    assert requirement_ids >= set(getattr(module, "FUNCTIONS", {}))


def _execute(requirement: Requirement, wire_format: str) -> DurableFunctionTestResult:
    module = HANDLER_MODULES[requirement.suite]
    isolation = "process" if requirement.id in module.CRASHES else "inprocess"
    if isolation == "process" and wire_format == "objects":
        pytest.skip("a worker process always speaks the service's JSON (the 'json' case)")
    with DurableFunctionTestRunner(
        handler=module.HANDLERS[requirement.id],
        functions=getattr(module, "FUNCTIONS", {}).get(requirement.id, {}),
        wire_format=wire_format,
        isolation=isolation,
    ) as runner:
        if not requirement.callback_actions:
            return runner.run(input=requirement.input, timeout=TIMEOUT)
        arn = runner.start(input=requirement.input)
        CallbackDriver(runner, arn, requirement.callback_actions, timeout=TIMEOUT).drive()
        return runner.wait_for_result(arn, timeout=TIMEOUT)


def _report(
    requirement: Requirement, problems: list[str], outcome: DurableFunctionTestResult
) -> str:
    lines = [
        f"{requirement.test_id} does not conform: {requirement.description}",
        f"status={outcome.status!r} result={outcome.result!r} error={outcome.error!r}",
        "mismatches:",
        *(f"  - {problem}" for problem in problems),
        "actual history:",
        format_history(outcome.history),
    ]
    return "\n".join(lines)


@dataclass(order=True)
class _Scheduled:
    due: float
    order: int
    action: CallbackAction = field(compare=False)
    callback_id: str = field(compare=False)


class CallbackDriver:
    """Plays a requirement's CallbackActions against a started execution.

    An action applies to the first open callback its name matches (at most one success or failure
    per callback). Once that callback's CallbackStarted is recorded, the action is due ``Delay``
    seconds later on the runner's clock; due actions are sent by time, then in listed order. The
    runner runs everything that falls due before ``advance`` returns, so the driver moves the
    clock itself: to the next due action, by zero after sending one (to deliver the invocation it
    triggers), or one second at a time while the execution waits for a timer before it creates
    the callback a pending action needs. Once every action is sent, the runner's
    ``wait_for_result`` finishes the execution.
    """

    def __init__(
        self,
        runner: DurableFunctionTestRunner,
        arn: str,
        actions: Sequence[CallbackAction],
        *,
        timeout: float,
    ) -> None:
        self._runner = runner
        self._arn = arn
        self._unbound = list(enumerate(actions))
        self._scheduled: list[_Scheduled] = []
        self._completing: set[str] = set()
        self._now = 0.0
        self._deadline = time.monotonic() + timeout

    def drive(self) -> None:
        while self._unbound or self._scheduled:
            history = self._runner.get_history(self._arn)
            if any(event.get("EventType") in _EXECUTION_CLOSED for event in history):
                return
            self._bind(history)
            if not self._scheduled:
                self._check_deadline(history)
                self._advance(1)
                continue
            head = min(self._scheduled)
            if head.due > self._now:
                self._advance(head.due - self._now)
                continue
            self._scheduled.remove(head)
            self._send(head)
            self._advance(0)

    def _bind(self, history: Sequence[Mapping[str, Any]]) -> None:
        closed = {
            event.get("Id") for event in history if event.get("EventType") in _CALLBACK_CLOSED
        }
        started = [
            event
            for event in history
            if event.get("EventType") == "CallbackStarted" and event.get("Id") not in closed
        ]
        still_unbound = []
        for order, action in self._unbound:
            target = next(
                (
                    event
                    for event in started
                    if action.targets(event.get("Name"))
                    and not (action.is_terminal and event.get("Id") in self._completing)
                ),
                None,
            )
            if target is None:
                still_unbound.append((order, action))
                continue
            if action.is_terminal:
                self._completing.add(target["Id"])
            callback_id = target["CallbackStartedDetails"]["CallbackId"]
            self._scheduled.append(_Scheduled(self._now + action.delay, order, action, callback_id))
        self._unbound = still_unbound

    def _send(self, item: _Scheduled) -> None:
        action = item.action
        if action.operation == "heartbeat":
            self._runner.send_callback_heartbeat(item.callback_id)
        elif action.operation == "success":
            result = json.dumps(action.payload) if action.has_payload else None
            self._runner.send_callback_success(item.callback_id, result=result)
        else:
            self._runner.send_callback_failure(item.callback_id, error=dict(action.payload or {}))

    def _advance(self, seconds: float) -> None:
        self._runner.advance(seconds)
        self._now += seconds

    def _check_deadline(self, history: Sequence[Mapping[str, Any]]) -> None:
        if time.monotonic() <= self._deadline:
            return
        unsent = [action for _, action in self._unbound]
        msg = (
            f"no callback appeared for these actions within the time limit: {unsent}\n"
            f"{format_history(history)}"
        )
        raise AssertionError(msg)
