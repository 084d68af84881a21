"""Hypothesis strategies for scenarios (of a handler, or of random programs) and timings."""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._harness.faults.kinds import FaultKind
from async_durable_execution_runner._harness.faults.strategies import (
    FaultPlanStrategy,
    fault_plans,
)
from async_durable_execution_runner._harness.programs.interpreter import (
    PROGRAM_FUNCTION,
    program_event,
    program_handler,
)
from async_durable_execution_runner._harness.programs.nodes import callback_names
from async_durable_execution_runner._harness.programs.strategies import durable_programs
from async_durable_execution_runner._harness.scenario.scenario import (
    DEFAULT_EXECUTION_TIMEOUT,
    DEFAULT_SCENARIO_TIMEOUT,
    Scenario,
)
from async_durable_execution_runner._harness.scenario.timings import DEFAULT_START, Timings
from async_durable_execution_runner._harness.world import World
from async_durable_execution_runner._sandbox.handler_address import handler_address
from async_durable_execution_runner._service.seams import InvokeResult

#: The default bound on ``Timings.window`` drawn by ``timings()``, in seconds.
DEFAULT_MAX_WINDOW = 1.0


def timings(
    *,
    start: bool = True,
    order: bool = True,
    interleave: bool = True,
    paging: bool = True,
    cold: bool = True,
    callback_delays: bool = True,
    seed: bool = True,
    max_window: float = DEFAULT_MAX_WINDOW,
) -> st.SearchStrategy[Timings]:
    """``Timings`` values; each component shrinks to the service's default behaviour.
    Turn a component off (``cold=False``, ...) to keep its default.

    ``max_window`` bounds the delivery window: due items whose deadlines are less than that
    many seconds apart may be delivered in either order (default one second: the service's
    own durations are whole seconds, so deadlines closer than that are ones the handler
    cannot tell apart). Callback answers later than a time-out are drawn by
    ``callback_delays``, not by the window.
    """
    if (
        not isinstance(max_window, int | float)
        or isinstance(max_window, bool)
        or not 0 <= max_window < float("inf")
    ):
        msg = f"max_window must be a finite number of seconds >= 0, got {max_window!r}"
        raise InvalidArgument(msg)
    windows = tuple(sorted({0.0, max_window / 2, float(max_window)}))

    def opt(
        enabled: bool, strategy: st.SearchStrategy[Any], default: Any
    ) -> st.SearchStrategy[Any]:
        return strategy if enabled else st.just(default)

    small = st.lists(st.integers(0, 3), max_size=6).map(tuple)
    return st.builds(
        Timings,
        start=opt(
            start,
            # Whole seconds within ten years either side of the default start.
            st.just(DEFAULT_START)
            | st.integers(-315_360_000, 315_360_000).map(
                lambda s: DEFAULT_START + _dt.timedelta(seconds=s)
            ),
            DEFAULT_START,
        ),
        order=opt(order, st.lists(st.integers(0, 3), max_size=4).map(tuple), ()),
        window=opt(order, st.sampled_from(windows), 0.0),
        step_turns=opt(interleave, small, ()),
        response_turns=opt(interleave, small, ()),
        page_size=opt(paging, st.none() | st.integers(1, 5), None),
        sandboxes=opt(cold, st.lists(st.sampled_from(("warm", "cold")), max_size=4).map(tuple), ()),
        callback_delays=opt(
            callback_delays,
            st.lists(st.sampled_from((0.0, 1.0, 30.0, 3600.0)), max_size=3).map(tuple),
            (),
        ),
        seed=opt(seed, st.integers(0, 2**16), 0),
        thread_order=opt(interleave, small, ()),
    )


_timings = timings


def _importable(handler: Callable[..., Any]) -> bool:
    return handler_address(handler) is not None


