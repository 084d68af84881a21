"""Whether the runners' own costs depend on the CPU caches: ``retry_2`` under cache pressure.

    python benchmarks/cache_pressure.py [--mib 0,2,8] [--rounds 7] [--executions 150]

``split.py`` splits an execution's CPU time three ways: the SDK's own work (its handler
entry minus the service's answers), the service's answers, and the rest (for ours the
runner, the service's loop and each invocation's set-up and tear-down; for the floor its
re-invocation loop). This does the same for ``retry_2`` (a step that fails twice, then
succeeds: three invocations, little SDK work each) and for twins of it whose step body also
reads ``N`` MiB of memory on every attempt, as a real step body touches data of its own. The
reads evict the CPU caches between one invocation's service work and the next's.

The SDK's share grows by the reads themselves, alike under both runners. What a runner's own
parts (the rest and the service's answers) gain is its code and data fetched again from
memory instead of the caches. If one runner's own work were especially sensitive to cold
caches (many small functions and objects, each a miss) its parts would grow by more, relative
to what they cost at ``N = 0``, than the other's; if they grow alike, the difference between
the runners is the work itself. ``N = 0`` is ``retry_2``, where the SDK's own work between
invocations is the only pressure. Medians over interleaved rounds, CPU microseconds per
execution.
"""

from __future__ import annotations

import argparse
import array
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from async_durable_execution import (  # noqa: E402
    durable_callable,
    durable_execution,
    step,
)

from benchmarks import split  # noqa: E402
from benchmarks.workloads import BY_NAME, RETRY, Workload, fail_twice  # noqa: E402

_CACHE_LINE_WORDS = 8  # 64-byte lines of 8-byte words

#: The memory each twin's step body reads, by MiB: built once, read every attempt.
_BUFFERS: dict[int, array.array[int]] = {}


def _read(mib: int) -> int:
    """Read one word of every cache line of ``mib`` MiB (the sum keeps the reads honest)."""
    return sum(_BUFFERS[mib][::_CACHE_LINE_WORDS])


def pressed_retry(mib: int) -> Workload:
    """``retry_2`` whose step body reads ``mib`` MiB on every attempt (``mib == 0``:
    ``retry_2`` itself)."""
    if mib == 0:
        return BY_NAME["retry_2"]
    _BUFFERS.setdefault(mib, array.array("q", bytes(mib << 20)))

    @durable_callable
    async def flaky_reading() -> int:
        _read(mib)
        return fail_twice()

    @durable_execution
    async def retry_reading(event: Any) -> int:
        return await step(flaky_reading(), name="flaky", retry_strategy=RETRY)

    return Workload(
        f"retry_2_reading_{mib}mib",
        f"retry_2, each attempt reading {mib} MiB",
        retry_reading,
        {"n": 1},
        3,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", default="0,2,8", help="comma-separated MiB read per attempt")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--executions", type=int, default=150)
    args = parser.parse_args(argv)
    sizes = [int(n) for n in args.mib.split(",")]
    workloads = [pressed_retry(mib) for mib in sizes]
    for workload in workloads:
        BY_NAME.setdefault(workload.name, workload)  # ``split.measure`` looks them up by name
    names = [w.name for w in workloads]
    medians = split.measure(names, ["ours", "floor"], args.rounds, args.executions)
    print("CPU microseconds per execution (median over rounds), retry_2 with its step body")
    print("reading N MiB per attempt; in brackets, the growth over N = 0")
    print()
    print("| N (MiB) | part | ours | floor | ours - floor |")
    print("|---:|---|---:|---:|---:|")
    base = names[0]
    for mib, name in zip(sizes, names, strict=True):
        for part in split.PARTS:
            ours, floor = medians[(name, "ours", part)], medians[(name, "floor", part)]
            cells = [f"{ours:,.0f}", f"{floor:,.0f}"]
            if name != base:
                cells[0] += f" (+{ours - medians[(base, 'ours', part)]:,.0f})"
                cells[1] += f" (+{floor - medians[(base, 'floor', part)]:,.0f})"
            print(f"| {mib} | {part} | {cells[0]} | {cells[1]} | {ours - floor:+,.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
