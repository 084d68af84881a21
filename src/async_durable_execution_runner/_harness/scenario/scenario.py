"""``Scenario``: one handler, one input, one fault plan, one set of timings — and its ``Outcome``.

A scenario is plain data: it runs the same way every time, prints as something a person can
read, and turns into a standalone pytest test (``to_pytest``) that replays it without
Hypothesis. It drives the emulator only through the runner's public seams.
"""

from __future__ import annotations

import contextlib
import json
import random
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from async_durable_execution import InvocationStatus

from async_durable_execution_runner._harness.faults.hooks import FaultPlanHooks
from async_durable_execution_runner._harness.faults.kinds import (
    FAULT_KINDS,
    FaultKind,
    invocations_spent,
)
from async_durable_execution_runner._harness.faults.logs import FaultLogs
from async_durable_execution_runner._harness.oracles import builtin as _oracles
from async_durable_execution_runner._harness.oracles.known_issues import (
    KnownSdkIssueWarning,
    known_issue,
)
from async_durable_execution_runner._harness.programs.interpreter import program_handler
from async_durable_execution_runner._harness.recorder import Recorder
from async_durable_execution_runner._harness.scenario.crash_points import (
    CrashPointReport,
    run_crash_points,
)
from async_durable_execution_runner._harness.scenario.nondeterminism import (
    NondeterminismDetector,
    NondeterministicCall,
)
from async_durable_execution_runner._harness.scenario.timings import (
    ChoiceScheduler,
    TimedInterleaving,
    TimedSandboxes,
    Timings,
)
from async_durable_execution_runner._harness.world import (
    CallbackAnswer,
    Replay,
    World,
    checkpointed_attempts,
)
from async_durable_execution_runner._models import ErrorObject, Event, EventType
from async_durable_execution_runner._runner.display import format_history
from async_durable_execution_runner._runner.html_report import timeline_file
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._runner.result import DurableFunctionTestResult
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.seams import (
    InvocationInfo,
    InvokeResult,
    ServiceCall,
    StepAttempt,
    StepBody,
    WrapBody,
)
from async_durable_execution_runner.errors import DurableServiceError, ExecutionNotFinishedError

#: Wall-clock seconds a scenario may take before it is run again, with
#: ``STARVED_RETRY_FACTOR`` times as many, to tell a hung run from a starved one.
DEFAULT_SCENARIO_TIMEOUT = 10.0
STARVED_RETRY_FACTOR = 6


