"""``fault_plans``: the strategy of fault plans.

Given to ``durable_scenarios``, a plan is placed at points the execution really has (see
``placement.py``): the scenario's strategy runs the scenario once with the hooks
``FaultPlanStrategy.placing_hooks`` gives. Drawn on its own, it gives plans of absolute
positions within the bounds it was given.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner._harness.faults.errors import SERVICE_ERRORS
from async_durable_execution_runner._harness.faults.kinds import FAULT_KINDS, FaultKind
from async_durable_execution_runner._harness.faults.placement import (
    CHOICES,
    Placement,
    PlacingHooks,
)

#: The kinds a default plan draws from, simplest first (shrinking prefers them): every kind
#: but those asked for by name (``FaultKind.by_default``: ``outage``).
DEFAULT_KINDS: tuple[str, ...] = tuple(k for k, cls in FAULT_KINDS.items() if cls.by_default)


K = TypeVar("K", bound=FaultKind)
T = TypeVar("T")


@dataclass(frozen=True)
class _Draws:
    """The strategies each kind's ``drawn`` builds on (``kinds.Draws``)."""

    invocation: st.SearchStrategy[int]
    call: st.SearchStrategy[int]
    ordinal: st.SearchStrategy[int]
    burst: st.SearchStrategy[int]
    error: st.SearchStrategy[str]
    partners: tuple[tuple[str, ...], ...] = ()

    def sampled(self, options: Sequence[T]) -> st.SearchStrategy[T]:
        return st.sampled_from(options)

    def builds(self, target: type[K], **kwargs: st.SearchStrategy[Any]) -> st.SearchStrategy[K]:
        return st.builds(target, **kwargs)


