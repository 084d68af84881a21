"""Every fault kind in ``FAULT_KINDS`` is handled everywhere it must be: it lands at one point,
its strategy draws it, a placing run places it where it lands and it applies there, its
effect shows in the run, it replays from its ``repr``, a reproducer can import it, and the
oracles know what it does. A kind added without one of these fails here, saying what to add
where (everything but the export lives in ``_harness/faults/kinds.py``)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import find, settings
from hypothesis.vendor.pretty import pretty
from tests.harness.fault_handlers import callee, everything

from async_durable_execution_runner import scenarios
from async_durable_execution_runner._harness.coverage import universe
from async_durable_execution_runner._harness.faults.kinds import (
    FAULT_KINDS,
    CallbackFault,
    CheckpointCallFault,
    FaultKind,
    InvocationReturnFault,
    InvokeFault,
    ReferenceFacts,
    StepFault,
)
from async_durable_execution_runner._harness.faults.placement import Placement, PlacingHooks
from async_durable_execution_runner._harness.programs.reference import (
    CALLBACK_FAULTS,
    INVOKE_FAULTS,
)
from async_durable_execution_runner._harness.world import World
from async_durable_execution_runner.scenarios import Scenario
from async_durable_execution_runner.strategies import fault_plans

POINTS = (CheckpointCallFault, InvocationReturnFault, StepFault, CallbackFault, InvokeFault)
#: What each point leaves to the kinds that land there.
OWN = {
    CheckpointCallFault: ("drawn", "placed", "call_index", "effect"),
    InvocationReturnFault: ("drawn", "placed", "effect"),
    StepFault: ("drawn", "placed", "lands_at", "effect"),
    CallbackFault: ("drawn", "answer", "reference"),
    InvokeFault: ("result", "reference"),
}
KINDS = list(FAULT_KINDS)
WHERE = "src/async_durable_execution_runner/_harness/faults/kinds.py"


def scenario(faults: tuple[FaultKind, ...] = ()) -> Scenario:
    return Scenario(handler=everything, input={}, faults=faults, functions={"callee": callee})


def placed_run(kind: str) -> tuple[FaultKind, Any]:
    """A run that places one fault of ``kind`` at the first point of ``everything`` where such
    a fault lands (the chooser always answers "a fault here")."""
    hooks = PlacingHooks(lambda n: n - 1, Placement(kinds=(kind,), max_faults=1), budget=1)
    outcome = scenario()._run_once(hooks, record=World())
    hooks.closed = True
    assert len(hooks.plan) == 1, (
        f"a placing run of {kind!r} placed {hooks.plan!r}; give the kind a `placed` classmethod "
        f"in {WHERE} that builds it from the point it lands at"
    )
    return hooks.plan[0], outcome


def shape(outcome: Any) -> tuple[list[str], int]:
    return [e["EventType"] for e in outcome.history], len(outcome.invocations)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_lands_at_exactly_one_point(kind: str) -> None:
    cls = FAULT_KINDS[kind]
    points = [p.__name__ for p in POINTS if issubclass(cls, p)]
    assert len(points) == 1, (
        f"{cls.__name__} derives from {points or 'no point'}; derive it (in {WHERE}) from the "
        f"base of the one point where it lands: {', '.join(p.__name__ for p in POINTS)}"
    )
    assert cls.point, f"{cls.__name__}: its point's base says where it lands in words"
    point = next(p for p in POINTS if issubclass(cls, p))
    for name in OWN[point]:
        owner = next(c for c in cls.__mro__ if name in vars(c))
        assert owner not in (point, FaultKind), (
            f"{cls.__name__} lands at {point.__name__}, which leaves `{name}` to each kind: "
            f"define it in {cls.__name__} ({WHERE})"
        )


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_exported_for_reproducers(kind: str) -> None:
    cls = FAULT_KINDS[kind]
    assert getattr(scenarios, kind, None) is cls and kind in scenarios.__all__, (
        f"export the constructor `{kind}` (= {cls.__name__}) from "
        "src/async_durable_execution_runner/scenarios.py (a reproducer prints and imports it)"
    )
    fault = cls()
    assert eval(repr(fault), vars(scenarios)) == fault, f"{cls.__name__}: repr must rebuild it"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_prints_as_its_constructor_in_hypothesis_reports(kind: str) -> None:
    # Hypothesis prints a failing example with its pretty printer, not ``repr``.
    fault = FAULT_KINDS[kind]()
    assert pretty(fault) == repr(fault)
    assert pretty((fault,)) == f"({fault!r},)"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_drawn_by_fault_plans(kind: str) -> None:
    cls = FAULT_KINDS[kind]
    try:
        plan = find(
            fault_plans(kinds={kind}, max_faults=1),
            lambda plan: len(plan) == 1,
            settings=settings(database=None, max_examples=200),
        )
    except NotImplementedError:
        pytest.fail(f"{cls.__name__} has no strategy: give it a `drawn` classmethod in {WHERE}")
    assert type(plan[0]) is cls, f"{cls.__name__}.drawn drew {plan[0]!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_placed_where_it_lands_and_applies_there(kind: str) -> None:
    cls = FAULT_KINDS[kind]
    fault, outcome = placed_run(kind)
    assert type(fault) is cls
    assert outcome.faults_applied == (fault,), (
        f"{fault!r} was placed but did not apply in the run that placed it; its `lands_at` "
        f"must recognise the point its `placed` built it from ({WHERE})"
    )
    # The plan replays without the chooser, at the same point.
    replayed = scenario((fault,)).run()
    assert replayed.faults_applied == (fault,), f"{fault!r} does not land when replayed"


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_changes_the_run(kind: str) -> None:
    fault, outcome = placed_run(kind)
    assert shape(outcome) != shape(scenario().run()), (
        f"{fault!r} applied but the run's history and invocations are those of a run without "
        f"it: its effect ({WHERE}) did not reach the emulator"
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_oracles_know_what_every_kind_does(kind: str) -> None:
    fault, outcome = placed_run(kind)
    outcome.check()  # a correct handler under any fault passes every oracle
    for instance in (FAULT_KINDS[kind](), fault):
        facts = ReferenceFacts()
        instance.describe_to(facts)
        told = (
            facts.step_exceptions
            or facts.step_timeouts
            or facts.callback_faults
            or facts.invoke_faults
        )
        if instance.masked:
            assert not told, f"{instance!r} is masked: the evaluator must expect no change"
        elif instance.modelled:
            assert told, (
                f"{instance!r} changes the outcome: its `describe_to` ({WHERE}) must tell the "
                "reference evaluator what it does, or its `modelled` must be False"
            )
        assert set(facts.callback_faults.values()) <= CALLBACK_FAULTS
        assert set(facts.invoke_faults.values()) <= INVOKE_FAULTS
    assert any(feature.startswith(f"fault {kind} x ") for feature in universe())
