"""Oracles: checks that judge one run. Each raises an ``OracleFailure`` subclass whose message
names the oracle, the operation (id and name) and the event at fault.

Hypothesis keeps one minimal example per kind of failure (exception type and place), so
every oracle has its own exception class.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any

from jsonschema import Draft202012Validator

from async_durable_execution_runner._botocore_model import load_schema
from async_durable_execution_runner._harness.faults.kinds import ReferenceFacts
from async_durable_execution_runner._harness.programs.nodes import Map, Parallel, Unawaited
from async_durable_execution_runner._harness.programs.reference import (
    UnsupportedScenario,
    expected_outcome,
)
from async_durable_execution_runner._harness.world import same_outcome
from async_durable_execution_runner._models import Event, EventType
from async_durable_execution_runner._service.checkpoint.transitions import (
    describe_allowed,
    is_allowed,
)

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


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


# --- liveness ---------------------------------------------------------------------------


@oracle("liveness")
def check_liveness(outcome: Outcome) -> None:
    """The execution finishes: every invocation returns and nothing waits forever."""
    if outcome.hang is not None:
        msg = f"the execution did not finish within the scenario's timeout: {outcome.hang}"
        raise ExecutionHung(msg)


# --- schemas ----------------------------------------------------------------------------


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    # These shapes are not recursive, so inlining every $ref is finite; it spares jsonschema
    # the reference lookups that dominate its validation time.
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@cache
def _validator(shape: str) -> Draft202012Validator:
    schema = load_schema(shape)
    return Draft202012Validator(_inline_refs(schema, schema.get("$defs", {})))


_VERDICTS: dict[tuple[str, str], str | None] = {}
_MAX_VERDICTS = 100_000


def _first_error(shape: str, document: Any, *, timeless: bool = False) -> str | None:
    """The first way ``document`` breaks ``shape``, if any; ``timeless``: its timestamps
    only need to be numbers."""
    # Runs of one handler repeat the same documents (virtual time, deterministic ids), so
    # remember verdicts by content; the key is made without copying the document, which a
    # verdict found needs no more than that.
    key = (shape, json.dumps(document, sort_keys=True, default=_timeless_key if timeless else str))
    if key in _VERDICTS:
        return _VERDICTS[key]
    checked = _timeless(document) if timeless else document
    error = next(iter(_validator(shape).iter_errors(checked)), None)
    verdict = None
    if error is not None:
        path = "/".join(str(p) for p in error.absolute_path) or "(root)"
        verdict = f"{path}: {error.message}"
    if len(_VERDICTS) >= _MAX_VERDICTS:
        _VERDICTS.clear()
    _VERDICTS[key] = verdict
    return verdict


def _timeless(value: Any) -> Any:
    # Timestamps only need to be numbers on the wire; giving them all one value lets runs
    # that differ only in their clock share schema verdicts.
    if isinstance(value, _dt.datetime):
        return 0.0
    if isinstance(value, dict):
        return {k: _timeless(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_timeless(v) for v in value]
    return value


def _timeless_key(value: Any) -> Any:
    # What json.dumps cannot write, in a verdict's key: a timestamp as _timeless has it,
    # anything else as text.
    return 0.0 if isinstance(value, _dt.datetime) else str(value)


@oracle("schema")
def check_schemas(outcome: Outcome) -> None:
    """Every update, operation and event validates against botocore's Lambda model."""
    for t in outcome.recorder.transitions:
        problem = _first_error("OperationUpdate", t.update.to_dict())
        if problem:
            what = f"update {t.update.action.value} for {_label(t.update.id, t.update.name)}"
            msg = f"{what} breaks OperationUpdate: {problem}"
            raise SchemaViolation(msg)
        problem = _first_error("Operation", t.operation.to_dict(), timeless=True)
        if problem:
            msg = (
                f"operation {_label(t.operation.id, t.operation.name)} breaks Operation: {problem}"
            )
            raise SchemaViolation(msg)
    for arn, events in outcome.recorder.events.items():
        for e in events:
            problem = _first_error("Event", e.to_dict(), timeless=True)
            if problem:
                msg = f"event {e.event_id} ({e.event_type.value}) of {arn} breaks Event: {problem}"
                raise SchemaViolation(msg)


