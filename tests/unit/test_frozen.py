"""``cheap_frozen``: the wire models built per update keep every behaviour of a frozen
dataclass while being cheap to construct."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import inspect
import pickle
from dataclasses import dataclass, field
from typing import Any

import pytest

from async_durable_execution_runner._models import (
    ErrorObject,
    Event,
    EventType,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    StepOptions,
)
from async_durable_execution_runner._models._frozen import cheap_frozen, maker, replace

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)


@cheap_frozen
@dataclass(frozen=True, slots=True)
class Sample:
    a: int
    b: str = "b"
    c: dict[str, Any] = field(default_factory=dict)


def test_constructs_like_the_dataclass() -> None:
    assert Sample(1) == Sample(a=1, b="b", c={})
    assert type(Sample(1)) is Sample
    assert repr(Sample(1, "x")) == "Sample(a=1, b='x', c={})"
    assert Sample(1).c is not Sample(1).c  # a fresh default per instance
    assert dataclasses.astuple(Sample(1, "x")) == (1, "x", {})
    parameters = inspect.signature(Sample).parameters
    assert list(parameters) == ["a", "b", "c"]
    assert parameters["b"].default == "b"


def test_maker_builds_what_the_class_builds() -> None:
    make = maker(Sample)
    assert make(1) == Sample(1) and type(make(1)) is Sample
    assert make(1, c={"k": 1}) == Sample(1, c={"k": 1})
    assert make(1).c is not make(1).c
    event = maker(Event)(1, EventType.STEP_STARTED, NOW, "s", None, None, None, {})
    assert type(event) is Event
    assert event == Event(1, EventType.STEP_STARTED, NOW, "s", None, None, None, {})
    with pytest.raises(TypeError):
        make()


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [((), {}), ((1, "b", {}, 4), {}), ((1,), {"d": 2}), ((1,), {"a": 2})],
)
def test_wrong_arguments_raise_type_error(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    with pytest.raises(TypeError):
        Sample(*args, **kwargs)


def test_stays_frozen_and_hashable() -> None:
    sample = Sample(1, c=())  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        sample.a = 2  # type: ignore[misc]
    assert hash(sample) == hash(Sample(1, c=()))  # type: ignore[arg-type]


def test_replace_copy_and_pickle() -> None:
    sample = Sample(1, "x", {"k": [1]})
    assert replace(sample, b="y") == Sample(1, "y", {"k": [1]})
    assert dataclasses.replace(sample, a=2) == Sample(2, "x", {"k": [1]})
    with pytest.raises(TypeError):
        replace(sample, z=1)
    assert copy.copy(sample) == sample
    deep = copy.deepcopy(sample)
    assert deep == sample and deep.c is not sample.c
    assert pickle.loads(pickle.dumps(sample)) == sample


def test_refuses_what_it_cannot_build() -> None:
    @dataclass(frozen=True)
    class NoSlots:
        a: int

    @dataclass(frozen=True, slots=True)
    class Checked:
        a: int

        def __post_init__(self) -> None:
            pass

    for cls in (NoSlots, Checked):
        with pytest.raises(TypeError):
            cheap_frozen(cls)


def test_wire_models_round_trip() -> None:
    error = ErrorObject("Boom", "it broke", None, ("line 1",))
    op = Operation(
        "op-1",
        OperationType.STEP,
        OperationStatus.SUCCEEDED,
        NOW,
        name="step",
        step_details=StepDetails(attempt=2, result='"r"', error=error),
    )
    assert Operation.from_dict(op.to_dict()) == op
    assert pickle.loads(pickle.dumps(op)) == op
    assert replace(op, status=OperationStatus.FAILED).status is OperationStatus.FAILED
    update = OperationUpdate(
        "op-1", OperationType.STEP, OperationAction.RETRY, step_options=StepOptions(3)
    )
    assert OperationUpdate.from_dict(update.to_dict()) == update
    event = Event(1, EventType.STEP_STARTED, NOW, id="op-1")
    assert event.details == {} and Event.from_dict(event.to_dict()) == event


def test_result_views_built_without_their_init_equal_their_constructors() -> None:
    """``build_views`` fills each view's ``__dict__`` instead of calling its frozen
    ``__init__``: that is only the same object while the views have exactly these fields."""
    import dataclasses
    import datetime as dt

    from async_durable_execution_runner._models import Operation, OperationStatus, OperationType
    from async_durable_execution_runner._runner import result

    for cls in (result.OperationView, *result._VIEW_CLASSES.values()):
        assert [f.name for f in dataclasses.fields(cls)] == ["raw", "children"], cls
        assert not hasattr(cls, "__post_init__"), cls
    now = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    context = Operation("c", OperationType.CONTEXT, OperationStatus.STARTED, now)
    step = Operation("s", OperationType.STEP, OperationStatus.STARTED, now, parent_id="c")
    (view,) = result.build_views([context, step])
    child = result.StepOperation(raw=step)
    assert view == result.ContextOperation(raw=context, children=(child,))
    assert vars(view) == vars(result.ContextOperation(raw=context, children=(child,)))
    assert type(view.children[0]) is result.StepOperation
