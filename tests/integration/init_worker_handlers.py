"""A module whose import starts a worker thread that takes a moment to reach its first wait
(``test_outside_waits.py``): a cold sandbox imports it afresh."""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from async_durable_execution import durable_execution, step, wait

_JOBS: queue.Queue[tuple[str, Callable[[str], object]]] = queue.Queue()


def _work_forever() -> None:
    time.sleep(0.2)  # connecting, before the first job is taken
    while True:
        key, done = _JOBS.get()
        time.sleep(0.01)  # the transfer
        done(f"etag-{key}")


threading.Thread(target=_work_forever, name="init-worker", daemon=True).start()


@durable_execution
async def uploads_through_the_init_worker(event: Any) -> list[str]:
    """An hour's wait (the next invocation may be a cold sandbox's, whose import starts the
    worker anew), then an upload through the worker, heard back from through
    ``call_soon_threadsafe`` under a 30 s bound."""

    async def upload() -> str:
        loop = asyncio.get_running_loop()
        uploaded: asyncio.Future[str] = loop.create_future()
        _JOBS.put(("a", lambda etag: loop.call_soon_threadsafe(uploaded.set_result, etag)))
        return await asyncio.wait_for(uploaded, timeout=30)

    await wait(3600, name="later")
    return [await step(upload, name="upload")]
