"""What the emulator itself costs, with the SDK taken out of the execution.

    python benchmarks/overhead.py [--waits 10] [--rounds 9] [--seconds 0.4]

``run.py`` times the SDK and the emulator together, and this machine's timing moves by tens
of percent from run to run. Here the handler's entry is a script instead of the SDK: it
makes the service calls an SDK handler makes, and nothing else (no replay, no operation ids,
no batcher, no serialisation). What is left is the runner's own work, timed in CPU time on
a hot loop (its rounds agree to a percent or two within a process; between processes the
machine's speed moves every number, so read ours against the floor's of the same run):

- ``noop``: the first invocation returns ``SUCCEEDED``: an execution's fixed cost (the
  runner, the execution's start and end, the result) and one invocation;
- ``waits``: each invocation checkpoints the START of a one-hour ``WAIT`` and returns
  ``PENDING`` until ``--waits`` of them have completed; the service completes each wait and
  invokes again (``--waits`` + 1 invocations, ``--waits`` checkpoint calls).

The same script runs against ``benchmarks/floor.py``'s client, driven the way ``run_floor``
drives it (one ``run_until_complete`` per execution, the invocations awaited in turn). For
each: CPU microseconds per execution, and ``(waits - noop) / --waits``, the cost of one more
invocation with its checkpoint call.

Hot, these costs are lower than in situ (``stages.py``), where the SDK's work between the
runner's stages evicts the runner's code and data from the caches; they say what the
runner's code costs, not what it costs beside the SDK. Our runner is patched for this
measurement only: ``InProcessInvoker._entry`` hands out the script instead of the SDK's
bound handler. The script builds the SDK's own update objects from its private model module,
as ``floor.py`` does: this is a benchmark, not product code.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from async_durable_execution import durable_execution  # noqa: E402
from async_durable_execution._core import (  # noqa: E402
    InitialExecutionState,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
)
from async_durable_execution._core.models import WaitOptions  # noqa: E402

from benchmarks import floor as floor_module  # noqa: E402

Entry = Callable[[dict[str, Any], Any], Awaitable[dict[str, Any]]]


@durable_execution
async def _never_run(event: Any) -> None:
    """The handler our runner is given (it must be a durable one); the script runs instead."""


def script(client: Any, waits: int) -> Entry:
    """The handler's entry as a script of service calls on ``client``."""

    async def entry(event: dict[str, Any], context: Any) -> dict[str, Any]:
        operations = event["InitialExecutionState"].operations
        done = sum(
            1
            for op in operations
            if op.operation_type is OperationType.WAIT and op.status is OperationStatus.SUCCEEDED
        )
        if done >= waits:
            return {"Status": "SUCCEEDED", "Result": json.dumps(done)}
        update = OperationUpdate(
            operation_id=f"wait-{done}",
            operation_type=OperationType.WAIT,
            action=OperationAction.START,
            wait_options=WaitOptions(wait_seconds=3600),
        )
        await client.checkpoint(
            event["DurableExecutionArn"], event["CheckpointToken"], [update], None
        )
        return {"Status": "PENDING"}

    return entry


def ours_once(waits: int) -> int:
    from async_durable_execution_runner import DurableFunctionTestRunner

    runner = DurableFunctionTestRunner(handler=_never_run)
    try:
        result = runner.run(input={"n": 1}, timeout=60)
    finally:
        runner.close()
    if result.result_value != waits:
        msg = f"ours: expected {waits} waits done, got {result.status} {result.result_value!r}"
        raise AssertionError(msg)
    return len(result.invocations)


@contextlib.contextmanager
def _scripted_ours(waits_of: Callable[[], int]) -> Iterator[None]:
    """Our runner's invocations run the script (for ``waits_of()`` waits) while inside."""
    from async_durable_execution_runner._sandbox import invoker
    from async_durable_execution_runner._sandbox.service_client import shared_client

    original = invoker.InProcessInvoker._entry

    def entry(self: Any, handler: Any) -> tuple[Entry, None]:
        # (No layers above the script: it is the handler's whole coroutine entry.)
        return script(shared_client(self.wire_format), waits_of()), None

    invoker.InProcessInvoker._entry = entry  # type: ignore[method-assign]
    try:
        yield
    finally:
        invoker.InProcessInvoker._entry = original  # type: ignore[method-assign]


async def _floor_execution(waits: int) -> int:
    client = floor_module.FloorServiceClient(json.dumps({"n": 1}))
    entry = script(client, waits)
    context = SimpleNamespace(aws_request_id="floor", tenant_id=None)
    for invocation in range(1, waits + 2):
        client.token += 1
        event = {
            "DurableExecutionArn": floor_module.ARN,
            "CheckpointToken": str(client.token),
            "InitialExecutionState": InitialExecutionState(
                operations=list(client.operations.values()), next_marker=""
            ),
        }
        output = await entry(event, context)
        if output["Status"] != "PENDING":
            if json.loads(output["Result"]) != waits:
                msg = f"floor: expected {waits} waits done, got {output!r}"
                raise AssertionError(msg)
            return invocation
        client.fire_due_timers()
    msg = "floor: the script did not finish"
    raise AssertionError(msg)


def measure(
    waits: int, rounds: int, seconds: float, warm_up: int = 50
) -> dict[tuple[str, str], float]:
    """Median CPU microseconds per execution for (runner, workload)."""
    current = [0]  # the waits the script of the execution being run makes
    loop = asyncio.new_event_loop()

    def floor_once(k: int) -> int:
        return loop.run_until_complete(_floor_execution(k))

    runners: dict[str, Callable[[int], int]] = {"ours": ours_once, "floor": floor_once}
    workloads = {"noop": 0, "waits": waits}
    samples: dict[tuple[str, str], list[float]] = {}
    with contextlib.closing(loop), _scripted_ours(lambda: current[0]):
        for k in workloads.values():
            current[0] = k
            for run in runners.values():
                for _ in range(warm_up):
                    run(k)
        for i in range(rounds):
            order = list(runners.items()) if i % 2 == 0 else list(reversed(runners.items()))
            for workload, k in workloads.items():
                current[0] = k
                for name, run in order:
                    count = 0
                    start = time.process_time()
                    while True:
                        run(k)
                        count += 1
                        spent = time.process_time() - start
                        if spent >= seconds:
                            break
                    samples.setdefault((name, workload), []).append(spent / count * 1e6)
    return {key: statistics.median(values) for key, values in samples.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--waits", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--seconds", type=float, default=0.4)
    args = parser.parse_args(argv)
    result = measure(args.waits, args.rounds, args.seconds)
    print(
        f"CPU microseconds per execution, SDK replaced by a script (medians of {args.rounds} "
        "interleaved rounds)\n"
    )
    print(
        f"| runner | noop (1 invocation) | waits ({args.waits + 1} invocations) | per more "
        "invocation and checkpoint |"
    )
    print("|---|---:|---:|---:|")
    for name in ("ours", "floor"):
        noop, waits = result[(name, "noop")], result[(name, "waits")]
        print(f"| {name} | {noop:,.1f} | {waits:,.1f} | {(waits - noop) / args.waits:,.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
