"""Reference evaluator: what the durable service must report for a generated ``Program``.

``expected_outcome(program, input=..., callback_results=..., step_exceptions=...,
step_timeouts=..., callback_faults=..., invoke_faults=...)`` computes, from the program, its
payloads and its faults alone, the execution's final status, its result (or error type), and
for every operation of the root execution its type, final status and (for steps) attempt
count. It shares no code with the SDK or the emulator: it is an oracle. The meaning of each
node is in ``nodes.py``; this module adds what the service and the SDK (2.5) make of it.

Conventions
-----------
* **Operation paths.** An operation is identified by the names from the root down, joined with
  ``/``: ``"c1/s2"``, ``"p1/parallel-branch-0/s3"``, ``"m1/map-item-1/s4"``. Names are unique
  within a program, so a path is unique except for map bodies, which the item name separates.
* **Errors.** An unhandled failure of a step, chained invoke or failed batch reaches the
  caller as ``CallableRuntimeError``; of a callback (failure, time-out, heartbeat time-out), as
  ``CallbackError``. A child context (or batch branch) whose body fails passes a
  ``CallbackError`` through unchanged (the SDK re-raises its control errors) and turns anything
  else into ``CallableRuntimeError``. The execution fails with that type. A failed step operation
  records the body's exception (``StepBodyError``, ``InjectedStepError`` for an injected
  ``step_exception``, ``ReadTimeoutError`` for a ``step_timeouts`` attempt); a failed context
  records the type of the exception that left its body; a callback that timed out records
  ``Callback.Timeout`` / ``Callback.Heartbeat``.
* **Attempts.** A step's ``attempt`` is the number of finished attempts; a
  ``wait_for_condition`` counts its polls the same way.
* **Time.** Steps take no time; waits, retry delays and polls take their seconds. A callback
  is answered (or faulted) after ``callback_delays`` if given, else after an unknown delay; a
  faulted invoke ends after an unknown delay; a successful invoke takes the invoked program's
  time. Times are intervals (``window`` > 0 widens them by that much per timer, for
  schedulers that permute deadlines that are close), grouped in epochs separated by the
  unknown delays.
* **Batches** (``Parallel``, ``Map``; all branches start together, no concurrency limit). A
  branch completes at the time its body ends. Completions are processed in time order; the
  batch completes at the first completion after which the SDK's rule says so:
  ``completed == total`` or ``successes >= min_successful``, or failures exceed the tolerance
  (any failure when no tolerance is set). Its reason is then (SDK 2.5's
  ``BatchResult._get_completion_reason``, which differs from ``CompletionConfig``'s docstring):
  ``FAILURE_TOLERANCE_EXCEEDED`` if failures exceed the tolerance (or, with neither threshold
  set, if there is any failure); else ``ALL_COMPLETED`` if everything completed; else
  ``MIN_SUCCESSFUL_REACHED`` if the threshold is met; else ``ALL_COMPLETED``. Branches not
  complete at that moment are ``CANCELLED``: their operations stay as they were (handler-side),
  except that the service still fires their timers while the execution runs (a wait SUCCEEDS,
  a retrying step becomes READY). When several completions are simultaneous and the decision
  could fall in the middle of them, which ones made it in is a race: those items are ``ANY``
  and their operations unchecked; if even the batch's success or failure depends on the race,
  the evaluator raises ``Undetermined``.

Ordinals (for faults)
---------------------
* ``step_exceptions``: ``(n, attempt)`` — the n-th *distinct step of the root execution* to
  run (counted from 1 in the order steps first run; a ``wait_for_condition`` counts, since its
  checks run as a step, and an unawaited step does if it runs) raises ``InjectedStepError`` on
  that attempt, before its body. Targeting a ``wait_for_condition`` raises
  ``UnsupportedScenario``.
  Steps inside a ``Parallel``/``Map`` run in an order the evaluator does not fix: targeting one
  of them raises ``UnsupportedScenario``, and so does targeting any step after an ``Unawaited``
  step or after a batch whose number of started steps is a race. Steps after a batch whose
  branches all run to the same point are supported.
* ``step_timeouts``: ``(n, attempt)`` — the same ordinals; on that attempt the body's AWS call
  (every generated step body makes one, after its first wait) is done and its answer times
  out: the body raises botocore's ``ReadTimeoutError`` (``aws_call_timeout(call=1)``). A
  ``step_exception`` on the same attempt comes first (the body never runs). A
  ``wait_for_condition``'s check makes no AWS call: a time-out there never lands.
* ``callback_faults``: callback ordinal (creation order, invoked programs included) ->
  ``"failure" | "timeout" | "heartbeat_timeout"``. ``"timeout"``: the partner keeps the
  callback alive with heartbeats and never answers, so its time-out ends it;
  ``"heartbeat_timeout"``: the partner goes silent (after ``callback_heartbeats`` heartbeats,
  if any), so its heartbeat time-out ends it, or its time-out if that comes first. Either
  lands only on a callback that could time out that way (a heartbeat time-out needs one);
  elsewhere the partner answers as usual. ``invoke_faults``: invoke ordinal ->
  ``"failure" | "timeout"``. Both are sequential by construction: callbacks and invokes inside
  batches are not supported.

Not supported (``UnsupportedScenario``): callbacks, invokes or unawaited steps inside a
``Parallel``/``Map``; a callback without a payload in ``callback_results`` and no fault.
Not modelled: the faults the service masks (crashes, lost responses, retried checkpoint errors,
lost or duplicate invocations). Without ``step_exceptions`` they must not change the outcome of
a program whose steps are all at-least-once (an interrupted at-most-once step fails its
attempt with ``StepInterruptedError``). With them, note that ``FaultPlanHooks`` fires a
``step_exception`` once: if a crash makes the SDK run that attempt again, the re-run does not
raise, while the evaluator assumes the attempt failed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from async_durable_execution_runner._harness.programs.nodes import (
    STEP_BODY_ERROR,
    Callback,
    Catch,
    Child,
    Completion,
    Invoke,
    Map,
    Node,
    Parallel,
    Program,
    Step,
    SucceedInput,
    Unawaited,
    Wait,
    WaitForCondition,
)

INJECTED_STEP_ERROR = "InjectedStepError"
#: What a step body whose AWS call timed out raises (botocore's).
READ_TIMEOUT_ERROR = "ReadTimeoutError"
RUNTIME_ERROR = "CallableRuntimeError"
CALLBACK_ERROR = "CallbackError"
#: Errors the SDK passes through child contexts unchanged (``ExecutionError`` subclasses).
CONTROL_ERRORS = frozenset({CALLBACK_ERROR})

FAILURE_TOLERANCE_EXCEEDED = "FAILURE_TOLERANCE_EXCEEDED"
ALL_COMPLETED = "ALL_COMPLETED"
MIN_SUCCESSFUL_REACHED = "MIN_SUCCESSFUL_REACHED"

CALLBACK_FAULTS = frozenset({"failure", "timeout", "heartbeat_timeout"})
#: A live partner's keep-alive under ``callback_timeout``, as the fault kinds document it (kept
#: apart from their code: the evaluator restates the documented behaviour on its own): a
#: heartbeat one second inside each heartbeat deadline (half a second for a one-second
#: heartbeat time-out), at most this many before the time-out, or the fault does not land.
KEEP_ALIVE_HEARTBEATS = 2_000


def keep_alive_interval(heartbeat: int) -> float:
    return float(heartbeat - 1) if heartbeat >= 2 else heartbeat / 2


def _keeps_alive(timeout: int, heartbeat: int) -> bool:
    """Whether ``callback_timeout`` lands on a callback with these time-outs."""
    if timeout <= 0:
        return False
    return not heartbeat or timeout / keep_alive_interval(heartbeat) <= KEEP_ALIVE_HEARTBEATS


#: The error a callback that timed out this way records.
_TIMED_OUT_BY = {"timeout": "Callback.Timeout", "heartbeat_timeout": "Callback.Heartbeat"}
INVOKE_FAULTS = frozenset({"failure", "timeout"})


class UnsupportedScenario(Exception):
    """The evaluator does not model this program with these faults."""


class Undetermined(UnsupportedScenario):
    """More than one outcome is correct: the service may legitimately do either."""


class _AnyValue:
    """Matches any value (an item of a batch whose completion raced)."""

    _instance: _AnyValue | None = None

    def __new__(cls) -> _AnyValue:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "ANY"


ANY: Any = _AnyValue()


# --- expectations -----------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectedOperation:
    """One operation's expected final state; ``statuses`` ``None`` means any status."""

    path: str
    type: str
    statuses: frozenset[str] | None
    attempts: int | None = None
    error_type: str | None = None
    optional: bool = False

    def describe(self) -> str:
        status = "any status" if self.statuses is None else "/".join(sorted(self.statuses))
        extra = f", attempts={self.attempts}" if self.attempts is not None else ""
        extra += f", error {self.error_type}" if self.error_type else ""
        extra += " (may be absent)" if self.optional else ""
        return f"{self.type} {self.path}: {status}{extra}"


