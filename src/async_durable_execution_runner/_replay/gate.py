"""The replay gate: does today's handler still make the decisions a recorded history holds?

For every invocation in the history, the handler is invoked once more, in this runner, from
the operation state the service handed that invocation. What it asks for and checkpoints is
compared with what the history recorded for that invocation:

- an operation asked for under an id the history holds must have the same type, sub type,
  name and parent (ids are positional, so a step inserted before an old one, or a reordered
  wait, lands on an id the history gave to something else);
- every operation the history's invocation checkpointed must be checkpointed again, with the
  same sequence of events (started, succeeded, failed, retried) and the same error types,
  but for a context's lone START, which the SDK may drop (SDK finding 18);
- a new operation, unknown to the history, is a divergence where the history's invocation
  completed normally (the recorded code did not ask for it there);
- the invocation must end the same way: suspended, or the execution succeeding or failing.

Payloads (step results) are not compared: a step that draws an id or a random number is
correct code, and its result legitimately differs when it runs again. What a later
invocation did with a recorded result is checked at that invocation's boundary, where the
result comes from the history.

Step bodies of operations the history first ran in the invocation being replayed do run
again (the SDK runs what the state does not hold), as they would in any runner test.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import json
import logging
import os
import sys
import sysconfig
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Any, Literal

import async_durable_execution

import async_durable_execution_runner
from async_durable_execution_runner import _sdk_adapter
from async_durable_execution_runner._models import Event, EventType, OperationStatus, OperationType
from async_durable_execution_runner._replay.state import (
    SERVICE_ERROR_TYPES,
    Invocation,
    RecordedExecution,
    is_handler_event,
    operation_type_of,
    parse_events,
    replaying_children,
    split_invocations,
)
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._sandbox.virtual_loop import LOOP_CALLBACK_CODES, eager_creator
from async_durable_execution_runner._service.clock import real_monotonic
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.seams import InvocationInfo, OperationRequest

INVOCATION_COMPLETED = EventType.INVOCATION_COMPLETED
_ENDED = frozenset(
    {
        OperationStatus.SUCCEEDED,
        OperationStatus.FAILED,
        OperationStatus.CANCELLED,
        OperationStatus.TIMED_OUT,
        OperationStatus.STOPPED,
    }
)
Identity = tuple[str, str | None, str | None, str | None]  # type, sub type, name, parent id


@functools.cache
def _library_roots() -> tuple[str, ...]:
    roots = {
        os.path.dirname(async_durable_execution.__file__),
        os.path.dirname(async_durable_execution_runner.__file__),
    }
    for key in ("stdlib", "platstdlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    return tuple(sorted(roots))


def _is_user(filename: str) -> bool:
    return not filename.startswith(("<", *_library_roots()))


def _shown(frame: FrameType) -> str:
    shown = _relative(frame.f_code.co_filename, os.getcwd())
    return f"{shown}:{frame.f_lineno} in {frame.f_code.co_name}"


@functools.lru_cache(maxsize=1024)
def _relative(filename: str, cwd: str) -> str:
    # Once per file, not once per operation the replay asks for (relpath is most of it).
    try:
        shown = os.path.relpath(filename, cwd)
    except ValueError:  # another drive (Windows)
        shown = filename
    return filename if shown.startswith("..") else shown


def _innermost_user_frame(coro: Any) -> FrameType | None:
    """Follow a suspended coroutine's ``await`` chain; the deepest frame of user code."""
    found: FrameType | None = None
    for _ in range(100):
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        if _is_user(frame.f_code.co_filename):
            found = frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return found


#: The code of the event loop's call into a callback (a task's step): the bottom of a
#: handler's stack.
_LOOP_CALLBACKS = LOOP_CALLBACK_CODES


def _awaiting(
    target: asyncio.Future[Any] | None,
) -> asyncio.Task[Any] | Literal[False] | None:
    """The task blocked on ``target``, found among ``target``'s done callbacks (a task
    that awaits a future adds its wake-up, a method of the task, to them); ``False`` when
    the future keeps no list of them.

    Not ``asyncio.all_tasks()``: it copies every task of the loop, once per operation the
    replay asks for, and a ``map`` of 600 items keeps about 2,000 tasks alive."""
    callbacks = getattr(target, "_callbacks", None)
    if callbacks is None:
        return False
    for callback, _context in callbacks:
        task = getattr(callback, "__self__", None)
        if isinstance(task, asyncio.Task) and getattr(task, "_fut_waiter", None) is target:
            return task
    return None


