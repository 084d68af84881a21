"""The worker side of ``isolation="process"``: runs invocations sent by ``ProcessInvoker``.

A worker process imports the handler by module and qualified name, binds it to a service client
whose calls travel over the pipe to the test process, and runs one invocation at a time:

- parent -> worker: ``("invoke", spec)`` (the Lambda event as JSON, the virtual instant, flags),
  ``("exit",)``; and one answer per worker request: ``("ok", value)``,
  ``("service_error", code, message)`` or ``("raise", exception)``;
- worker -> parent: ``("ready", pid)`` once; ``("started",)`` once an invocation's handler is
  imported (Lambda's init phase is over: the function timeout runs from here); during an
  invocation ``("checkpoint", token, [update dicts], client token or None)``,
  ``("get_execution_state", token, marker, max_items)``, ``("operation", fields)``,
  ``("step_attempt", args)``, ``("nondeterministic", reason)``; at its end
  ``("done", output JSON)``, ``("died", error dict)`` or ``("setup_error", message)``.

Operations come back as ``Operation.to_dict()`` (boto3's shape) and become the SDK's objects
through the SDK's own ``from_dict``. This module is preloaded by the forkserver, so it imports
only what a worker needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as _dt
import faulthandler
import importlib
import json
import math
import multiprocessing.connection
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

# Imported here, so the forkserver preloads it: a worker importing it per invocation would
# spend the function timeout on it.
from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._sandbox import blocking_sleep, handler_clock, hang_alarm
from async_durable_execution_runner._sandbox.blocked_time import BlockedTime
from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var
from async_durable_execution_runner._sandbox.invocation_threads import settle, thread_loop
from async_durable_execution_runner._sandbox.invoker import replay_mismatch
from async_durable_execution_runner._sandbox.lambda_context import (
    LocalLambdaContext,
    log_group_name,
)
from async_durable_execution_runner._sandbox.module_state import (
    init_failure,
    marshal_error,
    runtime_exit,
)
from async_durable_execution_runner._sandbox.stack_trace import stack_trace
from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop
from async_durable_execution_runner._service.clock import real_monotonic
from async_durable_execution_runner.errors import DurableServiceError


def resolve(module: str, qualname: str) -> Any:
    """The object named ``qualname`` in ``module`` (imported if needed)."""
    obj: Any = importlib.import_module(module)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


class _PipeServiceClient:
    """The SDK's ``DurableServiceClient``, forwarding every call to the parent."""

    def __init__(self, conn: multiprocessing.connection.Connection) -> None:
        self.conn = conn

    def call(
        self,
        message: tuple[Any, ...],
        service_error: Callable[[DurableServiceError], Exception],
    ) -> Any:
        """Send one request to the parent and wait for its answer."""
        self.conn.send(message)
        reply = self.conn.recv()
        if reply[0] == "ok":
            return reply[1]
        if reply[0] == "service_error":
            raise service_error(DurableServiceError.for_code(reply[1], reply[2])) from None
        raise reply[1]

    async def checkpoint(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        updates: list[Any],
        client_token: str | None,
    ) -> Any:
        wire = [adapter.update_to_wire(u) for u in updates]
        reply, turns = self.call(
            ("checkpoint", checkpoint_token, wire, client_token), adapter.checkpoint_error
        )
        for _ in range(turns):
            await asyncio.sleep(0)
        return adapter.checkpoint_output_from_wire(reply)

    async def get_execution_state(
        self,
        durable_execution_arn: str,
        checkpoint_token: str,
        next_marker: str,
        max_items: int = 1000,
    ) -> Any:
        reply, turns = self.call(
            ("get_execution_state", checkpoint_token, next_marker, max_items),
            adapter.get_state_error,
        )
        for _ in range(turns):
            await asyncio.sleep(0)
        return adapter.state_output_from_wire(reply)


