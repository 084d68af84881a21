"""Hypothesis strategies for scenarios, fault plans and timings."""

from __future__ import annotations

import datetime as _dt
import random
from collections.abc import Callable, Collection, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._harness.faults.kinds import (
    FAULT_KINDS,
    SERVICE_ERRORS,
    CallbackFailureFault,
    CallbackTimeoutFault,
    CheckpointErrorFault,
    CrashFault,
    DuplicateInvocationFault,
    FaultKind,
    HeartbeatThenTimeoutFault,
    HeartbeatTimeoutFault,
    InvocationLostFault,
    InvokeFailureFault,
    InvokeTimeoutFault,
    LostResponseFault,
    LostThenDuplicatedFault,
    StepExceptionFault,
)
from async_durable_execution_runner._harness.faults.placement import (
    CHOICES,
    Placement,
    PlacingHooks,
)
from async_durable_execution_runner._harness.scenario.scenario import Scenario
from async_durable_execution_runner._harness.scenario.timings import DEFAULT_START, Timings
from async_durable_execution_runner._harness.world import World
from async_durable_execution_runner._service.seams import InvokeResult

#: The default bound on ``Timings.window`` drawn by ``timings()``, in seconds.
DEFAULT_MAX_WINDOW = 1.0

#: The default plan draws from every kind, simplest kinds first (shrinking prefers them).
DEFAULT_KINDS: tuple[str, ...] = (
    "crash",
    "invocation_lost",
    "checkpoint_error",
    "lost_response",
    "duplicate_invocation",
    "step_exception",
    "callback_failure",
    "callback_timeout",
    "heartbeat_timeout",
    "invoke_failure",
    "invoke_timeout",
    "lost_then_duplicated",
    "heartbeat_then_timeout",
)