def handler_line() -> tuple[str | None, bool]:
    """Where the handler's code asked for the operation being processed now, and whether
    anything awaits it.

    The SDK runs each operation in a task of its own, created where the handler called
    ``step(...)``; the handler then awaits that task. So the line is either on this stack
    (an operation run inline) or where the task that awaits this one is suspended. A task
    nothing awaits was started and left behind (fire and forget).
    """
    frame: FrameType | None = sys._getframe(1)
    # Up to the event loop's call into the task: what called the loop (the test itself, when
    # invocations run on the calling thread) is not the handler.
    while frame is not None and frame.f_code not in _LOOP_CALLBACKS:
        if _is_user(frame.f_code.co_filename):
            return _shown(frame), True
        frame = frame.f_back
    try:
        target: asyncio.Future[Any] | None = asyncio.current_task()
    except RuntimeError:
        return None, True
    tasks: set[asyncio.Task[Any]] | None = None
    awaited = False
    maker = eager_creator()
    if maker is not None and maker is not target:
        # The operation's task is running its first step eagerly (Python 3.12 on), inside
        # the call of the task that made it, whose frames were on the stack above: that
        # task awaits it next; the handler's line is where that task is awaited.
        awaited = True
        target = maker
    for _ in range(20):
        found = _awaiting(target)
        waiter: asyncio.Task[Any] | None
        if found is False:  # no list of callbacks to read: look through every task
            tasks = asyncio.all_tasks() if tasks is None else tasks
            # ``_fut_waiter`` is the future a task is blocked on (CPython's Task, C or Python).
            waiter = next((t for t in tasks if getattr(t, "_fut_waiter", None) is target), None)
        else:
            waiter = found
        if waiter is None:
            return None, awaited
        awaited = True
        user = _innermost_user_frame(waiter.get_coro())
        if user is not None:
            return _shown(user), True
        target = waiter
    return None, awaited


@dataclass(frozen=True)
class Requested:
    """An operation the replayed handler asked for, and where in its code it asked."""

    operation_id: str
    identity: Identity
    checkpointed: Identity | None
    location: str | None
    awaited: bool = True


class _Watcher(ExecutionObserver):
    """Collects what the replayed invocation asked for and what it checkpointed."""

    def __init__(self) -> None:
        self.requests: list[Requested] = []
        self.events: list[Event] = []
        self.invocation: InvocationInfo | None = None

    def on_operation_requested(self, request: OperationRequest) -> None:
        # Called synchronously from the SDK's operation lookup: the handler is on this stack.
        location, awaited = handler_line()
        self.requests.append(
            Requested(
                request.operation_id, request.identity, request.checkpointed, location, awaited
            )
        )

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        self.events.append(event)

    def on_invocation_completed(self, invocation: InvocationInfo) -> None:
        self.invocation = invocation


@dataclass(frozen=True)
class Divergence:
    """Where a replay parted from the history, and how."""

    invocation: int
    event: Event | None  # the history event where they part
    expected: str  # what the history holds
    actual: str  # what the handler did
    location: str | None  # the handler's line, when the handler was at one

    def __str__(self) -> str:
        at = describe_event(self.event) if self.event is not None else "the end of the history"
        lines = [
            f"replay diverged at {at} (invocation {self.invocation})",
            f"  history: {self.expected}",
            f"  handler: {self.actual}",
        ]
        if self.location:
            lines.append(f"  at {self.location}")
        return "\n".join(lines)


def describe_event(event: Event) -> str:
    name = f" {event.name!r}" if event.name else ""
    return f"event #{event.event_id} {event.event_type.value}{name}"


@dataclass(frozen=True)
class ReplayReport:
    """What a replay checked; ``divergence`` is the first difference, or ``None``."""

    invocations: int
    operations_checked: int
    divergence: Divergence | None
    source: str = ""
    notes: tuple[str, ...] = ()  # checks a history could not support

    @property
    def ok(self) -> bool:
        return self.divergence is None

    def __str__(self) -> str:
        where = f" of {self.source}" if self.source else ""
        notes = "".join(f"\n  note: {n}" for n in self.notes)
        if self.divergence is None:
            return (
                f"replay{where}: {self.invocations} invocation(s), "
                f"{self.operations_checked} operation(s) checked, no divergence{notes}"
            )
        return f"replay{where}: {self.divergence}{notes}"