def _check_int(name: str, value: object, low: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        msg = f"{name} must be an integer >= {low}, got {value!r}"
        raise InvalidArgument(msg)
    return value


def _check_partners(
    partners: Mapping[str, Collection[str]] | None, kinds: Collection[str]
) -> tuple[tuple[str, ...], ...]:
    """``fault_plans``'s ``partners``, as the tuples of patterns the outages carry."""
    if partners is None:
        return ()
    example = '{"gateway": ["charge*", "refund"], "mail": ["email-*"]}'
    if not isinstance(partners, Mapping) or not partners:
        msg = (
            f"partners must be a non-empty mapping of partner names to the step names that "
            f"call each (patterns), such as {example}; got {partners!r}"
        )
        raise InvalidArgument(msg)
    groups = []
    for name, patterns in partners.items():
        if (
            not isinstance(name, str)
            or isinstance(patterns, str)
            or not isinstance(patterns, Collection)
            or not patterns
            or not all(isinstance(p, str) and p for p in patterns)
        ):
            msg = (
                f"partners[{name!r}] must be a non-empty collection of step-name patterns "
                f"(a list, not a string), such as {example}; got {patterns!r}"
            )
            raise InvalidArgument(msg)
        # A set's order changes from process to process; a plan must not.
        groups.append(
            tuple(patterns) if isinstance(patterns, Sequence) else tuple(sorted(patterns))
        )
    if "outage" not in kinds:
        msg = (
            f"partners aim outages, but kinds {tuple(kinds)!r} has no 'outage': add it "
            f"(kinds={{*DEFAULT_KINDS, 'outage'}}) or leave partners out"
        )
        raise InvalidArgument(msg)
    return tuple(groups)


def _favour_small(high: int) -> st.SearchStrategy[int]:
    return st.integers(1, min(2, high)) | st.integers(1, high)


class FaultPlanStrategy(st.SearchStrategy[tuple[FaultKind, ...]]):
    """What ``fault_plans()`` returns: given to ``durable_scenarios``, its faults are placed
    at points the execution really has (see ``placement.py``); drawn on its own,
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

    def placing_hooks(self, draw: st.DrawFn) -> PlacingHooks | None:
        """Hooks that grow a plan as a run reaches points, choosing with ``draw``; ``None``
        when this strategy places no fault at all."""
        placement = self.placement
        if not placement.kinds or placement.max_faults == 0:
            return None
        # At least one fault may be placed: an example without any comes from declining
        # every point, which is also what shrinking reaches when no fault is needed.
        budget = draw(st.integers(1, placement.max_faults), label="fault budget")
        choice = st.integers(0, CHOICES - 1)
        return PlacingHooks(lambda n: draw(choice) % n, placement, budget)


def fault_plans(
    *,
    kinds: Collection[str] | None = None,
    max_faults: int = 3,
    max_invocation: int = 4,
    max_call: int = 6,
    max_attempt: int = 3,
    max_ordinal: int = 3,
    partners: Mapping[str, Collection[str]] | None = None,
) -> FaultPlanStrategy:
    """Tuples of faults (see ``scenarios`` for each kind), shrinking toward fewer faults,
    earlier placements, shorter bursts and simpler errors.

    Given to ``durable_scenarios``, each fault is placed at a point the execution reaches
    (a checkpoint call that happens, a step attempt that runs, a callback or invoke that is
    created), so every fault of the plan applies; ``max_attempt`` is then the longest burst
    (a step failing its next k attempts, k crashes in a row, k heartbeats before a
    timeout). Drawn on its own, a plan has absolute positions within ``max_invocation``,
    ``max_call``, ``max_attempt`` and ``max_ordinal``.

    ``kinds`` picks the fault kinds (default: ``DEFAULT_KINDS``, every kind but ``outage``,
    which outlasts retry budgets and is asked for by name); ``kinds=set()`` or
    ``max_faults=0`` means no faults.

    ``partners`` names the partners the handler's steps call, each with the step names
    that call it (``fnmatch`` patterns: ``{"gateway": ["charge*", "refund"], "mail":
    ["email-*"]}``): an ``outage`` is then one partner's, starting at one of its steps and
    hitting only its steps, while steps of other partners and of none go on working. Without
    it, an outage hits every step, a uuid drawn in a step included.
    """
    _check_int("max_faults", max_faults, 0)
    _check_int("max_invocation", max_invocation, 1)
    _check_int("max_call", max_call, 1)
    _check_int("max_attempt", max_attempt, 1)
    _check_int("max_ordinal", max_ordinal, 1)
    chosen = DEFAULT_KINDS if kinds is None else tuple(k for k in FAULT_KINDS if k in set(kinds))
    unknown = set(kinds or ()) - set(FAULT_KINDS)
    if isinstance(kinds, str) or unknown:
        msg = (
            f"kinds must be a collection of fault kind names, got {kinds!r}; "
            f"known kinds: {', '.join(FAULT_KINDS)}"
        )
        raise InvalidArgument(msg)
    groups = _check_partners(partners, chosen)
    text = (
        f"fault_plans(kinds={kinds!r}, max_faults={max_faults}, max_invocation={max_invocation},"
        f" max_call={max_call}, max_attempt={max_attempt}, max_ordinal={max_ordinal}"
        + (f", partners={dict(partners)!r})" if partners else ")")
    )
    placement = Placement(
        kinds=chosen, max_faults=max_faults, max_burst=max_attempt, partners=groups
    )
    if not chosen or max_faults == 0:
        return FaultPlanStrategy(st.just(()), placement, text)
    # Bugs hide early (most executions have few invocations and calls): favour small
    # numbers, but reach the whole range.
    draws = _Draws(
        invocation=_favour_small(max_invocation),
        call=_favour_small(max_call),
        ordinal=st.integers(1, max_ordinal),
        burst=st.integers(1, max_attempt),
        error=st.sampled_from(SERVICE_ERRORS),
        partners=groups,
    )
    one = st.one_of(*(FAULT_KINDS[k].drawn(draws) for k in chosen))
    absolute = st.lists(one, max_size=max_faults, unique=True).map(tuple)
    return FaultPlanStrategy(absolute, placement, text)
