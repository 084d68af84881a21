"""Handlers for ``test_sandbox_threads.py``: correct handlers whose module state runs a thread
of its own, as telemetry and client libraries do (a batch exporter's worker, a metrics
flusher): started when the module is imported, or on first use, and waking every
``FLUSH_EVERY`` seconds for the life of the process.

Each sandbox (a cold start imports the module afresh) starts its own; ``thread_registry``,
which no sandbox re-imports, keeps a worker every sandbox shares.
"""

from __future__ import annotations

import threading
from typing import Any

import thread_registry
from async_durable_execution import durable_execution, step, wait

__all__ = ["FLUSHER", "REGISTRY", "imported_flusher", "lazy_flusher", "shared_worker"]

#: How often a flusher wakes (real seconds): the delay before a retired sandbox's flusher ends.
FLUSH_EVERY = 0.05


class Flusher:
    """A flusher thread: wakes every ``FLUSH_EVERY`` seconds and sends what was buffered."""

    def __init__(self, name: str) -> None:
        self.buffer: list[str] = []
        self.sent: list[str] = []
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.wait(FLUSH_EVERY):
            try:
                self.sent.extend(self.buffer)
                self.buffer.clear()
            except Exception:
                continue


#: Started at import: a cold sandbox starts its own.
FLUSHER = Flusher("imported-flusher")
#: Started on the first invocation that needs one (in the sandbox that ran it).
_LAZY: list[Flusher] = []
#: The library's global client, shared by every sandbox (the registry is not re-imported).
REGISTRY = thread_registry.REGISTRY


@durable_execution
async def imported_flusher(event: Any) -> dict[str, Any]:
    async def record(item: str) -> str:
        FLUSHER.buffer.append(item)
        return item.upper()

    first = await step(lambda: record("lamp"), name="first")
    await wait(60, name="between")
    second = await step(lambda: record("desk"), name="second")
    return {"first": first, "second": second}


@durable_execution
async def lazy_flusher(event: Any) -> dict[str, Any]:
    async def record(item: str) -> str:
        if not _LAZY:
            _LAZY.append(Flusher("lazy-flusher"))
        _LAZY[0].buffer.append(item)
        return item.upper()

    first = await step(lambda: record("lamp"), name="first")
    await wait(60, name="between")
    second = await step(lambda: record("desk"), name="second")
    return {"first": first, "second": second}


@durable_execution
async def shared_worker(event: Any) -> dict[str, Any]:
    """The library's worker is first needed after the wait: in a cold sandbox, when the
    re-invocation is cold."""

    async def record(item: str) -> str:
        REGISTRY.submit(item)
        return item.upper()

    await wait(60, name="before")
    first = await step(lambda: record("lamp"), name="first")
    return {"first": first}
