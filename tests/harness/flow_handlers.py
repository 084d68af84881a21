"""Handlers for ``test_flow_corpus.py``: flow definitions that read the clock or draw a
number while they run (synchronously, on every replay, where the SDK refuses to name a
durable context)."""

from __future__ import annotations

import random
import time
from typing import Any

from async_durable_execution import (
    durable_dag,
    durable_execution,
    durable_node,
    flow,
    node,
    step,
)


async def _value(value: Any) -> Any:
    return value


@durable_node
async def _count() -> int:
    return int(await step(lambda: _value(3), name="count"))


@durable_dag
def _timed() -> Any:
    # How long defining the graph takes, for a debug line: a duration, not a decision.
    started = time.perf_counter()
    counted = node(_count(), name="count")
    _ = time.perf_counter() - started
    return counted.result


@durable_dag
def _drawn() -> Any:
    # A draw while the graph is defined differs on every replay: the handler's own code.
    _ = random.random()
    return node(_count(), name="count").result


@durable_execution
async def definition_timed(event: Any) -> str:
    result = await flow(_timed(), name="timed")
    return str(result.outputs[0].status.value)


@durable_execution
async def definition_draws(event: Any) -> str:
    result = await flow(_drawn(), name="drawn")
    return str(result.outputs[0].status.value)
