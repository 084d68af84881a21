"""Timing choices: when things happen, in which order, and in which sandbox.

A ``Timings`` value is plain data (so it prints and shrinks); ``TimingPolicies`` turns it into
the emulator's seams: a scheduler policy, an interleaving, a sandbox policy.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from async_durable_execution_runner._service.scheduler import DueItem
from async_durable_execution_runner._service.seams import SandboxPolicy, ServiceCall, StepAttempt

DEFAULT_START = _dt.datetime(2025, 1, 1, tzinfo=_dt.UTC)


@dataclass(frozen=True)
class Timings:
    """Every timing choice of a scenario; the defaults are the service's own behaviour.

    - ``start``: the virtual clock's start instant (what the handler's ``datetime.now`` says).
    - ``order``: when several items are due together, which one goes next: each choice is an
      index into the due items sorted by deadline (cycled; empty means earliest first).
    - ``window``: deadlines within this many seconds count as "due together", so near-equal
      deadlines are permuted, not just sorted.
    - ``step_turns`` / ``response_turns``: event-loop turns each step body / each service
      response takes (cycled over step attempts / calls), which reorders concurrent branches.
    - ``page_size``: operations per page of state (``None``: all in one page).
    - ``sandboxes``: ``"warm"`` or ``"cold"`` for invocations 2, 3, ... (later ones are warm).
    - ``callback_delays``: seconds before each created callback is answered (cycled).
    - ``seed``: seeds ``random`` at the start of every invocation.
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
                f"items due together are delivered by choices {list(self.order)} "
                f"(window {self.window:g}s)"
            )
        if any(self.step_turns):
            lines.append(f"step bodies take {list(self.step_turns)} event-loop turns")
        if any(self.response_turns):
            lines.append(f"service responses take {list(self.response_turns)} event-loop turns")
        if self.page_size is not None:
            lines.append(f"state comes back {self.page_size} operations per page")
        cold = [i + 2 for i, s in enumerate(self.sandboxes) if s == "cold"]
        if cold:
            lines.append(f"invocations {cold} land in a cold sandbox")
        if any(self.callback_delays):
            lines.append(f"callbacks are answered after {list(self.callback_delays)} s")
        if self.seed:
            lines.append(f"random is seeded with {self.seed}")
        return lines


def _cycled(values: Sequence[int], n: int) -> int:
    return values[n % len(values)] if values else 0


@dataclass
class ChoiceScheduler:
    """A ``SchedulerPolicy`` that follows ``Timings.order``."""

    order: tuple[int, ...]
    window_seconds: float = 0.0
    decisions: int = 0
    window: _dt.timedelta = field(init=False)

    def __post_init__(self) -> None:
        self.window = _dt.timedelta(seconds=self.window_seconds)

    def choose(self, candidates: Sequence[DueItem]) -> DueItem:
        ordered = sorted(candidates)
        if len(ordered) == 1 or not self.order:
            return ordered[0]
        choice = self.order[self.decisions % len(self.order)] % len(ordered)
        self.decisions += 1
        return ordered[choice]


@dataclass
class TimedInterleaving:
    """An ``Interleaving`` that follows ``Timings``."""

    timings: Timings
    steps: int = 0
    calls: int = 0

    def step_turns(self, attempt: StepAttempt) -> int:
        self.steps += 1
        return _cycled(self.timings.step_turns, self.steps - 1)

    def response_turns(self, call: ServiceCall) -> int:
        self.calls += 1
        return _cycled(self.timings.response_turns, self.calls - 1)

    def page_size(self, execution_arn: str, invocation_index: int) -> int | None:
        return self.timings.page_size


class TimedSandboxes(SandboxPolicy):
    """Warm or cold re-invocations, as ``Timings.sandboxes`` says, for the root execution."""

    def __init__(self, timings: Timings) -> None:
        self.timings = timings
        self.root_arn: str | None = None

    def environment(self, execution_arn: str, invocation_index: int) -> str:
        if execution_arn != self.root_arn or invocation_index < 2:
            return "warm"
        i = invocation_index - 2
        return self.timings.sandboxes[i] if i < len(self.timings.sandboxes) else "warm"
