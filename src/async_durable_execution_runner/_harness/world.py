"""The same world twice: what a faulted run's completed operations produced, replayed.

The fault-tolerance oracle compares a run under masked faults with a run without them. For
the comparison to mean "this fault, and nothing else, changed the outcome", the fault-free
run (the *baseline*) must live in the same world: a step that drew a uuid must draw the same
uuid, a callback must be answered the same way, an injected step failure or callback fault
must hit the same operation. A ``World`` records those facts from the faulted run, keyed by
identity (execution, operation id, attempt), never by position; the baseline replays them.

Step bodies still run in the baseline (their side effects on the handler's state stay
visible); only what they return or raise is replaced by what the faulted run checkpointed.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as _dt
import inspect
import types
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from async_durable_execution_runner._harness.faults.errors import injected_as, injected_base
from async_durable_execution_runner._harness.faults.kinds import (
    CallbackFault,
    FaultKind,
    InvokeFault,
    OutageFault,
    StepFault,
)
from async_durable_execution_runner._models import OperationAction, OperationType
from async_durable_execution_runner._service.seams import StepAttempt, StepBody, WrapBody

#: (execution ARN, operation id, attempt)
StepKey = tuple[str, str, int]
#: (execution ARN, operation id)
OperationKey = tuple[str, str]


@dataclass(frozen=True)
class StepOutcome:
    """What one step attempt's body produced: a value, or an exception (``injected``: raised
    by a ``step_exception`` fault instead of running the body)."""

    value: Any = None
    error: BaseException | None = None
    injected: bool = False

    def describe(self) -> str:
        if self.error is None:
            return f"value {self.value!r}"
        kind = "injected " if self.injected else ""
        return f"{kind}{type(self.error).__name__}({self.error})"


@dataclass(frozen=True)
class CallbackAnswer:
    """How the outside world answered one callback: after ``delay`` seconds, with ``payload``
    or as ``fault`` says."""

    delay: float
    payload: Any = None
    fault: CallbackFault | None = None


@dataclass
class World:
    """Facts of one run, keyed by identity, for a baseline to replay."""

    steps: dict[StepKey, StepOutcome] = field(default_factory=dict)
    callbacks: dict[OperationKey, CallbackAnswer] = field(default_factory=dict)
    invokes: dict[OperationKey, InvokeFault | None] = field(default_factory=dict)
    #: How many times each attempt's body ran (more than once: a fault made it run again).
    runs: dict[StepKey, int] = field(default_factory=dict)
    #: Attempts in the order their bodies first ran.
    order: list[StepKey] = field(default_factory=list)
    #: Operation ids of steps whose bodies drew randomness or read the clock.
    nondeterministic: frozenset[str] = frozenset()
    #: The faults the recorded run applied (a replay causes what the unmasked ones caused).
    faults: tuple[FaultKind, ...] = ()
    #: How many attempts of each operation raised an injected error instead of running.
    injected: dict[OperationKey, int] = field(default_factory=dict)
    #: The unmasked faults that landed inside an attempt's body (``aws_call_timeout``): the
    #: body saw them, so a baseline's run of that body meets them again.
    in_body: dict[StepKey, StepFault] = field(default_factory=dict)
    #: When (on the runner's clock) each attempt's last body run ended: a masked fault that
    #: makes a slow body run again delays its step, and what races it.
    ended: dict[StepKey, _dt.datetime] = field(default_factory=dict)
    #: The runner's clock, while the recording run runs.
    now: Callable[[], _dt.datetime] | None = field(default=None, compare=False, repr=False)

    def completed(
        self,
        checkpointed: set[StepKey],
        nondeterministic: set[str],
        faults: tuple[FaultKind, ...] = (),
        in_body: dict[StepKey, StepFault] | None = None,
    ) -> World:
        """Only the step attempts whose outcome the service acknowledged (an attempt that
        ran but was never checkpointed did not happen, as far as the execution knows)."""
        return World(
            steps={k: v for k, v in self.steps.items() if k in checkpointed},
            callbacks=dict(self.callbacks),
            invokes=dict(self.invokes),
            runs=dict(self.runs),
            order=list(self.order),
            nondeterministic=frozenset(nondeterministic),
            faults=faults,
            injected=dict(self.injected),
            in_body=dict(in_body or {}),
            ended={k: v for k, v in self.ended.items() if k in checkpointed},
        )

    def fingerprint(self) -> str:
        """Equal for worlds that replay alike (runs of a deterministic handler share one)."""
        steps = sorted((k, v.describe()) for k, v in self.steps.items())
        callbacks = sorted((k, repr(v)) for k, v in self.callbacks.items())
        invokes = sorted((k, repr(v)) for k, v in self.invokes.items())
        ended = sorted(self.ended.items())
        # (A body that met a fault inside it runs otherwise in the baseline.)
        in_body = sorted((k, repr(v)) for k, v in self.in_body.items())
        return repr((steps, callbacks, invokes, ended, in_body))

    # --- recording --------------------------------------------------------------------

    def record_injected(self, attempt: StepAttempt, error: BaseException) -> None:
        self.steps[_key(attempt)] = StepOutcome(error=error, injected=True)
        self.count_injected(attempt)

    def count_injected(self, attempt: StepAttempt) -> None:
        """Count a run of ``attempt`` that raised an injected error instead of running its
        body (a duplicate delivery's, whose outcome the execution never keeps, counts too:
        the fault-tolerance oracle counts body runs as attempts seen less these)."""
        operation = (attempt.execution_arn, attempt.operation_id)
        self.injected[operation] = self.injected.get(operation, 0) + 1

    def baseline_runs(self, operation: OperationKey) -> int:
        """How many times a baseline runs this operation's bodies: once per attempt whose
        recorded outcome came from its body."""
        return sum(
            1
            for key, outcome in self.steps.items()
            if key[:2] == operation and not outcome.injected
        )

    def recorder(self, attempt: StepAttempt) -> WrapBody:
        """A body wrapper that records what this attempt's body returns or raises (the last
        run of an attempt wins: that is the one the SDK checkpoints)."""
        key = _key(attempt)

        def wrap(body: StepBody) -> StepBody:
            async def recorded(*state: Any) -> Any:
                self.runs[key] = self.runs.get(key, 0) + 1
                if self.runs[key] == 1:
                    self.order.append(key)
                try:
                    value = await body(*state)
                except Exception as error:
                    self.steps[key] = StepOutcome(error=error)
                    self._ended(key)
                    raise
                self.steps[key] = StepOutcome(value=_snapshot(value))
                self._ended(key)
                return value

            return recorded

        return WrapBody(wrap)

    def _ended(self, key: StepKey) -> None:
        if self.now is not None:
            self.ended[key] = self.now()


@dataclass
class Replay:
    """A baseline's side of a ``World``: it replays the world, and keeps what each body
    produced on its own (``fresh``), in the order the bodies ran."""

    world: World
    #: An attempt whose body runs as many times here as in the recorded run (the others run
    #: once, as without faults): to tell a non-idempotent body from one that read a world
    #: the faults changed.
    rerun: StepKey | None = None
    #: How many times ``rerun`` runs (by default, as many times as the recorder saw it run).
    rerun_times: int | None = None
    #: Wake the root execution after everything else due at the same instant (another
    #: execution's timer, an invoked function's invocation): the order a masked fault's
    #: re-invocation takes, queued behind what was due when the invocation died.
    root_wakes_last: bool = False
    #: Run the root execution's first invocation in a new sandbox too (a fresh import of the
    #: handler's module), as Lambda runs an execution whose first invocation finds no warm
    #: sandbox (``Timings.sandboxes`` says how the later ones run).
    first_sandbox_cold: bool = False
    fresh: dict[StepKey, StepOutcome] = field(default_factory=dict)
    #: What every run of ``rerun``'s body produced here, in order.
    rerun_outcomes: list[StepOutcome] = field(default_factory=list)
    order: list[StepKey] = field(default_factory=list)
    #: The runner's clock, while the baseline runs.
    now: Callable[[], _dt.datetime] | None = field(default=None, compare=False, repr=False)
    #: The handlers the baseline's sandboxes run right now (a cold invocation replaces one
    #: with a fresh import): where a recorded error's class is looked up by name.
    handlers: Callable[[], Iterable[Callable[..., Any]]] | None = field(
        default=None, compare=False, repr=False
    )

    def step(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        """What a baseline's step attempt does: raise the injected error without running the
        body, or run the body and answer with the recorded outcome; ``None`` (run for real)
        for an attempt the faulted run never completed."""
        key = _key(attempt)
        outcome = self.world.steps.get(key)
        if outcome is None:
            return None
        if outcome.injected:
            return _injected_here(outcome.error, attempt)
        fault = self.world.in_body.get(key)
        effect = None if fault is None else fault.effect(attempt, _QUIET_PLAN)
        # What the body saw of the fault here (an AWS call's answer lost), it sees again: its
        # fresh run does what it did under the fault, and leaves the world as it did. Only its
        # first run: the fault fires once, and under the faults the attempt's first run met
        # it (a run a masked fault caused after it did not). A body whose first run stops
        # short of the fault's point and a later run reaches it is not modelled.
        first_run = effect if isinstance(effect, WrapBody) else None
        return WrapBody(self._replaying(key, outcome, first_run))

    def _replaying(
        self, key: StepKey, outcome: StepOutcome, first_run: WrapBody | None = None
    ) -> Callable[[StepBody], StepBody]:
        def wrap(body: StepBody) -> StepBody:
            async def replayed(*state: Any) -> Any:
                times = 1
                if key == self.rerun:
                    times = self.rerun_times or self.world.runs.get(key, 1)
                for run in range(times):
                    this_run = first_run.wrap(body) if first_run and run == 0 else body
                    try:
                        fresh = StepOutcome(value=_snapshot(await this_run(*state)))
                    except Exception as error:
                        fresh = StepOutcome(error=error)
                    if key == self.rerun:
                        self.rerun_outcomes.append(fresh)
                if key not in self.fresh:
                    self.order.append(key)
                self.fresh[key] = fresh
                # The step ends when it ended in the recorded run, if that was later: a body
                # that a fault made run again took its time again, and whatever raced the
                # step (a sibling branch's wait, a callback's answer) saw it end then. (On
                # the virtual event loop the sleep costs no wall time.)
                ended = self.world.ended.get(key)
                if ended is not None and self.now is not None:
                    lag = (ended - self.now()).total_seconds()
                    if lag > 0:
                        await asyncio.sleep(lag)
                if outcome.error is not None:
                    handlers = self.handlers() if self.handlers is not None else ()
                    raise _rehomed(outcome.error, fresh, handlers)
                return _snapshot(outcome.value)

            return replayed

        return wrap

    def first_divergence(self) -> tuple[StepKey, StepOutcome, StepOutcome] | None:
        """The first attempt (in the order the baseline ran them) whose body, on its own,
        produced something other than what the recorded run checkpointed: (attempt,
        recorded, fresh). Up to it, the baseline's world agreed with the recorded one."""
        for key in self.order:
            recorded = self.world.steps.get(key)
            if recorded is not None and not same_outcome(recorded, self.fresh[key]):
                return key, recorded, self.fresh[key]
        return None


