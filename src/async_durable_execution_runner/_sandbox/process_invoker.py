"""``ProcessInvoker``: each invocation runs in a worker process, the way a Lambda sandbox does.

A handler that calls ``os._exit`` (or is killed) ends its invocation with ``Runtime.ExitError``,
one that runs past the function timeout is killed and reported as ``Sandbox.Timedout``; either
way the service re-invokes from the last acknowledged checkpoint and the test process survives.

How it works:

- One long-lived worker process (``multiprocessing``, "forkserver" context where available, else
  "spawn") runs invocations one at a time and is reused while it stays healthy. A worker that
  died, was killed for a timeout, or would have to serve a *cold* re-invocation is replaced by a
  fresh process (a truly cold sandbox: every module imported anew).
- The worker binds the handler to a service client whose calls travel over a pipe to this
  process, where the real ``InvocationSession`` answers them: tokens, validation, fault hooks,
  observers and history all stay here.
- What crosses the pipe is the service's JSON shapes: the Lambda invocation event (as
  ``wire_format="json"`` builds it), ``OperationUpdate`` dicts (the SDK's ``to_dict``) and
  ``Operation`` dicts (``Operation.to_dict``, boto3's shape), which the worker turns into the
  SDK's objects with the SDK's own ``from_dict``. The handler's output is JSON text.
- The handler sees the runner's virtual clock: the instant travels with each invocation and the
  worker applies it with ``time_machine`` (as ``InProcessInvoker`` does). Seeded ``random``,
  strict replay, fault hooks, interleaving turns and observers behave as in-process.
- The worker side (and the message protocol) lives in ``process_worker``; the forkserver
  preloads it, so a replacement worker starts in about 10 ms instead of about 300 ms.

Requirements:

- the worker finds the handler by **module and the name the module binds it to** (its
  qualified name, or the module-level name a factory-made handler is assigned to), so every
  handler (and every chained-invoke target registered with ``functions=``) must be bound at
  module level in an importable module, not in ``__main__``. ``ProcessInvoker`` checks this
  when it is built and raises ``HandlerNotDurableError`` naming the handler otherwise;
- as with any "spawn"/"forkserver" multiprocessing, the main module is imported again in the
  worker: a script that builds a runner must do so under ``if __name__ == "__main__":`` (a
  worker that cannot start raises ``DurableRunnerError`` saying so). pytest needs nothing.

Handler output (``print``, logging) goes to the worker's stdout/stderr, not through pytest's
``caplog``; ``LocalLambdaContext.logs`` stays in the worker.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import json
import multiprocessing
import multiprocessing.connection
import os
import signal
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import ErrorObject, OperationUpdate
from async_durable_execution_runner._sandbox import process_worker
from async_durable_execution_runner._sandbox.handler_address import handler_address
from async_durable_execution_runner._sandbox.invoker import (
    NONDETERMINISTIC,
    HandlerClock,
    read_output,
)
from async_durable_execution_runner._sandbox.lambda_context import log_stream_name
from async_durable_execution_runner._sandbox.process_worker import resolve, worker_main
from async_durable_execution_runner._sandbox.service_client import (
    SdkOperationCache,
    invocation_event,
)
from async_durable_execution_runner._service.clock import RealClock, real_monotonic
from async_durable_execution_runner._service.invocation import (
    DEFAULT_FUNCTION_TIMEOUT,
    InvocationOutcome,
    InvocationRequest,
    hung_outcome,
    timed_out_outcome,
)
from async_durable_execution_runner._service.seams import OperationRequest, WrapBody
from async_durable_execution_runner._service.session import InvocationSession, SandboxCrashed
from async_durable_execution_runner.errors import (
    DurableRunnerError,
    DurableServiceError,
    HandlerNotDurableError,
)

_WALL_CLOCK = RealClock()
# How long a dying worker gets to report its exit code, and a timed-out one to dump its stack.
_REAP_SECONDS = 2.0
# How long a new worker may take to start (a "spawn" start imports the SDK from scratch).
_START_SECONDS = 60.0
# Lambda's init phase (importing the handler's module) has its own limit, outside the
# function timeout.
_INIT_SECONDS = 10.0
_STACK_SECONDS = 0.3

_HandlerRef = tuple[str, str]  # (module, qualname)


def handler_ref(name: str, handler: Callable[..., Any]) -> _HandlerRef:
    """``(module, qualname)`` by which a worker process imports ``handler``; raises
    ``HandlerNotDurableError`` with the reason when it cannot."""
    if not adapter.is_durable_handler(handler):
        msg = (
            f"function {name!r}: expected a handler decorated with @durable_execution, got "
            f"{handler!r}; decorate it (from async_durable_execution import durable_execution)"
        )
        raise HandlerNotDurableError(msg)
    how = (
        "isolation='process' runs the handler in a worker process that imports it by module "
        "and the name the module binds it to; define it at module level in an importable "
        "module (not in __main__)"
    )
    address = handler_address(handler)
    if address is None:
        msg = (
            f"function {name!r}: {handler!r} (module {getattr(handler, '__module__', None)!r}, "
            f"qualname {getattr(handler, '__qualname__', None)!r}) cannot be found by name; {how}"
        )
        raise HandlerNotDurableError(msg)
    module, qualname = address
    try:
        found = resolve(module, qualname)
    except (ImportError, AttributeError) as exc:
        msg = f"function {name!r}: {module}.{qualname} does not resolve ({exc}); {how}"
        raise HandlerNotDurableError(msg) from exc
    if not adapter.is_durable_handler(found):
        msg = (
            f"function {name!r}: {module}.{qualname} is {found!r}, not a @durable_execution "
            f"handler; {how}"
        )
        raise HandlerNotDurableError(msg)
    return (module, qualname)


_preloaded = False


def _context(start_method: str | None) -> multiprocessing.context.BaseContext:
    global _preloaded  # noqa: PLW0603 - the forkserver is process-wide
    methods = multiprocessing.get_all_start_methods()
    method = start_method or ("forkserver" if "forkserver" in methods else "spawn")
    if method == "fork":
        msg = (
            "isolation='process' uses the 'forkserver' or 'spawn' start method; forking a "
            "threaded test process is unsafe"
        )
        raise DurableRunnerError(msg)
    ctx = multiprocessing.get_context(method)
    if method == "forkserver" and not _preloaded:
        # Workers fork from a server that already imported the SDK and this module, so a
        # replacement worker starts in milliseconds. Takes effect if the server is not running
        # yet; whatever else was asked for stays in the list.
        _preloaded = True
        from multiprocessing import forkserver

        current = list(getattr(forkserver._forkserver, "_preload_modules", None) or ["__main__"])
        if process_worker.__name__ not in current:
            ctx.set_forkserver_preload([*current, process_worker.__name__])
    return ctx


class _WorkerDied(Exception):
    pass


class _Worker:
    """One worker process and the parent's end of its pipe."""

    def __init__(self, ctx: multiprocessing.context.BaseContext) -> None:
        fd, self.stack_path = tempfile.mkstemp(prefix="durable-worker-", suffix=".stack")
        os.close(fd)
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=worker_main,
            args=(child, self.stack_path),
            name="durable-sandbox",
            daemon=True,
        )
        self.process.start()
        child.close()
        #: Its log stream per function (``lambda_context.log_stream_name``): it is one sandbox.
        self.log_streams: dict[str, str] = {}
        # A runner that is never closed still leaves no worker and no stack file behind.
        self._cleanup = weakref.finalize(self, _discard, self.process, self.stack_path)

    def wait_ready(self) -> None:
        """Block until the new worker says it is ready; a clear error if it never does."""
        try:
            message = self.receive(_START_SECONDS)
        except TimeoutError:
            message = None
        except _WorkerDied:
            message = None
        if message is not None and message[0] == "ready":
            return
        reason = self.exit_description() if message is None else f"it sent {message!r}"
        self.kill()
        msg = (
            f"the worker process for isolation='process' did not start ({reason}). "
            "multiprocessing re-imports the main module in the worker: if you run the "
            'runner from a script, put that code under `if __name__ == "__main__":`; '
            "the worker's stderr above says more"
        )
        raise DurableRunnerError(msg)

    def send(self, message: Any) -> None:
        try:
            self.conn.send(message)
        except (OSError, EOFError) as exc:
            raise _WorkerDied from exc

    def receive(self, timeout: float | None) -> Any:
        """The next message; ``TimeoutError`` if none within ``timeout``; ``_WorkerDied`` on EOF."""
        ready = multiprocessing.connection.wait([self.conn, self.process.sentinel], timeout)
        if not ready:
            raise TimeoutError
        if self.conn not in ready and not self.conn.poll():
            raise _WorkerDied
        try:
            return self.conn.recv()
        except (EOFError, OSError) as exc:
            raise _WorkerDied from exc

    def exit_description(self) -> str:
        self.process.join(_REAP_SECONDS)
        code = self.process.exitcode
        if code is None:
            return "Runtime exited without providing a reason"
        if code < 0:
            try:
                sig = signal.Signals(-code).name.removeprefix("SIG").lower()
            except ValueError:
                sig = str(-code)
            return f"Runtime exited with error: signal: {sig}"
        return f"Runtime exited with error: exit status {code}"

    def stack(self) -> str:
        """Where the worker's threads are right now (POSIX only)."""
        usr1 = getattr(signal, "SIGUSR1", None)
        if usr1 is None or not self.process.is_alive() or self.process.pid is None:
            return "(stack unavailable)"
        try:
            os.kill(self.process.pid, usr1)
        except OSError:
            return "(stack unavailable)"
        end = real_monotonic() + _STACK_SECONDS
        text = ""
        while real_monotonic() < end:
            time.sleep(0.02)
            with contextlib.suppress(OSError), open(self.stack_path) as f:
                text = f.read()
            if text.count("\n") >= 2:
                time.sleep(0.02)
                with contextlib.suppress(OSError), open(self.stack_path) as f:
                    text = f.read()
                break
        return text or "(stack unavailable)"

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(_REAP_SECONDS)
        self.close()

    def stop(self) -> None:
        """Ask the worker to leave; kill it if it does not."""
        with contextlib.suppress(_WorkerDied):
            self.send(("exit",))
        self.process.join(0.5)
        self.kill()

    def close(self) -> None:
        self.conn.close()
        self._cleanup()
        with contextlib.suppress(ValueError):
            self.process.close()


