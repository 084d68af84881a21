"""Handlers that genuinely hang, in the blocking and threaded code ``examples/blocking.py``
uses correctly: the runner must give up on each at its deadline and name where it hung.

Each hangs on ``RELEASE``, which the test sets once the runner has given up, so that no
thread outlives the test.
"""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from typing import Any

import blocking
from async_durable_execution import durable_execution, step, wait

#: Set by the test once the runner gave up: every hung thread then ends.
RELEASE = threading.Event()


async def _parse_then_nothing() -> str:
    return "parsed"


@durable_execution
async def hangs_after_its_own_alarm(event: Any) -> str:
    """A step sets its own SIGALRM time limit and puts the handler and the timer back;
    a later step of the same invocation then hangs."""

    async def limited() -> bool:
        with blocking.time_limit(2.0):
            time.sleep(0.002)
        return True

    await step(limited, name="limited")

    async def hang() -> str:
        time.sleep(30)
        return "woke"

    return await step(hang, name="hang")


@durable_execution
async def hangs_joining_a_thread(event: Any) -> str:
    async def join() -> str:
        worker = threading.Thread(target=RELEASE.wait, name="never-done", daemon=True)
        worker.start()
        worker.join()
        return "joined"

    return await step(join, name="join")


@durable_execution
async def hangs_on_a_silent_socket(event: Any) -> str:
    async def ask() -> bytes:
        with (
            socket.create_server(("127.0.0.1", 0)) as server,
            socket.create_connection(server.getsockname()[:2]) as conn,
        ):
            peer, _ = server.accept()  # accepted, and never answered
            with peer:
                conn.sendall(b"ping\n")
                return conn.recv(4096)

    await wait(1, name="before")
    return (await step(ask, name="ask")).decode()


@durable_execution
async def hangs_in_to_thread(event: Any) -> str:
    async def off_loop() -> str:
        await asyncio.to_thread(RELEASE.wait)
        return "released"

    return await step(off_loop, name="off-loop")
