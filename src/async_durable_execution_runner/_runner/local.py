"""``DurableFunctionTestRunner``: run durable functions against the in-process emulator.

Time rule (virtual clock, the default): the runner's clock moves only while the test waits
(``run``, ``wait_for_result``, ``wait_for_callback``) or calls ``advance()``. ``start()``
runs only what is due at the current instant, so a test that started an execution and is
about to send a callback never sees time jump past the callback's timeout behind its back.
When nothing can run, waiting jumps straight to the next deadline: ten one-hour waits finish
in milliseconds, and the history still shows the hours.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import functools
import json
import json.encoder
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, TypeVar

from async_durable_execution import InvocationStatus

from async_durable_execution_runner._models import ErrorObject, OperationStatus, OperationType
from async_durable_execution_runner._runner.result import (
    DurableFunctionTestResult,
    invocation_status,
)
from async_durable_execution_runner._sandbox.invoker import HandlerClock, InProcessInvoker
from async_durable_execution_runner._sandbox.process_invoker import ProcessInvoker
from async_durable_execution_runner._sandbox.service_client import WireFormat
from async_durable_execution_runner._service.clock import RealClock, VirtualClock, real_monotonic
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.executor import Executor
from async_durable_execution_runner._service.invocation import DEFAULT_FUNCTION_TIMEOUT, Invoker
from async_durable_execution_runner._service.locking import StateLock, UnlockedInvoker
from async_durable_execution_runner._service.observer import ExecutionObserver
from async_durable_execution_runner._service.persistence import ExecutionStore, restore
from async_durable_execution_runner._service.seams import (
    Clock,
    FaultHooks,
    Interleaving,
    InvokeResult,
    SandboxPolicy,
    SchedulerPolicy,
)
from async_durable_execution_runner._service.state import DEFAULT_PAGE_SIZE
from async_durable_execution_runner.errors import DurableRunnerError, ExecutionNotFinishedError

Isolation = Literal["inprocess", "process"]
_T = TypeVar("_T")


# ``json.dumps(value)`` with its defaults runs three Python calls (``dumps``, ``encode``,
# ``iterencode``) around the C encoder that ``iterencode`` makes for that one call; making the
# encoder here, with the same arguments, gives the same text without them (once per
# execution). Fresh circular-reference markers per call, as there: shared ones would be shared
# between threads, and a failed encode leaves some behind.
_DEFAULTS = json.JSONEncoder()
_ENCODER_ARGS = (
    _DEFAULTS.default,
    json.encoder.encode_basestring_ascii
    if _DEFAULTS.ensure_ascii
    else json.encoder.encode_basestring,
    _DEFAULTS.indent,
    _DEFAULTS.key_separator,
    _DEFAULTS.item_separator,
    _DEFAULTS.sort_keys,
    _DEFAULTS.skipkeys,
    _DEFAULTS.allow_nan,
)
_make_encoder: Callable[..., Callable[[Any, int], Sequence[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)


def _dumps(value: Any) -> str:
    if _make_encoder is None:  # pragma: no cover - an interpreter without the C encoder
        return json.dumps(value)
    return "".join(_make_encoder({}, *_ENCODER_ARGS)(value, 0))


def _to_payload(value: Any) -> str | None:
    try:
        return _dumps(value)
    except (TypeError, ValueError) as exc:
        msg = f"the execution input must be JSON-serialisable; {value!r} is not ({exc})"
        raise DurableRunnerError(msg) from exc


def _check_isolation_options(
    isolation: Isolation,
    wire_format: WireFormat | None,
    cold_module_prefixes: tuple[str, ...],
    function_timeout: float | None,
    virtual_handler_clock: bool,
) -> None:
    """Options that only one isolation can honour are refused under the other, not ignored."""
    if wire_format not in (None, "objects", "json"):
        msg = f"wire_format must be 'objects' or 'json', got {wire_format!r}"
        raise DurableRunnerError(msg)
    if isolation == "process":
        if wire_format == "objects":
            msg = (
                "wire_format='objects' cannot cross a process boundary: with "
                "isolation='process' every input, checkpoint and response travels as the "
                "service's JSON; pass wire_format='json' or leave it out"
            )
            raise DurableRunnerError(msg)
        if cold_module_prefixes:
            msg = (
                "cold_module_prefixes is for isolation='inprocess': with isolation='process' a "
                "cold re-invocation runs in a fresh worker process, which imports every module "
                "anew; leave cold_module_prefixes out"
            )
            raise DurableRunnerError(msg)
    elif function_timeout is not None and not virtual_handler_clock:
        msg = (
            "function_timeout in-process is counted on the virtual clock, and this runner's "
            "handlers run on the real one (clock='real' or handler_clock='real'): an "
            "in-process invocation cannot be stopped when its real time is up; pass "
            "isolation='process' or leave function_timeout out"
        )
        raise DurableRunnerError(msg)
    if function_timeout is not None and not (
        function_timeout > 0 and (isolation == "inprocess" or math.isfinite(function_timeout))
    ):
        msg = (
            "function_timeout is the function's timeout in seconds (Lambda allows 1 to 900); "
            f"in-process, math.inf for none; got {function_timeout!r}"
        )
        raise DurableRunnerError(msg)


def _seconds(delta: float | _dt.timedelta) -> float:
    return delta.total_seconds() if isinstance(delta, _dt.timedelta) else float(delta)


def _advancer(clock: Clock) -> Callable[[float], _dt.datetime]:
    """What the invoker calls while the handler waits in-process, to move the runner's clock
    (from the invocation's thread; the runner's own thread is blocked on that invocation, so
    nothing else touches the executor). A closure over the clock alone, not the runner, so the
    runner and its invoker do not refer to each other."""
    assert isinstance(clock, VirtualClock)

    def advance(seconds: float) -> _dt.datetime:
        clock.advance(seconds)
        return clock.now()

    return advance


class DurableFunctionTestRunner:
    """Run a ``@durable_execution`` handler locally.

    ``functions`` registers chained-invoke targets by name: a durable handler (run as its own
    execution in this runner) or an ``InvokeResult`` (a canned result or error).
    The seams for property-based testing are constructor arguments: ``clock``,
    ``scheduler_policy`` (which due item goes next), ``faults`` (fault hooks),
    ``sandbox_policy`` (warm or cold re-invocations) and ``observers``.
    """

    # Defaults that change only later in a runner's life: read from the class until then (a
    # runner per execution is the common pattern).
    # Made when a second driver first has to wait (see ``_drive``): most runners never
    # have one, and the condition is notified after every drive.
    _idle: threading.Condition | None = None
    _driver: int | None = None
    _closed = False

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        functions: Mapping[str, Callable[..., Any] | InvokeResult] | None = None,
        function_name: str = "test-function",
        clock: Clock | Literal["virtual", "real"] = "virtual",
        start_time: _dt.datetime | None = None,
        wire_format: WireFormat | None = None,
        isolation: Isolation = "inprocess",
        handler_clock: HandlerClock = "virtual",
        checkpoint_batching: Literal["per_update", "sdk"] = "sdk",
        execution_timeout: int = 86_400,
        observers: Iterable[ExecutionObserver] = (),
        faults: FaultHooks | None = None,
        scheduler_policy: SchedulerPolicy | None = None,
        sandbox_policy: SandboxPolicy | None = None,
        cold_module_prefixes: tuple[str, ...] = (),
        max_invocation_attempts: int = 3,
        interleaving: Interleaving | None = None,
        random_seed: int | str | None = None,
        strict_replay: bool = False,
        function_timeout: float | None = None,
        store: ExecutionStore | None = None,
        page_size: int = DEFAULT_PAGE_SIZE,
    ) -> None:
        if isolation not in ("inprocess", "process"):
            msg = f"isolation must be 'inprocess' or 'process', got {isolation!r}"
            raise DurableRunnerError(msg)
        _check_isolation_options(
            isolation,
            wire_format,
            cold_module_prefixes,
            function_timeout,
            virtual_handler_clock=handler_clock == "virtual"
            and (clock == "virtual" or (not isinstance(clock, str) and clock.is_virtual)),
        )
        if (
            isinstance(page_size, bool)
            or not isinstance(page_size, int)
            or not (0 < page_size <= DEFAULT_PAGE_SIZE)
        ):
            msg = (
                f"page_size is the number of operations per page of invocation state, from 1 "
                f"to the service's {DEFAULT_PAGE_SIZE}; got {page_size!r}"
            )
            raise DurableRunnerError(msg)
        if isinstance(clock, str):
            if clock not in ("virtual", "real"):
                msg = f"clock must be 'virtual', 'real' or a Clock, got {clock!r}"
                raise DurableRunnerError(msg)
            clock = (
                VirtualClock(start_time)
                if clock == "virtual" and start_time
                else (VirtualClock() if clock == "virtual" else RealClock())
            )
        self.clock: Clock = clock
        self.function_name = function_name
        self.execution_timeout = execution_timeout
        handlers: dict[str, Callable[..., Any]] = {function_name: handler}
        canned: dict[str, InvokeResult] = {}
        if functions:
            for name, target in functions.items():
                if isinstance(target, InvokeResult):
                    canned[name] = target
                else:
                    handlers[name] = target
        #: The functions whose handlers run here (``Invoke`` may start them), by name.
        self.handler_names = frozenset(handlers)
        self._invoker: Invoker
        if isolation == "process":
            self._invoker = ProcessInvoker(
                handlers,
                per_update_checkpoints=checkpoint_batching == "per_update",
                handler_clock=handler_clock if self.clock.is_virtual else "real",
                clock_now=self.clock.now,
                advance_clock=_advancer(self.clock) if self.clock.is_virtual else None,
                random_seed=random_seed,
                strict_replay=strict_replay,
                function_timeout=(
                    function_timeout if function_timeout is not None else DEFAULT_FUNCTION_TIMEOUT
                ),
            )
        else:
            self._invoker = InProcessInvoker(
                handlers,
                wire_format=wire_format or "objects",
                per_update_checkpoints=checkpoint_batching == "per_update",
                handler_clock=handler_clock if self.clock.is_virtual else "real",
                clock_now=self.clock.now,
                advance_clock=_advancer(self.clock) if self.clock.is_virtual else None,
                cold_module_prefixes=cold_module_prefixes,
                random_seed=random_seed,
                strict_replay=strict_replay,
                function_timeout=(
                    function_timeout if function_timeout is not None else DEFAULT_FUNCTION_TIMEOUT
                ),
            )
        # Every entry point (this runner's methods, the invocation's service calls, a server's
        # request threads) changes the service's state under one lock; see ``_service.locking``.
        self._lock = StateLock()
        self.unlocked_invoker = UnlockedInvoker(self._invoker, self._lock)
        self.executor = Executor(
            self.unlocked_invoker,
            clock=self.clock,
            scheduler_policy=scheduler_policy,
            faults=faults,
            sandbox_policy=sandbox_policy,
            interleaving=interleaving,
            max_invocation_attempts=max_invocation_attempts,
            page_size=page_size,
        )
        # Every handler is a chained-invoke target, the function under test included
        # (``recurse`` invokes the function itself, by its own ARN).
        targets = self.executor.functions
        for name in handlers:
            targets[name] = name
        targets.update(canned)
        for observer in observers:
            self.executor.notifier.add(observer)
        #: Where executions persist (``SqliteStore``); ``None``: memory only.
        self.store = store
        if store is not None:
            # What the store holds comes back first: open executions resume.
            restore(self.executor, store.load())
            self.unlocked_invoker.on_change = self.persist

    def _guard(self) -> contextlib.AbstractContextManager[object]:
        """The runner's lock, except on the thread driving the executor for a caller that holds
        it (a scheduled action or an observer calling back): that caller is waiting for it."""
        if self.executor.driving_thread == threading.get_ident():
            return contextlib.nullcontext()
        return self._lock

    @property
    def invoker(self) -> Invoker:
        """The invoker that runs this runner's handlers (in-process, or worker processes)."""
        return self._invoker

    @property
    def lock(self) -> StateLock:
        """The lock every change of this runner's service state is made under."""
        return self._lock

    def _advance_during_invocation(self, seconds: float) -> _dt.datetime:
        # Called from the invocation's thread while the handler waits in-process (the runner's
        # thread is blocked on that invocation and has let go of the lock).
        assert isinstance(self.clock, VirtualClock)
        with self._lock:
            self.clock.advance(seconds)
            return self.clock.now()

    def _drive(self, body: Callable[[], _T]) -> _T:
        """Run ``body`` (which delivers due items) as the only driver of the executor.

        The driver lets go of the lock while an invocation runs; another thread that wants to
        drive meanwhile (a server's request thread, a second test thread) waits its turn
        instead of starting a second invocation on the same invoker.
        """
        me = threading.get_ident()
        with self._lock:
            if self._driver == me:
                return body()
            while self._driver is not None:
                if self._idle is None:
                    self._idle = threading.Condition(self._lock)
                self._idle.wait()
            self._driver = me
            try:
                return body()
            finally:
                self._driver = None
                if isinstance(self._invoker, InProcessInvoker):
                    # Control goes back to the test: its modules as it imported them.
                    self._invoker.restore_modules()
                if self.store is not None:
                    self.persist()
                if self._idle is not None:
                    self._idle.notify_all()

    def persist(self) -> None:
        """Write what changed to the store (one transaction), if there is one. Called under the
        lock before a change is acknowledged: a checkpoint's answer, a request's answer, the
        end of a round of delivered timers."""
        if self.store is None:
            return
        with self._lock:
            self.store.save_changed(self.executor.executions.values())

    def deliver_due(self, *, wait: bool = False) -> bool:
        """Deliver what is due now (no clock movement). If another thread is driving, that
        driver delivers it, unless ``wait``: then this call waits its turn and delivers.
        Returns whether this call drove."""
        with self._lock:
            if not wait and self._driver is not None and self._driver != threading.get_ident():
                return False
            self._drive(lambda: self.executor.run_until(lambda: False, allow_time=False))
            return True

    # --- lifecycle ---------------------------------------------------------------------

    def __enter__(self) -> DurableFunctionTestRunner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    async def __aenter__(self) -> DurableFunctionTestRunner:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        self._invoker.close()

    def add_observer(self, observer: ExecutionObserver) -> None:
        self.executor.notifier.add(observer)

    # --- executions --------------------------------------------------------------------

    def start(self, input: Any = None, *, execution_name: str | None = None) -> str:
        """Start an execution and run what is due now, without moving the clock."""
        payload = _to_payload(input)
        with self._guard():
            arn = self.executor.start_execution(
                self.function_name,
                payload,
                execution_name=execution_name,
                timeout_seconds=self.execution_timeout,
            )
            self._drive(lambda: self.executor.run_until(lambda: False, allow_time=False))
            return arn

    def run(
        self,
        input: Any = None,
        timeout: float = 60,
        *,
        execution_name: str | None = None,
    ) -> DurableFunctionTestResult:
        """Start an execution and wait (``timeout`` wall-clock seconds) for its result."""
        deadline = real_monotonic() + timeout
        payload = _to_payload(input)
        with self._guard():
            arn = self.executor.start_execution(
                self.function_name,
                payload,
                execution_name=execution_name,
                timeout_seconds=self.execution_timeout,
            )
            return self._wait(arn, deadline, timeout)

    def wait_for_result(self, execution_arn: str, timeout: float = 60) -> DurableFunctionTestResult:
        deadline = real_monotonic() + timeout
        with self._guard():
            return self._wait(execution_arn, deadline, timeout)

    def _wait(self, arn: str, deadline: float, timeout: float) -> DurableFunctionTestResult:
        execution = self.executor.get(arn)
        # A partial, not a lambda: called through C, one Python frame fewer per ``run()``.
        self._drive(
            functools.partial(
                self.executor.run_until, lambda: not execution.is_open, wall_deadline=deadline
            )
        )
        hang = self.executor.take_hang_report(arn)
        if hang is not None:
            raise ExecutionNotFinishedError(hang)
        if execution.is_open:
            pending = self.executor.pending_items(arn)
            if pending:
                why = (
                    f"{len(pending)} item(s) still scheduled, the next due "
                    f"{pending[0].due.isoformat()}"
                )
            else:
                why = (
                    "nothing is scheduled: the handler is suspended on something no timer "
                    "completes (a callback to send, or an invoke of a function that never ends)"
                )
            msg = (
                f"execution {arn} did not finish within {timeout:g}s of wall-clock time; "
                f"it is {execution.status.value} after {len(execution.invocations)} "
                f"invocation(s), {why}"
            )
            raise ExecutionNotFinishedError(msg)
        return DurableFunctionTestResult.from_execution(execution)

    def get_result(self, execution_arn: str) -> DurableFunctionTestResult:
        """A snapshot of the execution now, finished or not."""
        with self._guard():
            return DurableFunctionTestResult.from_execution(self.executor.get(execution_arn))

    def get_status(self, execution_arn: str) -> InvocationStatus:
        """The SDK's ``InvocationStatus`` now: PENDING while the execution runs."""
        with self._guard():
            return invocation_status(self.executor.get(execution_arn).status)

    def get_execution_status(self, execution_arn: str) -> ExecutionStatus:
        """``GetDurableExecution``'s ``Status`` now: RUNNING, ..., TIMED_OUT or STOPPED."""
        with self._guard():
            return self.executor.get(execution_arn).status

    def get_history(self, execution_arn: str) -> list[dict[str, Any]]:
        """The events so far, in ``GetDurableExecutionHistory``'s shape."""
        with self._guard():
            return [e.to_dict() for e in self.executor.history(execution_arn)]

    def stop_execution(self, execution_arn: str, error: ErrorObject | None = None) -> None:
        with self._guard():
            self.executor.stop_execution(execution_arn, error)
            self.persist()

    def advance(self, delta: float | _dt.timedelta) -> _dt.datetime:
        """Move the clock forward, delivering (in order) everything that falls due."""
        seconds = _seconds(delta)
        if seconds < 0:
            msg = f"advance() takes a non-negative duration, got {seconds}"
            raise ValueError(msg)
        with self._guard():
            target = self.clock.now() + _dt.timedelta(seconds=seconds)

            def move() -> None:
                self.executor.run_until(lambda: False, allow_time=True, limit=target)
                self.clock.advance_to(target)
                self.executor.run_until(lambda: False, allow_time=False)

            self._drive(move)
            return self.clock.now()

    # --- callbacks ---------------------------------------------------------------------

    def wait_for_callback(
        self, execution_arn: str, name: str | None = None, timeout: float = 60
    ) -> str:
        """The id of a pending callback (by operation name, or the only pending one),
        running the execution until one exists."""
        deadline = real_monotonic() + timeout
        with self._guard():
            execution = self.executor.get(execution_arn)
            found: list[str] = []

            def ready() -> bool:
                found[:] = self._pending_callbacks(execution_arn, name)
                return bool(found) or not execution.is_open

            self._drive(lambda: self.executor.run_until(ready, wall_deadline=deadline))
            if len(found) == 1:
                return found[0]
            label = f"named {name!r}" if name else "pending"
            if len(found) > 1:
                msg = (
                    f"{len(found)} callbacks are {label} in {execution_arn}; pass name= to pick one"
                )
            else:
                msg = (
                    f"no callback {label} appeared in {execution_arn} within {timeout:g}s "
                    f"(execution is {execution.status.value})"
                )
            raise DurableRunnerError(msg)

    def _pending_callbacks(self, arn: str, name: str | None) -> list[str]:
        execution = self.executor.get(arn)
        ops = execution.operations
        out = []
        for op in ops.values():
            if op.type is not OperationType.CALLBACK or op.status is not OperationStatus.STARTED:
                continue
            parent = ops.get(op.parent_id) if op.parent_id else None
            if name is None or op.name == name or (parent is not None and parent.name == name):
                assert op.callback_details is not None
                out.append(op.callback_details.callback_id)
        return out

    def send_callback_success(self, callback_id: str, result: str | bytes | None = None) -> None:
        text = result.decode() if isinstance(result, bytes) else result
        with self._guard():
            self.executor.send_callback_success(callback_id, text)
            self.persist()

    def send_callback_failure(
        self, callback_id: str, error: ErrorObject | Mapping[str, Any] | None = None
    ) -> None:
        err = ErrorObject.from_dict(error) if isinstance(error, Mapping) else error
        with self._guard():
            self.executor.send_callback_failure(callback_id, err)
            self.persist()

    def send_callback_heartbeat(self, callback_id: str) -> None:
        with self._guard():
            self.executor.send_callback_heartbeat(callback_id)
            self.persist()

    def time_out_callback(self, callback_id: str, *, heartbeat: bool = False) -> None:
        """Time the callback out now, as the service does when its timeout (or heartbeat
        timeout, with ``heartbeat=True``) expires."""
        with self._guard():
            self.executor.time_out_callback(callback_id, heartbeat=heartbeat)

    def schedule(self, delay: float, action: Callable[[], None], *, label: str = "") -> None:
        """Run ``action`` (an external system acting: a callback answer, say) ``delay`` seconds
        from now on the runner's clock. It runs in the runner's thread, between invocations;
        it may call ``send_callback_*``. Safe to call from an observer."""
        # Filed under no execution: an execution that ends does not cancel the outside world.
        with self._lock:
            self.executor.schedule_external(action, "", delay=delay, label=label)

    # --- async twins -------------------------------------------------------------------

    async def run_async(
        self, input: Any = None, timeout: float = 60, *, execution_name: str | None = None
    ) -> DurableFunctionTestResult:
        return await asyncio.to_thread(self.run, input, timeout, execution_name=execution_name)

    async def start_async(self, input: Any = None, *, execution_name: str | None = None) -> str:
        return await asyncio.to_thread(self.start, input, execution_name=execution_name)

    async def wait_for_result_async(
        self, execution_arn: str, timeout: float = 60
    ) -> DurableFunctionTestResult:
        return await asyncio.to_thread(self.wait_for_result, execution_arn, timeout)

    async def wait_for_callback_async(
        self, execution_arn: str, name: str | None = None, timeout: float = 60
    ) -> str:
        return await asyncio.to_thread(self.wait_for_callback, execution_arn, name, timeout)

    async def advance_async(self, delta: float | _dt.timedelta) -> _dt.datetime:
        return await asyncio.to_thread(self.advance, delta)
