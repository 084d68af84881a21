"""The harness finds each classic bug in examples/buggy/, shrinks it to the minimal scenario,
and finds nothing in the fixed twins."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from async_durable_execution import InvocationStatus
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import NoSuchExample

from async_durable_execution_runner.oracles import (
    FaultNotMasked,
    NondeterminismSource,
    OperationsLeftOpen,
    OracleFailure,
    ReplayDivergence,
)
from async_durable_execution_runner.scenarios import (
    Outcome,
    Scenario,
    Timings,
    aws_call_crash,
    aws_call_timeout,
    body_crash,
    callback_timeout,
    checkpoint_error,
    crash,
    invocation_lost,
    lost_response,
    outage,
    step_exception,
)
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans, timings

# The durable-ci profile's budget, made reproducible: CI must find the same thing every time.
SEARCH = settings(
    settings.get_profile("durable-ci"),
    max_examples=25,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)


def always_succeeds(outcome: Outcome) -> None:
    assert outcome.status is InvocationStatus.SUCCEEDED, (
        f"the workflow promises an answer, but ended {outcome.execution_status.value}: "
        f"{outcome.error}"
    )


def no_stock_held_unpaid(outcome: Outcome) -> None:
    importlib.import_module("buggy.compensation_in_outage").no_stock_held_unpaid(outcome)


def declined_orders_hold_no_seat(outcome: Outcome) -> None:
    module = importlib.import_module("buggy.timeout_taken_for_not_done")
    module.seat_held_only_by_a_confirmed_order(outcome)


@dataclass
class Bug:
    module: str
    strategy_options: dict[str, Any]
    oracle: tuple[type[BaseException], ...]
    minimal_faults: tuple[Any, ...]
    minimal_timings: Timings = field(default_factory=Timings)
    invariant: Callable[[Outcome], None] | None = None
    #: Other plans as small, any of which shrinking may end at (which one depends on the
    #: path the search took).
    also_minimal: tuple[tuple[Any, ...], ...] = ()


BUGS = [
    Bug(
        "side_effect_outside_step",
        {
            "inputs": st.just({"id": "order-1"}),
            "faults": fault_plans(kinds={"crash", "invocation_lost"}),
        },
        (FaultNotMasked,),
        (crash(invocation=1, call=1),),
    ),
    Bug(
        "random_branch",
        {"faults": fault_plans(max_faults=0)},
        (ReplayDivergence, NondeterminismSource),
        (),
    ),
    Bug("wall_clock_deadline", {"faults": fault_plans(max_faults=0)}, (NondeterminismSource,), ()),
    Bug("module_cache_skips_step", {"faults": fault_plans(max_faults=0)}, (ReplayDivergence,), ()),
    Bug(
        "swallowed_checkpoint_error",
        {
            "inputs": st.just({"id": 7}),
            "faults": fault_plans(kinds={"checkpoint_error", "lost_response"}),
        },
        (FaultNotMasked,),
        (checkpoint_error(invocation=1, call=1, error="TooManyRequestsException"),),
        # The same throttling error, answered after the call was applied: swallowed alike.
        also_minimal=((lost_response(invocation=1, call=1, error="TooManyRequestsException"),),),
    ),
    Bug(
        "non_idempotent_step",
        {"inputs": st.just({"id": "order-1"}), "faults": fault_plans(kinds={"crash"})},
        (FaultNotMasked,),
        # At-least-once START is not awaited: the body runs before call 1 is acknowledged.
        (crash(invocation=1, call=1),),
    ),
    Bug(
        "unhandled_callback_timeout",
        {"faults": fault_plans(kinds={"callback_timeout"})},
        (AssertionError,),
        (callback_timeout(callback=1),),
        invariant=always_succeeds,
    ),
    Bug("unstable_step_name", {"faults": fault_plans(max_faults=0)}, (ReplayDivergence,), ()),
    Bug(
        "hedged_outside_step",
        {"faults": fault_plans(max_faults=0)},
        (ReplayDivergence,),
        (),
        # The mirrors' threads race one way in the first invocation, the other way in the
        # replay (ranks picked by each wait's place in its invocation).
        minimal_timings=Timings(thread_order=(0, 0, 1)),
    ),
    Bug(
        "first_callback_outside_step",
        {"faults": fault_plans(max_faults=0)},
        (ReplayDivergence,),
        (),
        # The same race through the jobs' done callbacks (runner bug 45: their reports take
        # the jobs' places in the order).
        minimal_timings=Timings(thread_order=(0, 0, 1)),
    ),
    Bug(
        "first_thread_outside_step",
        {"faults": fault_plans(max_faults=0)},
        (ReplayDivergence,),
        (),
        # The same race through threads the handler starts (runner bug 47: their reports
        # take the threads' places in the order).
        minimal_timings=Timings(thread_order=(0, 0, 1)),
    ),
    Bug(
        "retry_budget_burst",
        {"inputs": st.just({"id": "order-1"}), "faults": fault_plans(kinds={"step_exception"})},
        (AssertionError,),
        # Three failures in a row exhaust a budget of three attempts: one burst, not three
        # faults.
        (step_exception(step=1, attempt=1, times=3),),
        invariant=always_succeeds,
    ),
    Bug(
        "compensation_in_outage",
        {"inputs": st.just({"id": "order-1"}), "faults": fault_plans(kinds={"outage"})},
        (AssertionError,),
        # The gateway is down from the charge's first attempt: the charge uses up its budget
        # and the release runs into the same outage. Not masked (the charge's failure is the
        # handler's to handle), so the workflow's promise catches it.
        (outage(step=2, seconds=10),),
        invariant=no_stock_held_unpaid,
    ),
    Bug(
        "global_attempt_counter",
        {
            "inputs": st.just({"key": "k"}),
            "faults": fault_plans(max_faults=0),
            "timings": timings(start=False, callback_delays=False),
            "cold_module_prefixes": (),
        },
        (AssertionError,),
        (),
        Timings(sandboxes=("cold",)),
        invariant=always_succeeds,
    ),
    Bug(
        "data_key_drawn_at_import",
        {
            "inputs": st.just({"card": {"brand": "visa", "number": "4242424242424242"}}),
            "faults": fault_plans(max_faults=0),
            "timings": timings(start=False, callback_delays=False),
            "cold_module_prefixes": (),
        },
        (AssertionError,),
        (),
        # The card is opened in a sandbox other than the one that sealed it.
        Timings(sandboxes=("cold",)),
        invariant=always_succeeds,
    ),
    Bug("swallowed_suspension", {"faults": fault_plans(max_faults=0)}, (OperationsLeftOpen,), ()),
    Bug(
        "stuck_in_progress_record",
        {"inputs": st.just({"id": "order-1"}), "faults": fault_plans(kinds={"body_crash"})},
        # The sandbox dies while the charge is on the wire: only a crash inside the body
        # leaves the idempotency record INPROGRESS (a crash at a checkpoint call comes after
        # the body completed it).
        (FaultNotMasked,),
        (body_crash(step=1),),
    ),
    Bug(
        "claim_between_aws_calls",
        {"inputs": st.just({"id": "order-1"}), "faults": fault_plans(kinds={"aws_call_crash"})},
        # The sandbox dies once the claim's PutItem is answered: the booking and the claim's
        # completion are never sent, and the claim stays INPROGRESS.
        (FaultNotMasked,),
        (aws_call_crash(step=1),),
    ),
    Bug(
        "in_progress_outlasts_retries",
        {
            "inputs": st.just({"id": "o-1", "cents": 500}),
            "faults": fault_plans(kinds={"aws_call_crash"}),
        },
        # The sandbox dies once Powertools' INPROGRESS record is written: every retry comes
        # before it expires, and the order fails unpaid. Powertools reads the clock in the
        # step (its records' expiries), so the fault-tolerance oracle cannot tell the fault's
        # change from the clock's: the workflow's promise (it always pays) catches it.
        (AssertionError,),
        (aws_call_crash(step=1),),
        invariant=always_succeeds,
    ),
    Bug(
        "timeout_taken_for_not_done",
        {
            "inputs": st.just({"id": "o-1", "seat": "12A"}),
            "faults": fault_plans(kinds={"aws_call_timeout"}),
        },
        # The reservation's answer times out after AWS wrote it: the body takes it for a
        # refusal and the order is declined, holding the seat. Not masked (the body sees the
        # error), so no oracle judges the changed outcome: the workflow's promise does.
        (AssertionError,),
        (aws_call_timeout(step=1),),
        invariant=declined_orders_hold_no_seat,
    ),
    Bug(
        "half_done_upload_refused",
        {
            "inputs": st.just({"document": "report-7", "id": "up-1", "pages": ["a", "b", "c"]}),
            "faults": fault_plans(kinds={"aws_call_crash"}),
        },
        # Call 1 looks for the manifest; the sandbox dies once the pool's first page is
        # written (call 2, on a pool thread), and the re-run refuses its own page.
        (FaultNotMasked,),
        (aws_call_crash(step=1, call=2),),
    ),
    Bug(
        "interrupted_step_caught_by_class",
        {"inputs": st.just({"id": "order-1"}), "faults": fault_plans(kinds={"crash"})},
        # The sandbox dies after the at-most-once charge ran, before its result was
        # checkpointed (call 2; call 1 is its START). The fault-tolerance oracle rightly lets
        # the changed outcome pass (an interrupted at-most-once step fails by design); the
        # workflow's own promise catches the replay that raises another class.
        (AssertionError,),
        (crash(invocation=1, call=2),),
        invariant=always_succeeds,
    ),
    Bug(
        "state_in_step_bodies",
        {
            "inputs": st.just({"skus": ["a", "b"]}),
            "faults": fault_plans(kinds={"crash", "invocation_lost"}),
        },
        # The first invocation's response is lost after both reservations were
        # checkpointed: the replay skips both bodies. (A crash after reserve-a's checkpoint,
        # crash(invocation=1, call=2), fails too; shrinking reaches one single fault.)
        (FaultNotMasked,),
        (invocation_lost(invocation=1),),
    ),
]


def _failure(
    scenario: Scenario, invariant: Callable[[Outcome], None] | None
) -> BaseException | None:
    outcome = scenario.run()
    try:
        outcome.check()
        if invariant is not None:
            invariant(outcome)
    except AssertionError as failure:
        return failure
    return None


def _scenarios(bug: Bug, variant: str) -> Any:
    module = importlib.import_module(f"buggy.{bug.module}")
    return durable_scenarios(
        getattr(module, variant), before_run=getattr(module, "reset", None), **bug.strategy_options
    )


@pytest.mark.parametrize("bug", BUGS, ids=[b.module for b in BUGS])
def test_harness_finds_and_shrinks_the_bug(bug: Bug) -> None:
    minimal = find(
        _scenarios(bug, "buggy"),
        lambda s: _failure(s, bug.invariant) is not None,
        settings=SEARCH,
    )
    failure = _failure(minimal, bug.invariant)
    assert isinstance(failure, bug.oracle), failure
    assert minimal.faults in (bug.minimal_faults, *bug.also_minimal), minimal
    assert minimal.timings == bug.minimal_timings, minimal
    if isinstance(failure, OracleFailure):
        # The report says what, where, and how to reproduce.
        assert "Minimal scenario:" in str(failure)
        assert "Reproduce with:" in str(failure)


@pytest.mark.parametrize("bug", BUGS, ids=[b.module for b in BUGS])
def test_harness_finds_nothing_in_the_fixed_twin(bug: Bug) -> None:
    with pytest.raises(NoSuchExample):
        find(
            _scenarios(bug, "fixed"),
            lambda s: _failure(s, bug.invariant) is not None,
            settings=SEARCH,
        )


def test_reproducer_replays_the_minimal_failure_without_hypothesis(tmp_path: Any) -> None:
    from buggy import side_effect_outside_step as module

    scenario = Scenario(
        handler=module.buggy,
        input={"id": "order-1"},
        faults=(crash(invocation=1, call=1),),
        before_run=module.reset,
    )
    code = scenario.to_pytest()
    assert "hypothesis" not in code
    namespace: dict[str, Any] = {}
    exec(compile(code, "reproducer.py", "exec"), namespace)
    with pytest.raises(FaultNotMasked):
        namespace["test_regression"]()


def test_only_a_crash_inside_the_body_reaches_a_stuck_in_progress_record() -> None:
    # Crashes at checkpoint calls and lost responses come before the body starts or after
    # it completed its record: the buggy idempotency layer passes every one of them.
    module = importlib.import_module("buggy.stuck_in_progress_record")
    strategy = durable_scenarios(
        module.buggy,
        inputs=st.just({"id": "order-1"}),
        faults=fault_plans(kinds={"crash", "lost_response", "invocation_lost"}),
        before_run=module.reset,
    )
    with pytest.raises(NoSuchExample):
        find(strategy, lambda s: _failure(s, None) is not None, settings=SEARCH)


@pytest.mark.parametrize(
    "bug",
    [
        b
        for b in BUGS
        if b.module
        in ("claim_between_aws_calls", "in_progress_outlasts_retries", "half_done_upload_refused")
    ],
    ids=lambda b: b.module,
)
def test_only_a_crash_after_an_aws_call_reaches_a_claim_between_two_calls(bug: Bug) -> None:
    # The body never waits between its AWS calls: crashes at checkpoint calls, lost responses
    # and invocations, and crashes at the body's waits, all come before the claim or after
    # the booking is done. (Masked ones only: a lost response whose error the service refuses
    # with, a ValidationException, fails any execution, claim or no claim.)
    options = {
        **bug.strategy_options,
        "faults": fault_plans(kinds={"crash", "lost_response", "invocation_lost", "body_crash"}),
    }
    strategy = durable_scenarios(
        importlib.import_module(f"buggy.{bug.module}").buggy,
        before_run=importlib.import_module(f"buggy.{bug.module}").reset,
        **options,
    ).filter(lambda scenario: all(fault.masked for fault in scenario.faults))
    with pytest.raises(NoSuchExample):
        find(strategy, lambda s: _failure(s, bug.invariant) is not None, settings=SEARCH)


def test_the_claim_bug_written_with_an_async_client_is_found_and_shrunk_the_same() -> None:
    # aiobotocore's calls are awaited, yet the claim and the booking are still separated only
    # by the claim's answer: found and shrunk to the same crash, and not in the fixed twin.
    bug = next(b for b in BUGS if b.module == "claim_between_aws_calls")
    minimal = find(
        _scenarios(bug, "buggy_async"), lambda s: _failure(s, None) is not None, settings=SEARCH
    )
    assert isinstance(_failure(minimal, None), FaultNotMasked)
    assert minimal.faults == (aws_call_crash(step=1),), minimal
    with pytest.raises(NoSuchExample):
        find(
            _scenarios(bug, "fixed_async"),
            lambda s: _failure(s, None) is not None,
            settings=SEARCH,
        )
