"""Work handed to another thread, and what the harness carries there with it.

A thread does not inherit its starter's context. ``asyncio.to_thread`` hands its work a copy
of the caller's context; ``loop.run_in_executor``, a ``ThreadPoolExecutor``'s ``submit`` (and
``map``, which submits) and a ``threading.Thread`` do not. The harness needs to know, in such
a thread, whose work it does: the AWS-call faults count the calls a step body makes there as
the body's, and the nondeterminism detector tells a draw for a step from one for the
handler's code outside steps.

A ``Carrier`` captures what it needs in the handing-off thread and runs the work with it.
``ThreadPoolExecutor.submit`` and ``threading.Thread.start`` are wrapped once per process,
the first time a carrier is registered; with nothing captured, the wrappers hand the work
over untouched. A pool may start a thread while it takes a job: that thread serves every
later submitter, so nothing is carried to it, only to the job.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import threading
from collections.abc import Callable
from typing import Any, Protocol

from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var


class Carrier(Protocol):
    def capture(self) -> object | None:
        """In the thread handing work over: what to carry (``None``: nothing)."""

    def carry(
        self, captured: object, work: Callable[..., Any], *, thread: bool
    ) -> Callable[..., Any]:
        """``work``, to run with ``captured``; ``thread``: the whole run of a thread the
        captured code started (not one job of a pool)."""


_carriers: list[Carrier] = []
_install_lock = threading.Lock()
_installed: list[bool] = [False]
#: Set while a pool takes a job: a thread it starts meanwhile is the pool's.
_submitting: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "async_durable_execution_runner_submitting", default=False
)


def register(carrier: Carrier) -> None:
    """Carry ``carrier``'s captures to handed-off work from now on (once per carrier)."""
    with _install_lock:
        if not _installed[0]:
            pool = concurrent.futures.ThreadPoolExecutor
            pool.submit = _submit_with(pool.submit)  # type: ignore[method-assign]
            threading.Thread.start = _start_with(threading.Thread.start)  # type: ignore[method-assign]
            _installed[0] = True
        if carrier not in _carriers:
            _carriers.append(carrier)


def _carried(work: Callable[..., Any], *, thread: bool) -> Callable[..., Any] | None:
    """``work`` wrapped by every carrier that captured something here, or ``None``."""
    carried = None
    for carrier in _carriers:
        captured = carrier.capture()
        if captured is not None:
            carried = carrier.carry(captured, carried or work, thread=thread)
    return carried


def _submit_with(original: Callable[..., Any]) -> Callable[..., Any]:
    def submit(self: Any, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        carried = _carried(fn, thread=False)
        token = _submitting.set(True)
        try:
            return original(self, carried or fn, *args, **kwargs)
        finally:
            reset_context_var(_submitting, token)

    return submit


def _start_with(original: Callable[[threading.Thread], None]) -> Callable[..., None]:
    def start(self: threading.Thread) -> None:
        if not _submitting.get():
            carried = _carried(self.run, thread=True)
            if carried is not None:
                # (An attribute of the instance: a subclass's own ``run`` is carried as well.)
                self.run = carried  # type: ignore[method-assign]
        original(self)

    return start