def durable_scenarios(
    handler: Callable[..., Any] | None = None,
    *,
    inputs: st.SearchStrategy[Any] | None = None,
    faults: st.SearchStrategy[tuple[FaultKind, ...]] | None = None,
    timings: st.SearchStrategy[Timings] | None = None,
    callbacks: Mapping[str, st.SearchStrategy[Any]] | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
    strict_replay: bool = False,
    cold_module_prefixes: tuple[str, ...] = (),
    allow_nondeterminism: Collection[str] = (),
    before_run: Callable[[], None] | None = None,
    execution_timeout: int = DEFAULT_EXECUTION_TIMEOUT,
    reuse_drawing_run: bool = False,
    timeout: float = DEFAULT_SCENARIO_TIMEOUT,
) -> st.SearchStrategy[Scenario]:
    """``Scenario``s for ``handler`` (a ``@durable_execution`` handler): an input from
    ``inputs`` (default ``None``), a fault plan from ``faults`` (default: every kind, a few
    faults), timings from ``timings`` and callback payloads from ``callbacks[name]`` (default
    JSON null). Without a handler, each scenario runs a random durable program.

    ``fault_plans()`` places its faults where they land by running the scenario once while it
    is drawn, outside the test body. ``reuse_drawing_run=True`` hands that run back as the
    scenario's first ``run()`` (one run per example, not two): only for a test that sets up
    nothing around ``run()`` itself (a ``mock.patch``, an environment variable, a fake's
    state), since that run did not see it; ``before_run`` is always run again.

    ``timeout`` is each run's wall-clock budget in seconds (``Scenario.timeout``, the placing
    run's too): a correct handler that takes longer (a ``map`` over thousands of items,
    hundreds of invocations on a loaded machine) needs more, or the liveness oracle calls it
    hung."""
    if handler is None:
        return program_scenarios(faults=faults, timings=timings)
    if not isinstance(reuse_drawing_run, bool):
        msg = f"reuse_drawing_run must be True or False, got {reuse_drawing_run!r}"
        raise InvalidArgument(msg)
    if not adapter.is_durable_handler(handler):
        msg = f"handler must be decorated with @durable_execution, got {handler!r}"
        raise InvalidArgument(msg)
    if isinstance(execution_timeout, bool) or not isinstance(execution_timeout, int):
        msg = f"execution_timeout must be whole seconds (an int), got {execution_timeout!r}"
        raise InvalidArgument(msg)
    if execution_timeout < 1:
        msg = f"execution_timeout must be at least 1 second, got {execution_timeout!r}"
        raise InvalidArgument(msg)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not 0 < timeout < float("inf")
    ):
        msg = f"timeout must be a finite number of seconds > 0, got {timeout!r}"
        raise InvalidArgument(msg)
    for label, value in (("inputs", inputs), ("faults", faults), ("timings", timings)):
        if value is not None and not isinstance(value, st.SearchStrategy):
            msg = f"{label} must be a Hypothesis strategy (e.g. st.just(value)), got {value!r}"
            raise InvalidArgument(msg)
    for name, strategy in (callbacks or {}).items():
        if not isinstance(strategy, st.SearchStrategy):
            msg = f"callbacks[{name!r}] must be a strategy of JSON values, got {strategy!r}"
            raise InvalidArgument(msg)
    for name, target in (functions or {}).items():
        if not (adapter.is_durable_handler(target) or isinstance(target, InvokeResult)):
            msg = f"functions[{name!r}] must be a @durable_execution handler or an InvokeResult"
            raise InvalidArgument(msg)
    importable = _importable(handler)
    timing_strategy = timings if timings is not None else _timings(cold=importable)
    fault_strategy = faults if faults is not None else fault_plans()
    payloads = {
        name: st.lists(strategy, min_size=1, max_size=3).map(tuple)
        for name, strategy in (callbacks or {}).items()
    }

    @st.composite
    def build(draw: st.DrawFn) -> Scenario:
        scenario = Scenario(
            handler=handler,
            input=draw(inputs) if inputs is not None else None,
            timings=draw(timing_strategy),
            callback_payloads={name: draw(s) for name, s in payloads.items()},
            functions=dict(functions or {}),
            strict_replay=strict_replay,
            cold_module_prefixes=cold_module_prefixes,
            allow_nondeterminism=frozenset(allow_nondeterminism),
            before_run=before_run,
            execution_timeout=execution_timeout,
            timeout=timeout,
        )
        return with_plan(draw, scenario, fault_strategy, reuse_run=reuse_drawing_run)

    return build()


def with_plan(
    draw: st.DrawFn,
    scenario: Scenario,
    faults: st.SearchStrategy[tuple[FaultKind, ...]],
    *,
    reuse_run: bool,
) -> Scenario:
    """``scenario`` under a plan from ``faults``: placed at its points for ``fault_plans()``
    (by running the scenario once, which ``reuse_run`` hands back as its first ``run()``),
    drawn as given for any other strategy of plans."""
    if not isinstance(faults, FaultPlanStrategy):
        return scenario.with_faults(draw(faults))
    hooks = faults.placing_hooks(draw)
    if hooks is None:
        return scenario
    # The run seeds the random module for the handler; a strategy must leave it as it
    # found it (Hypothesis checks).
    state = random.getstate()
    try:
        # Recorded, since this run may be the scenario's own (``_with_placing_run``): its
        # baseline replays what its operations produced.
        outcome = scenario._run_once(hooks, record=World())
    finally:
        hooks.closed = True
        random.setstate(state)
    if hooks.error is not None:
        raise hooks.error
    placed = scenario.with_faults(hooks.plan)
    return placed._with_placing_run(outcome) if reuse_run else placed


#: Callback payloads of generated programs: small JSON values.
PAYLOADS = st.none() | st.booleans() | st.integers(-100, 100) | st.text(max_size=6)


def program_scenarios(
    *,
    faults: st.SearchStrategy[tuple[FaultKind, ...]] | None = None,
    timings: st.SearchStrategy[Timings] | None = None,
) -> st.SearchStrategy[Scenario]:
    """Scenarios whose handler runs a random durable program (``durable_scenarios()`` without
    a handler). The program travels in the execution input and runs in ``program_handler``;
    the reference evaluator computes, from the program, its payloads and its fault plan
    alone, the outcome the service must produce, and the ``expected-outcome`` oracle
    compares."""
    fault_strategy = faults if faults is not None else fault_plans()
    timing_strategy = timings if timings is not None else _timings()

    @st.composite
    def build(draw: st.DrawFn) -> Scenario:
        program = draw(durable_programs(), label="program")
        payloads = {name: (draw(PAYLOADS),) for name in callback_names(program)}
        scenario = Scenario(
            handler=program_handler,
            input=program_event(program),
            timings=draw(timing_strategy),
            callback_payloads=payloads,
            functions={PROGRAM_FUNCTION: program_handler},
            program=program,
        )
        # (A generated program talks to nothing a test could set up around ``run()``.)
        return with_plan(draw, scenario, fault_strategy, reuse_run=True)

    return build()