class ReplayDivergenceError(AssertionError):
    """The handler no longer makes the decisions the history holds (see ``report``)."""

    def __init__(self, report: ReplayReport) -> None:
        super().__init__(str(report))
        self.report = report


@dataclass
class _Replayed:
    requests: list[Requested]
    events: list[Event]
    status: ExecutionStatus
    invocation: InvocationInfo | None
    error_type: str | None
    result: str | None


def _identity_of(event: Event) -> Identity:
    op_type = operation_type_of(event.event_type)
    return (op_type.value if op_type else "", event.sub_type, event.name, event.parent_id)


def _kind(event: Event) -> str:
    """An event as compared: its type. Not its error type: the SDK reports a recorded
    failure it replays under another type than the one it raised first (a step's own
    exception class becomes ``CallableRuntimeError``), so the same code differs there."""
    retry = event.details.get("RetryDetails") or {}
    suffix = " (retry)" if "NextAttemptDelaySeconds" in retry else ""
    return f"{event.event_type.value}{suffix}"


class _Comparison:
    def __init__(self, recorded: RecordedExecution, inv: Invocation, got: _Replayed) -> None:
        self.recorded = recorded
        self.inv = inv
        self.got = got
        self.found: list[tuple[int, Divergence]] = []
        self.names: dict[str, str | None] = {e.id: e.name for e in recorded.events if e.id}
        # Stopped by the world rather than by a decision: the replay may go further.
        self.lenient = inv.died or inv.cut_short_by_service
        self.parents: dict[str, str | None] = {}
        self.sub_types: dict[str, str | None] = {}
        self.ended: set[str] = set()
        self._ended_in_replay: set[str] = set()
        for e in recorded.events:
            if e.id and e.event_type is not EventType.EXECUTION_STARTED:
                self.parents.setdefault(e.id, e.parent_id)
                self.sub_types.setdefault(e.id, e.sub_type)
                if e.event_type.is_terminal:
                    self.ended.add(e.id)

    def _say(self, identity: Identity) -> str:
        op_type, sub_type, name, parent = identity
        text = op_type
        if sub_type and sub_type.upper() != op_type.replace("_", ""):
            text += f" ({sub_type})"
        text += f" {name!r}" if name else " (unnamed)"
        if parent:
            parent_name = self.names.get(parent)
            text += f" inside {parent_name!r}" if parent_name else f" inside {parent[:12]}..."
        return text

    def _add(self, event: Event | None, expected: str, actual: str, location: str | None) -> None:
        key = event.event_id if event is not None else sys.maxsize
        self.found.append((key, Divergence(self.inv.index, event, expected, actual, location)))

    def _end_event(self) -> Event | None:
        return self.inv.execution_end or self.inv.completed

    def _in_cut_short_batch(self, parent_id: str | None) -> bool:
        """Whether an ancestor is a ``map``/``parallel`` whose recorded run left branches
        unfinished (its completion rule ended it early). How far each branch got before
        that is a race, so an operation there may be asked for in one run and not another."""
        return self._batch_left_branches(parent_id, self.ended, batch_ended=False)

    def _cut_short_in_replay(self, parent_id: str | None) -> bool:
        """Whether an ancestor is a ``map``/``parallel`` that the replay ended with branches
        unfinished (its completion rule decided before they ended), the mirror of
        ``_in_cut_short_batch``: a branch the recorded run finished before the decision may
        be one the replay had not, as the decision races the branches in flight."""
        return self._batch_left_branches(parent_id, self._ended_in_replay, batch_ended=True)

    def _batch_left_branches(
        self, parent_id: str | None, ended: set[str], *, batch_ended: bool
    ) -> bool:
        """Whether an ancestor of ``parent_id`` (itself included) is a ``map``/``parallel``
        with a branch not in ``ended`` (and, with ``batch_ended``, is in ``ended`` itself)."""
        seen: set[str] = set()
        while parent_id is not None and parent_id not in seen:
            seen.add(parent_id)
            if self.sub_types.get(parent_id) in ("Map", "Parallel") and (
                not batch_ended or parent_id in ended
            ):
                branches = [i for i, p in self.parents.items() if p == parent_id]
                if any(b not in ended for b in branches):
                    return True
            parent_id = self.parents.get(parent_id)
        return False

    def _last_location(self) -> str | None:
        for r in reversed(self.got.requests):
            if r.location:
                return r.location
        return None

    def run(self) -> Divergence | None:
        got = self.got
        location: dict[str, str | None] = {}
        for r in got.requests:
            location.setdefault(r.operation_id, r.location)
            if r.checkpointed is not None and r.checkpointed != r.identity:
                self._add(
                    self.recorded.first_event(r.operation_id),
                    self._say(r.checkpointed),
                    f"asked for {self._say(r.identity)} in its place",
                    r.location,
                )
        history: dict[str, list[Event]] = {}
        for e in self.inv.events:
            history.setdefault(e.id or "", []).append(e)
        replayed: dict[str, list[Event]] = {}
        for e in got.events:
            if is_handler_event(e):
                replayed.setdefault(e.id or "", []).append(e)
        asked = {r.operation_id: r for r in got.requests}
        self._ended_in_replay = {op.id for op in self.inv.operations if op.status in _ENDED} | {
            e.id for e in got.events if e.id and e.event_type.is_terminal
        }
        order = dict.fromkeys([*history, *replayed, *asked])
        for op_id in order:
            self._compare(op_id, history.get(op_id, []), replayed.get(op_id, []), asked, location)
        self._outcome()
        if not self.found:
            return None
        return min(self.found, key=lambda item: item[0])[1]

    def _compare(
        self,
        op_id: str,
        recorded: list[Event],
        replayed: list[Event],
        asked: Mapping[str, Requested],
        location: Mapping[str, str | None],
    ) -> None:
        where = location.get(op_id) or self._last_location()
        first = self.recorded.first_event(op_id)
        if first is None:
            # An operation the history never had: the recorded code did not ask for it here.
            new = _identity_of(replayed[0]) if replayed else asked[op_id].identity
            # Left behind unawaited, an operation may or may not reach the service before
            # the handler returns: a race, not a decision.
            awaited = op_id not in asked or asked[op_id].awaited
            if awaited and not self.lenient and not self._in_cut_short_batch(new[3]):
                self._add(
                    self._end_event(),
                    "no such operation: the recorded handler ended this invocation here",
                    f"asked for a new {self._say(new)}",
                    location.get(op_id),
                )
            return
        if not recorded and self.lenient:
            # The world stopped the recorded invocation before it checkpointed this one, so
            # the replay ran the step bodies that recorded invocation did not finish: their
            # results are new (a random draw, a partner's next ticket), not the history's,
            # and what the handler asked for after them was free to differ. The later
            # invocations that did record it are handed the results and checked.
            return
        if replayed and _identity_of(replayed[0]) != _identity_of(first):
            self._add(
                first,
                self._say(_identity_of(first)),
                f"started {self._say(_identity_of(replayed[0]))} in its place",
                location.get(op_id),
            )
            return
        if not recorded:
            return  # the replay went further than this invocation did: checked later
        if op_id not in asked:
            if self._in_cut_short_batch(first.parent_id) or self._cut_short_in_replay(
                first.parent_id
            ):
                return
            expected = self._say(_identity_of(recorded[0]))
            # Where it went instead: the last operation it asked for beside this one.
            siblings = [
                r.location
                for r in self.got.requests
                if r.identity[3] == first.parent_id and r.location
            ]
            beside = siblings[-1] if siblings else location.get(first.parent_id or "") or where
            what = "never asked for it (the line below is the last it asked for beside it)"
            self._add(recorded[0], expected, what, beside)
            return
        if operation_type_of(first.event_type) is not OperationType.CONTEXT:
            return  # handed over as recorded: asking for it with the same identity is all
        if (
            not replayed
            and len(recorded) == 1
            and recorded[0].event_type is EventType.CONTEXT_STARTED
        ):
            # Asked for under the same identity, and only started where it was recorded: its
            # START is an update the SDK sends without waiting, and drops when the
            # invocation suspends before its batcher's first turn, as it does from Python
            # 3.12 on (SDK finding 18). A history recorded on another Python version holds
            # it where the replay sends none.
            return
        # A context ran again: it must start and end as it did.
        want = [_kind(e) for e in recorded]
        have = [_kind(e) for e in replayed]
        # Handed what the invocation had at its end, a context may get further than the
        # recorded one did (a branch no longer waits for a sibling's turn): the next
        # boundary checks how it went on.
        if have[: len(want)] == want:
            return
        if want[: len(have)] == have and self._cut_short_in_replay(first.parent_id):
            return  # a branch the replay's batch decided without: how far it got is a race
        for i, kind in enumerate(want):
            if i >= len(have) or have[i] != kind:
                seen = have[i] if i < len(have) else "nothing further"
                self._add(recorded[i], kind, seen, where)
                return

    def _outcome(self) -> None:
        got, inv = self.got, self.inv
        info = got.invocation
        where = self._last_location()
        if info is None:
            self._add(self._end_event(), "the invocation completed", "never completed", where)
            return
        died = info.status is None
        if died and not self.lenient:
            self._add(
                inv.completed,
                "the invocation completed normally",
                f"the invocation died: {info.error_type}: {info.error_message}",
                where,
            )
            return
        if self.lenient:
            # Stopped by the world, the recorded invocation decided nothing the replay can be
            # held to; what the replay did beyond it is checked at the later boundaries.
            return
        end = inv.execution_end  # the execution ended right after this invocation
        world_ended = end is not None and (
            end.event_type in (EventType.EXECUTION_TIMED_OUT, EventType.EXECUTION_STOPPED)
            or _error_type(end) in SERVICE_ERROR_TYPES
        )
        if got.status in (ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED):
            if end is None or world_ended:
                # It went further than the recorded invocation (an answer it was handed had
                # arrived mid-invocation): an operation it skipped is reported as missing.
                return
            have = got.status.value
            if _status_of(end) != have:
                want = _status_of(end)
                if _error_type(end):
                    want += f" with {_error_type(end)}"
                if got.error_type:
                    have += f" with {got.error_type}"
                self._add(end, f"execution {want}", f"the execution ended {have}", where)
            elif have == "SUCCEEDED":
                self._result(end, where)
            return
        if end is not None and not world_ended and not died:
            self._add(
                end,
                f"execution {_status_of(end)} after this invocation",
                f"the invocation returned {info.status} (the execution goes on)",
                where,
            )

    def _result(self, end: Event, where: str | None) -> None:
        """Every result the handler saw came from the history, so its own result must be
        the recorded one (compared as JSON values)."""
        box = end.details.get("Result") or {}
        if box.get("Truncated"):
            return
        recorded, replayed = box.get("Payload"), self.got.result
        try:
            same = _json(recorded) == _json(replayed)
        except ValueError:
            same = recorded == replayed
        if not same:
            self._add(end, f"result {_clip(recorded)}", f"returned {_clip(replayed)}", where)


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _clip(text: str | None, width: int = 240) -> str:
    shown = "nothing" if text is None else text
    return shown if len(shown) <= width else shown[: width - 3] + "..."


