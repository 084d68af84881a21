"""Where our runner's own time goes, stage by stage, at native speed.

    python benchmarks/stages.py [--workloads seed,retry_2,waits_10h] [--executions 300]

``split.py`` says how much of an execution's CPU time is the runner's ("rest"); this takes
that part apart. Each stage of our runner (the runner's construction and ``run()``, the
service's loop, an invocation's set-up in the service and in the invoker, the time travel,
the event-loop run around the SDK's entry, the leftover-task sweep, reading the output, the
invocation's record) is timed with ``perf_counter_ns`` on entry and exit, and each gets its
*exclusive* time: nested stages are subtracted from the stage around them. Profilers
(cProfile, settrace) inflate short Python calls several-fold; these wrappers add about a
microsecond per stage entered, so the table is close to what the stages cost untraced.

The executions run their service loop on the calling thread (the main thread), as the
runner does for a test's call, so that one clock sees every stage; the last columns time the
same executions with the loop handed to the invoker's worker thread (as the runner does for a
caller on any other thread, or through the async twins) and on the calling thread,
interleaved, for what the hand-off would cost. Medians over rounds, microseconds.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import functools
import inspect
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.runners import make_runner, quiet_sdk_logging  # noqa: E402
from benchmarks.workloads import BY_NAME  # noqa: E402

_now = time.perf_counter_ns


class _Ledger:
    """Exclusive nanoseconds per stage: a stack of open stages, each charged until a nested
    stage opens or it closes."""

    def __init__(self) -> None:
        self.spent: collections.Counter[str] = collections.Counter()
        self.entered: collections.Counter[str] = collections.Counter()
        self._open: list[list[Any]] = []

    def enter(self, stage: str) -> None:
        now = _now()
        if self._open:
            top = self._open[-1]
            self.spent[top[0]] += now - top[1]
        self._open.append([stage, now])
        self.entered[stage] += 1

    def leave(self) -> None:
        now = _now()
        stage, since = self._open.pop()
        self.spent[stage] += now - since
        if self._open:
            self._open[-1][1] = now

    def clear(self) -> None:
        self.spent.clear()
        self.entered.clear()


LEDGER = _Ledger()


def _timed(stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*args: Any, **kwargs: Any) -> Any:
            LEDGER.enter(stage)
            try:
                return await fn(*args, **kwargs)
            finally:
                LEDGER.leave()

        return timed_async

    @functools.wraps(fn)
    def timed(*args: Any, **kwargs: Any) -> Any:
        LEDGER.enter(stage)
        try:
            return fn(*args, **kwargs)
        finally:
            LEDGER.leave()

    return timed


#: (module, attribute path, stage name): what is timed. While the SDK's entry coroutine is
#: suspended the loop runs the SDK's other tasks (its checkpoint batcher), charged to the
#: entry, which is what ``split.py`` calls the SDK's share too.
_STAGES = (
    ("_runner.local", "DurableFunctionTestRunner.__init__", "runner: construction"),
    ("_runner.local", "DurableFunctionTestRunner.run", "runner: run() and result"),
    ("_runner.local", "DurableFunctionTestRunner.close", "runner: close"),
    ("_service.lifecycle", "Lifecycle.start", "service: execution start"),
    ("_service.lifecycle", "Lifecycle.finish", "service: execution end"),
    ("_service.executor", "Executor.run_until", "service: loop"),
    ("_service.executor", "Executor._next_item", "service: next due item"),
    ("_service.invocations", "Invocations.invoke", "invocation: service set-up"),
    ("_service.session", "InvocationSession.__init__", "invocation: session"),
    ("_service.invocations", "Invocations._complete", "invocation: outcome applied"),
    ("_service.invocations", "Invocations._record_end", "invocation: record and event"),
    ("_sandbox.invoker", "InProcessInvoker.invoke", "invocation: invoker set-up"),
    ("_sandbox.invoker", "invocation_event", "invocation: state page for the SDK"),
    ("_sandbox.invoker", "_start_travel", "invocation: time travel"),
    ("_sandbox.invoker", "_stop_travel", "invocation: time travel"),
    ("_sandbox.invoker", "settle", "invocation: leftover-task sweep"),
    ("_sandbox.invoker", "read_output", "invocation: output read"),
    ("_sandbox.invoker", "InProcessInvoker._drive", "invocation: event-loop run"),
    ("_sandbox.service_client", "InMemoryServiceClient.checkpoint", "service calls"),
    ("_sandbox.service_client", "InMemoryServiceClient.get_execution_state", "service calls"),
)


def _install() -> None:
    import importlib

    from async_durable_execution_runner import _sdk_adapter
    from async_durable_execution_runner._sandbox import invoker

    for module_name, path, stage in _STAGES:
        owner: Any = importlib.import_module(f"async_durable_execution_runner.{module_name}")
        *outer, name = path.split(".")
        for part in outer:
            owner = getattr(owner, part)
        setattr(owner, name, _timed(stage, getattr(owner, name)))

    original_bind = _sdk_adapter.bind_client

    def bind_client(handler: Callable[..., Any], client: object) -> Any:
        return _timed("sdk (its handler entry)", original_bind(handler, client))

    _sdk_adapter.bind_client = bind_client  # type: ignore[assignment]
    invoker.adapter.bind_client = bind_client  # type: ignore[attr-defined]
    # Handlers are bound once per process: those bound before this wrapper was in place
    # are bound again, through it.
    for bound in invoker._BOUND.values():
        bound.clear()


@contextlib.contextmanager
def _handed_off(on: bool) -> Iterator[None]:
    """Run ``drive``'s loop on the invoker's worker thread, as it runs for a caller that is
    not the main thread, instead of on the calling thread."""
    from async_durable_execution_runner._sandbox import hang_alarm

    if not on:
        yield
        return
    original = hang_alarm.usable
    hang_alarm.usable = lambda: False
    try:
        yield
    finally:
        hang_alarm.usable = original


def measure(
    workloads: list[str], rounds: int, executions: int
) -> tuple[dict[tuple[str, str], float], dict[tuple[str, str], float], dict[str, int]]:
    """Per workload: median exclusive us per execution by stage, median CPU us per execution
    with and without the hand-off ("handed off", "calling thread"), invocations."""
    quiet_sdk_logging()
    runner = make_runner("ours")
    _install()
    stage_samples: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    mode_samples: dict[tuple[str, str], list[float]] = collections.defaultdict(list)
    invocations: dict[str, int] = {}
    try:
        for workload_name in workloads:
            workload = BY_NAME[workload_name]
            with runner.batch():
                for _ in range(20):
                    invocations[workload_name] = runner.once(workload).invocations
                for _ in range(rounds):
                    for mode, here in (("handed off", False), ("calling thread", True)):
                        with _handed_off(not here):
                            LEDGER.clear()
                            start = time.process_time()
                            for _ in range(executions):
                                runner.once(workload)
                            cpu = (time.process_time() - start) / executions * 1e6
                        mode_samples[(workload_name, mode)].append(cpu)
                        if here:
                            for stage, ns in LEDGER.spent.items():
                                stage_samples[(workload_name, stage)].append(ns / executions / 1000)
    finally:
        runner.close()
    stages = {key: statistics.median(values) for key, values in stage_samples.items()}
    modes = {key: statistics.median(values) for key, values in mode_samples.items()}
    return stages, modes, invocations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workloads", default="seed,retry_2,waits_10h")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--executions", type=int, default=100)
    args = parser.parse_args(argv)
    workloads = args.workloads.split(",")
    stages, modes, invocations = measure(workloads, args.rounds, args.executions)
    names = sorted(
        {stage for _, stage in stages},
        key=lambda s: -max(stages.get((w, s), 0.0) for w in workloads),
    )
    print("Exclusive microseconds per execution by stage, loop on the calling thread")
    print("(median over rounds; in brackets, per invocation)")
    print()
    print("| stage | " + " | ".join(workloads) + " |")
    print("|---|" + "---:|" * len(workloads))
    for stage in names:
        cells = []
        for workload in workloads:
            value = stages.get((workload, stage), 0.0)
            cells.append(f"{value:,.1f} ({value / invocations[workload]:,.1f})")
        print(f"| {stage} | " + " | ".join(cells) + " |")
    print()
    print("CPU microseconds per execution, with and without the worker-thread hand-off")
    print()
    print("| workload | invocations | handed off | calling thread | hand-off costs |")
    print("|---|---:|---:|---:|---:|")
    for workload in workloads:
        off, here = modes[(workload, "handed off")], modes[(workload, "calling thread")]
        print(
            f"| {workload} | {invocations[workload]} | {off:,.0f} | {here:,.0f} "
            f"| {off - here:,.0f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
