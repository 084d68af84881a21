"""Timing choices: when things happen, in which order, and in which sandbox.

A ``Timings`` value is plain data (so it prints and shrinks); ``TimingPolicies`` turns it into
the emulator's seams: a scheduler policy, an interleaving, a sandbox policy.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from async_durable_execution_runner._models import Operation, OperationAction, OperationUpdate
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.scheduler import DueItem, DueKind
from async_durable_execution_runner._service.seams import SandboxPolicy, ServiceCall, StepAttempt

DEFAULT_START = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)


@dataclass(frozen=True)
class Timings:
    """Every timing choice of a scenario; the defaults are the service's own behaviour.

    - ``start``: the virtual clock's start instant (what the handler's ``datetime.now`` says).
    - ``order`` and ``window``: how late each due item (a timer, a retry, a time-out, an
      external answer) is delivered: the item's identity (execution, kind, operation id,
      attempt) picks a choice ``c`` from ``order``, and the item is late by ``c/3`` of
      ``window`` seconds (``c`` clamped to 0..3). Items go in order of deadline plus lateness,
      then deadline, then choice: deadlines less than ``window`` apart may swap, farther ones
      never do, and an item another item does not affect keeps its place (a re-invocation is
      never late). Empty ``order`` means earliest first, the service's order.
    - ``step_turns`` / ``response_turns``: event-loop turns each step body / each service
      response takes (picked by the step attempt's identity / by the call's content), which
      reorders concurrent branches.
    - ``page_size``: operations in the first page of state, the one the invocation carries
      (``None``: the service's 1,000); ``GetDurableExecutionState`` sends the rest 1,000 a
      page.
    - ``sandboxes``: ``"warm"`` or ``"cold"`` for invocations 2, 3, ... (later ones are warm).
    - ``callback_delays``: seconds before each created callback is answered (cycled in the
      order callbacks are created).
    - ``seed``: seeds ``random`` at the start of every invocation.
    - ``thread_order``: how the invocation's waits for threads' work race (``to_thread``,
      ``run_in_executor``, ``wrap_future``, and the reports of a job given to a pool with
      ``submit`` or of a thread the handler started): each wait picks a rank from it by
      its place in the invocation, and results reach the handler by rank, then in the
      order asked for (empty: the order asked, whatever order the threads end in).
    """

    start: _dt.datetime = DEFAULT_START
    order: tuple[int, ...] = ()
    window: float = 0.0
    step_turns: tuple[int, ...] = ()
    response_turns: tuple[int, ...] = ()
    page_size: int | None = None
    sandboxes: tuple[str, ...] = ()
    callback_delays: tuple[float, ...] = ()
    seed: int = 0
    thread_order: tuple[int, ...] = ()

    def __repr__(self) -> str:
        parts = []
        defaults = Timings.__dataclass_fields__
        for name, f in defaults.items():
            value = getattr(self, name)
            if value != f.default:
                parts.append(f"{name}={value!r}")
        return f"Timings({', '.join(parts)})"

    def describe(self) -> list[str]:
        """The non-default choices in words."""
        lines = []
        if self.start != DEFAULT_START:
            lines.append(f"the clock starts at {self.start.isoformat()}")
        if self.order:
            lines.append(
                f"due items are late by choices {list(self.order)} of thirds of "
                f"{self.window:g}s, picked by each item's identity"
            )
        if any(self.step_turns):
            lines.append(
                f"step bodies take {list(self.step_turns)} event-loop turns (by attempt identity)"
            )
        if any(self.response_turns):
            lines.append(
                f"service responses take {list(self.response_turns)} event-loop turns "
                "(by call content)"
            )
        if self.page_size is not None:
            lines.append(f"the first page of state holds {self.page_size} operations")
        cold = [i + 2 for i, s in enumerate(self.sandboxes) if s == "cold"]
        if cold:
            lines.append(f"invocations {cold} land in a cold sandbox")
        if any(self.callback_delays):
            lines.append(f"callbacks are answered after {list(self.callback_delays)} s")
        if self.seed:
            lines.append(f"random is seeded with {self.seed}")
        if any(self.thread_order):
            lines.append(
                f"threads' results come in ranks {list(self.thread_order)} (by each wait's "
                "place in its invocation)"
            )
        return lines


def _keyed(values: Sequence[int], key: str) -> int:
    """The value ``key`` picks: the same key picks the same value in every run, whatever
    else the run holds (a position would shift when a fault adds an item)."""
    return values[zlib.crc32(key.encode()) % len(values)] if values else 0


#: ``order`` choices count thirds of the window: 0 (on time) to 3 (a whole window late).
LATENESS_STEPS = 3


@dataclass
class ChoiceScheduler(ExecutionObserver):
    """A ``SchedulerPolicy`` that follows ``Timings.order`` and ``Timings.window``.

    Each due item is late by an amount its identity picks; the item with the earliest
    deadline plus lateness goes next. An item's lateness depends on nothing but the item, so
    an item that a fault adds (a re-invocation, a retry) does not change the order of the
    others: the fault-free baseline and the faulted run order what they share alike.
    """

    order: tuple[int, ...]
    window_seconds: float = 0.0
    #: The root execution's ARN once known, to wake it after every other item due at the
    #: same instant (``Replay.root_wakes_last``); ``None``: the service's order.
    root_last: Callable[[], str | None] | None = None
    window: _dt.timedelta = field(init=False)
    #: RETRY updates applied per (execution, operation): the attempt a retry timer is for.
    retries: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.window = _dt.timedelta(seconds=self.window_seconds)

    def on_transition(
        self,
        execution_arn: str,
        update: OperationUpdate,
        previous: Operation | None,
        operation: Operation,
    ) -> None:
        if update.action is OperationAction.RETRY:
            key = (execution_arn, update.id)
            self.retries[key] = self.retries.get(key, 0) + 1

    def identity(self, item: DueItem) -> str:
        """(execution, kind, operation id or label, attempt): what the item is, not when it
        was scheduled."""
        attempt = 0
        if item.kind is DueKind.RETRY and item.operation_id is not None:
            attempt = self.retries.get((item.execution_arn, item.operation_id), 0)
        what = item.operation_id if item.operation_id is not None else item.label
        return f"{item.execution_arn}|{item.kind.value}|{what}|{attempt}"

    def choice(self, item: DueItem) -> int:
        if not self.order or item.kind is DueKind.INVOCATION:
            # The service invokes as soon as something wakes the execution.
            return 0
        return min(max(_keyed(self.order, self.identity(item)), 0), LATENESS_STEPS)

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        root = self.root_last() if self.root_last is not None else None
        if len(candidates) == 1 or (not self.order and root is None):
            return min(candidates)

        def rank(item: DueItem) -> tuple[_dt.datetime, bool, _dt.datetime, int, int]:
            choice = self.choice(item)
            late = self.window * choice / LATENESS_STEPS
            wakes_root = item.kind is DueKind.INVOCATION and item.execution_arn == root
            return (item.due + late, wakes_root, item.due, choice, item.seq)

        return min(candidates, key=rank)


@dataclass
class TimedInterleaving:
    """An ``Interleaving`` that follows ``Timings``, keyed by identity, not by position."""

    timings: Timings

    def step_turns(self, attempt: StepAttempt) -> int:
        if not self.timings.step_turns:
            return 0  # (every call asks: spare building its key)
        key = f"{attempt.execution_arn}|{attempt.operation_id}|{attempt.attempt}"
        return _keyed(self.timings.step_turns, key)

    def response_turns(self, call: ServiceCall) -> int:
        if not self.timings.response_turns:
            return 0
        content = ",".join(f"{u.id}:{u.action.value}" for u in call.updates)
        return _keyed(self.timings.response_turns, f"{call.execution_arn}|{call.kind}|{content}")

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        return self.timings.page_size

    def thread_rank(self, execution_arn: str, invocation_index: int, job: int) -> int:
        # By place: a wait for a thread has no identity of its own. Hashed, not ``_keyed``:
        # CRC-32 is linear, so keys that differ in one character alone (job 0 and job 1)
        # would always pick alike, and a replay would race its threads as the first run did.
        values = self.timings.thread_order
        if not values:
            return 0
        key = f"{execution_arn}|{invocation_index}|{job}".encode()
        digest = int.from_bytes(hashlib.blake2b(key, digest_size=4).digest(), "big")
        return values[digest % len(values)]


class TimedSandboxes(SandboxPolicy):
    """Warm or cold re-invocations, as ``Timings.sandboxes`` says, for the root execution."""

    def __init__(self, timings: Timings, *, first_cold: bool = False) -> None:
        self.timings = timings
        #: The first invocation in a new sandbox too (a baseline's; a scenario's first
        #: invocation runs the test's own module, which its test may have set up).
        self.first_cold = first_cold
        self.root_arn: str | None = None

    def environment(self, execution_arn: str, invocation_index: int) -> str:
        if execution_arn != self.root_arn:
            return "warm"
        if invocation_index < 2:
            return "cold" if self.first_cold else "warm"
        i = invocation_index - 2
        return self.timings.sandboxes[i] if i < len(self.timings.sandboxes) else "warm"
