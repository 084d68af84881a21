"""The fault-tolerance oracle: faults the service and the SDK mask leave the outcome as it is
without them, in the same world (docs/explanation/same-world-baseline.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from async_durable_execution_runner._harness.oracles.base import (
    OPERATION_FAILURE_EVENTS,
    FaultNotMasked,
    _error_messages,
    _has_batches,
    _interrupted_at_most_once,
    _is_terminal,
    _label,
    oracle,
)
from async_durable_execution_runner._harness.world import StepKey, StepOutcome, World, same_outcome

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


@oracle("fault-tolerance")
def check_fault_tolerance(outcome: Outcome) -> None:
    """Faults the service and SDK mask leave the outcome as it is without them, in the same
    world: the baseline replays what this run's completed operations produced."""
    masked = [f for f in outcome.faults_applied if f.masked]
    if not masked or _interrupted_at_most_once(outcome):
        return
    if _has_batches(outcome.scenario.program):
        # A generated batch's result depends on the order its branches complete, which faults
        # legitimately shift; the expected-outcome oracle judges those runs, race-aware.
        return
    if any(f.positional for f in outcome.faults_applied if not f.masked):
        # An unmasked fault placed by invocation and call fired; without the masked faults
        # it would land elsewhere, so there is no fault-free counterpart to compare with.
        return
    baseline = outcome.baseline()
    if baseline is None or baseline.hang is not None:
        # A fault-free counterpart that did not finish, even with a larger budget, is no
        # reference: inconclusive (were the handler hung, the liveness oracle says so).
        return
    faults = ", ".join(map(repr, masked))
    mine = (
        outcome.execution_status.value,
        outcome.result_json,
        outcome.error.type if outcome.error else None,
    )
    theirs = (
        baseline.execution_status.value,
        baseline.result_json,
        baseline.error.type if baseline.error else None,
    )
    if (
        mine != theirs
        and not _failures_raced(outcome, baseline)
        and not _race_decided_later(outcome, baseline, mine)
    ):
        msg = (
            f"with {faults} the execution ended {mine[0]} "
            f"(result {mine[1]!r}, error {mine[2]!r}); in the same world without them it ends "
            f"{theirs[0]} (result {theirs[1]!r}, error {theirs[2]!r}): every step, callback "
            "and invoke there gave what it gave here, so these faults, which the service and "
            "the SDK mask, changed the outcome. The handler must not depend on them (e.g. side "
            "effects outside steps, module state carried across invocations)"
        )
        raise FaultNotMasked(msg + _drawn_hint(outcome))
    changed = _step_changed_by_fault(outcome, baseline)
    if changed is not None:
        raise FaultNotMasked(f"with {faults} {changed}{_drawn_hint(outcome)}")


def _drawn_hint(outcome: Outcome) -> str:
    """For a run made while the scenario was drawn: the other world the test may have made
    around ``run()``, where the baseline ran (found by the session-24 audit I)."""
    if not outcome.drawn:
        return ""
    return (
        ". This run was made while the scenario was drawn (to place its faults), and the "
        "first scenario.run() handed it back; the baseline ran now. If the test sets "
        "anything up around scenario.run() (a mock.patch, an environment variable, a fake's "
        "state), this run did not see it: set it up in before_run, which makes run() run "
        "again"
    )


