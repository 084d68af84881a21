"""A finished runner is freed by reference counting: no reference cycle keeps its invoker,
client, cached operations or executions alive until the garbage collector runs (every test
and every benchmark execution builds a runner)."""

from __future__ import annotations

import gc
from typing import Any

import pytest
from async_durable_execution import durable_execution, step, wait

from async_durable_execution_runner import DurableFunctionTestRunner


async def _double(value: int) -> int:
    return value * 2


@durable_execution
async def handler(event: Any) -> int:
    first = await step(lambda: _double(21), name="first")
    await wait(1, name="pause")
    return first


def _is_ours(o: object) -> bool:
    # Some C types' ``__module__`` is a descriptor, not a string.
    module = getattr(type(o), "__module__", None)
    return isinstance(module, str) and module.startswith("async_durable_execution_runner")


def _ours(garbage: list[Any], existing: set[int]) -> list[str]:
    """Our objects in ``garbage`` that the measured run created: garbage of earlier tests in
    the same process (a server whose thread ended meanwhile) existed before it started."""
    return sorted({type(o).__qualname__ for o in garbage if _is_ours(o) and id(o) not in existing})


@pytest.mark.usefixtures("earlier_garbage_collected")
def test_a_finished_runner_leaves_no_cycles() -> None:
    def once() -> None:
        with DurableFunctionTestRunner(handler=handler) as runner:
            result = runner.run(input=None, timeout=30)
            assert result.result_value == 42

    once()  # warm: the worker thread and the SDK's wrappers exist before counting
    gc.collect()
    flags = gc.get_debug()
    enabled = gc.isenabled()
    gc.disable()
    try:
        existing = {id(o) for o in gc.get_objects() if _is_ours(o)}
        once()
        gc.set_debug(gc.DEBUG_SAVEALL)
        gc.collect()
        found = _ours(gc.garbage, existing)
    finally:
        gc.set_debug(flags)
        gc.garbage.clear()
        if enabled:
            gc.enable()
    assert found == []
