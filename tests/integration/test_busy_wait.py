"""A handler whose SDK busy-waits for a time on the virtual loop is not left spinning."""

from __future__ import annotations

from everyday import fastest_supplier

from async_durable_execution_runner.scenarios import Scenario, Timings, step_exception


def test_a_parallel_branch_resubmitted_while_its_retry_is_pending_does_not_livelock() -> None:
    # audit's finding (FINDINGS.md, 21:40): the fast branch's step is PENDING on its retry
    # timer; the SDK's parallel resubmits it at once and for ever (its replay suspends until a
    # service response says READY), while the slow branch sleeps 3 s in its step body. No
    # service call happens, and the virtual loop is never idle, so virtual time never reached
    # those 3 s: the invocation spun until the wall-clock budget. The loop now lets a busy
    # stretch's time pass up to its next timer, as a real clock would.
    outcome = Scenario(
        handler=fastest_supplier,
        faults=(step_exception(step=2, attempt=1),),
        timings=Timings(response_turns=(1, 3, 0, 1, 1, 2), seed=34695),
    ).run()
    assert outcome.status.value == "SUCCEEDED", outcome
    outcome.check()