def _step_changed_by_fault(outcome: Outcome, baseline: Outcome) -> str | None:
    """A step whose body produced something else under the faults than in the same world
    without them, though it produces the same on every fault-free run: the faults changed
    the world it read. (The outcomes can match only because the baseline replays step
    results.) A non-idempotent step whose own re-run returned another value is deliberately
    not judged."""
    world, replay = outcome._world, baseline._replay
    if world is None or replay is None:
        return None
    found = replay.first_divergence()
    if found is None:
        return None
    key, recorded, fresh = found
    _, operation_id, attempt = key
    if operation_id in world.nondeterministic or operation_id in baseline.nondeterministic_steps:
        return None  # it draws randomness or reads the clock: a new value every run
    request_ids = {i.request_id for run in (outcome, baseline) for i in run.recorder.invocations}
    if _same_but_request_ids(recorded, fresh, request_ids):
        return None  # it recorded the request id of the invocation that ran it
    ran = [k for k in world.order if k in world.steps]
    position = replay.order.index(key) + 1
    if ran[:position] != replay.order[:position]:
        return None  # concurrent bodies ran in another order: a race decided differently
    scenario = outcome.scenario
    # Bodies of this operation that ran beyond what the baseline runs: re-runs the recorder
    # saw, and runs it cannot see (a duplicate delivery's, which meet the plan's step faults
    # but whose results are never recorded: its injected runs are counted in ``injected``).
    operation = (key[0], operation_id)
    attempts = sum(
        1 for a in outcome.recorder.step_attempts if (a.execution_arn, a.operation_id) == operation
    )
    body_runs = attempts - world.injected.get(operation, 0)
    extra = body_runs - world.baseline_runs(operation)
    runs = max(world.runs.get(key, 1), 1 + extra)
    rerun = key if runs > 1 else None
    if rerun is not None:
        # The faults ran this step's body again. Run it as often here: if one of those runs
        # gives what the recorded run checkpointed, its own re-runs changed its answer
        # (non-idempotent; not judged here). Any of them, not only the last: the run the
        # service kept need not be the last (a duplicate delivery's later run bounces).
        again = scenario.baseline(world, rerun=rerun, rerun_times=runs)
        if again.hang is not None or again._replay is None:
            return None
        fresh_again = again._replay.fresh.get(key)
        if fresh_again is None or any(
            same_outcome(ran, recorded) for ran in (*again._replay.rerun_outcomes, fresh_again)
        ):
            return None
        if _spread_over_sandboxes(outcome, key) and _depends_on_its_runs(
            again._replay.rerun_outcomes
        ):
            # What each run gave depends on what the runs before it left, and the faults ran
            # those in sandboxes whose module state started afresh: a circuit breaker, a rate
            # limiter or a cache kept in the module sees a cold sandbox's first call where the
            # baseline, running every run in one sandbox, sees its fourth (oracle bug 36).
            return None
        fresh = fresh_again
    second = scenario.baseline(
        world, seed=scenario.timings.seed + 1, rerun=rerun, rerun_times=runs if rerun else None
    )
    if second.hang is not None:
        return None
    other = second._replay.fresh.get(key) if second._replay is not None else None
    if other is None or not same_outcome(other, fresh):
        return None  # it produces a new value every run, by a source we do not watch
    if _a_cold_sandbox_gives_it(outcome, world, key, recorded, rerun, runs):
        return None  # what the step read was its new sandbox's module state, not the world
    if _time_changed_it(outcome, world, key, fresh, rerun, runs):
        return None  # the faulted world, run again now, reads what the baseline read
    # The step's name in its own execution: an invoked function's operations take the same
    # ids as its caller's in the same places (the second operation of each), and the
    # report named the caller's chained invoke for the desk's step.
    name = next(
        (
            e.name
            for e in outcome.recorder.events.get(key[0], ())
            if e.id == operation_id and e.name
        ),
        None,
    )
    times = "once" if runs == 1 else f"{runs} times"
    return (
        f"step {_label(operation_id, name)} (attempt {attempt}) ran its body {times} and "
        f"produced {recorded.describe()}; in the same world without the faults, its body run "
        f"{times} produces {fresh.describe()}, on every run. The faults, which the service and "
        "the SDK mask, changed what the step read: a side effect outside a step that the "
        "replay repeated, or another step's body that ran twice (make both idempotent)"
    )


#: Cold sandboxes for every re-invocation of a baseline (``Timings.sandboxes``; later ones
#: are warm): more than any execution the harness runs makes.
_EVERY_SANDBOX_COLD = ("cold",) * 256


