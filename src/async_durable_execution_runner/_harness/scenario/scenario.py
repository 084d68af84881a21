"""``Scenario``: one handler, one input, one fault plan, one set of timings.

A scenario is plain data: it runs the same way every time, prints as something a person can
read, and turns into a standalone pytest test (``to_pytest``) that replays it without
Hypothesis. It drives the emulator only through the runner's public seams.
"""

from __future__ import annotations

import hashlib
import math
import sys
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal
from unittest.mock import NonCallableMock

from async_durable_execution_runner._harness.faults.hooks import FaultPlanHooks
from async_durable_execution_runner._harness.faults.kinds import FaultKind, invocations_spent
from async_durable_execution_runner._harness.faults.logs import FaultLogs
from async_durable_execution_runner._harness.programs.interpreter import program_handler
from async_durable_execution_runner._harness.scenario.crash_points import (
    CrashPointReport,
    run_crash_points,
)
from async_durable_execution_runner._harness.scenario.nondeterminism import NondeterminismDetector
from async_durable_execution_runner._harness.scenario.outcome import Outcome
from async_durable_execution_runner._harness.scenario.seams import (
    CallbackDriver,
    RootRecorder,
    ScenarioFaults,
)
from async_durable_execution_runner._harness.scenario.timings import (
    ChoiceScheduler,
    TimedInterleaving,
    TimedSandboxes,
    Timings,
)
from async_durable_execution_runner._harness.world import Replay, World, checkpointed_attempts
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._sandbox.handler_address import handler_address
from async_durable_execution_runner.errors import ExecutionNotFinishedError