# --- transitions ------------------------------------------------------------------------


@oracle("transitions")
def check_transitions(outcome: Outcome) -> None:
    """Every applied update is allowed by the transition table from the status it met."""
    for t in outcome.recorder.transitions:
        previous = t.previous.status if t.previous is not None else None
        if not is_allowed(t.update.type, t.update.action, previous):
            seen = previous.value if previous else "absent"
            msg = (
                f"{t.update.action.value} was applied to {t.update.type.value} "
                f"{_label(t.update.id, t.update.name)} while it was {seen}; "
                f"{describe_allowed(t.update.type, t.update.action)}"
            )
            raise TransitionViolation(msg)


# --- history well-formed ----------------------------------------------------------------


def _is_terminal(e: Event) -> bool:
    if e.event_type in (EventType.STEP_FAILED, EventType.STEP_SUCCEEDED):
        # A RETRY's event (either, as its Error says) schedules another attempt.
        return "NextAttemptDelaySeconds" not in (e.details.get("RetryDetails") or {})
    return e.event_type.is_terminal


def check_history_events(events: list[Event], invocations: int, finished: bool, arn: str) -> None:
    if not events:
        raise MalformedHistory(f"execution {arn} has no events")
    if events[0].event_type is not EventType.EXECUTION_STARTED:
        raise MalformedHistory(
            f"event 1 of {arn} is {events[0].event_type.value}, not ExecutionStarted"
        )
    seen_ops: set[str] = set()
    closed: dict[str, Event] = {}
    completed = 0
    for i, e in enumerate(events, start=1):
        if e.event_id != i:
            raise MalformedHistory(
                f"event {i} of {arn} has EventId {e.event_id}; ids must be consecutive from 1"
            )
        if i > 1 and e.event_timestamp < events[i - 2].event_timestamp:
            raise MalformedHistory(
                f"event {i} ({e.event_type.value}) of {arn} is timestamped "
                f"{e.event_timestamp.isoformat()}, before event {i - 1}"
            )
        if e.event_type is EventType.INVOCATION_COMPLETED:
            completed += 1
            continue
        if e.event_type.value.startswith("Execution"):
            if e.event_type is not EventType.EXECUTION_STARTED and i != len(events):
                raise MalformedHistory(
                    f"{e.event_type.value} (event {i}) of {arn} is not the last event"
                )
            continue
        op = e.id or ""
        if e.parent_id is not None and e.parent_id not in seen_ops:
            raise MalformedHistory(
                f"event {i} ({e.event_type.value}) of {_label(e.id, e.name)} names parent "
                f"{e.parent_id[:12]}... before any event of that parent"
            )
        if op in closed:
            raise MalformedHistory(
                f"event {i} ({e.event_type.value}) of {_label(e.id, e.name)} follows its terminal "
                f"event {closed[op].event_id} ({closed[op].event_type.value})"
            )
        seen_ops.add(op)
        if _is_terminal(e):
            closed[op] = e
    if completed != invocations:
        raise MalformedHistory(
            f"{arn} has {completed} InvocationCompleted events for {invocations} invocations"
        )
    if finished and not events[-1].event_type.value.startswith("Execution"):
        raise MalformedHistory(
            f"{arn} finished, but its last event is {events[-1].event_type.value}"
        )