class _PipeHooks:
    """The adapter's invocation hooks, answered by the parent's session when it needs them."""

    def __init__(self, client: _PipeServiceClient, spec: Mapping[str, Any]) -> None:
        self.client = client
        self.per_update_checkpoints = bool(spec["per_update_checkpoints"])
        self.strict_replay = bool(spec["strict_replay"])
        self.observe = bool(spec["observe_operations"])
        self.step_hooks = bool(spec["step_hooks"])
        self.observe_requests = self.strict_replay or self.observe
        self.observe_steps = self.step_hooks

    def on_operation_requested(self, request: adapter.RequestedOperation) -> None:
        if self.strict_replay and (reason := replay_mismatch(request)) is not None:
            # The parent kills this process: nothing further reaches the service.
            self.client.conn.send(("nondeterministic", reason))
            self.client.conn.recv()
            os._exit(1)
        if not self.observe:
            return
        fields = {
            "operation_id": request.operation_id,
            "type": request.type,
            "sub_type": request.sub_type,
            "name": request.name,
            "parent_id": request.parent_id,
            "checkpointed": request.checkpointed,
        }
        self.client.call(("operation", fields), _no_service_error)

    def on_step_attempt(
        self,
        operation_id: str,
        name: str | None,
        sub_type: str | None,
        attempt: int,
        semantics: str | None,
        retried: Any = None,
    ) -> tuple[BaseException | None, int]:
        # ``retried`` stays in this process: a handler's exception types need not pickle (a
        # class defined in a function does not), so a worker's step faults raise the
        # harness's own error, whatever the step's strategy retries.
        if not self.step_hooks:
            return None, 0
        answer: tuple[BaseException | None, int] = self.client.call(
            ("step_attempt", (operation_id, name, sub_type, attempt, semantics)),
            _no_service_error,
        )
        return answer


def _no_service_error(error: DurableServiceError) -> Exception:
    return error


#: (the handler's clock in ns since the epoch, its ``time.monotonic()`` lead over the
#: machine's) when this worker's last invocation ended: this process is one sandbox, whose
#: monotonic clock runs on between invocations (as ``InProcessInvoker._run`` keeps it, runner
#: bug 55).
_lead_mark: list[tuple[int, float]] = []


def _monotonic_lead(now_ns: int) -> float:
    if not _lead_mark:
        return 0.0
    ended_ns, lead = _lead_mark[0]
    return lead + max(0, now_ns - ended_ns) / 1e9


