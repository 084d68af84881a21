"""A step body's calls to AWS, seen from inside the sandbox: the API calls its clients make
while the body runs, through botocore (boto3's clients) or aiobotocore (aioboto3's).

A body that calls AWS synchronously (``table.put_item(...)``, then ``queue.send_message(...)``)
never waits between the calls, so no fault at a wait (``body_crash``) or at a checkpoint call
reaches the state between them: the first call done, the second never made. A sandbox can die
there all the same (its memory limit, its host). ``watch_aws_calls`` lets a fault kind act
right after each call, once AWS has answered and before the body sees the answer.

The calls counted are the body's, wherever it makes them while it runs: on its own thread,
from its coroutines (aiobotocore's calls are awaited on the loop), and on the threads it
hands work to: ``asyncio.to_thread`` (a copy of its context), ``loop.run_in_executor`` and a
``ThreadPoolExecutor``'s ``submit``/``map`` (the pool's threads serve whoever submits: only
the work the body submitted is the body's), and a ``threading.Thread`` it starts. A call
answered after the body ended (a thread it left running) is not the attempt's. Calls are
numbered in the order AWS answers them: a body that sends two calls at once from two threads
numbers them by which comes back first.

It wraps botocore's ``BaseClient._make_api_call`` (a private name, botocore's: every API call
of every client goes through it, including calls a ``Stubber`` or an event handler answers)
once per process, the first time a body is watched, and aiobotocore's
``AioBaseClient._make_api_call`` (its own, async) once aiobotocore is imported; ``handoff``
carries a watch to the threads a body hands work to. The wrappers do nothing outside a
watched body.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib.abc
import importlib.machinery
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

from async_durable_execution_runner._harness import handoff
from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var
from async_durable_execution_runner._service.seams import StepBody, WrapBody


class _Watch:
    """One run of a watched body: its calls, counted as AWS answers them, from whichever of
    its threads makes them."""

    __slots__ = ("_at_call", "_calls", "_ended", "_lock", "_stopped_at")

    def __init__(self, at_call: Callable[[int], None]) -> None:
        self._at_call = at_call
        self._calls = 0
        self._ended = False
        self._lock = threading.Lock()
        self._stopped_at: int | None = None

    @property
    def stopped(self) -> bool:
        return self._stopped_at is not None

    def end(self) -> None:
        """The body's run is over: a thread it left running calls AWS on its own account
        (nothing done to the attempt now would be the attempt's)."""
        self._ended = True

    def before(self) -> None:
        """A call is about to leave: none does once the watcher stopped the body (its
        sandbox is dead, and so are the body's other threads)."""
        stopped_at = self._stopped_at
        if stopped_at is not None:
            msg = f"the body was stopped after its AWS call {stopped_at}: no later call leaves"
            raise asyncio.CancelledError(msg)

    def answered(self) -> None:
        """AWS answered a call (a result or an error): what ``at_call`` does now (kill the
        sandbox, raise) reaches the body before it sees the answer."""
        if self._ended:
            return
        with self._lock:
            self._calls += 1
            number = self._calls
        try:
            self._at_call(number)
        except Exception:
            raise  # an error in place of the answer: the body lives on, and may call again
        except BaseException:
            self._stopped_at = number  # the body was stopped (its sandbox died)
            raise


#: The watched body's calls, in its context (and the copies ``asyncio.to_thread`` makes), and
#: on the threads it hands work to (``_carried``).
_watching: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar(
    "async_durable_execution_runner_aws_calls", default=None
)
_install_lock = threading.RLock()  # (a wrap at import may come from inside ``install``)
_wrapped: set[str] = set()


def install() -> None:
    """Wrap botocore's API call once per process, and aiobotocore's once it is imported, now
    or later (neither wrapper does anything outside a watched body)."""
    if "botocore" in _wrapped:
        return
    with _install_lock:
        if "botocore" in _wrapped:
            return
        from botocore.client import BaseClient

        BaseClient._make_api_call = _watched_call(BaseClient._make_api_call)
        handoff.register(_WATCH_CARRIER)
        aio = sys.modules.get("aiobotocore.client")
        if aio is not None:
            _wrap_aiobotocore(aio)
        else:
            # A handler may import aiobotocore later, even inside a body: wrapped then.
            sys.meta_path.insert(0, _AiobotocoreFinder())
        _wrapped.add("botocore")


def _wrap_aiobotocore(module: Any) -> None:
    with _install_lock:
        if "aiobotocore" in _wrapped:
            return
        client_class = module.AioBaseClient
        client_class._make_api_call = _watched_async_call(client_class._make_api_call)
        _wrapped.add("aiobotocore")


class _AiobotocoreFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when ``aiobotocore.client`` is imported, it hands the import to
    the path finder, with a loader that wraps the client class once the module has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "aiobotocore.client" or "aiobotocore" in _wrapped:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return None  # (imported some other way: left to the other finders, unwrapped)
        spec.loader = _WrappingLoader(spec.loader)
        return spec


class _WrappingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader) -> None:
        self._inner = inner

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        _wrap_aiobotocore(module)


def _watched_call(original: Callable[..., Any]) -> Callable[..., Any]:
    def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        watch = _watching.get()
        if watch is None:
            return original(self, operation_name, api_params)
        watch.before()
        try:
            return original(self, operation_name, api_params)
        finally:
            watch.answered()

    return _make_api_call


def _watched_async_call(original: Callable[..., Any]) -> Callable[..., Any]:
    async def _make_api_call(self: Any, operation_name: str, api_params: Any) -> Any:
        watch = _watching.get()
        if watch is None:
            return await original(self, operation_name, api_params)
        watch.before()
        try:
            return await original(self, operation_name, api_params)
        finally:
            watch.answered()

    return _make_api_call


class _WatchCarrier:
    """Carries a body's watch to the work it hands to other threads: their calls are counted
    with the body's. A thread of the body's own ends without a word when the body was stopped
    (its sandbox died, and the thread with it), instead of printing the stop as an error."""

    def capture(self) -> object | None:
        return _watching.get()

    def carry(
        self, captured: object, work: Callable[..., Any], *, thread: bool
    ) -> Callable[..., Any]:
        assert isinstance(captured, _Watch)
        watch = captured

        def as_the_bodys(*args: Any, **kwargs: Any) -> Any:
            token = _watching.set(watch)
            try:
                return work(*args, **kwargs)
            except asyncio.CancelledError:
                if thread and watch.stopped:
                    return None
                raise
            finally:
                reset_context_var(_watching, token)

        return as_the_bodys


_WATCH_CARRIER = _WatchCarrier()


def watch_aws_calls(at_call: Callable[[int], None]) -> WrapBody:
    """Run the body, calling ``at_call(n)`` right after its ``n``-th AWS call (from 1) has
    been answered, before the body sees the answer. If ``at_call`` raises, the body gets
    that instead of the answer; if what it raises is no ``Exception`` (``CancelledError``:
    the sandbox died), no later call of the body's leaves either."""
    install()

    def wrap(body: StepBody) -> StepBody:
        async def watched(*state: Any) -> Any:
            watch = _Watch(at_call)
            token = _watching.set(watch)
            try:
                return await body(*state)
            finally:
                watch.end()
                reset_context_var(_watching, token)

        return watched

    return WrapBody(wrap)
