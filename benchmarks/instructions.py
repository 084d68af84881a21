"""Instructions per execution, counted by valgrind: a measure other processes cannot disturb.

    python benchmarks/instructions.py [--workloads seed,retry_2] [--runners ours,floor]

Wall-clock and CPU-time rates (``run.py``) move with the load of a shared machine; the
number of instructions the process executes does not. For each runner and workload this
runs 5 and then 25 executions (after the same warm-up, whose garbage is collected and
frozen, and with the same hash seed) under ``valgrind --tool=cachegrind`` and reports the
difference divided by 20: the instructions of one execution, start-up and imports cancelled
out. It counts work, not time: thread hand-offs, cache misses and waiting
do not show. Needs ``valgrind`` on the PATH; takes about a minute per cell.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The warm-up's garbage is collected and what survives it frozen, in both children alike: a
# full collection scans every object in memory, and one that fell inside one child's timed
# executions but not the other's moved a count by up to a whole execution's worth.
_CHILD = """
import gc, sys
sys.path.insert(0, {root!r})
from benchmarks.runners import make_runner, quiet_sdk_logging
from benchmarks.workloads import BY_NAME
quiet_sdk_logging()
runner, workload = make_runner({runner!r}), BY_NAME[{workload!r}]
with runner.batch():
    for _ in range(5):
        runner.once(workload)
    gc.collect()
    gc.freeze()
    for _ in range({count}):
        runner.once(workload)
"""


def instructions(runner: str, workload: str, count: int) -> int:
    code = _CHILD.format(root=str(ROOT), runner=runner, workload=workload, count=count)
    # The same hash seed in every child: string hashes decide dict and set layouts, and
    # with them the instructions of start-up and imports that the difference cancels.
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(
        [
            "valgrind",
            "--tool=cachegrind",
            "--cache-sim=no",
            "--cachegrind-out-file=/dev/null",
            sys.executable,
            "-c",
            code,
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    match = re.search(r"I\s+refs:\s+([\d,]+)", done.stderr)
    if match is None:
        msg = f"no instruction count in valgrind's output:\n{done.stderr[-2000:]}"
        raise RuntimeError(msg)
    return int(match.group(1).replace(",", ""))


def per_execution(runner: str, workload: str) -> float:
    return (instructions(runner, workload, 25) - instructions(runner, workload, 5)) / 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="seed,steps_100,map_20,waits_10h,retry_2")
    parser.add_argument("--runners", default="ours,floor")
    args = parser.parse_args()
    runners = args.runners.split(",")
    header = " | ".join(f"{r} (M instr)" for r in runners)
    ratios = " | ".join(f"{runners[-1]} / {r}" for r in runners[:-1])
    print(f"| workload | {header} | {ratios} |")
    print("|---|" + "---:|" * (2 * len(runners) - 1))
    for workload in args.workloads.split(","):
        counts = [per_execution(r, workload) for r in runners]
        cells = " | ".join(f"{c / 1e6:.2f}" for c in counts)
        rel = " | ".join(f"{counts[-1] / c:.2f}" for c in counts[:-1])
        print(f"| {workload} | {cells} | {rel} |", flush=True)


if __name__ == "__main__":
    main()
