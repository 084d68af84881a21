"""The open-operations oracle: an execution that closes leaves none of its operations open."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import (
    OPERATION_FAILURE_EVENTS,
    OperationsLeftOpen,
    _error_messages,
    _is_terminal,
    _label,
    oracle,
)
from async_durable_execution_runner._harness.programs.nodes import Unawaited
from async_durable_execution_runner._models import Event, EventType

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome

_KIND = {
    EventType.STEP_STARTED: "step",
    EventType.WAIT_STARTED: "wait",
    EventType.CALLBACK_STARTED: "callback",
    EventType.CHAINED_INVOKE_STARTED: "invoke",
    EventType.CONTEXT_STARTED: "child context",
}


def open_operations(events: list[Event]) -> list[Event]:
    """The first events of the operations an execution left open that nothing excuses.

    Excused, because the SDK or the handler's control flow abandons them on purpose:
    - anything under a context that closed: a ``parallel``/``map`` that completed early (by
      ``min_successful`` or its failure tolerance) leaves its other branches running, and the
      SDK refuses their later checkpoints (``ExecutionState._mark_orphans``);
    - an operation with a sibling (same parent) that failed for good in the invocation it
      started or later: ``asyncio.gather`` (or a ``try`` around it) stops at the first
      failure while the other calls are still in flight, and durable calls cannot be
      cancelled;
    - an operation started in the invocation that failed the execution, with a sibling that
      failed for good earlier with the error the execution failed with: a gather that meets
      a member's failure replayed (recorded while the handler waited elsewhere, or before a
      crash cut the invocation that first met it short) raises at once, while the members
      it started beside it are in flight;
    - anything under a context excused that way (a gathered child context's own wait);
    - the still-open contexts around a failure, and their siblings: the SDK's control errors
      (a failed callback's ``CallbackError`` and its other ``ExecutionError``s) leave
      ``flow()``'s node contexts without a FAIL checkpoint (``_FlowControlSignal``), so a
      failure whose enclosing contexts stay open failed each of them as far as their siblings
      are concerned.
    """
    first: dict[str, Event] = {}
    invocation_of: dict[str, int] = {}
    closed: set[str] = set()
    # (parent id, invocation, the messages the handler may see for its error)
    failures: list[tuple[str | None, int, frozenset[str]]] = []
    invocation = 0
    #: The messages of the error the execution failed with, and the invocation that failed
    #: it (the last one: its ``InvocationCompleted`` comes before ``ExecutionFailed``).
    failed_with: frozenset[str] = frozenset()
    last_invocation = -1
    for e in events:
        if e.event_type is EventType.INVOCATION_COMPLETED:
            invocation += 1
            continue
        if e.event_type is EventType.EXECUTION_FAILED:
            failed_with, last_invocation = _error_messages(e), invocation - 1
            continue
        if e.id is None or e.event_type.value.startswith("Execution"):
            continue
        if e.id not in first:
            first[e.id] = e
            invocation_of[e.id] = invocation
        if _is_terminal(e):
            closed.add(e.id)
            if e.event_type in OPERATION_FAILURE_EVENTS:
                failures.append((e.parent_id, invocation, _error_messages(e)))

    for failed_parent, failed_in, messages in list(failures):
        around = failed_parent
        while around is not None and around in first and around not in closed:
            failures.append((first[around].parent_id, failed_in, messages))
            around = first[around].parent_id

    def sibling_failed(e: Event) -> bool:
        started = invocation_of[e.id or ""]
        return any(
            p == e.parent_id
            and (i >= started or (started == last_invocation and messages & failed_with))
            for p, i, messages in failures
        )

    def excused(e: Event) -> bool:
        # Walking up: an operation is excused with its context, whether that context closed
        # or was itself abandoned by a sibling's failure (the rest of a gathered child
        # context is as much in flight as the context).
        node = e
        while True:
            if sibling_failed(node):
                return True
            parent = node.parent_id
            if parent is None or parent not in first:
                return False
            if parent in closed:
                return True
            node = first[parent]

    return [e for op_id, e in first.items() if op_id not in closed and not excused(e)]


@oracle("open-operations")
def check_open_operations(outcome: Outcome) -> None:
    """An execution that closes (SUCCEEDED or FAILED) leaves none of its operations open."""
    # A generated program's Unawaited steps are started and never awaited on purpose (a step
    # fault can leave one retrying after the program ended): the generator wrote them, they
    # are not a mistake of the code under test. Names are unique within a program.
    program = outcome.scenario.program
    unawaited = (
        {n.name for n in program.walk(into_invokes=True) if isinstance(n, Unawaited)}
        if program is not None
        else set()
    )
    for arn, events in outcome.recorder.events.items():
        last = events[-1].event_type if events else None
        if last not in (EventType.EXECUTION_SUCCEEDED, EventType.EXECUTION_FAILED):
            continue
        if last is EventType.EXECUTION_FAILED and any(
            f.positional and not f.masked for f in outcome.faults_applied
        ):
            continue  # a service error the SDK does not retry failed it mid-flight
        left = [e for e in open_operations(events) if e.name not in unawaited]
        if not left:
            continue
        ended = "SUCCEEDED" if last is EventType.EXECUTION_SUCCEEDED else "FAILED"
        listing = ", ".join(
            f"{_KIND.get(e.event_type, e.event_type.value)} {_label(e.id, e.name)} "
            f"(started at event {e.event_id})"
            for e in left
        )
        which = "the execution" if arn == outcome.recorder.root_arn else f"execution {arn}"
        msg = (
            f"{which} ended {ended} while operations it started were still open: {listing}. "
            "Nothing will ever complete them. Usual causes: a broad `except BaseException:` "
            "or bare `except:` around a durable call swallowed the SDK's suspension "
            "(SuspendExecution, raised to end the invocation until the operation completes; "
            "catch `Exception` or the SDK's own errors instead), or a durable call (step, wait, "
            "create_callback, invoke: each starts a task at once) was started and never "
            "awaited"
        )
        raise OperationsLeftOpen(msg)