@dataclass(frozen=True)
class ActualOperation:
    path: str
    type: str
    status: str
    attempts: int | None
    error_type: str | None


@dataclass(frozen=True)
class ExpectedOutcome:
    status: str
    result: Any = None
    error_type: str | None = None
    operations: Mapping[str, ExpectedOperation] = field(default_factory=dict)

    def mismatches(self, actual: Any) -> list[str]:
        """How a ``DurableFunctionTestResult`` differs from this expectation (empty: agrees)."""
        problems: list[str] = []
        status = getattr(actual.execution_status, "value", actual.execution_status)
        if status != self.status:
            problems.append(f"status: expected {self.status}, got {status}")
        if self.status == "SUCCEEDED" and status == "SUCCEEDED":
            value = actual.result_value
            problems.extend(_match(self.result, value, "result"))
        if self.status == "FAILED" and status == "FAILED":
            got = actual.error.type if actual.error is not None else None
            if got != self.error_type:
                problems.append(f"error type: expected {self.error_type}, got {got}")
        problems.extend(self.operation_mismatches(actual_operations(actual)))
        return problems

    def operation_mismatches(self, actual: Mapping[str, list[ActualOperation]]) -> list[str]:
        problems: list[str] = []
        for path, expected in self.operations.items():
            found = actual.get(path, [])
            if len(found) > 1:
                problems.append(f"{path}: {len(found)} operations have this path")
                continue
            if not found:
                if not expected.optional:
                    problems.append(f"{path}: missing (expected {expected.describe()})")
                continue
            op = found[0]
            if op.type != expected.type:
                problems.append(f"{path}: type {op.type}, expected {expected.type}")
            if expected.statuses is not None and op.status not in expected.statuses:
                problems.append(f"{path}: status {op.status}, expected {expected.describe()}")
            elif expected.attempts is not None and op.attempts != expected.attempts:
                problems.append(f"{path}: attempts {op.attempts}, expected {expected.describe()}")
            elif expected.error_type is not None and op.error_type != expected.error_type:
                problems.append(
                    f"{path}: error type {op.error_type}, expected {expected.describe()}"
                )
        for path, ops in actual.items():
            if path not in self.operations:
                listing = ", ".join(f"{o.type} {o.status}" for o in ops)
                problems.append(f"{path}: unexpected operation ({listing})")
        return problems

    def describe(self) -> str:
        head = (
            f"SUCCEEDED with {self.result!r}"
            if self.status == "SUCCEEDED"
            else f"FAILED with {self.error_type}"
        )
        lines = [head] + ["  " + op.describe() for op in self.operations.values()]
        return "\n".join(lines)