#: Wall-clock seconds a scenario may take before it is run again, with
#: ``STARVED_RETRY_FACTOR`` times as many, to tell a hung run from a starved one.
DEFAULT_SCENARIO_TIMEOUT = 10.0
#: The runner's (and the service's) default execution time-out: one day.
DEFAULT_EXECUTION_TIMEOUT = 86_400
STARVED_RETRY_FACTOR = 6


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
    #: The execution's time-out in seconds of the runner's clock (the runner's
    #: ``execution_timeout``; the service's default is one day): a handler meant to finish
    #: within it is tested against it, retries and late deliveries included.
    execution_timeout: int = DEFAULT_EXECUTION_TIMEOUT
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
        root_wakes_last: bool = False,
        sandboxes: tuple[str, ...] | None = None,
        first_sandbox_cold: bool = False,
    ) -> Outcome:
        """This scenario without any faults, in ``world`` (the fault-tolerance oracle's
        reference; see ``Outcome.baseline``): every step attempt, callback answer and
        chained-invoke fault that ``world`` holds is replayed by identity.

        ``seed`` runs it with another random seed (to tell a step that draws a new value on
        every run from one that a fault changed); ``rerun`` (execution, operation id,
        attempt) runs that attempt's body as many times as ``world`` says it ran;
        ``root_wakes_last`` wakes the root after everything else due at the same instant (as
        a masked fault's re-invocation is, queued behind what was due); ``sandboxes`` runs
        it in those sandboxes (``Timings.sandboxes``) instead of the scenario's, and
        ``first_sandbox_cold`` runs the first invocation in a new sandbox too. Remembered
        across scenarios by the world's content, since many examples share one counterpart
        and the oracle's premise is a handler deterministic outside its steps.
        """
        world = world or World()
        counterpart = self.with_faults(())
        if seed is not None:
            counterpart = replace(counterpart, timings=replace(counterpart.timings, seed=seed))
        if sandboxes is not None:
            counterpart = replace(
                counterpart, timings=replace(counterpart.timings, sandboxes=sandboxes)
            )
        fingerprint = world.fingerprint()
        key = (
            counterpart.to_pytest(),
            id(counterpart.handler),
            # A digest: the fingerprint holds every step's result (megabytes for a handler
            # with megabytes of state), and the key outlives the example.
            hashlib.blake2b(fingerprint.encode(), digest_size=16).hexdigest(),
            rerun,
            rerun_times,
            root_wakes_last,
            first_sandbox_cold,
        )
        remembered = _BASELINES.get(key)
        if remembered is None:
            cached = counterpart._run_once(
                replay=Replay(
                    world,
                    rerun=rerun,
                    rerun_times=rerun_times,
                    root_wakes_last=root_wakes_last,
                    first_sandbox_cold=first_sandbox_cold,
                )
            )
            if cached.hang is not None:
                return cached  # not remembered: another example may find the machine idler
            _remember_baseline(key, cached, len(fingerprint))
            return cached
        return remembered[0]

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
            outcome.drawn = True
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
            replace(replay, fresh={}, rerun_outcomes=[], order=[]) if replay is not None else None,
            budget,
        )
        if again.hang is not None:
            again.hang = (
                f"{again.hang} (it had also outlived {self.timeout:g} s of wall-clock time in "
                f"a first run, and was run again with {budget:g} s)"
                + _still_progressing(len(outcome.history), len(again.history), budget)
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
        sandboxes = TimedSandboxes(
            self.timings, first_cold=replay is not None and replay.first_sandbox_cold
        )
        driver = CallbackDriver(self, hooks, record=record, replay=replay)
        scheduler = ChoiceScheduler(
            self.timings.order,
            self.timings.window,
            root_last=(lambda: hooks.root_arn)
            if replay is not None and replay.root_wakes_last
            else None,
        )
        recorder = RootRecorder(hooks, scheduler, driver)
        recorder.sandboxes = sandboxes
        runner = DurableFunctionTestRunner(
            self.handler,
            functions=dict(self.functions),
            start_time=self.timings.start,
            faults=ScenarioFaults(hooks, record=record, replay=replay, seed=self.timings.seed),
            scheduler_policy=scheduler,
            sandbox_policy=sandboxes,
            interleaving=TimedInterleaving(self.timings),
            random_seed=self.timings.seed,
            observers=(recorder,),  # it passes on what the others need
            cold_module_prefixes=self.cold_module_prefixes,
            strict_replay=self.strict_replay,
            checkpoint_batching=self.checkpoint_batching,
            execution_timeout=self.execution_timeout,
            # Each fault kills at most one invocation (a crash loop one per crash); keep the
            # service retrying past them so that masked faults stay masked.
            max_invocation_attempts=hooks.invocations_at_risk() + 3,
            # A baseline's steps end when they ended under the faults: a body that a retry
            # timer made run hours later sleeps that long in-process (``world.Replay``), which
            # no function timeout may cut short.
            function_timeout=math.inf if replay is not None else None,
        )
        driver.runner = runner
        # An outage is measured on the runner's clock, and so are the world's step instants.
        hooks.now = runner.clock.now
        if record is not None:
            record.now = runner.clock.now
        if replay is not None:
            replay.now = runner.clock.now
            # A recorded error is rehomed to the classes of the modules the baseline's
            # sandboxes run (the invoker's handlers, re-imported by a cold invocation).
            replay.handlers = lambda: tuple(getattr(runner.invoker, "handlers", {}).values())
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
        # The outcome keeps the recorder (remembered baselines keep hundreds): not the runner
        # too, through the driver it passed history events on to.
        recorder.scheduler = recorder.driver = None
        world = None
        if record is not None:
            world = record.completed(
                checkpointed_attempts(recorder.transitions),
                detector.in_steps,
                tuple(hooks.applied),
                hooks.in_body,
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
        if self.execution_timeout != DEFAULT_EXECUTION_TIMEOUT:
            lines.append(f"the execution times out after {self.execution_timeout} s")
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
        if self.execution_timeout != DEFAULT_EXECUTION_TIMEOUT:
            parts.append(f"execution_timeout={self.execution_timeout!r}")
        if self.timeout != DEFAULT_SCENARIO_TIMEOUT:
            parts.append(f"timeout={self.timeout!r}")
        return f"Scenario({', '.join(parts)})"

    def to_pytest(
        self, test_name: str = "test_regression", *, then: Sequence[tuple[str | None, str]] = ()
    ) -> str:
        """A standalone pytest test that replays exactly this scenario, without Hypothesis.

        ``then``: what the test asserts after the oracles, as (import line or ``None``,
        statement on ``outcome``) pairs (a property of the caller's: ``("from checks import
        succeeds", "succeeds(outcome)")``)."""
        imports = {"from async_durable_execution_runner.scenarios import *"}
        imports.update(line for line, _ in then if line)
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
        if self.execution_timeout != DEFAULT_EXECUTION_TIMEOUT:
            args.append(f"execution_timeout={self.execution_timeout!r}")
        if self.checkpoint_batching != "sdk":
            args.append(f"checkpoint_batching={self.checkpoint_batching!r}")
        if self.timeout != DEFAULT_SCENARIO_TIMEOUT:
            # A run slow enough to need more wall-clock time needs it when reproduced too.
            args.append(f"timeout={self.timeout!r}")
        notes = ""
        if self.before_run is not None:
            line, expression = _reference(self.before_run, self.handler)
            if line is not None:
                imports.add(line)
            else:
                notes = (
                    f"    # before_run was {self.before_run!r}, bound to an object no module "
                    "names: pass it here yourself\n"
                )
            args.append(f"before_run={expression}")
        if self.allow_nondeterminism:
            args.append(f"allow_nondeterminism=frozenset({sorted(self.allow_nondeterminism)!r})")
        body = ",\n        ".join(args)
        if "datetime." in body:  # (a timings' start, an input's reprs; unused otherwise)
            imports.add("import datetime")
        return (
            "\n".join(sorted(imports))
            + f"\n\n\ndef {test_name}():\n{notes}    scenario = Scenario(\n        {body},\n    )\n"
            "    outcome = scenario.run()\n    outcome.check()\n"
            + "".join(f"    {statement}\n" for _, statement in then)
        )


def _address(fn: Callable[..., Any]) -> tuple[str, str]:
    """Module and the name it binds ``fn`` to (a factory-made handler's, not its closure's)."""
    return handler_address(fn) or (
        str(getattr(fn, "__module__", "?")),
        str(getattr(fn, "__qualname__", repr(fn))),
    )


def _qualified(fn: Callable[..., Any]) -> str:
    return ".".join(_address(fn))


def _name(fn: Callable[..., Any]) -> str:
    return _address(fn)[1].split(".")[0]


def _reference(fn: Callable[..., Any], handler: Callable[..., Any]) -> tuple[str | None, str]:
    """The import line and the expression that name ``fn`` in a reproducer. A bound method
    (``TRIES.clear``, ``fakes.reset``) is named through the module-level name of the object
    it is bound to, looked up in the handler's module, the method's own, then any public
    module; ``None`` for the import line when no module names it: a lambda or a local
    function, a ``unittest.mock`` object or a method of one (whose module-level name, if
    any, holds the mock only while the test's patch is active)."""
    if isinstance(fn, NonCallableMock):
        return None, "None"  # a test's mock: no module names it outside the test's patch
    owner = getattr(fn, "__self__", None)
    if isinstance(owner, NonCallableMock):
        return None, "None"  # ``FAKE.reset_mock``: the name holds the mock only while patched
    if owner is None or isinstance(owner, types.ModuleType):
        # A lambda or a local function of the test has no name to import.
        if not all(part.isidentifier() for part in _address(fn)[1].split(".")):
            return None, "None"
        return _import_line(fn), _name(fn)
    handler_home = handler_address(handler)
    first = (handler_home[0] if handler_home else None, getattr(fn, "__module__", None))
    # Then any public module (rarely needed, and a reproducer is written once).
    rest = sorted(
        n
        for n in sys.modules
        if n != "__main__" and not any(p.startswith("_") for p in n.split("."))
    )
    for module_name in (*first, *rest):
        module = sys.modules.get(module_name) if module_name else None
        if module is None:
            continue
        for name, value in list(vars(module).items()):
            if value is owner and not name.startswith("_"):
                return f"from {module_name} import {name}", f"{name}.{fn.__name__}"
    return None, "None"


def _import_line(fn: Callable[..., Any]) -> str:
    if fn is program_handler:
        # A reproducer imports public modules only: the program handler's home is private.
        return "from async_durable_execution_runner.programs import *"
    return f"from {_address(fn)[0]} import {_name(fn)}"


_BaselineKey = tuple[str, int, str, tuple[str, str, int] | None, int | None, bool, bool]
#: Remembered baselines, oldest first, each with its weight: the length of its world's
#: fingerprint, which holds every step result it replayed (a baseline's outcome holds them
#: again in its history and its world), so the weights bound the memory they keep.
_BASELINES: dict[_BaselineKey, tuple[Outcome, int]] = {}
_MAX_BASELINES = 256
#: About 3 to 5 times this in memory: 16 baselines of a handler whose steps return 2 MB.
_MAX_BASELINE_WEIGHT = 32_000_000
_baseline_weight = [0]


def _remember_baseline(key: _BaselineKey, outcome: Outcome, weight: int) -> None:
    if weight > _MAX_BASELINE_WEIGHT:
        return  # too big to keep: the others stay
    while _BASELINES and (
        len(_BASELINES) >= _MAX_BASELINES or _baseline_weight[0] + weight > _MAX_BASELINE_WEIGHT
    ):
        _baseline_weight[0] -= _BASELINES.pop(next(iter(_BASELINES)))[1]
    _BASELINES[key] = (outcome, weight)
    _baseline_weight[0] += weight


def _still_progressing(first: int, second: int, budget: float) -> str:
    """What a hang report adds when the run given more time got further than the first: a
    correct run too slow for its budget (a map over thousands of items, hundreds of
    invocations on a loaded machine) checkpoints on to the end, where a hung one stops at the
    same point each time."""
    if second <= first:
        return ""
    return (
        f"; it was still making progress ({first} history events in the first run, {second} "
        f"with {budget:g} s), so it may be slow rather than hung: give it more wall-clock "
        f"time with Scenario(timeout=...) or durable_scenarios(timeout=...)"
    )