class _ScenarioFaults:
    """The fault-hook seam for a scenario: the plan, plus invoke faults by ordinal.

    With ``record``, what every step attempt produced and where each unmasked fault landed
    are written to it; with ``replay`` (a baseline), they are taken from it by identity.
    """

    def __init__(
        self,
        hooks: FaultPlanHooks,
        record: World | None = None,
        replay: Replay | None = None,
        *,
        seed: int | str = 0,
    ) -> None:
        self.hooks = hooks
        self.record = record
        self.replay = replay
        self.seed = seed
        self.invokes = 0

    def on_service_call(self, call: ServiceCall) -> Any:
        return self.hooks.on_service_call(call)

    def on_invocation_returned(self, invocation: InvocationInfo) -> bool:
        return self.hooks.on_invocation_returned(invocation)

    def on_step_attempt(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        return _reseeded_after(attempt, self._answer(attempt), self.seed)

    def _answer(self, attempt: StepAttempt) -> BaseException | WrapBody | None:
        if self.replay is not None:
            return self.replay.step(attempt)
        fault = self.hooks.on_step_attempt(attempt)
        if self.record is None:
            return fault
        if fault is not None:
            self.record.record_injected(attempt, fault)
            return fault
        return self.record.recorder(attempt)

    def on_chained_invoke(
        self, execution_arn: str, operation_id: str, function_name: str
    ) -> InvokeResult | None:
        self.invokes += 1
        if self.replay is not None:
            fault = self.replay.world.invokes.get((execution_arn, operation_id))
        else:
            fault = self.hooks.invoke_fault(self.invokes)
        if self.record is not None:
            self.record.invokes[(execution_arn, operation_id)] = fault
        return fault.result(function_name) if fault is not None else None


def _reseeded_after(
    attempt: StepAttempt, answer: BaseException | WrapBody | None, seed: int | str
) -> WrapBody:
    """``answer``, after which ``random`` is seeded by the attempt's identity.

    The SDK draws a retry's jitter (and a polling strategy may draw its delay) from ``random``
    right after the body returns or raises, with no await in between. Seeded per invocation
    only, that draw depends on how many invocations came before and on what other bodies drew,
    so a masked fault that adds an invocation changes a retry delay, and with it which of two
    racing branches finishes first: the faulted run and its baseline would not be the same
    world. Seeded by (seed, execution, operation, attempt), the draw is the same in both.
    """
    key = f"{seed}:{attempt.execution_arn}:{attempt.operation_id}:{attempt.attempt}"

    def wrap(body: StepBody) -> StepBody:
        inner = answer.wrap(body) if isinstance(answer, WrapBody) else body

        async def reseeding(*state: Any) -> Any:
            try:
                if isinstance(answer, BaseException):
                    raise answer
                return await inner(*state)
            finally:
                random.seed(key)

        return reseeding

    return WrapBody(wrap)


class _CallbackDriver(ExecutionObserver):
    """Answers every callback the handler creates: with a payload, or as the plan says.

    A baseline (``replay``) answers each callback the faulted run saw exactly as it was
    answered there, found by the callback's identity (execution, operation id).
    """

    def __init__(
        self,
        scenario: Scenario,
        hooks: FaultPlanHooks,
        record: World | None = None,
        replay: Replay | None = None,
    ) -> None:
        self.scenario = scenario
        self.hooks = hooks
        self.record = record
        self.replay = replay
        self.runner: DurableFunctionTestRunner | None = None
        self.names: dict[str, str | None] = {}
        self.created = 0
        self.per_name: dict[str, int] = {}

    def on_history_event(self, execution_arn: str, event: Event) -> None:
        if event.id is not None and event.id not in self.names:
            self.names[event.id] = event.name
        if event.event_type is not EventType.CALLBACK_STARTED or self.runner is None:
            return
        callback_id = str(event.details["CallbackId"])
        parent = self.names.get(event.parent_id) if event.parent_id else None
        # wait_for_callback(name="x") creates context "x" holding callback "x-callback".
        known = [n for n in (event.name, parent) if n and n in self.scenario.callback_payloads]
        name = known[0] if known else (event.name or parent)
        self.created += 1
        identity = (execution_arn, event.id or "")
        answer = self.replay.world.callbacks.get(identity) if self.replay is not None else None
        if answer is None:
            answer = self._answer(name)
        if self.record is not None:
            self.record.callbacks[identity] = answer
        runner = self.runner
        # The label is the callback's identity: the scheduler keys its timing choices by it.
        label = f"callback {event.id} of {execution_arn.rsplit('/', 2)[-2]}"
        if answer.fault is not None:
            answer.fault.answer(runner, callback_id, answer.delay, label)
            return
        payload = answer.payload
        runner.schedule(
            answer.delay,
            lambda: _quietly(runner.send_callback_success, callback_id, json.dumps(payload)),
            label=f"answer {label}",
        )

    def _answer(self, name: str | None) -> CallbackAnswer:
        """This run's own answer for the next callback created: delay and fault by creation
        order, payload by occurrence of its name."""
        ordinal = self.created
        delays = self.scenario.timings.callback_delays
        delay = delays[(ordinal - 1) % len(delays)] if delays else 0.0
        fault = self.hooks.callback_fault(ordinal)
        payload = None
        if fault is None:
            payload = self.scenario.callback_payload(name, self.per_name.get(name or "", 0))
            self.per_name[name or ""] = self.per_name.get(name or "", 0) + 1
        return CallbackAnswer(delay=delay, payload=payload, fault=fault)


def _quietly(fn: Callable[..., None], *args: Any, **kwargs: Any) -> None:
    # The callback may already be closed (the handler stopped waiting, the execution ended):
    # the external system's late answer is refused by the service, which is not our failure.
    with contextlib.suppress(DurableServiceError):
        fn(*args, **kwargs)


@dataclass(frozen=True)
class Scenario:
    """One reproducible run of a durable handler under faults and timings."""

    handler: Callable[..., Any]
    input: Any = None
    faults: tuple[FaultKind, ...] = ()
    timings: Timings = field(default_factory=Timings)
    callback_payloads: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    functions: Mapping[str, Callable[..., Any]] = field(default_factory=dict)
    cold_module_prefixes: tuple[str, ...] = ()
    strict_replay: bool = False
    timeout: float = DEFAULT_SCENARIO_TIMEOUT
    #: For generated programs: the program (the handler's input carries it too).
    program: Any = None
    #: Sources of nondeterminism the handler may use outside steps ("random", "uuid",
    #: "secrets", "os.urandom", "clock"); any other such call fails ``check()``.
    allow_nondeterminism: frozenset[str] = frozenset()
    #: Called before every run (the baseline's too): reset the fake external systems the
    #: handler talks to, as a fresh deployment would find them.
    before_run: Callable[[], None] | None = None
    #: How the SDK groups updates into checkpoint calls. ``"sdk"``: its own batching, which
    #: the runner's virtual event loop makes independent of wall time (so crash points are
    #: reproducible); ``"per_update"``: one update per call, finer crash points but a
    #: different start order for concurrent operations than in production.
    checkpoint_batching: Literal["sdk", "per_update"] = "sdk"
    #: The run that placed this scenario's faults (see ``strategies.fault_plans``): the
    #: first ``run()`` returns it instead of running the same thing again.
    _placed: Outcome | None = field(default=None, init=False, compare=False, repr=False)

    def callback_payload(self, name: str | None, occurrence: int) -> Any:
        """The payload the n-th callback named ``name`` is answered with (JSON null by default)."""
        payloads = self.callback_payloads.get(name or "", ())
        return payloads[occurrence % len(payloads)] if payloads else None

    def with_faults(self, faults: tuple[FaultKind, ...]) -> Scenario:
        """The same scenario under another fault plan."""
        return replace(self, faults=faults)

    def crash_points(
        self,
        *,
        budget: float | None = 60.0,
        max_points: int | None = None,
        invariant: Callable[[Outcome], None] | None = None,
        lost_response_error: str = "TooManyRequestsException",
    ) -> CrashPointReport:
        """Run this scenario once per crash point and judge each run.

        The crash points are, for every checkpoint call of every invocation of this
        scenario's run, a crash before the call is sent and a lost response (with
        ``lost_response_error``) after it is applied, each added to this scenario's plan.
        Each point's run is judged by ``check()`` and then by ``invariant`` if given.
        Points run earliest first until ``budget`` wall-clock seconds or ``max_points``
        runs are spent (``None``: no limit). The report's ``check()`` raises naming every
        failing point with its reproducer.
        """
        return run_crash_points(
            self,
            budget=budget,
            max_points=max_points,
            invariant=invariant,
            lost_response_error=lost_response_error,
        )

    # --- running --------------------------------------------------------------------

    def run(self) -> Outcome:
        placed = self._placed
        if placed is not None:
            object.__setattr__(self, "_placed", None)
            return placed
        # With masked faults in the plan, the run records what its operations produced: the
        # fault-tolerance oracle's baseline (run later, on demand) replays it.
        record = World() if any(f.masked for f in self.faults) else None
        return self._run_once(record=record)

    def baseline(
        self,
        world: World | None = None,
        *,
        seed: int | None = None,
        rerun: tuple[str, str, int] | None = None,
        rerun_times: int | None = None,
    ) -> Outcome:
        """This scenario without any faults, in ``world`` (the fault-tolerance oracle's
        reference; see ``Outcome.baseline``): every step attempt, callback answer and
        chained-invoke fault that ``world`` holds is replayed by identity.

        ``seed`` runs it with another random seed (to tell a step that draws a new value on
        every run from one that a fault changed); ``rerun`` (execution, operation id,
        attempt) runs that attempt's body as many times as ``world`` says it ran. Remembered
        across scenarios by the world's content, since many examples share one counterpart
        and the oracle's premise is a handler deterministic outside its steps.
        """
        world = world or World()
        counterpart = self.with_faults(())
        if seed is not None:
            counterpart = replace(counterpart, timings=replace(self.timings, seed=seed))
        key = (
            counterpart.to_pytest(),
            id(counterpart.handler),
            world.fingerprint(),
            rerun,
            rerun_times,
        )
        cached = _BASELINES.get(key)
        if cached is None:
            cached = counterpart._run_once(
                replay=Replay(world, rerun=rerun, rerun_times=rerun_times)
            )
            if cached.hang is not None:
                return cached  # not remembered: another example may find the machine idler
            if len(_BASELINES) >= _MAX_BASELINES:
                _BASELINES.pop(next(iter(_BASELINES)))
            _BASELINES[key] = cached
        return cached

    def _with_placing_run(self, outcome: Outcome) -> Scenario:
        """This scenario, whose first ``run()`` returns ``outcome``: the run of this very
        plan that placed it. Only without ``before_run``: with it, ``run()`` must leave the
        fake world as this scenario's own run left it, after its baseline."""
        # A replay lets the service retry invocations_spent + 3 failed invocations in a row;
        # the placing run allowed more. With fewer deaths in all, they cannot differ.
        deaths = sum(1 for info in outcome.invocations if info.status is None)
        # A placing run that outlived its wall-clock budget is not handed back: ``run()``
        # runs the plan again, and tells a starved run from a hung one (see ``_run_once``).
        if (
            self.before_run is None
            and deaths < invocations_spent(self.faults) + 3
            and outcome.hang is None
        ):
            outcome.scenario = self
            object.__setattr__(self, "_placed", outcome)
        return self

    def _run_once(
        self,
        hooks: FaultPlanHooks | None = None,
        *,
        record: World | None = None,
        replay: Replay | None = None,
    ) -> Outcome:
        """One run; ``hooks`` (the plan's own by default) decide which faults fire where;
        ``record`` gets what the run's operations produced, ``replay`` (a baseline) gives
        it.

        A run of the plan's own hooks that outlives ``timeout`` (wall clock) runs once more
        with ``STARVED_RETRY_FACTOR`` times the budget before it counts as hung: on a loaded
        machine a correct run can be starved of CPU for seconds, and a hung handler hangs
        again. (Hooks given by a caller decide as they run, so such a run is not repeated.)
        """
        outcome = self._attempt(hooks, record, replay, self.timeout)
        if outcome.hang is None or hooks is not None:
            return outcome
        budget = self.timeout * STARVED_RETRY_FACTOR
        again = self._attempt(
            None,
            World() if record is not None else None,
            replace(replay, fresh={}, order=[]) if replay is not None else None,
            budget,
        )
        if again.hang is not None:
            again.hang = (
                f"{again.hang} (it had also outlived {self.timeout:g} s of wall-clock time in "
                f"a first run, and was run again with {budget:g} s)"
            )
        return again

    def _attempt(
        self,
        hooks: FaultPlanHooks | None,
        record: World | None,
        replay: Replay | None,
        timeout: float,
    ) -> Outcome:
        if self.before_run is not None:
            self.before_run()
        hooks = hooks if hooks is not None else FaultPlanHooks(self.faults)
        recorder = _RootRecorder(hooks)
        sandboxes = TimedSandboxes(self.timings)
        recorder.sandboxes = sandboxes
        driver = _CallbackDriver(self, hooks, record=record, replay=replay)
        scheduler = ChoiceScheduler(self.timings.order, self.timings.window)
        runner = DurableFunctionTestRunner(
            self.handler,
            functions=dict(self.functions),
            start_time=self.timings.start,
            faults=_ScenarioFaults(hooks, record=record, replay=replay, seed=self.timings.seed),
            scheduler_policy=scheduler,
            sandbox_policy=sandboxes,
            interleaving=TimedInterleaving(self.timings),
            random_seed=self.timings.seed,
            observers=(recorder, scheduler, driver),
            cold_module_prefixes=self.cold_module_prefixes,
            strict_replay=self.strict_replay,
            checkpoint_batching=self.checkpoint_batching,
            # Each fault kills at most one invocation (a crash loop one per crash); keep the
            # service retrying past them so that masked faults stay masked.
            max_invocation_attempts=hooks.invocations_at_risk() + 3,
        )
        driver.runner = runner
        hang: str | None = None
        # A baseline's replayed faults make the SDK log what they made it log under the plan.
        replayed = list(replay.world.faults) if replay is not None else hooks.applied
        with runner, NondeterminismDetector() as detector, FaultLogs(replayed) as logs:
            try:
                result = runner.run(input=self.input, timeout=timeout)
            except ExecutionNotFinishedError as error:
                # A hang is a finding like any other: judged by the liveness oracle, reported
                # with the history so far.
                hang = str(error)
                result = runner.get_result(recorder.root_arn or "")
        world = None
        if record is not None:
            world = record.completed(
                checkpointed_attempts(recorder.transitions),
                detector.in_steps,
                tuple(hooks.applied),
            )
        return Outcome(
            scenario=self,
            result=result,
            recorder=recorder,
            faults_applied=tuple(hooks.applied),
            nondeterministic_calls=tuple(detector.calls),
            nondeterministic_steps=frozenset(detector.in_steps),
            hang=hang,
            fault_logs=tuple(logs.summary()),
            _world=world,
            _replay=replay,
        )

    # --- showing ----------------------------------------------------------------------

    def describe(self) -> list[str]:
        lines = [f"handler {_qualified(self.handler)}", f"input {self.input!r}"]
        if self.program is not None:
            lines.insert(1, f"program {self.program!r}")
        lines.extend(f"fault {f!r}" for f in self.faults) if self.faults else lines.append(
            "no faults"
        )
        lines.extend(self.timings.describe())
        for name, payloads in self.callback_payloads.items():
            lines.append(f"callback {name!r} answered with {list(payloads)!r}")
        return lines

    def __repr__(self) -> str:
        parts = [f"handler={_qualified(self.handler)}", f"input={self.input!r}"]
        if self.faults:
            parts.append(f"faults={self.faults!r}")
        if self.timings != Timings():
            parts.append(f"timings={self.timings!r}")
        if self.callback_payloads:
            parts.append(f"callback_payloads={dict(self.callback_payloads)!r}")
        return f"Scenario({', '.join(parts)})"

    def to_pytest(self, test_name: str = "test_regression") -> str:
        """A standalone pytest test that replays exactly this scenario, without Hypothesis."""
        imports = {"import datetime", "from async_durable_execution_runner.scenarios import *"}
        imports.update(_import_line(fn) for fn in (self.handler, *self.functions.values()))
        args = [f"handler={_name(self.handler)}", f"input={self.input!r}"]
        if self.program is not None:
            args[1] = f"input=program_event({self.program!r})"
            args.append(f"program={self.program!r}")
        if self.faults:
            args.append(f"faults={self.faults!r}")
        if self.timings != Timings():
            args.append(f"timings={self.timings!r}")
        if self.callback_payloads:
            args.append(f"callback_payloads={dict(self.callback_payloads)!r}")
        if self.functions:
            functions = ", ".join(f"{k!r}: {_name(v)}" for k, v in self.functions.items())
            args.append(f"functions={{{functions}}}")
        if self.cold_module_prefixes:
            args.append(f"cold_module_prefixes={self.cold_module_prefixes!r}")
        if self.strict_replay:
            args.append("strict_replay=True")
        if self.checkpoint_batching != "sdk":
            args.append(f"checkpoint_batching={self.checkpoint_batching!r}")
        if self.before_run is not None:
            imports.add(_import_line(self.before_run))
            args.append(f"before_run={_name(self.before_run)}")
        if self.allow_nondeterminism:
            args.append(f"allow_nondeterminism=frozenset({sorted(self.allow_nondeterminism)!r})")
        body = ",\n        ".join(args)
        return (
            "\n".join(sorted(imports))
            + f"\n\n\ndef {test_name}():\n    scenario = Scenario(\n        {body},\n    )\n"
            "    outcome = scenario.run()\n    outcome.check()\n"
        )


def _qualified(fn: Callable[..., Any]) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", repr(fn))).split(".")[0]


def _import_line(fn: Callable[..., Any]) -> str:
    if fn is program_handler:
        # A reproducer imports public modules only: the program handler's home is private.
        return "from async_durable_execution_runner.programs import *"
    return f"from {getattr(fn, '__module__', '?')} import {_name(fn)}"


class _RootRecorder(Recorder):
    """A recorder that also tells the fault plan and the sandbox policy the root's ARN."""

    def __init__(self, hooks: FaultPlanHooks) -> None:
        super().__init__()
        self.hooks = hooks
        self.sandboxes: TimedSandboxes | None = None

    def on_execution_started(self, execution_arn: str) -> None:
        super().on_execution_started(execution_arn)
        if self.hooks.root_arn is None:
            self.hooks.root_arn = execution_arn
            if self.sandboxes is not None:
                self.sandboxes.root_arn = execution_arn


_BASELINES: dict[tuple[str, int, str, tuple[str, str, int] | None, int | None], Outcome] = {}
_MAX_BASELINES = 256


@dataclass
class Outcome:
    """What one run of a scenario produced, and the oracles' verdict on it."""

    scenario: Scenario
    result: DurableFunctionTestResult
    recorder: Recorder
    faults_applied: tuple[FaultKind, ...]
    nondeterministic_calls: tuple[NondeterministicCall, ...] = ()
    #: Operation ids of the steps whose bodies drew randomness or read the clock.
    nondeterministic_steps: frozenset[str] = frozenset()
    #: Why the run did not finish within the scenario's wall-clock timeout, if it did not.
    hang: str | None = None
    #: The SDK log records the injected faults caused, held back from the log: one line per
    #: fault (``Outcome.report()`` shows them).
    fault_logs: tuple[str, ...] = ()
    _baseline: Outcome | None = field(default=None, repr=False)
    #: What this run's completed operations produced (recorded when masked faults were
    #: planned): the baseline replays it.
    _world: World | None = field(default=None, repr=False)
    #: For a baseline: the world it replayed, and what its bodies produced on their own.
    _replay: Replay | None = field(default=None, repr=False)

    @property
    def status(self) -> InvocationStatus:
        """The SDK's ``InvocationStatus`` (timed-out and stopped executions report FAILED)."""
        return self.result.status

    @property
    def execution_status(self) -> ExecutionStatus:
        """The full status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT or STOPPED."""
        return self.result.execution_status

    @property
    def result_json(self) -> str | None:
        return self.result.result

    @property
    def value(self) -> Any:
        return self.result.result_value

    @property
    def error(self) -> ErrorObject | None:
        return self.result.error

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.result.history

    @property
    def invocations(self) -> tuple[InvocationInfo, ...]:
        return self.result.invocations

    def baseline(self) -> Outcome | None:
        """The same world without the faults: the fault-tolerance oracle's reference.

        Run on first use (it calls ``before_run`` again), with no faults at all: every step,
        ``wait_for_condition`` check and chained invoke that completed in this run yields the
        value, or raises the error, this run checkpointed for it (bodies still run, so their
        side effects on the handler's state stay visible); every callback this run created
        is answered as it was here; unmasked faults hit the operations they hit here. So the
        only difference left is the masked faults. ``None`` without masked faults planned.
        """
        if self._baseline is None and self._world is not None:
            self._baseline = self.scenario.baseline(self._world)
        return self._baseline

    def check(self, *, skip: tuple[str, ...] = (), strict: bool = False) -> None:
        """Run every built-in oracle; raise the first ``OracleFailure`` with a full report.

        A failure that a behaviour pinned as the SDK's explains (docs/findings.md) says
        "known SDK issue" and names the finding; it is a ``KnownSdkIssueWarning`` and the
        remaining oracles still run, unless ``strict=True``, which fails on it too.
        """
        __tracebackhide__ = True  # pytest shows the report, not this loop
        for name, check in _oracles.ORACLES.items():
            if name in skip:
                continue
            try:
                check(self)
            except _oracles.OracleFailure as failure:
                issue = known_issue(self, failure)
                if issue is None:
                    raise type(failure)(f"{failure.detail}\n\n{self.report()}") from None
                labelled = f"{issue.label}: {failure.detail}"
                if strict:
                    raised = type(failure)(f"{labelled}\n\n{self.report()}")
                    raised.known_issue = issue
                    raise raised from None
                warnings.warn(
                    f"[{failure.oracle}] {labelled}. Not the handler's fault; "
                    "check(strict=True) fails on it.",
                    KnownSdkIssueWarning,
                    stacklevel=2,
                )

    def report(self) -> str:
        lines = ["Minimal scenario:"]
        lines.extend(f"  - {line}" for line in self.scenario.describe())
        applied = ", ".join(map(repr, self.faults_applied)) or "none"
        lines.append(f"Faults applied: {applied}")
        if self.fault_logs:
            lines.append("SDK log records caused by the injected faults (held back from the log):")
            lines.extend(f"  - {line}" for line in self.fault_logs)
        lines.append(
            f"Outcome: {self.execution_status.value}"
            + (f", result {self.result.result}" if self.result.result is not None else "")
            + (f", error {self.error.error_type}: {self.error.error_message}" if self.error else "")
            + f", {len(self.invocations)} invocation(s)"
        )
        lines.append("History:")
        lines.extend("  " + row for row in format_history(self.result.events).splitlines())
        lines.append(f"Timeline (open in a browser): {timeline_file(self.result.events)}")
        lines.append("Reproduce with:")
        lines.extend("    " + row for row in self.scenario.to_pytest().splitlines())
        return "\n".join(lines)

    # Convenience for assertions in tests.
    def applied(self, kind: str) -> list[FaultKind]:
        if kind not in FAULT_KINDS:
            msg = f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        return [f for f in self.faults_applied if f.kind == kind]