def actual_operations(result: Any) -> dict[str, list[ActualOperation]]:
    """The root execution's operations of a ``DurableFunctionTestResult``, by path."""
    views = list(result.all_operations)
    by_id = {v.id: v for v in views}
    out: dict[str, list[ActualOperation]] = {}
    for view in views:
        names = []
        current = view
        while current is not None:
            names.append(current.name or current.id[:12])
            current = by_id.get(current.parent_id) if current.parent_id else None
        path = "/".join(reversed(names))
        op_type = getattr(view.type, "value", view.type)
        error = getattr(view, "error", None)
        attempts = getattr(view, "attempt", None) if op_type == "STEP" else None
        out.setdefault(path, []).append(
            ActualOperation(
                path=path,
                type=op_type,
                status=getattr(view.status, "value", view.status),
                attempts=attempts,
                error_type=error.type if error is not None else None,
            )
        )
    return out


def _match(expected: Any, actual: Any, where: str) -> list[str]:
    if expected is ANY:
        return []
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        out: list[str] = []
        for i, (e, a) in enumerate(zip(expected, actual, strict=True)):
            out.extend(_match(e, a, f"{where}[{i}]"))
        return out
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return [f"{where}: expected {expected!r}, got {actual!r}"]
        out = []
        for key in expected:
            out.extend(_match(expected[key], actual[key], f"{where}[{key!r}]"))
        return out
    if type(expected) is not type(actual) or expected != actual:
        return [f"{where}: expected {expected!r}, got {actual!r}"]
    return []


# --- time -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _T:
    """An instant: ``[lo, hi]`` seconds into an epoch (epochs are separated by unknown delays)."""

    epoch: int
    lo: float
    hi: float

    def after(self, seconds: float, window: float) -> _T:
        return _T(self.epoch, self.lo + seconds, self.hi + seconds + window)


def _order(a: _T, b: _T) -> str:
    """``"<"`` if ``a`` is surely before ``b``, ``">"`` if surely after, ``"?"`` otherwise."""
    if a.epoch != b.epoch:
        return "?"
    if a.hi < b.lo:
        return "<"
    if a.lo > b.hi:
        return ">"
    return "?"


def _earliest(a: _T | None, b: _T) -> _T:
    if a is None:
        return b
    if a.epoch != b.epoch:
        return a if a.epoch < b.epoch else b
    return _T(a.epoch, min(a.lo, b.lo), min(a.hi, b.hi))


# --- the evaluation ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Ok:
    value: Any


@dataclass(frozen=True)
class _Err:
    type: str


_Res = _Ok | _Err


@dataclass
class _Phase:
    t: _T
    status: str
    attempts: int | None = None
    error: str | None = None
    #: A service timer pending in this phase: when it fires, and the status it sets.
    timer: _T | None = None
    timer_status: str | None = None


@dataclass
class _Op:
    path: str
    type: str
    kind: str  # "step", "wfc", "unawaited", "wait", "context", "callback", "invoke"
    phases: list[_Phase] = field(default_factory=list)
    cut: _T | None = None

    def add(self, t: _T, status: str, **kw: Any) -> None:
        self.phases.append(_Phase(t, status, **kw))


@dataclass
class _Shared:
    """Counters shared by the root execution and the programs it invokes."""

    callbacks: int = 0
    invokes: int = 0
    epochs: int = 0

    def new_epoch(self) -> _T:
        self.epochs += 1
        return _T(self.epochs, 0.0, 0.0)