def _check_int(name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        msg = f"{name} must be an integer >= {low}, got {value!r}"
        raise InvalidArgument(msg)
    return value


def _favour_small(high: int) -> st.SearchStrategy[int]:
    return st.integers(1, min(2, high)) | st.integers(1, high)


class FaultPlanStrategy(st.SearchStrategy[tuple[FaultKind, ...]]):
    """What ``fault_plans()`` returns: given to ``durable_scenarios``, its faults are placed
    at points the execution really has (see ``_harness/placement.py``); drawn on its own,
    it gives plans of absolute positions within the bounds it was given."""

    def __init__(
        self, absolute: st.SearchStrategy[tuple[FaultKind, ...]], placement: Placement, text: str
    ) -> None:
        super().__init__()
        self.absolute = absolute
        self.placement = placement
        self._text = text

    def do_draw(self, data: Any) -> tuple[FaultKind, ...]:
        return data.draw(self.absolute)  # type: ignore[no-any-return]

    def __repr__(self) -> str:
        return self._text

    def place(self, draw: st.DrawFn, scenario: Scenario) -> Scenario:
        """``scenario`` with a plan placed by running it once (see ``_harness/placement``)."""
        placement = self.placement
        if not placement.kinds or placement.max_faults == 0:
            return scenario
        # At least one fault may be placed: an example without any comes from declining
        # every point, which is also what shrinking reaches when no fault is needed.
        budget = draw(st.integers(1, placement.max_faults), label="fault budget")
        choice = st.integers(0, CHOICES - 1)
        hooks = PlacingHooks(lambda n: draw(choice) % n, placement, budget)
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
        return scenario.with_faults(hooks.plan)._with_placing_run(outcome)


def fault_plans(
    *,
    kinds: Collection[str] | None = None,
    max_faults: int = 3,
    max_invocation: int = 4,
    max_call: int = 6,
    max_attempt: int = 3,
    max_ordinal: int = 3,
) -> FaultPlanStrategy:
    """Tuples of faults (see ``scenarios`` for each kind), shrinking toward fewer faults,
    earlier placements, shorter bursts and simpler errors.

    Given to ``durable_scenarios``, each fault is placed at a point the execution reaches
    (a checkpoint call that happens, a step attempt that runs, a callback or invoke that is
    created), so every fault of the plan applies; ``max_attempt`` is then the longest burst
    (a step failing its next k attempts, k crashes in a row, k heartbeats before a
    timeout). Drawn on its own, a plan has absolute positions within ``max_invocation``,
    ``max_call``, ``max_attempt`` and ``max_ordinal``.

    ``kinds`` picks the fault kinds (default: all of them); ``kinds=set()`` or
    ``max_faults=0`` means no faults.
    """
    _check_int("max_faults", max_faults, 0)
    _check_int("max_invocation", max_invocation, 1)
    _check_int("max_call", max_call, 1)
    _check_int("max_attempt", max_attempt, 1)
    _check_int("max_ordinal", max_ordinal, 1)
    chosen = DEFAULT_KINDS if kinds is None else tuple(k for k in DEFAULT_KINDS if k in set(kinds))
    unknown = set(kinds or ()) - set(FAULT_KINDS)
    if isinstance(kinds, str) or unknown:
        msg = (
            f"kinds must be a collection of fault kind names, got {kinds!r}; "
            f"known kinds: {', '.join(DEFAULT_KINDS)}"
        )
        raise InvalidArgument(msg)
    text = (
        f"fault_plans(kinds={kinds!r}, max_faults={max_faults}, max_invocation={max_invocation},"
        f" max_call={max_call}, max_attempt={max_attempt}, max_ordinal={max_ordinal})"
    )
    placement = Placement(kinds=chosen, max_faults=max_faults, max_burst=max_attempt)
    if not chosen or max_faults == 0:
        return FaultPlanStrategy(st.just(()), placement, text)
    # Bugs hide early (most executions have few invocations and calls): favour small
    # numbers, but reach the whole range.
    invocation = _favour_small(max_invocation)
    call = _favour_small(max_call)
    error = st.sampled_from(SERVICE_ERRORS)
    ordinal = st.integers(1, max_ordinal)
    per_kind: dict[str, st.SearchStrategy[FaultKind]] = {
        "crash": st.builds(CrashFault, invocation=invocation, call=call),
        "invocation_lost": st.builds(InvocationLostFault, invocation=invocation),
        "checkpoint_error": st.builds(
            CheckpointErrorFault, invocation=invocation, call=call, error=error
        ),
        "lost_response": st.builds(
            LostResponseFault, invocation=invocation, call=call, error=error
        ),
        "duplicate_invocation": st.builds(
            DuplicateInvocationFault, invocation=invocation, after_call=call
        ),
        "step_exception": st.builds(
            StepExceptionFault,
            step=ordinal,
            attempt=st.just(1),
            times=st.integers(1, max_attempt),
        ),
        "lost_then_duplicated": st.builds(
            LostThenDuplicatedFault, invocation=invocation, after_call=call
        ),
        "heartbeat_then_timeout": st.builds(
            HeartbeatThenTimeoutFault, callback=ordinal, heartbeats=st.integers(1, max_attempt)
        ),
        "callback_failure": st.builds(CallbackFailureFault, callback=ordinal),
        "callback_timeout": st.builds(CallbackTimeoutFault, callback=ordinal),
        "heartbeat_timeout": st.builds(HeartbeatTimeoutFault, callback=ordinal),
        "invoke_failure": st.builds(InvokeFailureFault, invoke=ordinal),
        "invoke_timeout": st.builds(InvokeTimeoutFault, invoke=ordinal),
    }
    one = st.one_of(*(per_kind[k] for k in chosen))
    absolute = st.lists(one, max_size=max_faults, unique=True).map(tuple)
    return FaultPlanStrategy(absolute, placement, text)


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
    )


_timings = timings


def _importable(handler: Callable[..., Any]) -> bool:
    qualname = getattr(handler, "__qualname__", "")
    module = getattr(handler, "__module__", "")
    return bool(module) and module != "__main__" and "<locals>" not in qualname


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
) -> st.SearchStrategy[Scenario]:
    """``Scenario``s for ``handler`` (a ``@durable_execution`` handler): an input from
    ``inputs`` (default ``None``), a fault plan from ``faults`` (default: every kind, a few
    faults), timings from ``timings`` and callback payloads from ``callbacks[name]`` (default
    JSON null). Without a handler, each scenario runs a random durable program."""
    if handler is None:
        from async_durable_execution_runner._harness.scenario.program_scenarios import (
            program_scenarios,
        )

        return program_scenarios(faults=faults, timings=timings)
    if not adapter.is_durable_handler(handler):
        msg = f"handler must be decorated with @durable_execution, got {handler!r}"
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
        )
        return with_plan(draw, scenario, fault_strategy)

    return build()


def with_plan(
    draw: st.DrawFn, scenario: Scenario, faults: st.SearchStrategy[tuple[FaultKind, ...]]
) -> Scenario:
    """``scenario`` under a plan from ``faults``: placed at its points for ``fault_plans()``,
    drawn as given for any other strategy of plans."""
    if isinstance(faults, FaultPlanStrategy):
        return faults.place(draw, scenario)
    return scenario.with_faults(draw(faults))