def _a_cold_sandbox_gives_it(
    outcome: Outcome,
    world: World,
    key: StepKey,
    recorded: StepOutcome,
    rerun: StepKey | None,
    runs: int,
) -> bool:
    """Whether the step gives what it gave under the faults in a run without them whose
    re-invocations are all cold sandboxes, when the faults moved the step to a new sandbox.

    A crash ends its sandbox, and the next invocation starts cold: module state starts
    afresh (a cached token is fetched again, a lazily made client is made again). A step
    whose value reflects it (the token it used, whether the sandbox was cold) gives another
    value than in the warm baseline; but Lambda starts sandboxes cold without any fault too,
    so a value a fault-free run gives in cold sandboxes is no change the faults made (oracle
    bug 37). A side effect the replay repeated, or a body run twice, changes the world, not
    the module, and a cold baseline does not reproduce it.

    The first invocation runs the test's own module, warm, and may find there what earlier
    executions left (a campaign's earlier examples, as a warm sandbox keeps what the
    executions it served left). A step whose first attempt the faults moved out of it, into
    a new sandbox, is asked again in a run whose first invocation is a new sandbox too, as
    Lambda starts an execution whose first invocation finds no warm sandbox (oracle bug
    41)."""
    arn = key[0]
    if not any(
        info.environment != "warm" and info.index > 1
        for info in outcome.recorder.invocations
        if info.execution_arn == arn
    ):
        return False
    for first_cold in (False, True):
        cold = outcome.scenario.baseline(
            world,
            rerun=rerun,
            rerun_times=runs if rerun else None,
            sandboxes=_EVERY_SANDBOX_COLD,
            first_sandbox_cold=first_cold,
        )
        if cold.hang is not None or cold._replay is None:
            continue
        ran = (*cold._replay.rerun_outcomes, cold._replay.fresh.get(key))
        if any(r is not None and same_outcome(r, recorded) for r in ran):
            return True
    return False


def _spread_over_sandboxes(outcome: Outcome, key: StepKey) -> bool:
    """Whether the runs of attempt ``key``'s body were made in more than one sandbox: a
    cold invocation starts a new one, and a duplicate delivery runs in one of its own."""
    arn, operation_id, attempt = key
    sandbox_of: dict[int, int] = {}
    current, made = 0, 1
    for info in outcome.recorder.invocations:
        if info.execution_arn != arn:
            continue
        if info.environment == "duplicate":
            # A sandbox of its own; the next warm invocation lands in the first delivery's.
            sandbox_of[info.index] = made
            made += 1
            continue
        if info.environment == "cold" and info.index > 1:
            current, made = made, made + 1
        sandbox_of[info.index] = current
    sandboxes = {
        sandbox_of.get(a.invocation_index, -1)
        for a in outcome.recorder.step_attempts
        if (a.execution_arn, a.operation_id, a.attempt) == (arn, operation_id, attempt)
    }
    return len(sandboxes) > 1


def _depends_on_its_runs(runs: list[StepOutcome]) -> bool:
    """Whether a body run again and again in one sandbox gave different things: what it
    gives depends on what its earlier runs left (in the world or in the module)."""
    return any(not same_outcome(run, runs[0]) for run in runs[1:])


def _time_changed_it(
    outcome: Outcome,
    world: World,
    key: StepKey,
    fresh: StepOutcome,
    rerun: StepKey | None,
    runs: int,
) -> bool:
    """Whether the step's two results differ by when they were made, not by the faults.

    Two baselines agreeing proves a body reproducible only within one tick of a clock the
    harness does not watch: a database's ``CURRENT_TIMESTAMP`` (whole seconds, read by
    sqlite's C code) gives one second to two baselines run a tenth of a second apart, and
    the second before to the recorded run (oracle bug 26). So the scenario runs once more
    with its faults, now: if the step gives what the baseline gave, or what one more
    baseline run right after it gives, the faults do not change what it reads. A fault that
    does (a line a crash inserted twice, a batch id drawn again by a cold sandbox's import)
    changes it again. Run only when a step is about to be flagged, and not for a run handed
    back from drawing (``outcome.drawn``): it ran outside whatever the test set up around
    ``run()``, so a run now could not tell that from a clock, and the flag's hint says so."""
    if outcome.drawn:
        return False
    scenario = outcome.scenario
    again = scenario.run()
    if again._world is None or again.hang is not None:
        return True  # not reproduced: no evidence the faults change it
    redone = again._world.steps.get(key)
    if redone is None or same_outcome(redone, fresh):
        return True
    close = scenario.baseline(
        world, seed=scenario.timings.seed + 2, rerun=rerun, rerun_times=runs if rerun else None
    )
    latest = close._replay.fresh.get(key) if close._replay is not None else None
    return latest is not None and same_outcome(latest, redone)