@oracle("history")
def check_history(outcome: Outcome) -> None:
    """Consecutive ids, one terminal event per operation, parents first, one
    ``InvocationCompleted`` per invocation, time never goes backwards."""
    for arn, events in outcome.recorder.events.items():
        invocations = sum(1 for inv in outcome.recorder.invocations if inv.execution_arn == arn)
        finished = events[-1].event_type in (
            EventType.EXECUTION_SUCCEEDED,
            EventType.EXECUTION_FAILED,
            EventType.EXECUTION_TIMED_OUT,
            EventType.EXECUTION_STOPPED,
        )
        # An invocation that ends after its execution closed is not recorded by the service.
        recorded = sum(
            1
            for inv in outcome.recorder.invocations
            if inv.execution_arn == arn
            and inv.end is not None
            and _recorded(events, inv.request_id)
        )
        check_history_events(
            events, recorded if recorded != invocations else invocations, finished, arn
        )


def _recorded(events: list[Event], request_id: str) -> bool:
    return any(
        e.event_type is EventType.INVOCATION_COMPLETED and e.details.get("RequestId") == request_id
        for e in events
    )


# --- replay determinism -----------------------------------------------------------------


@oracle("replay-determinism")
def check_replay(outcome: Outcome) -> None:
    """On every re-invocation, each operation the handler asks for whose id is checkpointed
    has the checkpointed (type, sub type, name, parent id)."""
    for r in outcome.recorder.requests:
        if r.checkpointed is not None and r.checkpointed != r.identity:
            cp_type, cp_sub, cp_name, cp_parent = r.checkpointed
            msg = (
                f"invocation {r.invocation_index} asked for operation {r.operation_id[:12]}... as "
                f"{r.type}/{r.sub_type} {r.name!r} (parent {r.parent_id and r.parent_id[:12]}), "
                "but "
                f"the checkpoint holds {cp_type}/{cp_sub} {cp_name!r} (parent "
                f"{cp_parent and cp_parent[:12]}): the handler does not replay deterministically"
            )
            raise ReplayDivergence(msg)


# --- nondeterminism sources -------------------------------------------------------------


@oracle("nondeterminism-sources")
def check_nondeterminism_sources(outcome: Outcome) -> None:
    """The handler's own code reads no randomness or wall clock outside step bodies."""
    allowed = outcome.scenario.allow_nondeterminism
    for call in outcome.nondeterministic_calls:
        if call.source not in allowed:
            msg = (
                f"the handler called {call} outside a step body; that code runs again on "
                f"every replay and gets a different value. Move it into a step (or use the "
                f"SDK's replay-safe now()/random()/uuid()), or allow it with "
                f"allow_nondeterminism={{{call.source!r}}}"
            )
            raise NondeterminismSource(msg)


# --- generated programs --------------------------------------------------------------------


def _has_batches(program: Any) -> bool:
    if program is None:
        return False
    return any(isinstance(node, Parallel | Map) for node in program.walk(into_invokes=True))


@oracle("expected-outcome")
def check_expected_outcome(outcome: Outcome) -> None:
    """A generated program ends as the reference evaluator says it must."""
    program = outcome.scenario.program
    if program is None or _interrupted_at_most_once(outcome):
        return
    if outcome.scenario.timings.window and any(f.masked for f in outcome.faults_applied):
        # The evaluator takes re-invocations after masked faults to be immediate; with a
        # delivery window a re-invocation may come after later timers.
        return
    if not all(f.modelled for f in outcome.faults_applied):
        return  # e.g. a service error the SDK does not retry: the evaluator does not model it
    # Every planned fault tells the evaluator what it does (the first planned fault for an
    # ordinal is the one that fires, as in the hooks).
    facts = ReferenceFacts()
    for fault in outcome.scenario.faults:
        fault.describe_to(facts)
    payloads = outcome.scenario.callback_payloads
    try:
        expected = expected_outcome(
            program,
            input=outcome.scenario.input.get("input"),
            callback_results={name: json.dumps(values[0]) for name, values in payloads.items()},
            step_exceptions=facts.step_exceptions,
            callback_faults=facts.callback_faults,
            invoke_faults=facts.invoke_faults,
            window=outcome.scenario.timings.window,
            callback_delays=outcome.scenario.timings.callback_delays,
        )
    except UnsupportedScenario:
        return
    problems = expected.mismatches(outcome.result)
    if problems:
        listing = "; ".join(problems[:5])
        msg = f"the program did not end as the reference evaluator says it must: {listing}"
        raise UnexpectedOutcome(msg)