def _discard(process: Any, stack_path: str) -> None:
    with contextlib.suppress(ValueError, OSError):
        if process.is_alive():
            process.kill()
            process.join(_REAP_SECONDS)
    with contextlib.suppress(OSError):
        os.unlink(stack_path)


class ProcessInvoker:
    """Runs invocations in a worker process; see the module docstring."""

    def __init__(
        self,
        handlers: Mapping[str, Callable[..., Any]],
        *,
        per_update_checkpoints: bool = True,
        handler_clock: HandlerClock = "virtual",
        clock_now: Callable[[], _dt.datetime] | None = None,
        advance_clock: Callable[[float], _dt.datetime] | None = None,
        random_seed: int | str | None = None,
        strict_replay: bool = False,
        function_timeout: float = DEFAULT_FUNCTION_TIMEOUT,
        start_method: str | None = None,
    ) -> None:
        if not function_timeout > 0:
            msg = f"function_timeout must be a positive number of seconds, got {function_timeout!r}"
            raise DurableRunnerError(msg)
        self.refs = {name: handler_ref(name, h) for name, h in handlers.items()}
        self.per_update_checkpoints = per_update_checkpoints
        self.handler_clock: HandlerClock = handler_clock
        self.clock_now = clock_now
        self.advance_clock = advance_clock
        self.random_seed = random_seed
        self.strict_replay = strict_replay
        self.function_timeout = float(function_timeout)
        self._ctx = _context(start_method)
        self._cache = SdkOperationCache()  # invocation_event wants one; JSON does not use it
        self._worker: _Worker | None = None
        #: How many worker processes this invoker has started (for tests and diagnostics).
        self.workers_started = 0
        #: When set (by a ``DurableServiceServer``), the SDK in the worker calls the service at
        #: this URL over HTTP with its own Lambda client, instead of over the pipe.
        self.endpoint_url: str | None = None
        self.region = "us-east-1"

    def can_start_cold(self, function_name: str) -> bool:
        """Whether ``function_name`` is served (a worker process imports it by name: a new
        worker is a cold sandbox)."""
        return function_name in self.refs

    def kill_worker(self) -> None:
        """Kill the running worker process (safe from another thread: the thread serving the
        invocation sees it die and reports the invocation failed)."""
        worker = self._worker
        if worker is not None and worker.process.is_alive():
            worker.process.kill()

    def close(self) -> None:
        if self._worker is not None:
            self._worker.stop()
            self._worker = None

    def _retire(self) -> None:
        if self._worker is not None:
            self._worker.kill()
            self._worker = None

    def _ensure_worker(self, cold: bool) -> _Worker:
        if cold:
            self._retire()
        if self._worker is not None and not self._worker.process.is_alive():
            self._retire()
        if self._worker is None:
            worker = _Worker(self._ctx)
            worker.wait_ready()
            self._worker = worker
            self.workers_started += 1
        return self._worker

    def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        ref = self.refs.get(request.function_name)
        if ref is None:
            msg = f"no handler registered for function {request.function_name!r}"
            raise KeyError(msg)
        session = request.session
        now = (
            self.clock_now().isoformat()
            if self.handler_clock == "virtual" and self.clock_now is not None
            else None
        )
        # Whichever ends first: the function timeout (a failed invocation, retried) or the
        # runner's wall-clock budget (the execution is abandoned, as InProcessInvoker does).
        budget = self.function_timeout
        runner_limit = request.wall_timeout is not None and request.wall_timeout < budget
        if request.wall_timeout is not None and runner_limit:
            budget = request.wall_timeout
        spec = {
            "module": ref[0],
            "qualname": ref[1],
            "event": invocation_event(
                request.execution_arn,
                request.checkpoint_token,
                request.operations,
                request.next_marker,
                wire_format="json",
                cache=self._cache,
            ),
            "request_id": request.request_id,
            "function_name": request.function_name,
            "function_arn": request.execution_arn.split("/durable-execution/")[0],
            "remaining": self.function_timeout,
            "now": now,
            # The worker's loop may jump virtual time (see virtual_loop): the parent moves
            # the runner's clock when it does.
            "advance": now is not None and self.advance_clock is not None,
            "per_update_checkpoints": self.per_update_checkpoints,
            "strict_replay": self.strict_replay,
            "endpoint_url": self.endpoint_url,
            "region": self.region,
            "seed": (
                f"{self.random_seed}:{request.execution_arn}:{session.invocation_index}"
                if self.random_seed is not None
                else None
            ),
            # Round trips the worker can skip when nobody here would see them.
            "observe_operations": session.observed,
            "step_hooks": session.observed or session.steers_steps,
        }
        duplicate = request.environment == "duplicate"
        if duplicate:
            # Lambda delivers a duplicate to another sandbox: this invoker's worker is inside
            # the first delivery, waiting for the answer to a checkpoint call. A worker of its
            # own, stopped when it returns.
            worker = _Worker(self._ctx)
            worker.wait_ready()
            self.workers_started += 1
            retire: Callable[[], None] = worker.kill
        else:
            worker = self._ensure_worker(cold=request.environment == "cold")
            retire = self._retire
        stream = worker.log_streams.get(request.function_name)
        if stream is None:
            started = (self.clock_now or _WALL_CLOCK.now)()
            stream = log_stream_name(request.function_name, self.workers_started, started)
            worker.log_streams[request.function_name] = stream
        spec["log_stream"] = stream
        try:
            worker.send(("invoke", spec))
            # Until the worker has imported the handler, the init limit applies; after it, the
            # function timeout. The runner's own wall-clock budget covers both.
            init_deadline = real_monotonic() + (budget if runner_limit else _INIT_SECONDS)
            handler_budget = None if runner_limit else budget
            return self._serve(worker, session, init_deadline, handler_budget, retire)
        except _WorkerDied:
            reason = worker.exit_description()
            retire()
            return _exit_error(request.request_id, reason)
        except TimeoutError:
            return self._timed_out(worker, request, runner_limit=runner_limit, retire=retire)
        except SandboxCrashed:
            retire()
            return _exit_error(request.request_id, session.crash_reason or "sandbox crashed")
        except BaseException:
            retire()
            raise
        finally:
            if duplicate and worker.process.is_alive():
                worker.stop()

    def _serve(
        self,
        worker: _Worker,
        session: InvocationSession,
        deadline: float,
        handler_budget: float | None,
        retire: Callable[[], None],
    ) -> InvocationOutcome:
        """Answer the worker's service calls until the invocation ends (or ``deadline``, a
        ``real_monotonic()`` instant, passes: ``TimeoutError``). Once the handler is imported,
        the deadline becomes ``handler_budget`` seconds from then, if given."""
        while True:
            message = worker.receive(max(0.0, deadline - real_monotonic()))
            kind = message[0]
            if kind == "started":
                if handler_budget is not None:
                    deadline = real_monotonic() + handler_budget
            elif kind == "checkpoint":
                worker.send(_answer(_checkpoint, session, *message[1:]))
            elif kind == "get_execution_state":
                worker.send(_answer(_get_state, session, *message[1:]))
            elif kind == "nondeterministic":
                # Abort like a crash (nothing further reaches the service), and fail for good.
                session.crash_reason = message[1]
                retire()
                return InvocationOutcome(
                    status=None,
                    death=ErrorObject(error_type=NONDETERMINISTIC, error_message=message[1]),
                    fatal=True,
                )
            elif kind == "advance":
                assert self.advance_clock is not None
                worker.send(("ok", self.advance_clock(float(message[1])).isoformat()))
            elif kind == "operation":
                worker.send(_answer(_operation, session, message[1]))
            elif kind == "step_attempt":
                worker.send(_answer(_step_attempt, session, *message[1]))
            elif kind == "done":
                return read_output(json.loads(message[1]))
            elif kind == "died":
                return InvocationOutcome(status=None, death=ErrorObject.from_dict(message[1]))
            elif kind == "init_failed":
                # The runtime process exits after its init error: the next worker starts cold.
                retire()
                return InvocationOutcome(
                    status=None, death=ErrorObject.from_dict(message[1]), sandbox_ended=True
                )
            elif kind == "setup_error":
                retire()
                raise HandlerNotDurableError(message[1])
            else:
                msg = f"unexpected message from the worker process: {kind!r}"
                raise RuntimeError(msg)

    def _timed_out(
        self,
        worker: _Worker,
        request: InvocationRequest,
        *,
        runner_limit: bool,
        retire: Callable[[], None],
    ) -> InvocationOutcome:
        stack = worker.stack()
        retire()
        if not runner_limit:
            return timed_out_outcome(request, self.function_timeout, stack)
        request.session.abandoned = True
        return hung_outcome(request, f"the worker process was killed while at:\n{stack}")


