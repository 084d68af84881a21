"""The session-18 false-flag audit C: correct handlers whose payloads sit at the SDK's size
thresholds (``examples/payloads.py``: child context results at and one character over the
256 KiB checkpoint limit, 700 KB and 2 x 400 KB step results, a final result over the Lambda
response limit, a 900 KB input, custom SerDes for records and a compressing SerDes pipeline,
``map``/``parallel`` results that the SDK summarises, a poll whose state grows, a 150 KB
callback answer) are flagged by no oracle.

The corpus runs a few examples per handler here; ``DURABLE_PAYLOADS_EXAMPLES=150`` runs the
campaign (or ``benchmarks/same_world.py --corpus payloads --plans all``, which also counts the
faults that landed).
"""

from __future__ import annotations

import os
from typing import Any

import payloads
import pytest
from async_durable_execution import BatchItemStatus, durable_execution, parallel, step, wait
from async_durable_execution import map as durable_map
from corpus import check_every, scenarios

from async_durable_execution_runner.scenarios import Scenario, crash, invocation_lost
from async_durable_execution_runner.strategies import fault_plans

# --- the thresholds the corpus sits on are the SDK's ----------------------------------------


def _context_result(outcome: Any, name: str) -> dict[str, Any]:
    return next(
        e["ContextSucceededDetails"]
        for e in outcome.history
        if e["EventType"] == "ContextSucceeded" and e.get("Name") == name
    )


@pytest.mark.parametrize(
    "fault", [None, crash(invocation=2, call=1), invocation_lost(invocation=2)]
)
def test_a_child_result_one_character_over_the_limit_is_rebuilt_on_replay(fault: Any) -> None:
    # 262,142 characters serialise to exactly 256 KiB (the quotes) and are checkpointed;
    # one more and the SDK checkpoints an empty payload and runs the child again on replay.
    payloads_seen = {}
    for name in ("child_result_at_limit", "child_result_over_limit"):
        spec = payloads.CORPUS[name]
        outcome = Scenario(
            handler=spec["handler"],
            input=spec["input"],
            faults=() if fault is None else (fault,),
        ).run()
        outcome.check()
        assert outcome.value["chars"] == spec["input"]["chars"]
        assert outcome.value["matches"] is True
        payloads_seen[name] = len(
            _context_result(outcome, "document")["Result"].get("Payload") or ""
        )
    assert payloads_seen == {"child_result_at_limit": 256 * 1024, "child_result_over_limit": 0}


def test_a_final_result_over_the_response_limit_is_checkpointed() -> None:
    spec = payloads.CORPUS["large_final_result"]
    outcome = Scenario(handler=spec["handler"], input=spec["input"]).run()
    outcome.check()
    # Over the SDK's response limit (so it checkpoints the result) and inside the service's
    # 6 MiB request limit (so the checkpoint is accepted): a 50-byte window.
    assert payloads.RESPONSE_LIMIT < len(outcome.result_json) <= 6 * 1024 * 1024
    assert len(outcome.value["body"]) == spec["input"]["chars"]


def test_an_invocation_lost_after_closing_the_execution_by_checkpoint_ends_it() -> None:
    # Runner bug 9: invocation 2 checkpointed the execution's SUCCEED (its result too large
    # to return), then died; the service re-invoked, the replay asked to close the execution
    # again, was refused ("it is SUCCEEDED"), and the execution FAILED with CheckpointError:
    # FaultNotMasked on a correct handler. The checkpointed outcome is durable: it ends it.
    spec = payloads.CORPUS["large_final_result"]
    outcome = Scenario(
        handler=spec["handler"], input=spec["input"], faults=(invocation_lost(invocation=2),)
    ).run()
    assert outcome.execution_status.value == "SUCCEEDED"
    assert len(outcome.value["body"]) == spec["input"]["chars"]
    outcome.check()


# --- SDK finding 11: a batch's summary generator is handed to its branches ------------------


@durable_execution
async def parallel_branch_over_the_limit(event: Any) -> list[str]:
    async def big() -> str:
        return await step(lambda: payloads._random_hex(300_000), name="body")

    async def small() -> str:
        return await step(lambda: payloads._random_hex(10), name="body")

    result = await parallel([big, small], name="reports")
    await wait(1, name="after")
    return [item.status.value for item in result.all]


@durable_execution
async def map_item_over_the_limit(event: Any) -> list[str]:
    async def page(chars: int) -> str:
        return await step(lambda: payloads._random_hex(chars), name="page")

    result = await durable_map(page, [300_000, 10], name="pages")
    await wait(1, name="after")
    return [item.status.value for item in result.all]


@pytest.mark.xfail(
    strict=True,
    reason="SDK finding 11: a parallel branch or map item whose result is over 256 KiB fails "
    "with AttributeError ('dict' object has no attribute 'total_count'): the batch's "
    "BatchResult summary generator is given to each branch's child context",
)
@pytest.mark.parametrize("handler", [parallel_branch_over_the_limit, map_item_over_the_limit])
def test_a_branch_result_over_the_checkpoint_limit_succeeds(handler: Any) -> None:
    outcome = Scenario(handler=handler).run()
    assert outcome.value == [BatchItemStatus.SUCCEEDED.value] * 2


# --- the corpus: correct handlers are never flagged -------------------------------------

EXAMPLES = int(os.environ.get("DURABLE_PAYLOADS_EXAMPLES", "0"))


@pytest.mark.filterwarnings("default::async_durable_execution_runner.oracles.KnownSdkIssueWarning")
@pytest.mark.parametrize("name", sorted(payloads.CORPUS))
def test_no_default_fault_plan_flags_a_payloads_handler(name: str) -> None:
    strategy = scenarios(payloads.CORPUS[name], faults=fault_plans())
    check_every(strategy, examples=EXAMPLES or 3, derandomize=not EXAMPLES)
