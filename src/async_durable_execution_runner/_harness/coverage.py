"""What a campaign exercised, what it never did, and ``sometimes(condition, label)``.

``observe(outcome)`` reads one run's history and fault plan into features (strings such as
``transition STEP RETRY -> PENDING``, ``fault crash x STEP``, ``replay inside map``,
``callback timed out``, ``retries exhausted``, ``sandbox cold``, ``ended FAILED``), reports
each through Hypothesis's ``event()`` (so ``--hypothesis-show-statistics`` and Hypothesis's
observability output carry them), feeds ``hypothesis.target()`` with how many of them this
campaign had not seen yet (long campaigns steer toward the unexercised), and adds them to the
current campaign. ``summary()`` lists what was exercised and what never happened.

``sometimes(condition, label)`` records whether ``condition`` held; a campaign in which a
label never held fails (the pytest plugin checks it after each test; elsewhere use
``campaign()``), so a property whose interesting case is never reached does not pass quietly.
"""

from __future__ import annotations

import contextlib
import weakref
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from hypothesis import event, target
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner._harness.faults.kinds import FAULT_KINDS
from async_durable_execution_runner._models import Event, EventType
from async_durable_execution_runner._replay.state import operation_type_of

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome

E = EventType

#: Event -> (action, status it leaves the operation in); the type comes from the event.
_TRANSITION_OF: dict[EventType, tuple[str, str]] = {
    E.STEP_STARTED: ("START", "STARTED"),
    E.STEP_SUCCEEDED: ("SUCCEED", "SUCCEEDED"),
    E.STEP_FAILED: ("FAIL", "FAILED"),
    E.WAIT_STARTED: ("START", "STARTED"),
    E.WAIT_SUCCEEDED: ("(timer)", "SUCCEEDED"),
    E.WAIT_CANCELLED: ("CANCEL", "CANCELLED"),
    E.CONTEXT_STARTED: ("START", "STARTED"),
    E.CONTEXT_SUCCEEDED: ("SUCCEED", "SUCCEEDED"),
    E.CONTEXT_FAILED: ("FAIL", "FAILED"),
    E.CALLBACK_STARTED: ("START", "STARTED"),
    E.CALLBACK_SUCCEEDED: ("(answer)", "SUCCEEDED"),
    E.CALLBACK_FAILED: ("(answer)", "FAILED"),
    E.CALLBACK_TIMED_OUT: ("(timer)", "TIMED_OUT"),
    E.CHAINED_INVOKE_STARTED: ("START", "STARTED"),
    E.CHAINED_INVOKE_SUCCEEDED: ("(result)", "SUCCEEDED"),
    E.CHAINED_INVOKE_FAILED: ("(result)", "FAILED"),
    E.CHAINED_INVOKE_TIMED_OUT: ("(result)", "TIMED_OUT"),
    E.CHAINED_INVOKE_STOPPED: ("(result)", "STOPPED"),
}
OTHER_FEATURES = (
    "replay inside map",
    "replay inside parallel",
    "callback timed out",
    "retries exhausted",
    "sandbox warm",
    "sandbox cold",
    # How the execution ended: a campaign that never succeeds (a handler that fails on its
    # own on every run) breaks no oracle's rule, and shows here as "never happened".
    "ended SUCCEEDED",
    "ended FAILED",
    "ended TIMED_OUT",
    "ended STOPPED",
)


def transition(event: Event) -> str | None:
    found = _TRANSITION_OF.get(event.event_type)
    op_type = operation_type_of(event.event_type)
    if found is None or op_type is None:
        return None
    action, status = found
    retry = event.details.get("RetryDetails") or {}
    if "NextAttemptDelaySeconds" in retry:
        action, status = "RETRY", "PENDING"
    return f"transition {op_type.value} {action} -> {status}"


def universe() -> set[str]:
    """Every feature a campaign could exercise (what 'never happened' is measured against)."""
    out = {
        f"transition {op.value} {action} -> {status}"
        for ev, (action, status) in _TRANSITION_OF.items()
        if (op := operation_type_of(ev)) is not None
    }
    out.add("transition STEP RETRY -> PENDING")
    for kind in FAULT_KINDS:
        target_kind = FAULT_KINDS[kind].target
        kinds = [target_kind] if target_kind else ["STEP", "WAIT", "CONTEXT", "CALLBACK", "none"]
        out.update(f"fault {kind} x {k}" for k in kinds)
    out.update(OTHER_FEATURES)
    return out