def _injected_here(error: BaseException | None, attempt: StepAttempt) -> BaseException | None:
    """A recorded injected failure, standing for the type this attempt's strategy retries
    as the baseline's sandbox knows it: recorded in a cold sandbox, it stands for the class of
    a module the baseline may not run (``injected_step_error``), and the baseline's strategy
    would not retry it."""
    base = injected_base(error) if error is not None else None
    if base is None:
        return error
    assert error is not None
    for here in attempt.retried_types:
        if (here.__module__, here.__qualname__) == (base.__module__, base.__qualname__):
            return injected_as(error, here)
    return error


def same_outcome(a: StepOutcome, b: StepOutcome) -> bool:
    if (a.error is None) != (b.error is None):
        return False
    if a.error is not None and b.error is not None:
        # By name: a cold sandbox re-imports the module, and with it the exception's class.
        return _type_name(a.error) == _type_name(b.error) and str(a.error) == str(b.error)
    try:
        if a.value == b.value:
            return True
    except Exception:  # values that cannot be compared are compared as text
        pass
    # As text too: a cold sandbox re-imports the module, and with it the value's class.
    return repr(a.value) == repr(b.value)


def _type_name(error: BaseException) -> str:
    return f"{type(error).__module__}.{type(error).__qualname__}"


class _QuietPlan:
    """The plan state a baseline's re-applied fault reports to: it is no new fault."""

    def repeat_on_next_invocations(self, fault: FaultKind, count: int, after: int) -> None:
        pass

    def lose_response_of(self, execution_arn: str, invocation_index: int) -> None:
        pass

    def begin_outage(self, fault: OutageFault) -> None:
        pass

    def landed(self, fault: FaultKind) -> None:
        pass

    def landed_in_body(self, fault: FaultKind, attempt: StepAttempt) -> None:
        pass