def _status_of(end: Event) -> str:
    return {
        EventType.EXECUTION_SUCCEEDED: "SUCCEEDED",
        EventType.EXECUTION_FAILED: "FAILED",
        EventType.EXECUTION_TIMED_OUT: "TIMED_OUT",
        EventType.EXECUTION_STOPPED: "STOPPED",
    }[end.event_type]


def _error_type(end: Event) -> str | None:
    error = (end.details.get("Error") or {}).get("Payload") or {}
    found: str | None = error.get("ErrorType")
    return found


def _replay_invocation(
    handler: Callable[..., Any],
    recorded: RecordedExecution,
    inv: Invocation,
    *,
    function_name: str,
    timeout: float,
) -> _Replayed:
    watcher = _Watcher()
    with DurableFunctionTestRunner(
        handler, function_name=function_name, start_time=inv.start, observers=[watcher]
    ) as runner:
        executor = runner.executor
        arn = executor.start_execution(function_name, recorded.input_payload)
        execution = executor.get(arn)
        # Hand the handler the recorded state: the execution is ours, its operations are
        # the history's (the EXECUTION operation stays ours, with the recorded input).
        for op in inv.operations:
            if op.type is not OperationType.EXECUTION:
                execution.operations[op.id] = op
        watcher.events.clear()
        deadline = real_monotonic() + timeout
        executor.run_until(
            lambda: watcher.invocation is not None or not execution.is_open,
            wall_deadline=deadline,
        )
        error = execution.error
        return _Replayed(
            requests=watcher.requests,
            events=[e for e in watcher.events if e.event_type is not INVOCATION_COMPLETED],
            status=execution.status,
            invocation=watcher.invocation,
            error_type=error.error_type if error is not None else None,
            result=execution.result,
        )


