"""What the SQLite store costs: executions through ``DurableFunctionTestRunner`` in memory and
with a ``SqliteStore``, same workload, same run.

The workload keeps several executions open at once (each parked on a callback) while others
checkpoint, so a store that rewrites every execution per save pays for the open ones too::

    .venv/bin/python benchmarks/store_writes.py                  # 40 executions x 50 steps
    .venv/bin/python benchmarks/store_writes.py --executions 80 --steps 100

Reports seconds per execution for each mode, the ratio store / memory, and the bytes written
to the file per checkpoint. Run it against another checkout's sources to compare stores
(``PYTHONPATH=/other/checkout/src``): the store's interface is the same.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if "PYTHONPATH" not in os.environ:
    sys.path[:0] = [str(ROOT / "src")]

from async_durable_execution import create_callback, durable_execution, step  # noqa: E402

from async_durable_execution_runner import DurableFunctionTestRunner  # noqa: E402
from async_durable_execution_runner._store import SqliteStore  # noqa: E402


async def _value(i: int) -> int:
    return i


@durable_execution
async def many_steps(event: dict[str, Any]) -> int:
    total = 0
    for i in range(int(event["steps"])):
        total += int(await step(lambda i=i: _value(i), name=f"s{i}"))
    if event.get("park"):
        callback = await create_callback(name="park")
        await callback.result()
    return total


def run(executions: int, steps: int, store: SqliteStore | None) -> float:
    with DurableFunctionTestRunner(
        many_steps, store=store, checkpoint_batching="per_update"
    ) as runner:
        started = time.perf_counter()
        parked = []
        for n in range(executions):
            if n % 2 == 0:  # every other execution stays open, parked on a callback
                arn = runner.start({"steps": steps, "park": True})
                parked.append((arn, runner.wait_for_callback(arn)))
            else:
                runner.run({"steps": steps}, timeout=600)
        for arn, callback_id in parked:
            runner.send_callback_success(callback_id, "null")
            runner.wait_for_result(arn, timeout=600)
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--executions", type=int, default=40)
    parser.add_argument("--steps", type=int, default=50)
    args = parser.parse_args()
    checkpoints = args.executions * (args.steps * 2 + 1)  # START and SUCCEED per step
    memory = run(args.executions, args.steps, None)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = SqliteStore(path)
        stored = run(args.executions, args.steps, store)
        store.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir() if p.is_file())
    per = 1000 / args.executions
    print(f"{args.executions} executions x {args.steps} steps (about {checkpoints} checkpoints)")
    print(f"memory: {memory * per:8.2f} ms per execution")
    print(f"sqlite: {stored * per:8.2f} ms per execution ({stored / memory:.1f}x memory)")
    print(f"store: {1e6 * (stored - memory) / checkpoints:.0f} us per checkpoint; file {size} B")
    return 0


if __name__ == "__main__":
    sys.exit(main())