_QUIET_PLAN = _QuietPlan()


def _key(attempt: StepAttempt) -> StepKey:
    return (attempt.execution_arn, attempt.operation_id, attempt.attempt)


def _rehomed(
    error: BaseException, fresh: StepOutcome, handlers: Iterable[Callable[..., Any]] = ()
) -> BaseException:
    """``error``, as an instance of the class the baseline's code knows by its name.

    A cold sandbox re-imports the handler's module, and with it the module's exception
    classes: an error recorded in a cold invocation is of a class the baseline's code does
    not know, so a retry strategy's ``isinstance`` (``retryable_error_types``) or an
    ``except`` clause would refuse it there. The recorded error takes the class of the same
    module and name that the baseline's own body raised, or else (the body did not raise it
    here: a random draw, a clock read came out otherwise) the one the modules of the
    baseline's running ``handlers`` hold. So do the errors it carries, which a strategy may
    look at too: the members of an exception group (``error.split(Busy)``, for a
    ``TaskGroup``'s failure) and its cause and context (``error.__cause__``)."""
    known = {_type_name(e): type(e) for e in _carried(fresh.error)} if fresh.error else {}
    return _rehome(error, known, tuple(handlers), depth=0)


#: How deep ``_rehome`` follows groups, causes and contexts (a chain may be a cycle).
_REHOME_DEPTH = 8


