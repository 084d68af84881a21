"""Record the replay gate's committed corpus, by hand: ``python tests/replay/record_corpus.py``.

Each file is an execution this runner recorded, saved in the corpus format with the handler
to replay it against. ``shipping_cli_export.json`` is the same execution written the way
``aws lambda get-durable-execution-history`` prints one (a bare ``{"Events": ...}`` object,
ISO-8601 timestamps), to keep that reading path honest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "examples")]

from async_durable_execution_runner import (  # noqa: E402
    DurableFunctionTestRunner,
    InvokeResult,
    Triage,
    save_history,
)
from async_durable_execution_runner._runner.result import DurableFunctionTestResult  # noqa: E402

CORPUS = Path(__file__).parent / "corpus"
FOUND = "2026-12-03"


def record_shipping() -> DurableFunctionTestResult:
    from tests.replay.handlers import shipping

    with DurableFunctionTestRunner(shipping) as runner:
        arn = runner.start({"id": 7})
        callback = runner.wait_for_callback(arn, "pickup")
        runner.send_callback_success(callback, json.dumps({"carrier": "ups"}))
        return runner.wait_for_result(arn)


def record_fan_out() -> DurableFunctionTestResult:
    from tests.replay.handlers import fan_out

    with DurableFunctionTestRunner(fan_out) as runner:
        return runner.run({"run": "corpus"})


def record_order() -> DurableFunctionTestResult:
    from orders import order_workflow, pricing_handler

    with DurableFunctionTestRunner(order_workflow, functions={"pricing": pricing_handler}) as r:
        arn = r.start({"id": 1, "quantity": 3})
        callback = r.wait_for_callback(arn, "approval")
        r.send_callback_success(callback, json.dumps({"approved": True}))
        return r.wait_for_result(arn)


def record_order_rejected_price() -> DurableFunctionTestResult:
    from orders import order_workflow

    failure = InvokeResult(status="FAILED", error=None)
    with DurableFunctionTestRunner(order_workflow, functions={"pricing": failure}) as r:
        arn = r.start({"id": 2, "quantity": 1})
        callback = r.wait_for_callback(arn, "approval")
        r.send_callback_success(callback, json.dumps({"approved": True}))
        return r.wait_for_result(arn)


def _iso(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _iso(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_iso(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def main() -> None:
    CORPUS.mkdir(exist_ok=True)
    shipping = record_shipping()
    save_history(
        CORPUS / "shipping.json",
        shipping,
        handler="tests.replay.handlers:shipping",
        description="a shipping workflow: ids drawn in steps, a child context, a one-hour "
        "wait, a pickup callback answered after the wait",
        triage=Triage(found=FOUND),
    )
    export = {"Events": _iso(shipping.history)}
    (CORPUS / "shipping_cli_export.json").write_text(
        json.dumps(export, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    save_history(
        CORPUS / "fan_out.json",
        record_fan_out(),
        handler="tests.replay.handlers:fan_out",
        description="a retried step, then a parallel of three branches with waits",
        triage=Triage(found=FOUND),
    )
    save_history(
        CORPUS / "order_approved.json",
        record_order(),
        handler="examples/orders.py:order_workflow",
        description="the README's order: approval callback, chained invoke, one-hour wait",
        triage=Triage(found=FOUND),
    )
    save_history(
        CORPUS / "order_pricing_failed.json",
        record_order_rejected_price(),
        handler="examples/orders.py:order_workflow",
        kind="scenario",
        description="the pricing function fails: the order fails with it",
        triage=Triage(found=FOUND, seed="hand-written", oracle="outcome", fixed_in=None),
    )


if __name__ == "__main__":
    main()
