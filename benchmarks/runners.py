"""The runners under comparison, each behind one interface: ``once(workload) -> Outcome``.

- ``ours``       ``DurableFunctionTestRunner(handler=...).run(...)`` (virtual clock, defaults)
- ``ours_json``  the same with ``wire_format="json"``
- ``bundled``    the SDK's own local runner, ``create_local_runner(...)``, at
                 ``DURABLE_EXECUTION_TIME_SCALE=0``
- ``floor``      the SDK driven by ``benchmarks/floor.py``'s minimal service client

Extras, not in the default set, to see what individual costs of ours amount to:

- ``ours_per_update``     ``checkpoint_batching="per_update"`` (one update per checkpoint call,
                          the finer crash points the harness can ask for; ``ours`` keeps the
                          SDK's batching, as the baselines do)
- ``ours_handler_real_clock``  ``handler_clock="real"`` (no ``time_machine`` in the handler)
- ``ours_reused``         one ``DurableFunctionTestRunner`` for all executions of a
                          measurement instead of one per execution

Every call runs one whole execution with a fresh runner (as a test would), and returns the
decoded result, so the caller can check it before timing anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import async_durable_execution

from benchmarks.floor import run_floor
from benchmarks.workloads import Workload

# The bundled runner reads this on every timer; 0 makes waits and retry delays immediate.
os.environ["DURABLE_EXECUTION_TIME_SCALE"] = "0"

DEFAULT_RUNNERS = ("ours", "ours_json", "bundled", "floor")
EXTRA_RUNNERS = ("ours_per_update", "ours_handler_real_clock", "ours_reused")
ALL_RUNNERS = (*DEFAULT_RUNNERS, *EXTRA_RUNNERS)


def quiet_sdk_logging() -> None:
    """The SDK logs a traceback for every failed step attempt (retry workload): the same cost
    for every runner, but noise on the terminal; silence it for all runners alike."""
    logging.getLogger("async_durable_execution").setLevel(logging.CRITICAL)


_MISSING = object()
_FUNCTION_LIKE = (types.FunctionType, classmethod, staticmethod, property)


class SdkSnapshot:
    """The SDK's functions and methods as imported, before our runner patches any.

    Our runner wraps a few SDK methods process-wide the first time it runs (see
    ``_sdk_adapter.install_hooks``), and ``time.monotonic`` when it is imported; the wrappers
    do nothing outside our invocations but still cost a call layer. The baselines are timed
    on the SDK and the standard library as shipped: ``pristine()`` puts the original
    attributes back for the duration of a block and re-applies the patches after.
    """

    def __init__(self) -> None:
        self._saved: dict[tuple[Any, str], Any] = {}
        for name, module in list(sys.modules.items()):
            if module is None or not (
                name == "async_durable_execution" or name.startswith("async_durable_execution.")
            ):
                continue
            for attr, value in list(vars(module).items()):
                if isinstance(value, types.FunctionType):
                    self._saved[(module, attr)] = value
                elif isinstance(value, type) and value.__module__.startswith(
                    "async_durable_execution."
                ):
                    for cattr, cvalue in list(vars(value).items()):
                        if isinstance(cvalue, _FUNCTION_LIKE):
                            self._saved[(value, cattr)] = cvalue

    def patched(self) -> list[str]:
        """``owner.attr`` of every saved attribute that differs from the snapshot now."""
        return sorted(
            f"{getattr(owner, '__qualname__', getattr(owner, '__name__', owner))}.{attr}"
            for (owner, attr), orig in self._saved.items()
            if vars(owner).get(attr, _MISSING) is not orig
        )

    @contextlib.contextmanager
    def pristine(self) -> Iterator[None]:
        changed = []
        for (owner, attr), orig in self._saved.items():
            current = vars(owner).get(attr, _MISSING)
            if current is not orig:
                changed.append((owner, attr, current))
                setattr(owner, attr, orig)
        # Our package also answers ``time.monotonic()`` (and ``perf_counter()``) with a Python
        # function of its own
        # (the handler's clock, ``_sandbox/handler_clock.py``), which every turn of a stock
        # asyncio loop calls: the baselines get the machine's, as without our package.
        from async_durable_execution_runner._sandbox import handler_clock

        for attr, machine in (
            ("monotonic", handler_clock.real_monotonic),
            ("monotonic_ns", handler_clock.real_monotonic_ns),
            ("perf_counter", handler_clock.real_perf_counter),
            ("perf_counter_ns", handler_clock.real_perf_counter_ns),
        ):
            current = getattr(time, attr)
            if current is not machine:
                changed.append((time, attr, current))
                setattr(time, attr, machine)
        # From Python 3.12 the SDK starts its tasks with asyncio's eager factory, which our
        # package wraps process-wide (``virtual_loop.adopting``): the baselines get asyncio's.
        eager = getattr(asyncio, "eager_task_factory", None)
        original = getattr(eager, "__wrapped__", None)
        if original is not None:
            for owner in (asyncio, asyncio.tasks):
                changed.append((owner, "eager_task_factory", eager))
                owner.eager_task_factory = original
        try:
            yield
        finally:
            for owner, attr, current in changed:
                if current is _MISSING:
                    delattr(owner, attr)
                else:
                    setattr(owner, attr, current)


# Taken at import, before any of our runners has run (the SDK's functions as shipped).
SDK_SNAPSHOT = SdkSnapshot()
assert async_durable_execution  # imported above so that the snapshot sees the whole SDK


@dataclass
class Outcome:
    status: str
    value: Any
    invocations: int | None = None


class BenchRunner:
    name: str = ""

    def once(self, workload: Workload) -> Outcome:
        raise NotImplementedError

    def batch(self) -> contextlib.AbstractContextManager[None]:
        """Entered around a batch of executions (a timed round, a verification)."""
        return contextlib.nullcontext()

    def close(self) -> None:
        """Release what the runner holds across executions (an event loop)."""


class Ours(BenchRunner):
    def __init__(self, name: str, **options: Any) -> None:
        from async_durable_execution_runner import DurableFunctionTestRunner

        self.name = name
        self._cls = DurableFunctionTestRunner
        self._options = options

    def once(self, workload: Workload) -> Outcome:
        runner = self._cls(handler=workload.handler, **self._options)
        try:
            result = runner.run(input=workload.input, timeout=60)
        finally:
            runner.close()
        return Outcome(result.status.value, result.result_value, len(result.invocations))


class OursReused(BenchRunner):
    """One runner for every execution of a measurement (one per workload)."""

    def __init__(self, name: str) -> None:
        from async_durable_execution_runner import DurableFunctionTestRunner

        self.name = name
        self._cls = DurableFunctionTestRunner
        self._runners: dict[str, Any] = {}

    def once(self, workload: Workload) -> Outcome:
        runner = self._runners.get(workload.name)
        if runner is None:
            runner = self._runners[workload.name] = self._cls(handler=workload.handler)
        result = runner.run(input=workload.input, timeout=60)
        return Outcome(result.status.value, result.result_value, len(result.invocations))

    def close(self) -> None:
        for runner in self._runners.values():
            runner.close()
        self._runners.clear()


class _OnOneLoop(BenchRunner):
    """Drives an async runner on one event loop kept for the whole measurement."""

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()

    def _run(self, coro_fn: Callable[[], Any]) -> Any:
        return self._loop.run_until_complete(coro_fn())

    def batch(self) -> contextlib.AbstractContextManager[None]:
        return SDK_SNAPSHOT.pristine()

    def close(self) -> None:
        loop = self._loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()


class Bundled(_OnOneLoop):
    name = "bundled"

    def __init__(self) -> None:
        super().__init__()
        from async_durable_execution import create_local_runner

        self._create = create_local_runner

    def once(self, workload: Workload) -> Outcome:
        async def go() -> Any:
            async with self._create(
                handler=workload.handler, input=workload.input, timeout=60
            ) as r:
                return await r.run()

        result = self._run(go)
        value = json.loads(result.result) if result.result else None
        return Outcome(result.status.value, value)


class Floor(_OnOneLoop):
    name = "floor"

    def once(self, workload: Workload) -> Outcome:
        stats: dict[str, int] = {}
        output = self._run(lambda: run_floor(workload.handler, workload.input, stats=stats))
        raw = output.get("Result")
        return Outcome(output["Status"], json.loads(raw) if raw else None, stats["invocations"])


def make_runner(name: str) -> BenchRunner:
    if name == "ours":
        return Ours(name)
    if name == "ours_json":
        return Ours(name, wire_format="json")
    if name == "ours_per_update":
        return Ours(name, checkpoint_batching="per_update")
    if name == "ours_handler_real_clock":
        return Ours(name, handler_clock="real")
    if name == "ours_reused":
        return OursReused(name)
    if name == "bundled":
        return Bundled()
    if name == "floor":
        return Floor()
    msg = f"unknown runner {name!r}; choose from {', '.join(ALL_RUNNERS)}"
    raise ValueError(msg)


class WrongResult(AssertionError):
    pass


def verify(runner: BenchRunner, workload: Workload) -> Outcome:
    """Run once and check the outcome, so a broken runner cannot look fast."""
    with runner.batch():
        outcome = runner.once(workload)
    if outcome.status != "SUCCEEDED" or outcome.value != workload.expected:
        msg = (
            f"{runner.name} on {workload.name}: expected SUCCEEDED {workload.expected!r}, "
            f"got {outcome.status} {outcome.value!r}"
        )
        raise WrongResult(msg)
    return outcome
