"""A step body's calls to AWS, seen from inside the sandbox: the API calls its botocore
clients (boto3's) make while the body runs on its invocation's thread.

A body that calls AWS synchronously (``table.put_item(...)``, then ``queue.send_message(...)``)
never waits between the calls, so no fault at a wait (``body_crash``) or at a checkpoint call
reaches the state between them: the first call done, the second never made. A sandbox can die
there all the same (its memory limit, its host). ``watch_aws_calls`` lets a fault kind act
right after each call, once AWS has answered and before the body sees the answer.

It wraps botocore's ``BaseClient._make_api_call`` (a private name, botocore's: every API call
of every client goes through it, including calls a ``Stubber`` or an event handler answers)
once per process, the first time a body is watched. The wrapper does nothing unless the
calling context is a watched body's; calls made on other threads (``asyncio.to_thread``) are
not counted: the fault could not stop the thread, which would go on calling.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import Any

from async_durable_execution_runner._service.seams import StepBody, WrapBody

#: The watched body's ``(thread ident, on_call)`` in its context, else ``None``.
_watching: contextvars.ContextVar[tuple[int, Callable[[], None]] | None] = contextvars.ContextVar(
    "async_durable_execution_runner_aws_calls", default=None
)
_install_lock = threading.Lock()
_installed: list[bool] = [False]


def install() -> None:
    """Wrap botocore's API call once per process (it does nothing outside a watched body)."""
    with _install_lock:
        if _installed[0]:
            return
        from botocore.client import BaseClient

        original: Callable[..., Any] = BaseClient._make_api_call

        def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
            watching = _watching.get()
            if watching is None or watching[0] != threading.get_ident():
                return original(self, operation_name, api_params)
            try:
                return original(self, operation_name, api_params)
            finally:
                # AWS has answered (a result or an error): what ``on_call`` does now (kill the
                # sandbox) reaches the body before it sees the answer.
                watching[1]()

        BaseClient._make_api_call = _make_api_call
        _installed[0] = True


def watch_aws_calls(at_call: Callable[[int], None]) -> WrapBody:
    """Run the body, calling ``at_call(n)`` right after its ``n``-th AWS call (from 1) made
    on its own thread has been answered, before the body sees the answer."""
    install()

    def wrap(body: StepBody) -> StepBody:
        async def watched(*state: Any) -> Any:
            calls = 0

            def on_call() -> None:
                nonlocal calls
                calls += 1
                at_call(calls)

            token = _watching.set((threading.get_ident(), on_call))
            try:
                return await body(*state)
            finally:
                _watching.reset(token)

        return watched

    return WrapBody(wrap)
