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
from async_durable_execution_runner._models._frozen import maker
from async_durable_execution_runner._models.events import event_error, event_result
from async_durable_execution_runner._models.operations import (
    make_operation,
    make_step_details,
    settled,
)
from async_durable_execution_runner._service.checkpoint.processors.base import (
    PendingEvent,
    ProcessContext,
    Processed,
    StartTimer,
)

#: A new step's details, and its one event: immutable, so shared by every new step.
_FIRST_ATTEMPT = StepDetails(0)
_STARTED_EVENTS = (PendingEvent(EventType.STEP_STARTED),)


class StepProcessor:
    """``StepDetails.Attempt`` counts finished attempts: the SDK runs attempt ``Attempt + 1``."""

    def process(
        self, update: OperationUpdate, current: Operation | None, ctx: ProcessContext
    ) -> Processed:
        action = update.action
        if action is _START:
            if current is None:
                # ``new_operation``, positionally (in ``Operation``'s field order).
                op = make_operation(
                    update.id,
                    update.type,
                    _STARTED,
                    ctx.now,
                    update.parent_id,
                    update.name,
                    update.sub_type,
                    None,
                    None,
                    None,
                    _FIRST_ATTEMPT,
                )
            else:  # ``with_status``, without its call
                op = settled(
                    current,
                    _STARTED,
                    current.end_timestamp,
                    current.context_details,
                    current.step_details,
                )
            return _new_tuple(Processed, (op, _STARTED_EVENTS, ()))

        assert current is not None  # the transition table guarantees STARTED
        details = current.step_details
        attempt = (details.attempt if details is not None else 0) + 1
        payload = update.payload
        if action is _SUCCEED:
            op = settled(
                current,
                _SUCCEEDED,
                ctx.now,
                current.context_details,
                make_step_details(attempt, None, payload),
            )
            # ``event_result(payload)``, without a call (every step's success).
            result: dict[str, object] = (
                {"Truncated": False}
                if payload is None
                else {"Truncated": False, "Payload": payload}
            )
            event = _new_tuple(
                PendingEvent,
                (_STEP_SUCCEEDED, {"Result": result, "RetryDetails": {"CurrentAttempt": attempt}}),
            )
            return _new_tuple(Processed, (op, (event,), ()))
        error = update.error
        if action is _FAIL:
            op = settled(
                current,
                _FAILED,
                ctx.now,
                current.context_details,
                make_step_details(attempt, None, None, error),
            )
            event = _new_tuple(
                PendingEvent,
                (
                    _STEP_FAILED,
                    {"Error": event_error(error), "RetryDetails": {"CurrentAttempt": attempt}},
                ),
            )
            return _new_tuple(Processed, (op, (event,), ()))
        # RETRY: the attempt failed, or (no Error) polled, and the step runs again later.
        options = update.step_options
        delay = (options.next_attempt_delay_seconds if options is not None else None) or 0
        due = ctx.now + _dt.timedelta(seconds=delay)
        op = settled(
            current,
            _PENDING,
            current.end_timestamp,
            current.context_details,
            make_step_details(attempt, due, payload, error),
        )
        retry = {"CurrentAttempt": attempt, "NextAttemptDelaySeconds": delay}
        if error is None:
            event = _new_tuple(
                PendingEvent,
                (_STEP_SUCCEEDED, {"Result": event_result(payload), "RetryDetails": retry}),
            )
        else:
            event = _new_tuple(
                PendingEvent,
                (_STEP_FAILED, {"Error": event_error(error), "RetryDetails": retry}),
            )
        return _new_tuple(Processed, (op, (event,), (_start_timer("retry", update.id, due),)))


#: ``Processed(...)`` and ``PendingEvent(...)`` as ``_new_tuple(cls, (every field))``: a named
#: tuple's own ``__new__`` is a Python function, one more frame for every step's update (a
#: retried step's attempts each end with a RETRY).
_new_tuple = tuple.__new__
#: ``StartTimer(...)`` without ``type.__call__`` (see ``maker``): every RETRY starts one.
_start_timer = maker(StartTimer)

# Module-level names for the members every update compares against (one lookup, not two).
_START = OperationAction.START
_SUCCEED = OperationAction.SUCCEED
_FAIL = OperationAction.FAIL
_STARTED = OperationStatus.STARTED
_SUCCEEDED = OperationStatus.SUCCEEDED
_FAILED = OperationStatus.FAILED
_PENDING = OperationStatus.PENDING
_STEP_SUCCEEDED = EventType.STEP_SUCCEEDED
_STEP_FAILED = EventType.STEP_FAILED