def replay(
    handler: Callable[..., Any],
    history: Any,
    *,
    function_name: str = "test-function",
    timeout: float = 30,
    raise_on_divergence: bool = True,
    source: str = "",
) -> ReplayReport:
    """Replay ``handler`` against a recorded ``history`` and report the first divergence.

    ``history`` is a ``GetDurableExecutionHistory`` response (boto3's or its JSON export),
    its ``Events`` list, ``Event`` objects, or a ``DurableFunctionTestResult``. Each
    invocation is re-run from the state the service handed it (``timeout`` wall-clock
    seconds each). Raises ``ReplayDivergenceError`` on a divergence unless
    ``raise_on_divergence=False``; either way the ``ReplayReport`` says what was checked.
    """
    events_source = getattr(history, "events", history)
    recorded = split_invocations(parse_events(events_source))
    # A runner's result knows which contexts were checkpointed as a summary to be rebuilt by
    # replaying their children; the events alone do not say (docs/findings.md, oracle bug 24).
    known = _replaying_children_ids(history)
    recorded = replaying_children(recorded, known)
    with _quiet_sdk():
        report = _replay_all(handler, recorded, function_name, timeout, source)
        if report.divergence is not None and known is None:
            report = _second_chance(handler, recorded, report, function_name, timeout, source)
    report = _failure_retyped_on_replay(recorded, report)
    report = _after_a_batch_decided_in_flight(recorded, report)
    if report.divergence is not None and raise_on_divergence:
        raise ReplayDivergenceError(report)
    return report


