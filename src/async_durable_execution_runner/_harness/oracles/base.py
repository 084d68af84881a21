"""What every oracle shares: the failure classes (one per oracle, since Hypothesis keeps one
minimal example per kind of failure), the registry ``Outcome.check()`` runs, and helpers
several oracles read events with."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner._harness.programs.nodes import Map, Parallel
from async_durable_execution_runner._models import Event, EventType

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


#: Events that end an operation as failed: what oracles mean by "an operation failed".
OPERATION_FAILURE_EVENTS = frozenset(
    {
        EventType.STEP_FAILED,
        EventType.CONTEXT_FAILED,
        EventType.CALLBACK_FAILED,
        EventType.CALLBACK_TIMED_OUT,
        EventType.CHAINED_INVOKE_FAILED,
        EventType.CHAINED_INVOKE_TIMED_OUT,
        EventType.CHAINED_INVOKE_STOPPED,
    }
)


class OracleFailure(AssertionError):
    """An oracle found a problem. ``oracle`` names it; the message says what and where."""

    oracle = "oracle"
    #: The pinned SDK behaviour that explains this failure, when one does (a ``KnownSdkIssue``).
    known_issue: Any = None

    def __init__(self, message: str) -> None:
        super().__init__(f"[{self.oracle}] {message}")
        self.detail = message


class SchemaViolation(OracleFailure):
    oracle = "schema"


class TransitionViolation(OracleFailure):
    oracle = "transitions"


class MalformedHistory(OracleFailure):
    oracle = "history"


class ReplayDivergence(OracleFailure):
    oracle = "replay-determinism"


class NondeterminismSource(OracleFailure):
    oracle = "nondeterminism-sources"


class FaultNotMasked(OracleFailure):
    oracle = "fault-tolerance"


class AtMostOnceViolation(OracleFailure):
    oracle = "at-most-once"


class UnexpectedOutcome(OracleFailure):
    oracle = "expected-outcome"


class ExecutionHung(OracleFailure):
    oracle = "liveness"


class OperationsLeftOpen(OracleFailure):
    oracle = "open-operations"


class CheckpointRefused(OracleFailure):
    oracle = "checkpoints-accepted"


OracleFn = Callable[["Outcome"], None]
ORACLES: dict[str, OracleFn] = {}


def oracle(name: str) -> Callable[[OracleFn], OracleFn]:
    """Register a built-in oracle run by ``Outcome.check()``."""

    def register(fn: OracleFn) -> OracleFn:
        ORACLES[name] = fn
        return fn

    return register


def _label(op_id: str | None, name: str | None) -> str:
    short = (op_id or "")[:12]
    return f"{name!r} ({short}...)" if name else f"{short}..."


def _is_terminal(e: Event) -> bool:
    if e.event_type in (EventType.STEP_FAILED, EventType.STEP_SUCCEEDED):
        # A RETRY's event (either, as its Error says) schedules another attempt.
        return "NextAttemptDelaySeconds" not in (e.details.get("RetryDetails") or {})
    return e.event_type.is_terminal


def _error_messages(e: Event) -> frozenset[str]:
    """The messages a handler may see for an event's error: the recorded one, and for a
    callback's time-out the SDK's ``CallbackError`` wording, ``"<message>: <type>"``."""
    payload = (e.details.get("Error") or {}).get("Payload") or {}
    message = str(payload.get("ErrorMessage"))
    return frozenset({message, f"{message}: {payload.get('ErrorType')}"})


def _interrupted_at_most_once(outcome: Outcome) -> bool:
    return any(
        e.event_type is EventType.STEP_FAILED
        and (
            e.details.get("Error", {}).get("Payload", {}).get("ErrorType") == "StepInterruptedError"
        )
        for events in outcome.recorder.events.values()
        for e in events
    )


def _has_batches(program: Any) -> bool:
    if program is None:
        return False
    return any(isinstance(node, Parallel | Map) for node in program.walk(into_invokes=True))
