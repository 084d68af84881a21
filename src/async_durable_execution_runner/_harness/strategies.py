"""Hypothesis strategies for scenarios, fault plans and timings."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Collection, Mapping
from typing import Any

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._harness.faults import (
    FAULT_KINDS,
    SERVICE_ERRORS,
    CallbackFailureFault,
    CallbackTimeoutFault,
    CheckpointErrorFault,
    CrashFault,
    DuplicateInvocationFault,
    FaultKind,
    HeartbeatTimeoutFault,
    InvocationLostFault,
    InvokeFailureFault,
    InvokeTimeoutFault,
    LostResponseFault,
    StepExceptionFault,
)
from async_durable_execution_runner._harness.scenario import Scenario
from async_durable_execution_runner._harness.timings import DEFAULT_START, Timings
from async_durable_execution_runner._service.seams import InvokeResult

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
)


def _check_int(name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        msg = f"{name} must be an integer >= {low}, got {value!r}"
        raise InvalidArgument(msg)
    return value


def _favour_small(high: int) -> st.SearchStrategy[int]:
    return st.integers(1, min(2, high)) | st.integers(1, high)


def fault_plans(
    *,
    kinds: Collection[str] | None = None,
    max_faults: int = 3,
    max_invocation: int = 4,
    max_call: int = 6,
    max_attempt: int = 3,
    max_ordinal: int = 3,
) -> st.SearchStrategy[tuple[FaultKind, ...]]:
    """Tuples of faults (see ``scenarios`` for each kind), shrinking toward fewer faults,
    earlier invocations and calls, and simpler errors.

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
    if not chosen or max_faults == 0:
        return st.just(())
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
            StepExceptionFault, step=ordinal, attempt=st.integers(1, max_attempt)
        ),
        "callback_failure": st.builds(CallbackFailureFault, callback=ordinal),
        "callback_timeout": st.builds(CallbackTimeoutFault, callback=ordinal),
        "heartbeat_timeout": st.builds(HeartbeatTimeoutFault, callback=ordinal),
        "invoke_failure": st.builds(InvokeFailureFault, invoke=ordinal),
        "invoke_timeout": st.builds(InvokeTimeoutFault, invoke=ordinal),
    }
    one = st.one_of(*(per_kind[k] for k in chosen))
    return st.lists(one, max_size=max_faults, unique=True).map(tuple)


def timings(
    *,
    start: bool = True,
    order: bool = True,
    interleave: bool = True,
    paging: bool = True,
    cold: bool = True,
    callback_delays: bool = True,
    seed: bool = True,
) -> st.SearchStrategy[Timings]:
    """``Timings`` values; each component shrinks to the service's default behaviour.
    Turn a component off (``cold=False``, ...) to keep its default."""

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
        window=opt(order, st.sampled_from((0.0, 1.0, 5.0)), 0.0),
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
        from async_durable_execution_runner._harness.program_scenarios import program_scenarios

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
        return Scenario(
            handler=handler,
            input=draw(inputs) if inputs is not None else None,
            faults=draw(fault_strategy),
            timings=draw(timing_strategy),
            callback_payloads={name: draw(s) for name, s in payloads.items()},
            functions=dict(functions or {}),
            strict_replay=strict_replay,
            cold_module_prefixes=cold_module_prefixes,
            allow_nondeterminism=frozenset(allow_nondeterminism),
            before_run=before_run,
        )

    return build()
