"""STEP: START, SUCCEED, FAIL, RETRY, with attempts and retry timers.

A RETRY ends an attempt and schedules the next. Its ``Error`` says whether the attempt failed:
with one it is recorded as ``StepFailed``; without one it is an attempt that produced a new
state (a ``wait_for_condition`` poll that says "not yet", whose ``Payload`` is the state the
next poll starts from), recorded as ``StepSucceeded`` with that ``Result``. Both keep the
step PENDING until the retry timer makes it READY, and carry ``NextAttemptDelaySeconds``. See
docs/architecture.md ("What each update records").
"""

from __future__ import annotations

import datetime as _dt

from async_durable_execution_runner._models import (
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationUpdate,
    StepDetails,
)
from async_durable_execution_runner._models._frozen import replace
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    ProcessContext,
    Processed,
    StartTimer,
    new_operation,
)


class StepProcessor:
    """``StepDetails.Attempt`` counts finished attempts: the SDK runs attempt ``Attempt + 1``."""

    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        action = update.action
        if action is OperationAction.START:
            if current is None:
                op = new_operation(update, ctx, step_details=StepDetails(attempt=0))
            else:
                op = replace(current, status=OperationStatus.STARTED)
            return Processed(op, (PendingEvent(EventType.STEP_STARTED),))

        assert current is not None  # the transition table guarantees STARTED
        details = current.step_details or StepDetails()
        attempt = details.attempt + 1
        if action is OperationAction.SUCCEED:
            op = replace(
                current,
                status=OperationStatus.SUCCEEDED,
                end_timestamp=ctx.now,
                step_details=StepDetails(attempt=attempt, result=update.payload),
            )
            event = PendingEvent(
                EventType.STEP_SUCCEEDED,
                {
                    "Result": event_result(update.payload),
                    "RetryDetails": {"CurrentAttempt": attempt},
                },
            )
            return Processed(op, (event,))
        if action is OperationAction.FAIL:
            op = replace(
                current,
                status=OperationStatus.FAILED,
                end_timestamp=ctx.now,
                step_details=StepDetails(attempt=attempt, error=update.error),
            )
            event = PendingEvent(
                EventType.STEP_FAILED,
                {"Error": event_error(update.error), "RetryDetails": {"CurrentAttempt": attempt}},
            )
            return Processed(op, (event,))
        # RETRY: the attempt failed, or (no Error) polled, and the step runs again later.
        delay = update.step_options.next_attempt_delay_seconds if update.step_options else None
        delay = delay or 0
        due = ctx.now + _dt.timedelta(seconds=delay)
        op = replace(
            current,
            status=OperationStatus.PENDING,
            step_details=StepDetails(
                attempt=attempt,
                next_attempt_timestamp=due,
                result=update.payload,
                error=update.error,
            ),
        )
        retry = {"CurrentAttempt": attempt, "NextAttemptDelaySeconds": delay}
        if update.error is None:
            event = PendingEvent(
                EventType.STEP_SUCCEEDED,
                {"Result": event_result(update.payload), "RetryDetails": retry},
            )
        else:
            event = PendingEvent(
                EventType.STEP_FAILED, {"Error": event_error(update.error), "RetryDetails": retry}
            )
        return Processed(op, (event,), (StartTimer("retry", update.id, due),))