def _exit_error(request_id: str, reason: str) -> InvocationOutcome:
    return InvocationOutcome(
        status=None,
        death=ErrorObject(
            error_type="Runtime.ExitError", error_message=f"RequestId: {request_id} Error: {reason}"
        ),
    )


def _step_attempt(session: InvocationSession, *args: Any) -> tuple[BaseException | None, int]:
    fault, turns = session.step_attempt(*args)
    if isinstance(fault, WrapBody):
        # A body wrapper is a function of this process: it cannot run in the worker's.
        msg = "WrapBody step hooks need an in-process invoker, not a worker process"
        raise TypeError(msg)
    return fault, turns


def _answer(fn: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """Run one service call; what the worker gets back. ``SandboxCrashed`` propagates (the
    parent kills the worker: an injected crash is a real one here)."""
    try:
        return ("ok", fn(*args))
    except DurableServiceError as error:
        return ("service_error", error.code, error.message)
    except Exception as exc:
        return ("raise", _portable(exc))


def _portable(exc: BaseException) -> BaseException:
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc


def _checkpoint(
    session: InvocationSession,
    token: str,
    updates: list[dict[str, Any]],
    client_token: str | None = None,
) -> tuple[dict[str, Any], int]:
    new_token, ops = session.checkpoint(
        token, [OperationUpdate.from_dict(u) for u in updates], client_token
    )
    wire = {
        "CheckpointToken": new_token,
        "NewExecutionState": {"Operations": [op.to_dict() for op in ops]},
    }
    return wire, session.response_turns()


def _get_state(
    session: InvocationSession, token: str, marker: str, max_items: int
) -> tuple[dict[str, Any], int]:
    ops, next_marker = session.get_execution_state(token, marker, max_items)
    wire: dict[str, Any] = {"Operations": [op.to_dict() for op in ops]}
    if next_marker:
        wire["NextMarker"] = next_marker
    return wire, session.response_turns()


def _operation(session: InvocationSession, fields: dict[str, Any]) -> None:
    checkpointed = fields.pop("checkpointed")
    session.operation_requested(
        OperationRequest(
            execution_arn=session.execution_arn,
            invocation_index=session.invocation_index,
            checkpointed=tuple(checkpointed) if checkpointed is not None else None,
            **fields,
        )
    )