def _second_chance(
    handler: Callable[..., Any],
    recorded: RecordedExecution,
    first: ReplayReport,
    function_name: str,
    timeout: float,
    source: str,
) -> ReplayReport:
    """A bare history diverged: replay it again with every succeeded context rebuilt from its
    children, which is what the SDK does with one checkpointed as a summary (a result over
    256 KB: ``ReplayChildren``, which no event carries). Rebuilding a context that was not so
    checkpointed gives the handler the same result its children gave, so a divergence of
    the handler's own persists; one that only the summary handed back as the result caused
    does not. The first report stands unless the second replay is clean."""
    contexts = [
        op.id
        for inv in recorded.invocations
        for op in inv.operations
        if op.type is OperationType.CONTEXT and op.status is OperationStatus.SUCCEEDED
    ]
    if not contexts:
        return first
    rebuilt = _replay_all(
        handler, replaying_children(recorded, contexts), function_name, timeout, source
    )
    if rebuilt.divergence is not None:
        return first
    note = (
        "the first replay diverged; replayed again with every completed child context "
        "rebuilt from its children (a context over 256 KB is checkpointed as a summary with "
        "ReplayChildren, which the history's events do not carry), it did not"
    )
    return dataclasses.replace(rebuilt, notes=(*rebuilt.notes, note))


def _failure_retyped_on_replay(recorded: RecordedExecution, report: ReplayReport) -> ReplayReport:
    """A divergence in an invocation in which a ``wait_for_condition`` check failed for
    good, or an interrupted at-most-once step failed, raised as its own type (SDK findings 8
    and 16). The gate replays each invocation with the operations as they stood when it
    ended, so the SDK raises that failure as ``CallableRuntimeError``: a handler that
    catches one of the two types takes another path here than it took live, whatever the
    code. Reported as not judged, with a note, instead of as the code's divergence."""
    divergence = report.divergence
    if divergence is None:
        return report
    inv = next((i for i in recorded.invocations if i.index == divergence.invocation), None)
    if inv is None:
        return report
    retyped = [e for e in inv.events if _raised_as_its_own_type(e)]
    end = inv.execution_end
    if not retyped and end is not None and end.event_type is EventType.EXECUTION_FAILED:
        # The execution failed with such a failure's own type, which only a live raise
        # gives: this invocation saw it live though an earlier one checkpointed it (a
        # duplicate delivery, running beside the one that did, ran the check itself).
        failed_as = _error_type(end)
        retyped = [
            e for e in recorded.events if _raised_as_its_own_type(e) and _error_type(e) == failed_as
        ]
    if not retyped:
        return report
    names = ", ".join(sorted({repr(e.name or e.id) for e in retyped}))
    note = (
        f"invocation {divergence.invocation} diverged ({divergence.expected}; here "
        f"{divergence.actual}), but {names} failed as its own type, seen live there, which "
        "a replay raises as CallableRuntimeError (docs/findings.md, SDK findings 8 and 16): not "
        "judged there, and nothing after it was checked"
    )
    return dataclasses.replace(report, divergence=None, notes=(*report.notes, note))