class _Evaluation:
    def __init__(
        self,
        *,
        shared: _Shared,
        root: bool,
        callback_results: Mapping[str, str | None],
        step_exceptions: frozenset[tuple[int, int]],
        callback_faults: Mapping[int, str],
        step_timeouts: frozenset[tuple[int, int]] = frozenset(),
        invoke_faults: Mapping[int, str],
        window: float,
        callback_delays: tuple[float, ...] | None = None,
        callback_heartbeats: Mapping[int, int] | None = None,
    ) -> None:
        self.callback_heartbeats: Mapping[int, int] = callback_heartbeats or {}
        self.shared = shared
        self.callback_delays = callback_delays
        self.root = root
        self.callback_results = callback_results
        self.step_exceptions = step_exceptions if root else frozenset()
        self.step_timeouts = step_timeouts if root else frozenset()
        self.callback_faults = callback_faults
        self.invoke_faults = invoke_faults
        self.window = window
        self.ops: list[_Op] = []
        self.steps_run: int | None = 0  # None: no longer known
        self.unsupported_from: int | None = None  # step ordinals above this are unsupported
        self.unsupported_ranges: list[tuple[int, int]] = []
        self.concurrent = 0

    # --- bodies and nodes -------------------------------------------------------------

    def body(self, nodes: Iterable[Node], scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        results = []
        for node in nodes:
            res, t = self.node(node, scope, t, prefix)
            if isinstance(res, _Err):
                return res, t
            if not isinstance(node, Unawaited):
                results.append(res.value)
        return _Ok(results), t

    def _path(self, prefix: str, name: str) -> str:
        return f"{prefix}/{name}" if prefix else name

    def _op(self, path: str, op_type: str, kind: str) -> _Op:
        op = _Op(path, op_type, kind)
        self.ops.append(op)
        return op

    def node(self, node: Node, scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        evaluate = EVALUATORS.get(type(node))
        if evaluate is None:
            msg = f"the evaluator does not know {node!r}: add it to EVALUATORS"
            raise TypeError(msg)
        return evaluate(self, node, scope, t, prefix)

    def catch(self, node: Catch, scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        res, t = self.node(node.node, scope, t, prefix)
        return (_Ok(res.type) if isinstance(res, _Err) else res), t

    def wait(self, node: Wait, t: _T, prefix: str) -> tuple[_Res, _T]:
        op = self._op(self._path(prefix, node.name), "WAIT", "wait")
        due = t.after(node.seconds, self.window)
        op.add(t, "STARTED", timer=due, timer_status="SUCCEEDED")
        op.add(due, "SUCCEEDED")
        return _Ok(None), due

    def child(self, node: Child, scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        path = self._path(prefix, node.name)
        op = self._op(path, "CONTEXT", "context")
        op.add(t, "STARTED")
        res, t = self.body(node.body, scope, t, path)
        if isinstance(res, _Err):
            op.add(t, "FAILED", error=res.type)
            return _Err(_through_context(res.type)), t
        op.add(t, "SUCCEEDED")
        return res, t

    def unawaited(self, node: Unawaited, t: _T, prefix: str) -> tuple[_Res, _T]:
        if self.concurrent:
            msg = f"an unawaited step inside a parallel or map ({node!r})"
            raise UnsupportedScenario(msg)
        op = self._op(self._path(prefix, node.name), "STEP", "unawaited")
        op.add(t, "STARTED")
        if self.root and self.steps_run is not None:
            self._unsupported_above(self.steps_run)
            self.steps_run = None
        return _Ok(None), t

    def parallel(self, node: Parallel, scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        bodies = [(f"parallel-branch-{i}", b, scope) for i, b in enumerate(node.branches)]
        return self.batch(node.name, bodies, node.completion, t, prefix)

    def map(self, node: Map, t: _T, prefix: str) -> tuple[_Res, _T]:
        bodies = [(f"map-item-{i}", node.body, item) for i, item in enumerate(node.items)]
        return self.batch(node.name, bodies, node.completion, t, prefix)

    def _unsupported_above(self, count: int) -> None:
        if self.unsupported_from is None or count < self.unsupported_from:
            self.unsupported_from = count

    def step(self, node: Step, scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        ordinal = None
        if self.root and not self.concurrent and self.steps_run is not None:
            self.steps_run += 1
            ordinal = self.steps_run
        op = self._op(self._path(prefix, node.name), "STEP", "step")
        op.add(t, "STARTED")
        attempt = 1
        while True:
            injected = ordinal is not None and (ordinal, attempt) in self.step_exceptions
            timed_out = (
                not injected and ordinal is not None and (ordinal, attempt) in self.step_timeouts
            )
            if not injected and not timed_out and not node.outcome.fails_on(attempt):
                op.add(t, "SUCCEEDED", attempts=attempt)
                if isinstance(node.outcome, SucceedInput):
                    value = scope
                elif node.outcome.kind == "fail_first":
                    value = attempt
                else:
                    value = getattr(node.outcome, "value", None)
                return _Ok(value), t
            error = (
                INJECTED_STEP_ERROR
                if injected
                else READ_TIMEOUT_ERROR
                if timed_out
                else STEP_BODY_ERROR
            )
            if attempt >= node.retry.max_attempts:
                op.add(t, "FAILED", attempts=attempt, error=error)
                return _Err(RUNTIME_ERROR), t
            due = t.after(node.retry.delay, self.window)
            op.add(t, "PENDING", attempts=attempt, error=error, timer=due, timer_status="READY")
            t = due
            attempt += 1
            op.add(t, "STARTED", attempts=attempt - 1)

    def wait_for_condition(self, node: WaitForCondition, t: _T, prefix: str) -> tuple[_Res, _T]:
        # Its checks run as a step, so it takes a step ordinal (step exceptions reach checks).
        if self.root and not self.concurrent and self.steps_run is not None:
            self.steps_run += 1
            if any(ordinal == self.steps_run for ordinal, _ in self.step_exceptions):
                msg = (
                    f"step_exception(step={self.steps_run}) targets the check of "
                    f"wait_for_condition {node.name!r}: how a raising check fails is not modelled "
                    "(the SDK reports a different error type live and on replay)"
                )
                raise UnsupportedScenario(msg)
        op = self._op(self._path(prefix, node.name), "STEP", "wfc")
        op.add(t, "STARTED")
        polls = max(1, node.polls_until_done)
        for poll in range(1, polls):
            due = t.after(1, self.window)
            op.add(t, "PENDING", attempts=poll, timer=due, timer_status="READY")
            t = due
            op.add(t, "STARTED", attempts=poll)
        op.add(t, "SUCCEEDED", attempts=polls)
        return _Ok(polls), t

    def callback(self, node: Callback, t: _T, prefix: str) -> tuple[_Res, _T]:
        if self.concurrent:
            msg = f"a callback inside a parallel or map ({node!r})"
            raise UnsupportedScenario(msg)
        self.shared.callbacks += 1
        ordinal = self.shared.callbacks
        fault = self.callback_faults.get(ordinal)
        heartbeat = node.heartbeat_seconds or 0
        # A time-out fault lands only where the service could time the callback out that way
        # (``CallbackFault.applies_to``); elsewhere the partner answers as usual.
        if (fault == "timeout" and not _keeps_alive(node.timeout_seconds, heartbeat)) or (
            fault == "heartbeat_timeout" and not heartbeat
        ):
            fault = None
        op = self._op(self._path(prefix, node.name), "CALLBACK", "callback")
        op.add(t, "STARTED")
        if fault == "timeout":
            return self._kept_alive(node, t, op)
        if fault == "heartbeat_timeout":
            beats = self.callback_heartbeats.get(ordinal, 0)
            return self._silent(node, t, op, self._callback_delay(ordinal), beats)
        if self.callback_delays is None:
            done = self.shared.new_epoch()
        else:
            delay = self._callback_delay(ordinal)
            assert delay is not None
            done = t.after(delay, self.window)
            # The service's own timers may end the callback before the answer arrives.
            candidates = [(done, fault), *self._callback_timers(node, t)]
            done, fault = self._first(node, candidates, f"the answer after {delay:g}s")
        if fault is None:
            if node.name not in self.callback_results:
                msg = f"no payload for callback {node.name!r} in callback_results"
                raise UnsupportedScenario(msg)
            text = self.callback_results[node.name]
            op.add(done, "SUCCEEDED")
            return _Ok(json.loads(text) if text is not None else None), done
        if fault == "failure":
            op.add(done, "FAILED")
        elif fault in _TIMED_OUT_BY:
            op.add(done, "TIMED_OUT", error=_TIMED_OUT_BY[fault])
        else:
            msg = f"unknown callback fault {fault!r}; expected one of {sorted(CALLBACK_FAULTS)}"
            raise ValueError(msg)
        return _Err(CALLBACK_ERROR), done

    def _callback_delay(self, ordinal: int) -> float | None:
        if self.callback_delays is None:
            return None
        delays = self.callback_delays
        return delays[(ordinal - 1) % len(delays)] if delays else 0.0

    def _callback_timers(self, node: Callback, start: _T) -> list[tuple[_T, str | None]]:
        """The service's own timers for a callback created at ``start``."""
        timers: list[tuple[_T, str | None]] = [
            (start.after(node.timeout_seconds, self.window), "timeout")
        ]
        if node.heartbeat_seconds:
            timers.append((start.after(node.heartbeat_seconds, self.window), "heartbeat_timeout"))
        return timers

    def _first(
        self, node: Callback, candidates: list[tuple[_T, str | None]], what: str
    ) -> tuple[_T, str | None]:
        """The candidate that surely comes first; ``Undetermined`` if it is a race."""
        firsts = [
            (when, outcome)
            for when, outcome in candidates
            if not any(_order(other, when) == "<" for other, _ in candidates)
        ]
        if len({outcome for _, outcome in firsts}) > 1:
            msg = f"callback {node.name!r}: whether {what} or a time-out comes first is a race"
            raise Undetermined(msg)
        return firsts[0]

    def _kept_alive(self, node: Callback, t: _T, op: Any) -> tuple[_Res, _T]:
        """``callback_timeout``: the partner heartbeats (every ``keep_alive_interval``) and
        never answers, so the callback's time-out ends it."""
        heartbeat = node.heartbeat_seconds or 0
        if heartbeat and heartbeat - keep_alive_interval(heartbeat) < self.window:
            msg = (
                f"callback {node.name!r}: a keep-alive heartbeat {heartbeat / 2:g}s before its "
                f"deadline may be delivered after it (window {self.window:g}s)"
            )
            raise Undetermined(msg)
        done = t.after(node.timeout_seconds, self.window)
        op.add(done, "TIMED_OUT", error=_TIMED_OUT_BY["timeout"])
        return _Err(CALLBACK_ERROR), done

    def _silent(
        self, node: Callback, t: _T, op: Any, delay: float | None, beats: int
    ) -> tuple[_Res, _T]:
        """``heartbeat_timeout`` / ``heartbeat_then_timeout``: the partner heartbeats
        ``beats`` times (one second apart, from ``delay``), then goes silent: its heartbeat
        time-out ends the callback, or its time-out if that comes first."""
        heartbeat = node.heartbeat_seconds or 0
        deadline = t.after(heartbeat, self.window)
        if beats:
            if delay is None:
                msg = f"callback {node.name!r}: heartbeats at an unknown delay"
                raise Undetermined(msg)
            timeout = t.after(node.timeout_seconds, self.window)
            for beat in range(beats):
                sent = t.after(delay + beat, self.window)
                # A heartbeat counts if it reaches the callback while it is still open.
                for limit in (deadline, timeout):
                    if _order(sent, limit) == "?":
                        msg = f"callback {node.name!r}: heartbeat {beat + 1} races a time-out"
                        raise Undetermined(msg)
                if _order(sent, deadline) == ">" or _order(sent, timeout) == ">":
                    break
                deadline = sent.after(heartbeat, 0.0)
        candidates: list[tuple[_T, str | None]] = [
            (deadline, "heartbeat_timeout"),
            (t.after(node.timeout_seconds, self.window), "timeout"),
        ]
        done, outcome = self._first(node, candidates, "the heartbeat time-out")
        assert outcome is not None
        op.add(done, "TIMED_OUT", error=_TIMED_OUT_BY[outcome])
        return _Err(CALLBACK_ERROR), done

    def invoke(self, node: Invoke, scope: Any, t: _T, prefix: str) -> tuple[_Res, _T]:
        if self.concurrent:
            msg = f"a chained invoke inside a parallel or map ({node!r})"
            raise UnsupportedScenario(msg)
        self.shared.invokes += 1
        fault = self.invoke_faults.get(self.shared.invokes)
        op = self._op(self._path(prefix, node.name), "CHAINED_INVOKE", "invoke")
        op.add(t, "STARTED")
        if fault is not None:
            done = self.shared.new_epoch()
            if fault == "failure":
                op.add(done, "FAILED")
            elif fault == "timeout":
                op.add(done, "TIMED_OUT")
            else:
                msg = f"unknown invoke fault {fault!r}; expected one of {sorted(INVOKE_FAULTS)}"
                raise ValueError(msg)
            return _Err(RUNTIME_ERROR), done
        inner = _Evaluation(
            shared=self.shared,
            root=False,
            callback_results=self.callback_results,
            step_exceptions=frozenset(),
            callback_faults=self.callback_faults,
            invoke_faults=self.invoke_faults,
            window=self.window,
            callback_delays=self.callback_delays,
            callback_heartbeats=self.callback_heartbeats,
        )
        res, end = inner.body(node.program.body, scope, _T(t.epoch, t.lo, t.hi), "")
        inner.finish(end)
        if isinstance(res, _Err):
            op.add(end, "FAILED", error=res.type)
            return _Err(RUNTIME_ERROR), end
        op.add(end, "SUCCEEDED")
        return res, end

    # --- batches ---------------------------------------------------------------------

    def batch(
        self,
        name: str,
        bodies: list[tuple[str, Sequence[Node], Any]],
        completion: Completion,
        t: _T,
        prefix: str,
    ) -> tuple[_Res, _T]:
        path = self._path(prefix, name)
        op = self._op(path, "CONTEXT", "context")
        op.add(t, "STARTED")
        outermost = self.concurrent == 0
        region_start = len(self.ops)
        steps_before = self.steps_run
        self.concurrent += 1
        outcomes: list[tuple[_Res, _T]] = []
        branch_ops: list[list[_Op]] = []
        for label, body, scope in bodies:
            bpath = f"{path}/{label}"
            start = len(self.ops)
            bop = self._op(bpath, "CONTEXT", "context")
            bop.add(t, "STARTED")
            res, end = self.body(body, scope, t, bpath)
            if isinstance(res, _Err):
                bop.add(end, "FAILED", error=res.type)
            else:
                bop.add(end, "SUCCEEDED")
            outcomes.append((res, end))
            branch_ops.append(self.ops[start:])
        self.concurrent -= 1

        decision = _decide([(isinstance(r, _Ok), end) for r, end in outcomes], completion, t)
        for i, ops in enumerate(branch_ops):
            if i not in decision.completed:
                for branch_op in ops:
                    branch_op.cut = _earliest(branch_op.cut, decision.cut)
        op.add(decision.cut, "SUCCEEDED")
        if outermost and self.root and steps_before is not None:
            self._count_region_steps(self.ops[region_start:], steps_before)

        if decision.reason == FAILURE_TOLERANCE_EXCEEDED:
            return _Err(RUNTIME_ERROR), decision.cut
        items: list[Any] = []
        for i, (res, _end) in enumerate(outcomes):
            if i in decision.uncertain:
                items.append(ANY)
            elif i in decision.completed:
                if isinstance(res, _Ok):
                    items.append(["SUCCEEDED", res.value])
                else:
                    items.append(["FAILED", _through_context(res.type)])
            else:
                items.append(["CANCELLED", None])
        return _Ok({"reason": decision.reason, "items": items}), decision.cut

    def _count_region_steps(self, ops: list[_Op], before: int) -> None:
        """After a batch: which step ordinals its steps took, if that is known."""
        definite = 0
        uncertain = False
        for op in ops:
            if op.kind not in ("step", "wfc"):
                continue
            first = op.phases[0].t
            relation = "<" if op.cut is None else _order(first, op.cut)
            if relation == "<":
                definite += 1
            elif relation == "?":
                uncertain = True
        if definite:
            self.unsupported_ranges.append((before + 1, before + definite))
        if uncertain:
            self._unsupported_above(before)
            self.steps_run = None
        else:
            self.steps_run = before + definite

    # --- final states ------------------------------------------------------------------

    def finish(self, end: _T) -> dict[str, ExpectedOperation]:
        out: dict[str, ExpectedOperation] = {}
        for op in self.ops:
            expected = self._expect(op, end)
            if expected is not None:
                out[op.path] = expected
        return out

    def _expect(self, op: _Op, end: _T) -> ExpectedOperation | None:
        if op.kind == "unawaited":
            return ExpectedOperation(
                op.path, op.type, frozenset({"STARTED", "SUCCEEDED"}), optional=True
            )
        if op.cut is None:
            phase = op.phases[-1]
            return _expectation(op, {phase.status}, phase)
        before = [p for p in op.phases if _order(p.t, op.cut) == "<"]
        racing = [p for p in op.phases if _order(p.t, op.cut) == "?"]
        # A retry timer left behind by a cancelled branch: the service still makes the step
        # READY when it fires, if the execution is still running then (and, invoking on
        # events only, does not re-invoke for it: an earlier emulator looped here).
        if racing:
            return ExpectedOperation(op.path, op.type, None, optional=not before)
        if not before:
            return None
        phase = before[-1]
        statuses = {phase.status}
        if phase.timer is not None and phase.timer_status is not None:
            fires = _order(phase.timer, end)
            if fires != ">":
                statuses = {phase.timer_status} if fires == "<" else statuses | {phase.timer_status}
        return _expectation(op, statuses, phase)


#: How the evaluator computes each node type (every type of ``NODE_TYPES`` has an entry).
EVALUATORS: dict[type[Node], Callable[[_Evaluation, Any, Any, _T, str], tuple[_Res, _T]]] = {
    Step: lambda e, node, scope, t, prefix: e.step(node, scope, t, prefix),
    Wait: lambda e, node, scope, t, prefix: e.wait(node, t, prefix),
    Child: lambda e, node, scope, t, prefix: e.child(node, scope, t, prefix),
    Callback: lambda e, node, scope, t, prefix: e.callback(node, t, prefix),
    Parallel: lambda e, node, scope, t, prefix: e.parallel(node, scope, t, prefix),
    Map: lambda e, node, scope, t, prefix: e.map(node, t, prefix),
    WaitForCondition: lambda e, node, scope, t, prefix: e.wait_for_condition(node, t, prefix),
    Invoke: lambda e, node, scope, t, prefix: e.invoke(node, scope, t, prefix),
    Unawaited: lambda e, node, scope, t, prefix: e.unawaited(node, t, prefix),
    Catch: lambda e, node, scope, t, prefix: e.catch(node, scope, t, prefix),
}


def _through_context(error_type: str) -> str:
    """What leaves a failed child context: the SDK's control errors (``CallbackError``) as
    they are, anything else as ``CallableRuntimeError``."""
    return error_type if error_type in CONTROL_ERRORS else RUNTIME_ERROR


def _expectation(op: _Op, statuses: set[str], phase: _Phase) -> ExpectedOperation:
    attempts = None
    if op.type == "STEP" and statuses & {"SUCCEEDED", "FAILED", "PENDING", "READY"}:
        attempts = phase.attempts
    error = phase.error if statuses in ({"FAILED"}, {"TIMED_OUT"}) else None
    return ExpectedOperation(op.path, op.type, frozenset(statuses), attempts, error)


@dataclass(frozen=True)
class _Decision:
    cut: _T
    reason: Any
    completed: frozenset[int]
    uncertain: frozenset[int]


def _batch_decision(
    successes: int, failures: int, total: int, completion: Completion
) -> str | None:
    """SDK 2.5's ``ExecutionCounters.completion_decision`` for threshold configs."""
    minimum, tolerated = completion.min_successful, completion.tolerated_failures
    complete = successes + failures == total or (minimum is not None and successes >= minimum)
    keep_going = failures == 0 if tolerated is None else failures <= tolerated
    if not complete and keep_going:
        return None
    return _completion_reason(successes, failures, total, completion)


def _completion_reason(successes: int, failures: int, total: int, completion: Completion) -> str:
    minimum, tolerated = completion.min_successful, completion.tolerated_failures
    if minimum is None and tolerated is None:
        if failures > 0:
            return FAILURE_TOLERANCE_EXCEEDED
    elif tolerated is not None and failures > tolerated:
        return FAILURE_TOLERANCE_EXCEEDED
    if successes + failures == total:
        return ALL_COMPLETED
    if minimum is not None and successes >= minimum:
        return MIN_SUCCESSFUL_REACHED
    return ALL_COMPLETED


def _groups(ends: list[_T]) -> list[list[int]]:
    """Branch indices grouped by completions whose order is not fixed (chained overlaps)."""
    order = sorted(range(len(ends)), key=lambda i: (ends[i].epoch, ends[i].lo, ends[i].hi))
    groups: list[list[int]] = []
    for i in order:
        if groups and any(_order(ends[j], ends[i]) == "?" for j in groups[-1]):
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups


def _decide(outcomes: list[tuple[bool, _T]], completion: Completion, start: _T) -> _Decision:
    total = len(outcomes)
    ends = [end for _, end in outcomes]
    successes = failures = 0
    done: list[int] = []
    for group in _groups(ends):
        if len(group) > 6:
            msg = f"{len(group)} simultaneous batch completions"
            raise Undetermined(msg)
        firsts: set[int | None] = set()
        reasons: set[str] = set()
        for perm in itertools.permutations(group):
            s, f = successes, failures
            first = None
            for k, i in enumerate(perm):
                if outcomes[i][0]:
                    s += 1
                else:
                    f += 1
                reason = _batch_decision(s, f, total, completion)
                if reason is not None:
                    first = k if first is None else first
                    reasons.add(reason)
            firsts.add(first)
        if firsts == {None}:
            successes += sum(1 for i in group if outcomes[i][0])
            failures += sum(1 for i in group if not outcomes[i][0])
            done.extend(group)
            continue
        members = [ends[i] for i in group]
        cut = _T(members[0].epoch, min(m.lo for m in members), max(m.hi for m in members))
        if firsts == {len(group) - 1}:
            s = successes + sum(1 for i in group if outcomes[i][0])
            f = failures + sum(1 for i in group if not outcomes[i][0])
            reason = _batch_decision(s, f, total, completion)
            return _Decision(cut, reason, frozenset(done + group), frozenset())
        if len({r == FAILURE_TOLERANCE_EXCEEDED for r in reasons}) > 1:
            msg = (
                "whether the batch fails depends on the order of simultaneous completions "
                f"(possible reasons {sorted(reasons)})"
            )
            raise Undetermined(msg)
        reason_value: Any = reasons.pop() if len(reasons) == 1 else ANY
        return _Decision(cut, reason_value, frozenset(done), frozenset(group))
    return _Decision(start, _completion_reason(0, 0, 0, completion), frozenset(), frozenset())


# --- entry point --------------------------------------------------------------------------


def expected_outcome(
    program: Program,
    *,
    input: Any = None,
    callback_results: Mapping[str, str | None] | None = None,
    step_exceptions: Iterable[tuple[int, int]] = (),
    step_timeouts: Iterable[tuple[int, int]] = (),
    callback_faults: Mapping[int, str] | None = None,
    invoke_faults: Mapping[int, str] | None = None,
    window: float = 0.0,
    callback_delays: Iterable[float] | None = None,
    callback_heartbeats: Mapping[int, int] | None = None,
) -> ExpectedOutcome:
    """The outcome the service must produce for ``program`` run on ``input``.

    ``callback_results``: callback name -> the JSON text delivered on success.
    ``step_exceptions``, ``step_timeouts``: ``(step ordinal, attempt)`` pairs; ``callback_faults`` /
    ``invoke_faults``: ordinal -> fault (see the module docstring for the ordinals).
    ``window``: the scheduler's "due together" window in seconds (0: strict deadline order).
    ``callback_delays``: seconds after its creation each callback is answered (cycled by
    callback ordinal, as ``Timings.callback_delays``; empty: at once). With delays known, a
    callback whose time-out or heartbeat time-out comes first times out instead; without
    them (``None``), every callback is answered before its time-outs, after an unknown delay.
    ``callback_heartbeats``: callback ordinal -> heartbeats its partner sends (one second
    apart, from its delay) before it goes silent, under a ``"heartbeat_timeout"`` fault.

    Raises ``UnsupportedScenario`` for what the evaluator does not model, and
    ``Undetermined`` when more than one outcome is correct.
    """
    exceptions = frozenset((int(n), int(a)) for n, a in step_exceptions)
    timeouts = frozenset((int(n), int(a)) for n, a in step_timeouts)
    evaluation = _Evaluation(
        shared=_Shared(),
        root=True,
        callback_results=dict(callback_results or {}),
        step_exceptions=exceptions,
        step_timeouts=timeouts,
        callback_faults=dict(callback_faults or {}),
        invoke_faults=dict(invoke_faults or {}),
        window=window,
        callback_delays=None if callback_delays is None else tuple(callback_delays),
        callback_heartbeats=dict(callback_heartbeats or {}),
    )
    res, end = evaluation.body(program.body, input, _T(0, 0.0, 0.0), "")
    operations = evaluation.finish(end)
    targeted = [("step_exception", n, a) for n, a in sorted(exceptions)]
    targeted += [("aws_call_timeout", n, a) for n, a in sorted(timeouts)]
    for kind, ordinal, attempt in targeted:
        if any(lo <= ordinal <= hi for lo, hi in evaluation.unsupported_ranges) or (
            evaluation.unsupported_from is not None and ordinal > evaluation.unsupported_from
        ):
            msg = (
                f"{kind}(step={ordinal}, attempt={attempt}) targets a step whose "
                "ordinal depends on the order concurrent or unawaited steps run in"
            )
            raise UnsupportedScenario(msg)
    if isinstance(res, _Err):
        return ExpectedOutcome("FAILED", None, res.type, operations)
    return ExpectedOutcome("SUCCEEDED", res.value, None, operations)


__all__ = [
    "ANY",
    "CALLBACK_FAULTS",
    "EVALUATORS",
    "INJECTED_STEP_ERROR",
    "INVOKE_FAULTS",
    "ActualOperation",
    "ExpectedOperation",
    "ExpectedOutcome",
    "Undetermined",
    "UnsupportedScenario",
    "actual_operations",
    "expected_outcome",
]