def worker_main(conn: multiprocessing.connection.Connection, stack_path: str) -> None:
    """The worker process: run invocations until told to exit or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the test process's business
    stack_file = open(stack_path, "w")  # noqa: SIM115 - lives as long as the process
    usr1 = getattr(signal, "SIGUSR1", None)
    if usr1 is not None:
        faulthandler.register(usr1, file=stack_file, all_threads=True)
    handlers: dict[tuple[str, str], Any] = {}
    conn.send(("ready", os.getpid()))
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            os._exit(0)
        if message[0] != "invoke":
            return
        reply = _run_invocation(conn, message[1], handlers)
        sys.stdout.flush()
        sys.stderr.flush()
        conn.send(reply)


def _run_invocation(
    conn: multiprocessing.connection.Connection,
    spec: Mapping[str, Any],
    handlers: dict[tuple[str, str], Any],
) -> tuple[str, Any]:
    key = (spec["module"], spec["qualname"])
    handler = handlers.get(key)
    if handler is None:
        try:
            handler = resolve(*key)
        except (ImportError, AttributeError) as exc:
            # Not found by module and name: the test's set-up, not the sandbox's init.
            return (
                "setup_error",
                f"the worker process could not import the handler {key[0]}.{key[1]}: "
                f"{type(exc).__name__}: {exc}; isolation='process' imports handlers by module "
                "and module-level name, so the module must be importable in a fresh interpreter",
            )
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            # The module raised at import: Lambda's init error; the runtime process exits.
            death = init_failure(spec["request_id"], key[0], exc).death
            assert death is not None
            return ("init_failed", death.to_dict())
        handlers[key] = handler
    conn.send(("started",))
    client = _PipeServiceClient(conn)
    endpoint = spec.get("endpoint_url")
    # With a service endpoint the SDK checkpoints over HTTP through its own Lambda client (as
    # a deployed function does); the pipe still carries the invocation and the test seams.
    service = adapter.http_service_client(endpoint, spec["region"]) if endpoint else client
    entry = adapter.bind_client(handler, service)
    context = LocalLambdaContext(
        aws_request_id=spec["request_id"],
        function_name=spec["function_name"],
        invoked_function_arn=spec["function_arn"],
        deadline=real_monotonic() + float(spec["remaining"]),
        log_group_name=log_group_name(spec["function_name"]),
        log_stream_name=spec["log_stream"],
    )
    if spec["seed"] is not None:
        # The SDK's retry jitter uses the global ``random`` (as InProcessInvoker seeds it).
        random.seed(spec["seed"])
    clock: handler_clock.HandlerClock | None = None
    alarm: contextlib.AbstractContextManager[object] = contextlib.nullcontext()
    loop = thread_loop(virtual=bool(spec.get("advance")))
    if spec["now"] is not None:
        clock = traveller = handler_clock.start_clock(_dt.datetime.fromisoformat(spec["now"]))
        if spec.get("advance"):  # (a real clock's time between invocations is the machine's)
            traveller.skipped = _monotonic_lead(traveller.ns)
        context.deadline = real_monotonic() + float(spec["remaining"]) + traveller.skipped
        bound_clock = handler_clock.context_clock.set(clock)
        if isinstance(loop, VirtualTimeEventLoop):

            def move(seconds: float) -> None:
                # The parent moves the runner's clock; the handler's clock follows.
                instant = client.call(("advance", seconds), _no_service_error)
                traveller.move_to(_dt.datetime.fromisoformat(instant))

            def jump(seconds: float) -> None:
                move(seconds)
                traveller.skipped += seconds  # the handler's ``time.monotonic()`` too

            loop.on_jump = jump

            def passed(seconds: float) -> None:
                # The loop's thread was blocked that long: the loop's clock and the
                # handler's move on by as much.
                loop._virtual += seconds
                move(seconds)

            def slept(seconds: float) -> None:
                # A blocking ``time.sleep`` on the loop's thread (see ``blocking_sleep``).
                blocked.slept += seconds
                passed(seconds)

            def tick(frame: FrameType | None) -> None:
                # Other blocking waits on the loop's thread (see ``blocked_time``).
                seconds = blocked.tick(loop, frame)
                if seconds:
                    passed(seconds)

            blocked = BlockedTime()
            if hang_alarm.usable():
                # No deadline (the parent keeps the function's timeout): ticks only.
                alarm = hang_alarm.DeadlineAlarm(math.inf, _no_deadline, tick)

            blocking_sleep.sleepers[threading.get_ident()] = slept
            loop.outside_time = _WorkerOutsideClock(traveller, move)
            loop.forget_threads()
            loop.align_time(real_monotonic() + traveller.skipped)
    try:
        with adapter.invocation_scope(_PipeHooks(client, spec)), alarm:
            try:
                if adapter.has_outer_layers(handler):
                    output = adapter.call_through_layers(
                        handler, entry, spec["event"], context, loop.run_until_complete
                    )
                else:
                    output = loop.run_until_complete(entry(spec["event"], context))
            except Exception as exc:
                return ("died", _death(type(exc).__name__, str(exc), exc))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # the runtime process exits (see sandbox.runtime_exit)
                return ("died", runtime_exit(spec["request_id"], exc).to_dict())
        try:
            return ("done", json.dumps(output))
        except (TypeError, ValueError) as exc:
            return ("died", marshal_error(exc).to_dict())
    finally:
        settle(loop)
        if isinstance(loop, VirtualTimeEventLoop):
            loop.on_jump = loop.outside_time = None
            blocking_sleep.sleepers.pop(threading.get_ident(), None)
        if clock is not None:
            _lead_mark[:] = [(clock.ns, clock.skipped)]
            reset_context_var(handler_clock.context_clock, bound_clock)
            handler_clock.stop_clock(clock)


def _no_deadline(frame: FrameType | None) -> None:
    """(A worker's alarm has no deadline: never called.)"""


class _WorkerOutsideClock:
    """The worker's clocks while its loop waits for the world outside it
    (``virtual_loop.OutsideTime``); the parent keeps the function's timeout."""

    def __init__(self, traveller: Any, jump: Callable[[float], None]) -> None:
        self._traveller = traveller
        self._jump = jump

    def outside_wait_started(self) -> float | None:
        return None

    def outside_time_moved(self, seconds: float) -> None:
        self._traveller.shift(seconds)

    def outside_wait_ended(self, seconds: float) -> None:
        self._jump(seconds)  # the parent's clock; the handler's is already there


def _death(error_type: str, message: str, exc: BaseException) -> dict[str, Any]:
    return ErrorObject(
        error_type=error_type,
        error_message=message,
        stack_trace=stack_trace(exc),
    ).to_dict()