def features(outcome: Outcome) -> set[str]:
    """The features one run exercised (from its history, invocations and applied faults)."""
    events = outcome.result.events
    found: set[str] = set()
    sub_types: dict[str, str | None] = {}
    open_batches: dict[str, str] = {}  # id -> "map" / "parallel", while unfinished
    last_kind: dict[int, str] = {}  # invocation index -> kind of its last operation event
    invocation = 1
    for e in events:
        if e.event_type is E.INVOCATION_COMPLETED:
            invocation += 1
            if open_batches:
                for kind in set(open_batches.values()):
                    found.add(f"replay inside {kind}")
            continue
        label = transition(e)
        if label:
            found.add(label)
        if e.id:
            sub_types.setdefault(e.id, e.sub_type)
            op_type = operation_type_of(e.event_type)
            if op_type is not None and op_type.value != "EXECUTION":
                last_kind[invocation] = op_type.value
        if e.sub_type in ("Map", "Parallel") and e.id:
            if e.event_type is E.CONTEXT_STARTED:
                open_batches[e.id] = e.sub_type.lower()
            elif e.event_type.is_terminal:
                open_batches.pop(e.id, None)
        if e.event_type is E.CALLBACK_TIMED_OUT:
            found.add("callback timed out")
        retry = e.details.get("RetryDetails") or {}
        if (
            e.event_type is E.STEP_FAILED
            and "NextAttemptDelaySeconds" not in retry
            and int(retry.get("CurrentAttempt", 1)) > 1
        ):
            found.add("retries exhausted")
    found.add(f"ended {outcome.execution_status.value}")
    for info in outcome.result.invocations:
        if info.index > 1 and info.environment in ("warm", "cold"):
            found.add(f"sandbox {info.environment}")
    for fault in outcome.faults_applied:
        target_kind = fault.target
        if target_kind is None:
            placed = getattr(fault, "invocation", None)
            target_kind = last_kind.get(placed, "none") if isinstance(placed, int) else "none"
            if target_kind not in ("STEP", "WAIT", "CONTEXT", "CALLBACK"):
                target_kind = "none" if target_kind != "CHAINED_INVOKE" else "CONTEXT"
        found.add(f"fault {fault.kind} x {target_kind}")
    return found


@dataclass
class Campaign:
    """Counts over the examples of one campaign (one test, under the pytest plugin)."""

    name: str = "campaign"
    examples: int = 0
    seen: Counter[str] = field(default_factory=Counter)
    sometimes_held: Counter[str] = field(default_factory=Counter)
    sometimes_asked: Counter[str] = field(default_factory=Counter)
    #: Outcomes counted already (by id, while they live): observing one twice (the
    #: ``run_scenario`` fixture, then the test itself) counts it once.
    observed: weakref.WeakValueDictionary[int, Outcome] = field(
        default_factory=weakref.WeakValueDictionary, repr=False, compare=False
    )

    def never_held(self) -> list[str]:
        return sorted(label for label in self.sometimes_asked if not self.sometimes_held[label])

    def check(self) -> None:
        missing = self.never_held()
        if missing:
            msg = (
                f"{self.name}: sometimes() never held for: "
                + ", ".join(f"{m!r} (asked {self.sometimes_asked[m]} times)" for m in missing)
                + ". The property never reached the "
                "case it is about; widen the strategies or add examples"
            )
            raise AssertionError(msg)

    def summary(self) -> str:
        lines = [f"{self.name}: {self.examples} run(s) observed"]
        if self.seen:
            lines.append("  exercised:")
            lines.extend(f"    {n:>5}  {f}" for f, n in sorted(self.seen.items()))
        never = sorted(universe() - set(self.seen))
        lines.append(f"  never happened ({len(never)}):")
        lines.extend(f"           {f}" for f in never)
        for label in sorted(self.sometimes_asked):
            held, asked = self.sometimes_held[label], self.sometimes_asked[label]
            lines.append(f"  sometimes {label!r}: held in {held} of {asked}")
        return "\n".join(lines)


_current: list[Campaign] = [Campaign()]


def current() -> Campaign:
    return _current[-1]


@contextlib.contextmanager
def campaign(name: str = "campaign", *, check: bool = True) -> Iterator[Campaign]:
    """Collect a campaign's coverage (and check its ``sometimes``) around a block."""
    c = Campaign(name)
    _current.append(c)
    try:
        yield c
    finally:
        _current.pop()
    if check:
        c.check()


def _tell_hypothesis(labels: list[str], score: float | None = None) -> None:
    """``event()`` each label (and ``target()`` the score) when inside a Hypothesis test;
    outside one, or for a second score in the same example, Hypothesis refuses: skip it."""
    try:
        for label in labels:
            event(label)
        if score is not None:
            target(score, label="durable transitions not seen before")
    except InvalidArgument:
        return


def observe(outcome: Outcome) -> set[str]:
    """Record what ``outcome`` exercised in the current campaign (and in Hypothesis)."""
    found = features(outcome)
    c = current()
    if c.observed.get(id(outcome)) is outcome:
        return found
    c.observed[id(outcome)] = outcome
    new = [f for f in found if not c.seen[f]]
    c.examples += 1
    c.seen.update(found)
    _tell_hypothesis(sorted(found), float(len(new)))
    return found


def sometimes(condition: object, label: str) -> bool:
    """Record whether ``condition`` held; the campaign fails if it never does."""
    if not isinstance(label, str) or not label:
        msg = f"sometimes() needs a non-empty label string, got {label!r}"
        raise InvalidArgument(msg)
    held = bool(condition)
    c = current()
    c.sometimes_asked[label] += 1
    if held:
        c.sometimes_held[label] += 1
    _tell_hypothesis([f"sometimes {label}: {'held' if held else 'not held'}"])
    return held