# --- at-most-once -----------------------------------------------------------------------


@oracle("at-most-once")
def check_at_most_once(outcome: Outcome) -> None:
    """A step with at-most-once semantics never starts its body twice within one attempt."""
    seen: set[tuple[str, str, int]] = set()
    for a in outcome.recorder.step_attempts:
        if a.semantics != "AT_MOST_ONCE_PER_RETRY":
            continue
        key = (a.execution_arn, a.operation_id, a.attempt)
        if key in seen:
            msg = (
                f"at-most-once step {_label(a.operation_id, a.name)} ran its body twice in "
                f"attempt {a.attempt} (invocation {a.invocation_index})"
            )
            raise AtMostOnceViolation(msg)
        seen.add(key)


# --- open operations --------------------------------------------------------------------

_FAILURE_EVENTS = frozenset(
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
    failures: list[tuple[str | None, int]] = []  # (parent id, invocation)
    invocation = 0
    for e in events:
        if e.event_type is EventType.INVOCATION_COMPLETED:
            invocation += 1
            continue
        if e.id is None or e.event_type.value.startswith("Execution"):
            continue
        if e.id not in first:
            first[e.id] = e
            invocation_of[e.id] = invocation
        if _is_terminal(e):
            closed.add(e.id)
            if e.event_type in _FAILURE_EVENTS:
                failures.append((e.parent_id, invocation))

    for failed_parent, failed_in in list(failures):
        around = failed_parent
        while around is not None and around in first and around not in closed:
            failures.append((first[around].parent_id, failed_in))
            around = first[around].parent_id

    def sibling_failed(e: Event) -> bool:
        return any(p == e.parent_id and i >= invocation_of[e.id or ""] for p, i in failures)

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


# --- fault tolerance --------------------------------------------------------------------


def _interrupted_at_most_once(outcome: Outcome) -> bool:
    return any(
        e.event_type is EventType.STEP_FAILED
        and (
            e.details.get("Error", {}).get("Payload", {}).get("ErrorType") == "StepInterruptedError"
        )
        for events in outcome.recorder.events.values()
        for e in events
    )


@oracle("fault-tolerance")
def check_fault_tolerance(outcome: Outcome) -> None:
    """Faults the service and SDK mask leave the outcome as it is without them, in the same
    world: the baseline replays what this run's completed operations produced."""
    masked = [f for f in outcome.faults_applied if f.masked]
    if not masked or _interrupted_at_most_once(outcome):
        return
    if _has_batches(outcome.scenario.program):
        # A generated batch's result depends on the order its branches complete, which faults
        # legitimately shift; the expected-outcome oracle judges those runs, race-aware.
        return
    if any(f.positional for f in outcome.faults_applied if not f.masked):
        # An unmasked fault placed by invocation and call fired; without the masked faults
        # it would land elsewhere, so there is no fault-free counterpart to compare with.
        return
    baseline = outcome.baseline()
    if baseline is None or baseline.hang is not None:
        # A fault-free counterpart that did not finish, even with a larger budget, is no
        # reference: inconclusive (were the handler hung, the liveness oracle says so).
        return
    faults = ", ".join(map(repr, masked))
    mine = (
        outcome.execution_status.value,
        outcome.result_json,
        outcome.error.type if outcome.error else None,
    )
    theirs = (
        baseline.execution_status.value,
        baseline.result_json,
        baseline.error.type if baseline.error else None,
    )
    if mine != theirs:
        msg = (
            f"with {faults} the execution ended {mine[0]} "
            f"(result {mine[1]!r}, error {mine[2]!r}); in the same world without them it ends "
            f"{theirs[0]} (result {theirs[1]!r}, error {theirs[2]!r}): every step, callback "
            "and invoke there gave what it gave here, so these faults, which the service and "
            "the SDK mask, changed the outcome. The handler must not depend on them (e.g. side "
            "effects outside steps, module state carried across invocations)"
        )
        raise FaultNotMasked(msg)
    changed = _step_changed_by_fault(outcome, baseline)
    if changed is not None:
        raise FaultNotMasked(f"with {faults} {changed}")


def _step_changed_by_fault(outcome: Outcome, baseline: Outcome) -> str | None:
    """A step whose body produced something else under the faults than in the same world
    without them, though it produces the same on every fault-free run: the faults changed
    the world it read. (The outcomes can match only because the baseline replays step
    results.) A non-idempotent step whose own re-run returned another value is deliberately
    not judged."""
    world, replay = outcome._world, baseline._replay
    if world is None or replay is None:
        return None
    found = replay.first_divergence()
    if found is None:
        return None
    key, recorded, fresh = found
    _, operation_id, attempt = key
    if operation_id in world.nondeterministic or operation_id in baseline.nondeterministic_steps:
        return None  # it draws randomness or reads the clock: a new value every run
    ran = [k for k in world.order if k in world.steps]
    position = replay.order.index(key) + 1
    if ran[:position] != replay.order[:position]:
        return None  # concurrent bodies ran in another order: a race decided differently
    scenario = outcome.scenario
    # Bodies of this operation that ran beyond what the baseline runs: re-runs the recorder
    # saw, and runs it cannot see (a duplicate delivery runs without fault hooks, and may run
    # an attempt for real whose injected twin is what the service kept).
    operation = (key[0], operation_id)
    attempts = sum(
        1 for a in outcome.recorder.step_attempts if (a.execution_arn, a.operation_id) == operation
    )
    body_runs = attempts - world.injected.get(operation, 0)
    extra = body_runs - world.baseline_runs(operation)
    runs = max(world.runs.get(key, 1), 1 + extra)
    rerun = key if runs > 1 else None
    if rerun is not None:
        # The faults ran this step's body again. Run it as often here: if one of those runs
        # gives what the recorded run checkpointed, its own re-runs changed its answer
        # (non-idempotent; not judged here). Any of them, not only the last: the run the
        # service kept need not be the last (a duplicate delivery's later run bounces).
        again = scenario.baseline(world, rerun=rerun, rerun_times=runs)
        if again.hang is not None or again._replay is None:
            return None
        fresh_again = again._replay.fresh.get(key)
        if fresh_again is None or any(
            same_outcome(ran, recorded) for ran in (*again._replay.rerun_outcomes, fresh_again)
        ):
            return None
        fresh = fresh_again
    second = scenario.baseline(
        world, seed=scenario.timings.seed + 1, rerun=rerun, rerun_times=runs if rerun else None
    )
    if second.hang is not None:
        return None
    other = second._replay.fresh.get(key) if second._replay is not None else None
    if other is None or not same_outcome(other, fresh):
        return None  # it produces a new value every run, by a source we do not watch
    name = next(
        (
            e.name
            for events in outcome.recorder.events.values()
            for e in events
            if e.id == operation_id and e.name
        ),
        None,
    )
    times = "once" if runs == 1 else f"{runs} times"
    return (
        f"step {_label(operation_id, name)} (attempt {attempt}) ran its body {times} and "
        f"produced {recorded.describe()}; in the same world without the faults, its body run "
        f"{times} produces {fresh.describe()}, on every run. The faults, which the service and "
        "the SDK mask, changed what the step read: a side effect outside a step that the "
        "replay repeated, or another step's body that ran twice (make both idempotent)"
    )
