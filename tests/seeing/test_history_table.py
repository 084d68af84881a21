"""``print(result)``: the compact history table, snapshot-tested.

Set ``UPDATE_SNAPSHOTS=1`` to rewrite a snapshot after a deliberate change, and review the
diff like any other.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from tests.replay import handlers as h
from tests.sdk_order import EAGER_TASKS

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._runner.table import offset
from async_durable_execution_runner.scenarios import Scenario, crash, step_exception

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _check(name: str, text: str) -> None:
    path = SNAPSHOTS / name
    if os.environ.get("UPDATE_SNAPSHOTS") or not path.exists():
        path.write_text(text + "\n", encoding="utf-8")
    assert text + "\n" == path.read_text(encoding="utf-8"), f"snapshot {name} changed"


def test_order_workflow_table() -> None:
    from orders import order_workflow, pricing_handler

    with DurableFunctionTestRunner(order_workflow, functions={"pricing": pricing_handler}) as r:
        arn = r.start({"id": 1, "quantity": 3})
        callback = r.wait_for_callback(arn, "approval")
        r.advance(90)  # the approver takes a minute and a half
        r.send_callback_success(callback, json.dumps({"approved": True}))
        result = r.wait_for_result(arn)
    _check("order_workflow.txt", str(result))


def test_retries_and_a_parallel_table() -> None:
    with DurableFunctionTestRunner(h.fan_out) as runner:
        result = runner.run({"run": "table"})
    # The parallel's branches checkpoint in another order with eager tasks (``sdk_order``).
    _check("fan_out.eager.txt" if EAGER_TASKS else "fan_out.txt", str(result))


def test_injected_faults_are_marked() -> None:
    scenario = Scenario(
        handler=h.fan_out,
        input={"run": "faults"},
        faults=(crash(invocation=2, call=1), step_exception(step=1, attempt=2)),
    )
    text = str(scenario.run().result)
    died = [line for line in text.splitlines() if "invocation 2" in line]
    assert died and "died: [injected] Runtime.ExitError" in died[0], text
    failed = [line for line in text.splitlines() if "InjectedStepError" in line]
    assert failed and all("[injected]" in line for line in failed), text
    plain = [line for line in text.splitlines() if "first attempt fails" in line]
    assert plain and not any("[injected]" in line for line in plain), text


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [
        (0, "+0s"),
        (0.25, "+0.25s"),
        (59, "+59s"),
        (65, "+1m05s"),
        (3600, "+1h00m"),
        (3630, "+1h00m30s"),
        (86_400 + 3 * 3600, "+1d03h00m"),
    ],
)
def test_offsets_read_like_durations(seconds: float, shown: str) -> None:
    assert offset(seconds) == shown