def _carried(error: BaseException, depth: int = 0) -> Iterable[BaseException]:
    """``error`` and the errors it carries: group members, cause and context."""
    yield error
    if depth >= _REHOME_DEPTH:
        return
    if isinstance(error, BaseExceptionGroup):
        for member in error.exceptions:
            yield from _carried(member, depth + 1)
    for linked in (error.__cause__, error.__context__):
        if linked is not None:
            yield from _carried(linked, depth + 1)


def _rehome(
    error: BaseException,
    known: dict[str, type[BaseException]],
    handlers: tuple[Callable[..., Any], ...],
    depth: int,
) -> BaseException:
    cls = known.get(_type_name(error)) or _class_known_to(
        handlers, type(error).__module__, type(error).__qualname__
    )
    clone = error if cls is None or cls is type(error) else _rebuilt(error, cls)
    if depth >= _REHOME_DEPTH:
        return clone
    if isinstance(clone, BaseExceptionGroup):
        members = [_rehome(m, known, handlers, depth + 1) for m in clone.exceptions]
        if any(a is not b for a, b in zip(members, clone.exceptions, strict=True)):
            group = clone.derive(members)
            _carry_links(clone, group)
            clone = group
    for attr in ("__cause__", "__context__"):
        linked = getattr(clone, attr)
        if linked is None:
            continue
        again = _rehome(linked, known, handlers, depth + 1)
        if again is not linked:
            if clone is error:
                # The recorded error stays as recorded (another baseline replays it too).
                clone = _rebuilt(error, type(error))
                if clone is error:
                    return error
            setattr(clone, attr, again)
    return clone


def _rebuilt(error: BaseException, cls: type[BaseException]) -> BaseException:
    """``error`` as an instance of ``cls``, built without ``__init__`` (whose signature may
    not take the error's args); ``error`` itself for a class that cannot be built so."""
    try:
        clone = cls.__new__(cls, *error.args)
        clone.args = error.args
        clone.__dict__.update(vars(error))
    except Exception:  # an error class that cannot be built that way
        return error
    _carry_links(error, clone)
    return clone


def _carry_links(source: BaseException, target: BaseException) -> None:
    target.__cause__ = source.__cause__
    target.__context__ = source.__context__
    target.__suppress_context__ = source.__suppress_context__
    target.__traceback__ = source.__traceback__
    notes = getattr(source, "__notes__", None)
    if notes is not None:
        target.__notes__ = list(notes)


def _class_known_to(
    handlers: Iterable[Callable[..., Any]], module: str, qualname: str
) -> type[BaseException] | None:
    """The exception class ``module.qualname`` as the code of ``handlers`` sees it: defined
    in a handler's module, in a module it imported, or imported into it by name."""
    for handler in handlers:
        namespace = getattr(inspect.unwrap(handler), "__globals__", None)
        if not isinstance(namespace, dict):
            continue
        first, *rest = qualname.split(".")
        tops = [vars(m).get(first) for m in namespace.values() if _is_module(m, module)]
        if namespace.get("__name__") == module:
            tops.insert(0, namespace.get(first))
        for top in tops:
            found = top
            for part in rest:
                found = getattr(found, part, None)
            if isinstance(found, type) and issubclass(found, BaseException):
                return found
        for value in namespace.values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and (value.__module__, value.__qualname__) == (module, qualname)
            ):
                return value
    return None


def _is_module(value: Any, name: str) -> bool:
    return isinstance(value, types.ModuleType) and value.__name__ == name


def _snapshot(value: Any) -> Any:
    # The SDK serializes the value it gets; a copy keeps a body that later mutates the object
    # it returned from changing what is replayed.
    try:
        return copy.deepcopy(value)
    except Exception:
        return value


def checkpointed_attempts(transitions: Any) -> set[StepKey]:
    """(execution, operation, attempt) of every step attempt whose end (SUCCEED, FAIL,
    RETRY) the service applied, from a recorder's transitions."""
    ends = {OperationAction.SUCCEED, OperationAction.FAIL, OperationAction.RETRY}
    done: set[StepKey] = set()
    for t in transitions:
        if t.update.type is not OperationType.STEP or t.update.action not in ends:
            continue
        details = t.operation.step_details
        attempt = details.attempt if details is not None and details.attempt else 1
        done.add((t.execution_arn, t.update.id, attempt))
    return done
