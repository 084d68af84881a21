"""What the faults of a plan do to an execution's outcome, for the suites' assertions.

Copy this module with any suite you copy; it knows nothing of the handlers.

- Masked faults (``FaultKind.masked``: crashes, lost invocations, duplicate deliveries and
  retryable service errors) never change the outcome; ``outcome.check()``'s fault-tolerance
  oracle holds every suite to that.
- An unretryable service error (``checkpoint_error`` / ``lost_response`` with
  ``ValidationException``) makes the SDK fail the execution with ``CheckpointError`` --
  unless the service never hears of that failure: when the same invocation's response is
  lost (``invocation_lost``, or ``lost_then_duplicated``, which loses it and delivers the
  invocation again), the service re-invokes from what it acknowledged, and the
  execution goes on as if the error had not happened.
- A fault with ``execution=k`` lands in the execution the k-th chained invoke started, not
  in the scenario's own: an unretryable service error there fails that execution, and the
  caller's ``invoke`` raises (``CallableRuntimeError`` naming ``CheckpointError``) where
  the handler may catch it (``invoked_executions_failed_by_service_errors``).
- SDK finding (docs/findings.md): inside ``parallel``/``map``, when another branch suspends,
  the SDK loses an unretryable checkpoint failure and returns PENDING; the service re-invokes
  and the execution goes on without the refused updates. Such an invocation ends PENDING
  rather than failing; ``strategies/test_parallel.py`` pins it with a strict xfail.
"""

from __future__ import annotations

from async_durable_execution_runner import (
    ExecutionStatus,
)
from async_durable_execution_runner.scenarios import Outcome

SERVICE_ERROR_KINDS = frozenset({"checkpoint_error", "lost_response"})


def _fatal_service_errors(outcome: Outcome, execution: int) -> list[object]:
    """The unretryable service errors applied in ``execution`` (0: the scenario's own, k:
    the one its k-th chained invoke started) that the service heard of."""
    faults = [f for f in outcome.faults_applied if getattr(f, "execution", 0) == execution]
    # ``lost_then_duplicated`` loses the first delivery's response too (its duplicate runs
    # under another invocation index).
    lost = {f.invocation for f in faults if f.kind in ("invocation_lost", "lost_then_duplicated")}
    if execution == 0:
        # Invocations that ended PENDING despite the error: the SDK swallowed it (see above).
        lost |= {i.index for i in outcome.invocations if i.status == "PENDING"}
    return [
        f
        for f in faults
        if f.kind in SERVICE_ERROR_KINDS and not f.masked and f.invocation not in lost
    ]


def invoked_executions_failed_by_service_errors(outcome: Outcome) -> set[int]:
    """The invoked executions (k: the one the k-th chained invoke started) that an
    unretryable service error failed: each of those invokes raised in the caller."""
    planned = {getattr(f, "execution", 0) for f in outcome.faults_applied} - {0}
    return {k for k in planned if _fatal_service_errors(outcome, k)}


def failed_by_service_error(outcome: Outcome) -> bool:
    """Whether an unretryable service error failed the execution (see the module doc).

    When it did, this also asserts how: FAILED, with the SDK's ``CheckpointError``.
    """
    fatal = _fatal_service_errors(outcome, 0)
    if not fatal:
        return False
    assert outcome.execution_status is ExecutionStatus.FAILED, (
        f"{fatal[0]!r} should fail the execution\n{outcome.report()}"
    )
    assert outcome.error is not None
    assert outcome.error.type == "CheckpointError", outcome.error
    return True
