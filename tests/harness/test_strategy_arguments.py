"""Bad strategy arguments raise Hypothesis's ``InvalidArgument``, as Hypothesis's own do, with a
message saying what was expected; none is silently ignored."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner.strategies import (
    checkpoint_batches,
    durable_scenarios,
    fault_plans,
    operation_updates,
)


def _example(strategy: Any) -> Any:
    # Strategies validate lazily, as Hypothesis's do: drawing (or validate()) surfaces it.
    strategy.validate()
    return strategy


def _handler() -> Callable[..., Any]:
    from timekeeping import cron_minute_ticks

    return cron_minute_ticks


BAD: dict[str, tuple[Callable[[], Any], str]] = {
    "unknown update kind": (lambda: operation_updates(kinds=["nope"]), "unknown update kinds"),
    "no update kinds": (lambda: operation_updates(kinds=[]), "unknown update kinds"),
    "batch sizes reversed": (lambda: checkpoint_batches(min_size=3, max_size=2), "min_size"),
    "negative batch size": (lambda: checkpoint_batches(min_size=-1), "min_size"),
    "unknown fault kind": (lambda: fault_plans(kinds={"meteor"}), "meteor"),
    "not a handler": (lambda: durable_scenarios(print), "durable"),
    "execution time-out of zero": (
        lambda: durable_scenarios(_handler(), execution_timeout=0),
        "execution_timeout must be at least 1 second",
    ),
    "execution time-out not whole seconds": (
        lambda: durable_scenarios(_handler(), execution_timeout=1.5),  # type: ignore[arg-type]
        "execution_timeout must be whole seconds",
    ),
    "reuse of the drawing run not a bool": (
        lambda: durable_scenarios(_handler(), reuse_drawing_run="yes"),  # type: ignore[arg-type]
        "reuse_drawing_run must be True or False",
    ),
}


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_bad_strategy_arguments_raise_invalid_argument(case: str) -> None:
    build, fragment = BAD[case]
    with pytest.raises(InvalidArgument, match=fragment):
        _example(build())


def test_raw_updates_without_hypothesis_jsonschema_raise(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "hypothesis_jsonschema", None)  # import fails
    with pytest.raises(InvalidArgument, match="hypothesis-jsonschema"):
        _example(operation_updates(raw=True))