def _after_a_batch_decided_in_flight(
    recorded: RecordedExecution, report: ReplayReport
) -> ReplayReport:
    """A divergence after a ``map`` or ``parallel`` that ended in the same invocation and
    whose recorded result lists branches its completion rule decided without (in flight at
    the decision: ``STARTED`` or ``CANCELLED``). Live, which branches had ended when the rule
    decided was a race of their timing; the replay is handed every step as it stood when the
    invocation ended, so those branches end at once and the rule decides with them: the
    batch's result, and what the handler built from it, may differ whatever the code.
    Reported as not judged, with a note (the mirror, operations of branches the replay's
    batch decided without, is ``_cut_short_in_replay``)."""
    divergence = report.divergence
    if divergence is None or divergence.event is None:
        return report
    inv = next((i for i in recorded.invocations if i.index == divergence.invocation), None)
    if inv is None:
        return report
    for event in inv.events:
        if event.event_id >= divergence.event.event_id:
            break
        if event.sub_type not in ("Map", "Parallel") or not event.event_type.is_terminal:
            continue
        payload = (event.details.get("Result") or {}).get("Payload")
        statuses = _sdk_adapter.batch_item_statuses(payload)
        if statuses is None or all(s in _sdk_adapter.BATCH_ITEM_ENDED for s in statuses):
            continue
        note = (
            f"invocation {divergence.invocation} diverged ({divergence.expected}; here "
            f"{divergence.actual}) after {event.name or event.id!r}, whose completion rule "
            "decided with branches in flight: the replay, handed their ends, decides with "
            "them (docs/findings.md, oracle bug 34): not judged there, and nothing after it "
            "was checked"
        )
        return dataclasses.replace(report, divergence=None, notes=(*report.notes, note))
    return report


def _raised_as_its_own_type(event: Event) -> bool:
    """A failure the SDK raised live under another type than a replay raises it under."""
    if event.event_type is not EventType.STEP_FAILED:
        return False
    if "NextAttemptDelaySeconds" in (event.details.get("RetryDetails") or {}):
        return False  # retried: nothing was raised to the handler
    payload = (event.details.get("Error") or {}).get("Payload") or {}
    error_type = payload.get("ErrorType")
    if event.sub_type == "WaitForCondition":
        return error_type != "CallableRuntimeError"
    return error_type == "StepInterruptedError"


def _replaying_children_ids(history: Any) -> list[str] | None:
    """The ids of the contexts ``history`` (a runner's result) stored with ``ReplayChildren``;
    ``None`` when ``history`` is bare events, which cannot say."""
    operations = getattr(history, "get_all_operations", None)
    if operations is None:
        return None
    return [
        view.raw.id
        for view in operations()
        if view.raw.context_details is not None and view.raw.context_details.replay_children
    ]


@contextlib.contextmanager
def _quiet_sdk() -> Iterator[None]:
    """A replay that diverges drives the SDK into errors it logs loudly; the report says it."""
    logger = logging.getLogger("async_durable_execution")
    saved = logger.level
    logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(saved)


def _replay_all(
    handler: Callable[..., Any],
    recorded: RecordedExecution,
    function_name: str,
    timeout: float,
    source: str,
) -> ReplayReport:
    checked: set[str] = set()
    notes: list[str] = []
    divergence: Divergence | None = None
    for inv in recorded.invocations:
        got = _replay_invocation(
            handler, recorded, inv, function_name=function_name, timeout=timeout
        )
        checked.update(r.operation_id for r in got.requests)
        divergence = _Comparison(recorded, inv, got).run()
        if divergence is not None:
            break
    return ReplayReport(len(recorded.invocations), len(checked), divergence, source, tuple(notes))
