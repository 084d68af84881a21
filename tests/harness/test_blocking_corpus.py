"""The session-20 audit E: correct handlers that block, use threads, processes and signals
(``examples/blocking.py``: ``time.sleep`` in and between steps, ``asyncio.to_thread`` racing a
sleep, ``run_in_executor`` on the default executor and on pools, a pool shared at module
level awaited through ``asyncio.wrap_future``, a thread joined in a step, ``subprocess.run``,
blocking sockets, a ``SIGALRM`` time limit in a step, a CPU-busy step, executor work in
``parallel`` branches and ``map`` items, a ``wait_for_condition`` check in a thread, logging
from threads) are flagged by no oracle.

The corpus runs a few examples per handler here; ``DURABLE_BLOCKING_EXAMPLES=300`` runs the
campaign (or ``benchmarks/same_world.py --corpus blocking --plans all``, which also counts the
faults that landed).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import blocking
import pytest
from async_durable_execution import InvocationStatus
from corpus import check_every, fault_free, scenarios
from tests.harness import blocking_handlers

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionStatus,
)
from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop
from async_durable_execution_runner.oracles import NondeterminismSource
from async_durable_execution_runner.scenarios import Scenario, duplicate_invocation
from async_durable_execution_runner.strategies import fault_plans

# --- work in other threads ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["joined_thread", "shared_pool_quotes", "uploads_through_a_queue"])
def test_a_thread_working_for_a_step_may_draw_ids_and_read_the_clock(name: str) -> None:
    # The threads these steps start, or hand work to (threading.Thread, a pool's submit,
    # run_in_executor), run without the step's context: their uuid4(), getrandbits() and
    # time.time() were taken for reads outside any step (NondeterminismSource, fault-free).
    spec = blocking.CORPUS[name]
    outcome = Scenario(handler=spec["handler"], before_run=spec.get("before_run")).run()
    assert outcome.execution_status is ExecutionStatus.SUCCEEDED, outcome.error
    assert outcome.nondeterministic_calls == ()
    outcome.check()


@pytest.mark.parametrize(
    ("name", "steps"),
    [
        ("joined_thread", {"checksum", "checksum-reversed"}),
        ("shared_pool_quotes", {"morning-quotes", "afternoon-quotes"}),
        ("uploads_through_a_queue", {"upload"}),
    ],
)
def test_a_step_whose_threads_draw_is_known_to_draw(name: str, steps: set[str]) -> None:
    # The threads carry the step that handed them their work: the step's result differs from
    # run to run by nature, which the fault-tolerance oracle must know.
    spec = blocking.CORPUS[name]
    outcome = Scenario(handler=spec["handler"], before_run=spec.get("before_run")).run()
    names = {op.name for op in outcome.result.operations if op.id in outcome.nondeterministic_steps}
    assert names == steps


@pytest.mark.parametrize(
    "handler",
    [
        # asyncio.to_thread carries the handler's root context: known to be outside a step.
        blocking_handlers.ref_drawn_in_a_thread_outside_a_step,
        # run_in_executor and a pool's submit carry no context: the harness carries whose
        # work it is.
        blocking_handlers.ref_drawn_in_an_executor_outside_a_step,
        blocking_handlers.ref_drawn_in_a_pool_outside_a_step,
    ],
)
def test_a_draw_in_a_thread_the_handler_awaits_outside_a_step_is_still_flagged(
    handler: Any,
) -> None:
    outcome = Scenario(handler=handler).run()
    with pytest.raises(NondeterminismSource, match="uuid4"):
        outcome.check()


def test_a_pools_future_awaited_under_a_timeout_takes_real_time() -> None:
    # asyncio.wrap_future(pool.submit(...)) under wait_for(timeout=3): the virtual loop saw a
    # timer and nothing in flight (only run_in_executor was counted), jumped three virtual
    # seconds, and the 5 ms geocode "timed out" (a wrong result, on every run).
    outcome = Scenario(handler=blocking.geocode_with_timeouts).run()
    assert outcome.value["both"] is True, outcome.value


def test_asyncios_own_child_processes_and_sockets_take_real_time() -> None:
    # A child's pipes, the child's exit (reported by a watcher thread) and a socket's reply,
    # each under wait_for(timeout=5 or 10): the virtual loop found nothing ready at once,
    # jumped to the timer, and every one "timed out" though each answers in milliseconds.
    outcome = Scenario(handler=blocking.async_io_with_timeouts, before_run=blocking.reset).run()
    assert outcome.value == {"reversed": "desserts", "echoed": "STRESSED"}, outcome.value


def test_a_virtual_loop_waits_in_real_time_for_a_wrapped_future() -> None:
    loop = VirtualTimeEventLoop()
    jumps: list[float] = []
    loop.on_jump = jumps.append

    async def main() -> str:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            work = asyncio.wrap_future(pool.submit(lambda: (time.sleep(0.05), "done")[1]))
            return str(await asyncio.wait_for(work, timeout=30))

    try:
        assert loop.run_until_complete(main()) == "done"
        assert sum(jumps) < 30
    finally:
        loop.close()


def test_a_step_that_works_to_a_time_budget_is_known_to_vary() -> None:
    # cpu_busy hashes for 20 ms of real time (time.perf_counter): the digest differs from run
    # to run. The fault-tolerance oracle took it for a step the faults changed whenever its
    # two fault-free baselines happened to hash as many rounds (FaultNotMasked, 2 in 300
    # examples): elapsed time was a source it did not watch.
    outcome = Scenario(handler=blocking.cpu_busy).run()
    names = {e["Id"]: e.get("Name") for e in outcome.history if "Id" in e}
    assert {names[op] for op in outcome.nondeterministic_steps} == {"crunch", "crunch-again"}
    assert outcome.nondeterministic_calls == ()


_DUPLICATE_DELIVERY = """
from async_durable_execution_runner.scenarios import Scenario, duplicate_invocation
import blocking
out = Scenario(
    handler=blocking.sleepy_steps, faults=(duplicate_invocation(invocation=1, after_call=1),)
).run()
assert out.faults_applied, out.faults_applied
"""


def test_a_process_that_ran_a_duplicate_delivery_exits_without_an_unclosed_loop() -> None:
    # A duplicate delivery runs on a pooled worker thread, a daemon: stopped dead at exit, its
    # event loop was never closed and warned when collected (seen at the end of every
    # campaign with a duplicate_invocation fault).
    examples = Path(blocking.__file__).parent
    done = subprocess.run(
        [sys.executable, "-W", "always::ResourceWarning", "-c", _DUPLICATE_DELIVERY],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(examples), str(examples.parent)])},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "unclosed event loop" not in done.stderr, done.stderr


def test_every_entry_succeeds_fault_free_warm_and_cold() -> None:
    for name, spec in sorted(blocking.CORPUS.items()):
        for sandboxes in ((), ("cold",) * 4):
            outcome = fault_free(spec, sandboxes).run()
            assert outcome.execution_status is ExecutionStatus.SUCCEEDED, (name, outcome.error)
            outcome.check()


@pytest.mark.parametrize("isolation", ["inprocess", "process"])
def test_a_blocking_poll_bounded_by_the_wall_clock_ends(isolation: str) -> None:
    # The handler's clock stood still while its loop was blocked: ``time.time()`` never
    # reached the deadline and the run was given up on as hung (runner bug 28). A blocking
    # ``time.sleep`` on the invocation's thread now passes as much virtual time as real.
    with DurableFunctionTestRunner(
        blocking_handlers.polls_until_a_wall_clock_deadline, isolation=isolation
    ) as runner:
        result = runner.run(timeout=30)
    assert result.status is InvocationStatus.SUCCEEDED
    assert 1 <= result.result_value <= 5 + 1
    outcome = fault_free({"handler": blocking_handlers.polls_until_a_wall_clock_deadline}).run()
    outcome.check()


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_BLOCKING_EXAMPLES", "0"))


@pytest.mark.parametrize("name", sorted(blocking.CORPUS))
def test_no_default_fault_plan_flags_a_blocking_handler(name: str) -> None:
    strategy = scenarios(blocking.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)


@pytest.mark.parametrize(
    "faults",
    [
        (duplicate_invocation(invocation=1, after_call=1),),
        (duplicate_invocation(invocation=2, after_call=1),),
    ],
    ids=["first", "after-the-wait"],
)
def test_a_listen_bounded_by_the_wall_clock_ends_in_a_duplicate_delivery(
    faults: tuple[Any, ...],
) -> None:
    # The duplicate re-runs the listen on a thread of its own, which no signal reaches: the
    # ticker passes its blocked time (runner bug 36). Before, its listen never ended and the
    # execution was reported hung.
    started = time.monotonic()
    outcome = Scenario(handler=blocking.cancellation_window, faults=faults).run()
    assert outcome.faults_applied == faults
    outcome.check()
    assert outcome.value == {"shipped": True, "cancelled": []}
    assert time.monotonic() - started < 20


def test_a_signal_time_limit_judged_inside_an_async_test_is_not_flagged() -> None:
    # An async test under Hypothesis: its scenarios are drawn (their faults placed by a run)
    # outside its loop, and run and judged inside it. The run handed back from drawing ran
    # on the main thread; the same-world baseline, inside the loop, ran on a worker thread,
    # where ``signal.signal`` raises, and ``FaultNotMasked`` flagged the parse that did not
    # fail under the faults (runner bug 37: now both run on the main thread).
    from hypothesis import HealthCheck, given, settings

    from async_durable_execution_runner.strategies import durable_scenarios

    judged: list[bool] = []

    @settings(
        max_examples=6,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        durable_scenarios(
            blocking.alarm_time_limits,
            faults=fault_plans(kinds={"invocation_lost"}),
            reuse_drawing_run=True,
        )
    )
    def an_async_hypothesis_test(scenario: Scenario) -> None:
        async def body() -> None:
            outcome = scenario.run()
            outcome.check()
            judged.append(outcome.drawn and bool(outcome.faults_applied))

        asyncio.run(body())

    an_async_hypothesis_test()
    assert any(judged)  # a drawn run with its fault applied was judged