def _same_but_request_ids(a: StepOutcome, b: StepOutcome, request_ids: set[str]) -> bool:
    """Whether two outcomes of a step body differ only by the Lambda request ids they hold
    (``request_ids``: those of the invocations of the runs compared).

    A request id names one invocation (the context's ``aws_request_id``, read in the step or
    read outside it and handed in): a body that a fault made another invocation run records
    another id, in the same world. Correct code keeps it for an audit trail or its logs."""
    first, second = a.describe(), b.describe()
    if first == second:
        return False
    for request_id in request_ids:
        first = first.replace(request_id, "<request id>")
        second = second.replace(request_id, "<request id>")
    return first == second


def _root_operations(outcome: Outcome) -> tuple[set[str], set[str]]:
    """The ids of the root execution's operations: every one its history names, and those
    that ended."""
    root = outcome.recorder.root_arn
    events = outcome.recorder.events.get(root, []) if root is not None else []
    seen = {e.id for e in events if e.id}
    return seen, {e.id for e in events if e.id and _is_terminal(e)}


def _race_decided_later(outcome: Outcome, baseline: Outcome, mine: tuple[object, ...]) -> bool:
    """The baseline ended with an operation still open that ended in this run (an invoke
    or a callback that a ``parallel`` with ``min_successful``, or a race in a child
    context, abandoned), and the same world without the faults ends as this run did when
    the root execution is woken after everything else due at the same instant.

    A masked fault's re-invocation queues behind what was due when the invocation died
    (another execution's timer, the invoked function's own invocation), so the handler
    decides a race with a result in hand that the fault-free run, woken first, decided
    without: an invoke racing a wait of the same length. Which of two things due at one
    instant comes first is a race of the handler's design; the faults only picked one of
    the outcomes the handler has without them. A handler that depends on the faults
    themselves ends otherwise in both baselines, and is still flagged."""
    seen, ended = _root_operations(baseline)
    if not (seen - ended) & _root_operations(outcome)[1]:
        return False
    world = outcome._world
    if world is None:
        return False
    later = outcome.scenario.baseline(world, root_wakes_last=True)
    if later.hang is not None:
        return False
    theirs = (
        later.execution_status.value,
        later.result_json,
        later.error.type if later.error else None,
    )
    return theirs == mine


def _failed_operations(outcome: Outcome) -> dict[str, frozenset[str]]:
    """The execution's operations that failed for good, each with the messages the handler
    may see for its error (``_error_messages``)."""
    failed: dict[str, frozenset[str]] = {}
    root = outcome.recorder.root_arn
    for e in outcome.recorder.events.get(root, []) if root is not None else []:
        if e.id and e.event_type in OPERATION_FAILURE_EVENTS and _is_terminal(e):
            failed[e.id] = _error_messages(e)
    return failed


def _failures_raced(outcome: Outcome, baseline: Outcome) -> bool:
    """Both runs FAILED, each with the failure of a different operation, and both operations
    failed in both runs: the handler let whichever failure reached it first fail the
    execution (``asyncio.gather`` raises the first), and the faults, whose re-invocation
    runs the handler sooner than the next event would, let one of them fail earlier (a poll
    that ran at once instead of when a callback failed). Which of two failures comes first
    is a race of the handler's design, as in any concurrent code; the same operation failing
    with another error type (SDK finding 8) is not this."""
    if outcome.error is None or baseline.error is None:
        return False
    if outcome.execution_status.value != "FAILED" or baseline.execution_status.value != "FAILED":
        return False
    mine, theirs = _failed_operations(outcome), _failed_operations(baseline)
    both = mine.keys() & theirs.keys()

    def source(message: str | None, failed: dict[str, frozenset[str]]) -> str | None:
        found = [op for op in both if str(message) in failed[op]]
        return found[0] if len(found) == 1 else None

    first = source(outcome.error.message, mine)
    second = source(baseline.error.message, theirs)
    return first is not None and second is not None and first != second
