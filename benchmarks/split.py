"""Where an execution's CPU time goes: the SDK's own work, the service's answers, the rest.

    python benchmarks/split.py [--workloads seed,retry_2] [--rounds 10] [--executions 150]

For our runner and the floor, in interleaved rounds in one process, each execution's process
CPU time is split three ways by timing (per-thread CPU clock) two boundaries every runner
shares:

- **sdk**: inside the SDK's handler entry (``_async_handler``: replay, the operations, the
  checkpoint batcher, serialisation), minus the time spent in the service client's calls;
- **service calls**: inside the client's ``checkpoint`` and ``get_execution_state``;
- **rest**: everything else: for ours the runner, the service's loop, invocation set-up and
  tear-down, the deadline alarm and the result; for the floor its re-invocation loop.

``benchmarks/opcodes.py`` shows that the SDK executes the same bytecodes under both runners;
this shows what those bytecodes cost under each. Medians over rounds, microseconds per
execution. The boundaries are timed by wrapping them, which adds a little to every column.
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import floor as floor_module  # noqa: E402
from benchmarks.runners import make_runner, quiet_sdk_logging  # noqa: E402
from benchmarks.workloads import BY_NAME  # noqa: E402

_thread_time = time.thread_time
_spent: collections.Counter[str] = collections.Counter()


def _timed(label: str, fn: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def timed(*args: Any, **kwargs: Any) -> Any:
        # Nothing else runs on the loop while the SDK awaits these (neither client yields
        # unless a fault hook asks it to), so the thread's CPU clock is theirs alone.
        start = _thread_time()
        try:
            return await fn(*args, **kwargs)
        finally:
            _spent[label] += _thread_time() - start

    return timed


def _install() -> None:
    """Wrap the shared boundaries: the SDK's handler entry and the service clients."""
    from async_durable_execution_runner import _sdk_adapter
    from async_durable_execution_runner._sandbox import invoker
    from async_durable_execution_runner._sandbox.service_client import InMemoryServiceClient

    for cls in (InMemoryServiceClient, floor_module.FloorServiceClient):
        for name in ("checkpoint", "get_execution_state"):
            setattr(cls, name, _timed("client", getattr(cls, name)))

    original_bind = _sdk_adapter.bind_client

    def bind_client(handler: Callable[..., Any], client: object) -> Any:
        return _timed("handler", original_bind(handler, client))

    _sdk_adapter.bind_client = bind_client  # type: ignore[assignment]
    # Handlers are bound once per process: those bound before this wrapper was in place
    # are bound again, through it.
    for bound in invoker._BOUND.values():
        bound.clear()

    original_floor_bind = floor_module._bind_service_client_to_handler

    class _Bound:
        def __init__(self, entry: Callable[..., Awaitable[Any]]) -> None:
            self._async_handler = entry

    def floor_bind(handler: Callable[..., Any], client: object) -> Any:
        bound = original_floor_bind(handler, client)
        return _Bound(_timed("handler", bound._async_handler))

    floor_module._bind_service_client_to_handler = floor_bind  # type: ignore[assignment]


def measure(
    workloads: list[str], runners: list[str], rounds: int, executions: int
) -> dict[tuple[str, str, str], float]:
    """Median microseconds per execution for (workload, runner, part)."""
    quiet_sdk_logging()
    _install()
    made = {name: make_runner(name) for name in runners}
    samples: dict[tuple[str, str, str], list[float]] = collections.defaultdict(list)
    try:
        for workload_name in workloads:
            workload = BY_NAME[workload_name]
            for runner in made.values():
                with runner.batch():
                    for _ in range(20):
                        runner.once(workload)
            for _ in range(rounds):
                for name, runner in made.items():
                    with runner.batch():
                        _spent.clear()
                        start = time.process_time()
                        for _ in range(executions):
                            runner.once(workload)
                        total = (time.process_time() - start) / executions * 1e6
                    handler = _spent["handler"] / executions * 1e6
                    client = _spent["client"] / executions * 1e6
                    for part, value in (
                        ("total", total),
                        ("sdk", handler - client),
                        ("service calls", client),
                        ("rest", total - handler),
                    ):
                        samples[(workload_name, name, part)].append(value)
    finally:
        for runner in made.values():
            runner.close()
    return {key: statistics.median(values) for key, values in samples.items()}


PARTS = ("total", "sdk", "service calls", "rest")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="seed,steps_100,map_20,waits_10h,retry_2")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--executions", type=int, default=100)
    args = parser.parse_args(argv)
    workloads = args.workloads.split(",")
    medians = measure(workloads, ["ours", "floor"], args.rounds, args.executions)
    print("CPU microseconds per execution (median over rounds; ours / floor: the slowdown)")
    print()
    header = " | ".join(f"{part}: ours | floor | ours/floor" for part in PARTS)
    print(f"| workload | {header} |")
    print("|---|" + "---:|" * (3 * len(PARTS)))
    for workload in workloads:
        cells = []
        for part in PARTS:
            ours, floor = medians[(workload, "ours", part)], medians[(workload, "floor", part)]
            ratio = f"{ours / floor:.2f}" if floor > 0 else "-"
            cells.append(f"{ours:,.0f} | {floor:,.0f} | {ratio}")
        print(f"| {workload} | {' | '.join(cells)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
