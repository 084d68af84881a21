"""``InProcessInvoker``: runs the user's handler in this process, on an event loop of its own.

Invocations run, together with the service's loop that makes them (``drive``), on the
thread that called the runner when that is the main thread, else on a worker thread while
the caller waits. Either way
- a handler that hangs (even in blocking code) is given up on at the runner's deadline:
  interrupted by ``SIGALRM`` on the main thread (``hang_alarm``), abandoned to its worker
  elsewhere; the runner stays usable;
- a crashed invocation can be stopped dead by cancelling every task of its loop.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import functools
import json
import math
import random
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Mapping
from types import FrameType, ModuleType
from typing import Any, Literal, TypeVar

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._sandbox import (
    blocked_time,
    blocking_sleep,
    handler_clock,
    hang_alarm,
    outside_work,  # noqa: F401  (wires the threads and pool jobs the handler starts)
    parked,
    retired,
    safe_points,
    thread_end,
    woken,  # noqa: F401  (wires ``parked.on_wake``: threads the handler wakes)
)
from async_durable_execution_runner._sandbox.blocked_time import BlockedTime
from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var
from async_durable_execution_runner._sandbox.handler_address import handler_address
from async_durable_execution_runner._sandbox.invocation_threads import (
    HandlerInterrupted,
    Job,
    WorkerThread,
    is_invocation_loop,
    settle,
    thread_loop,
)
from async_durable_execution_runner._sandbox.lambda_context import (
    LocalLambdaContext,
    lambda_context,
    log_stream_name,
)
from async_durable_execution_runner._sandbox.module_state import (
    fresh_import,
    init_failure,
    marshal_error,
    put_back,
    runtime_exit,
)
from async_durable_execution_runner._sandbox.service_client import (
    SdkOperationCache,
    WireFormat,
    current_session,
    invocation_event,
    shared_client,
)
from async_durable_execution_runner._sandbox.stack_trace import stack_trace
from async_durable_execution_runner._sandbox.virtual_loop import VirtualTimeEventLoop
from async_durable_execution_runner._service.clock import RealClock, real_monotonic
from async_durable_execution_runner._service.invocation import (
    DEFAULT_FUNCTION_TIMEOUT,
    GIVE_UP_POLL_SECONDS,
    Abandoned,
    InvocationAbandoned,
    InvocationOutcome,
    InvocationRequest,
    given_up_outcome,
    hung_outcome,
    timed_out_outcome,
)
from async_durable_execution_runner._service.seams import OperationRequest, WrapBody, ranks_threads
from async_durable_execution_runner._service.session import InvocationSession, SandboxCrashed
from async_durable_execution_runner.errors import DurableRunnerError, HandlerNotDurableError

HandlerClock = Literal["virtual", "real"]
_T = TypeVar("_T")


_WALL_CLOCK = RealClock()


NONDETERMINISTIC = "NonDeterministicExecutionError"


class _Hooks:
    """Bridges the SDK adapter's invocation hooks to the service session."""

    def __init__(
        self,
        session: InvocationSession,
        per_update_checkpoints: bool,
        strict_replay: bool,
        running: _Running,
    ) -> None:
        self.session = session
        self.running = running
        self.per_update_checkpoints = per_update_checkpoints
        self.strict_replay = strict_replay
        self.nondeterminism: str | None = None
        observed = session.observed
        self.observe_requests = strict_replay or observed
        self.observe_steps = observed or session.steers_steps

    def on_operation_requested(self, request: adapter.RequestedOperation) -> None:
        if self.session.crashed:
            raise SandboxCrashed(self.session.crash_reason or "sandbox crashed")
        if self.strict_replay and (mismatch := replay_mismatch(request)) is not None:
            self.nondeterminism = mismatch
            # Abort like a crash: nothing further reaches the service, whatever user code catches.
            self.session.crash_reason = mismatch
            self.kill_tasks()
            raise SandboxCrashed(mismatch)
        self.session.operation_requested(
            OperationRequest(
                execution_arn=self.session.execution_arn,
                invocation_index=self.session.invocation_index,
                operation_id=request.operation_id,
                type=request.type,
                sub_type=request.sub_type,
                name=request.name,
                parent_id=request.parent_id,
                checkpointed=request.checkpointed,
            )
        )

    def on_step_attempt(
        self,
        operation_id: str,
        name: str | None,
        sub_type: str | None,
        attempt: int,
        semantics: str | None,
        retried: adapter.Retried = ((), ()),
    ) -> tuple[BaseException | adapter.BodyWrapper | None, int]:
        fault, turns = self.session.step_attempt(
            operation_id, name, sub_type, attempt, semantics, retried, self.crash_sandbox
        )
        return (fault.wrap if isinstance(fault, WrapBody) else fault), turns

    def crash_sandbox(self, reason: str) -> None:
        """Kill the sandbox from inside a step body (``StepAttempt.crash_sandbox``): as a
        ``Crash`` at a service call, every later durable call fails fast and every task of
        the invocation is cancelled, until none remains (``settle``). Callable from any of
        the body's threads (``asyncio.to_thread``), not only the loop's."""
        if self.session.crash_reason is None:
            self.session.crash_reason = reason
        self.kill_tasks()

    def kill_tasks(self) -> None:
        """Cancel every task of this invocation, on each turn while any is left (the service
        client calls it when a service call found the sandbox dead)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            # A thread of the body's (``asyncio.to_thread``): the invocation's loop, woken.
            running_loop = self.running.loop
            if running_loop is not None:
                running_loop.call_soon_threadsafe(_kill_invocation, running_loop, self.running)
            return
        loop.call_soon(_kill_invocation, loop, self.running)


def _kill_invocation(loop: asyncio.AbstractEventLoop, running: _Running) -> None:
    """Cancel every task of a crashed invocation, and again on each turn while any is left,
    until the invocation's run on ``loop`` is over. One pass is not enough: a task can take
    one cancellation for its own (an ``asyncio.TaskGroup`` that was cancelling itself
    uncancels it) and go on to await a checkpoint the dead sandbox's batcher never sends."""
    if running.loop is not loop:
        return  # the invocation's run is over: the next one's tasks are not its own
    pending = asyncio.all_tasks(loop)  # (every task, made through the loop or not)
    for task in pending:
        task.cancel()
    if pending:
        loop.call_soon(_kill_invocation, loop, running)


def replay_mismatch(request: adapter.RequestedOperation) -> str | None:
    """What strict replay reports when replaying code asks for operation ``request`` as
    something other than what its checkpoint holds (``None``: the same, or a new one)."""
    asked = (request.type, request.sub_type, request.name, request.parent_id)
    stored = request.checkpointed
    if stored is None or stored == asked:
        return None
    return (
        f"replay asked for operation {request.operation_id!r} as {_identity(asked)}, but "
        f"the checkpoint holds {_identity(stored)}"
    )


def _identity(ident: tuple[str, str | None, str | None, str | None]) -> str:
    op_type, sub_type, name, parent = ident
    return f"{op_type}/{sub_type} named {name!r} under parent {parent!r}"


def _await_beside(running: _Running) -> None:
    """Wait for the duplicate deliveries still running on ``running``'s clock (each until
    the runner gives up on it), before that clock stops: the first delivery went on beside a
    duplicate that waited for it (``deliveries``), and ended first."""
    for job, deadline in list(running.beside):
        job.wait(None if deadline is None else max(0.0, deadline - real_monotonic()))


class _OutsideOf:
    """``virtual_loop.OutsideTime`` for a duplicate delivery's loop: the invoker's, for the
    duplicate's own invocation (the first delivery's loop has the invoker itself)."""

    __slots__ = ("_invoker", "_running", "_traveller")

    def __init__(self, invoker: InProcessInvoker, traveller: Any, running: _Running) -> None:
        self._invoker = invoker
        self._traveller = traveller
        self._running = running

    def outside_wait_started(self) -> float | None:
        return self._invoker.outside_started(self._running)

    def outside_time_moved(self, seconds: float) -> None:
        self._traveller.shift(seconds)

    def outside_wait_ended(self, seconds: float) -> None:
        self._invoker.outside_ended(seconds, self._traveller, self._running)


class _InitFailed(Exception):
    """A cold sandbox's import of the handler's module raised: the invocation's outcome."""

    def __init__(self, outcome: InvocationOutcome) -> None:
        super().__init__(outcome.death)
        self.outcome = outcome


class _Running:
    """An invocation while it runs."""

    __slots__ = (
        "abandoned",
        "alarmed_at",
        "beside",
        "blocked",
        "context",
        "in_handler",
        "loop",
        "request",
        "shared",
        "stack",
        "stuck",
        "stuck_why",
        "time_limit",
        "timed_out",
        "travel",
        "traveller",
    )

    def __init__(self, request: InvocationRequest) -> None:
        self.request = request
        self.travel: list[Any] = []  # its time travel, while active
        #: What moves the handler's clock (time-machine's traveller), while it runs.
        self.traveller: Any = None
        #: For a duplicate delivery: the first delivery, whose clock it reads (one world
        #: clock for both sandboxes, as on Lambda).
        self.shared: _Running | None = None
        #: Duplicate deliveries running on this one's clock, each with the
        #: ``real_monotonic()`` instant it is given up at: the clock is not stopped under them.
        self.beside: list[tuple[Job[InvocationOutcome], float | None]] = []
        self.abandoned = False
        #: When a deadline alarm first found it still running (``real_monotonic()``).
        self.alarmed_at: float | None = None
        #: Its event loop, while it runs.
        self.loop: asyncio.AbstractEventLoop | None = None
        # Inside the event loop's run of the handler: where a deadline alarm may interrupt.
        self.in_handler = False
        self.stack = ""  # where it was when it was interrupted as hung, or timed out
        #: The real time its thread spent blocked in its loop's turns (``_tick``).
        self.blocked = BlockedTime()
        #: The Lambda context the handler was given: its time left shrinks as the loop jumps.
        self.context: LocalLambdaContext | None = None
        #: The virtual instant the function's timeout passes (``None``: not counted).
        self.time_limit: _dt.datetime | None = None
        #: Stopped at the function's timeout (``InProcessInvoker._time_out``).
        self.timed_out = False
        #: On the driving thread: whether it loops inside one turn (``_tick``), made at the
        #: first tick; and why it was stopped for that.
        self.stuck: _StuckTurn | None = None
        self.stuck_why: str | None = None


#: The CPU time an invocation on a thread of its own (a duplicate delivery's) may spend
#: inside one turn of its event loop before it is taken for an endless loop and stopped: no
#: pause for its loop to run anything else, the thread busy all along. Lambda would stop
#: such a sandbox only at the function's timeout (15 minutes at most); the runner cannot
#: wait that long, and a thread looping in Python code would keep a core busy for the rest
#: of the test process. The SDK's ``parallel`` and ``map`` can loop so from Python 3.12 on
#: (SDK finding 19); a step body that computes for this long in a duplicate is stopped too.
STUCK_CPU_SECONDS = 5.0

#: The same for the driving thread's invocation, counted only while it is in the SDK's or
#: asyncio's code without a break (``_tick``; the service's own work, under its lock, is not
#: counted). The SDK's own work can take a while in one turn: a ``map`` of 8,000 items spent
#: 0.4 s there at a stretch (its cost grows with the square of its items, SDK finding 13),
#: and coverage tracing makes it several times slower. A step body computing in its own code
#: is left to the deadline, as Lambda's timeout would allow it.
ENGINE_STUCK_CPU_SECONDS = 10.0

#: The same inside the loop SDK finding 19 spins in (``parallel``'s and ``map``'s wait for
#: their completion handlers, Python 3.12 and later: ``adapter.in_batch_completion_loop``):
#: a second there without a turn of the loop is that spin, and a campaign meets it in many
#: examples, each of which would otherwise wait ``ENGINE_STUCK_CPU_SECONDS``.
KNOWN_SPIN_CPU_SECONDS = 1.0


def _looped(seconds: float, where: str) -> str:
    """Why an invocation caught looping inside one turn of its loop was stopped."""
    return (
        f"it ran {seconds:g} s of CPU time inside one turn of its event loop (an endless "
        f"loop?); {where}"
    )


class _StuckTurn:
    """Whether an invocation loops inside one turn of its loop, by its thread's CPU clock:
    looked at from the thread that waits for it (a duplicate delivery's), or from the
    driving thread's own deadline alarm (``_tick``)."""

    __slots__ = ("_clock", "_engine_since", "_mark", "_running", "_since")

    def __init__(self, running: _Running, thread_ident: int | None) -> None:
        self._running = running
        try:
            self._clock: int | None = (
                time.pthread_getcpuclockid(thread_ident) if thread_ident is not None else None
            )
        except (AttributeError, OSError):  # (no per-thread CPU clocks: not looked at)
            self._clock = None
        self._mark: tuple[int, int] | None = None
        self._since = 0.0
        #: The thread's CPU clock at the first of the looks, in a row and in this turn, that
        #: found it in the engine's code (``None``: the last look did not).
        self._engine_since: float | None = None

    def looping(self, seconds: float) -> bool:
        """Whether it has spent ``seconds`` of CPU time since its loop last took a turn."""
        used = self._used()
        return used is not None and used - self._since >= seconds

    def engine_looping(self, seconds: float, in_engine: bool) -> bool:
        """Whether it has spent ``seconds`` of CPU time in the engine's code (the SDK's,
        asyncio's) without a break, inside one turn of its loop: every look since then found
        it there (``in_engine`` says where this look found it). A step body that computed for
        long in its own code and returned into the SDK, which goes on in the same turn, has
        used much CPU time in that turn, but little of it in the engine."""
        used = self._used()
        if used is None or not in_engine:
            self._engine_since = None
            return False
        since = self._engine_since
        if since is None or since < self._since:  # (a new turn since the last look)
            self._engine_since = used
            return False
        return used - since >= seconds

    def _used(self) -> float | None:
        """The thread's CPU clock, if its loop has not taken a turn since the last look
        (``None``: it has, or it cannot be looked at); a new turn starts the count again."""
        clock = self._clock
        loop = self._running.loop
        if clock is None or not isinstance(loop, VirtualTimeEventLoop):
            return None
        busy, idle, _ = loop.turn_mark()
        try:
            used = time.clock_gettime(clock)
        except OSError:  # the thread ended meanwhile
            return None
        if (busy, idle) != self._mark:
            self._mark = (busy, idle)
            self._since = used
            return None
        return used


def _looping_for(
    running: _Running, thread_ident: int | None, frame: FrameType | None
) -> float | None:
    """The CPU seconds after which ``running``, whose thread is at ``frame``, is taken for
    an endless loop inside one turn of its loop, if it has spent them there; else ``None``.
    Only the engine's code counts (the SDK's, asyncio's): a step body computing for long in
    its own code is the user's to bound, and runs until the deadline, as Lambda's timeout
    would allow it. Inside a collector callback the next look finds the loop again."""
    stuck = running.stuck
    if stuck is None:
        running.stuck = stuck = _StuckTurn(running, thread_ident)
    in_engine = safe_points.where(frame) == "engine"
    limit = (
        KNOWN_SPIN_CPU_SECONDS
        if in_engine and adapter.in_batch_completion_loop(frame)
        else ENGINE_STUCK_CPU_SECONDS
    )
    if stuck.engine_looping(limit, in_engine) and not safe_points.swallowed(frame):
        return limit
    return None


def _stuck_for(stuck: _StuckTurn, thread_ident: int | None) -> float | None:
    """For an invocation on a thread of its own, looked at from the thread that waits for it
    (a duplicate delivery's): the CPU seconds after which it is taken for an endless loop
    inside one turn of its loop, if it has spent them there; else ``None``. Anywhere,
    ``STUCK_CPU_SECONDS``; without a break in SDK finding 19's loop, ``KNOWN_SPIN_CPU_SECONDS``
    (under load a duplicate's thread gets a fraction of a core, and five seconds of its CPU
    time could outlast the runner's wall-clock deadline: the spin was then reported as a
    hang, without the known issue's label)."""
    frame = sys._current_frames().get(thread_ident or -1)
    in_spin = safe_points.where(frame) == "engine" and adapter.in_batch_completion_loop(frame)
    if stuck.engine_looping(KNOWN_SPIN_CPU_SECONDS, in_spin):
        return KNOWN_SPIN_CPU_SECONDS
    if stuck.looping(STUCK_CPU_SECONDS):
        return STUCK_CPU_SECONDS
    return None


class FunctionTimedOut(HandlerInterrupted):
    """Raised into a handler whose invocation waited past the function's timeout on the
    virtual clock (``InProcessInvoker._time_out``): Lambda stops such a sandbox."""


def _interrupted() -> HandlerInterrupted:
    return HandlerInterrupted(
        "the runner's wall-clock deadline passed while this invocation ran: it is abandoned"
    )


def _awaiting(loop: asyncio.AbstractEventLoop, tasks: int = 3) -> str:
    """Where the tasks on ``loop`` wait, each as the chain of coroutines it awaits through
    (a suspended task's own stack holds only its outermost coroutine)."""
    chains = []
    for task in asyncio.all_tasks(loop):
        frames: list[tuple[FrameType, int]] = []
        awaited: Any = task.get_coro()
        while awaited is not None and getattr(awaited, "cr_frame", None) is not None:
            frames.append((awaited.cr_frame, awaited.cr_frame.f_lineno))
            awaited = awaited.cr_await
        if frames:
            chains.append((task, frames))
    # The handler's own tasks first: the SDK's (its checkpoint batcher, a batch's executor)
    # await their queues in every invocation, and a set's order would often show only those.
    chains.sort(key=lambda chain: not _in_user_code(chain[1]))
    parts = []
    for task, frames in chains[:tasks]:
        summary = traceback.StackSummary.extract(frames[-4:])
        parts.append(f"task {task.get_name()} awaiting:\n" + "".join(summary.format()))
    return "".join(parts) + _threads_awaited(loop)


def _threads_awaited(loop: asyncio.AbstractEventLoop) -> str:
    """Where the other threads in the handler's own code are, when the loop waits for work in
    another thread (``asyncio.to_thread``, ``run_in_executor``): a task awaiting such work
    says only that it waits; the thread says what it does."""
    if not (isinstance(loop, VirtualTimeEventLoop) and loop.waiting_on_threads):
        return ""
    here = threading.get_ident()
    names = {thread.ident: thread.name for thread in threading.enumerate()}
    parts = []
    for ident, frame in sys._current_frames().items():
        if ident == here:
            continue
        stack = traceback.extract_stack(frame)
        if not any(safe_points.kind_of(entry.filename) == "user" for entry in stack):
            continue
        while stack and stack[-1].filename == _SLEEP_FILE:
            stack.pop()  # the runner's ``time.sleep``: the line that called it says more
        # (The runner's wrapper of ``Condition.wait``, between two of threading's frames.)
        stack = traceback.StackSummary.from_list(
            [entry for entry in stack if entry.filename != _PARKED_FILE]
        )
        parts.append(
            f"thread {names.get(ident, ident)} (the loop waits for work in a thread) at:\n"
            + "".join(traceback.format_list(stack[-4:]))
        )
    return "".join(parts)


_SLEEP_FILE = blocking_sleep.blocking_sleep.__code__.co_filename
_PARKED_FILE = parked.mark.__code__.co_filename


def _in_user_code(frames: list[tuple[FrameType, int]]) -> bool:
    return any(safe_points.kind_of(frame.f_code.co_filename) == "user" for frame, _ in frames)


#: How long past the deadline a hung handler may stay outside its own code (in the SDK or
#: asyncio, a busy loop there) before it is interrupted wherever it is.
FORCE_INTERRUPT_AFTER = 5.0


class InProcessInvoker:
    # What only a drive or an invocation sets: read from the class until then (an invoker
    # per runner, and commonly a runner per execution).
    _worker: WorkerThread | None = None
    #: The invocation running on the worker under ``drive``, if any.
    _running: _Running | None = None
    #: The thread running ``drive``'s loop (the caller's or the worker's), while it runs.
    _driver: int | None = None
    #: The invocation a ``_drive_here`` interrupted as hung, until the drive reports it.
    _interrupted: _Running | None = None
    #: The last invocation's time travel, left running after it returned while its drive
    #: goes on (see ``_linger``): its travel and its traveller.
    _lingering: tuple[Any, Any] | None = None
    #: (the handler's clock in ns since the epoch, its ``time.monotonic()`` lead over the
    #: machine's) when the last invocation on the virtual clock ended.
    _lead_mark: tuple[int, float] | None = None

    def __init__(
        self,
        handlers: Mapping[str, Callable[..., Any]],
        *,
        wire_format: WireFormat = "objects",
        per_update_checkpoints: bool = True,
        handler_clock: HandlerClock = "virtual",
        clock_now: Callable[[], _dt.datetime] | None = None,
        advance_clock: Callable[[float], _dt.datetime] | None = None,
        cold_module_prefixes: tuple[str, ...] = (),
        random_seed: int | str | None = None,
        strict_replay: bool = False,
        function_timeout: float = DEFAULT_FUNCTION_TIMEOUT,
    ) -> None:
        for name, handler in handlers.items():
            if not adapter.is_durable_handler(handler):
                msg = (
                    f"function {name!r}: expected a handler decorated with @durable_execution, "
                    f"got {handler!r}; decorate it (from async_durable_execution import "
                    "durable_execution)"
                )
                raise HandlerNotDurableError(msg)
        self.handlers = dict(handlers)
        #: The handlers as given: the test process's own (``restore_modules``).
        self._given = dict(handlers)
        #: The test process's modules that cold sandboxes took out of ``sys.modules``.
        self._displaced: dict[str, ModuleType] = {}
        self.wire_format: WireFormat = wire_format
        self.per_update_checkpoints = per_update_checkpoints
        self.handler_clock: HandlerClock = handler_clock
        self.clock_now = clock_now
        self.advance_clock = advance_clock
        self.cold_module_prefixes = cold_module_prefixes
        #: Threads a sandbox's import started, by the request they are for (``_run`` hands
        #: them to the invocation's loop).
        self._init_threads: dict[str, list[threading.Thread]] = {}
        #: A cold or duplicate sandbox's copy of a handler -> the threads it started (its
        #: import's and its invocations'), ended with it when it is retired (``_retire``).
        self._threads_of: dict[Callable[..., Any], list[threading.Thread]] = {}
        self.random_seed = random_seed
        self.strict_replay = strict_replay
        #: Lambda's function timeout, counted on the virtual clock: the time an invocation
        #: waits in-process (its loop's jumps, see ``virtual_loop``). ``math.inf``: none.
        self.function_timeout = function_timeout
        self._time_limit = (
            _dt.timedelta(seconds=function_timeout) if math.isfinite(function_timeout) else None
        )
        #: Each function's log stream, one per execution environment (a cold invocation
        #: starts another), and how many environments were started.
        self._log_streams: dict[str, str] = {}
        #: The travel and state of the invocation running on a virtual loop, for the loop's
        #: waits outside it (``outside_wait_started`` and the two after it).
        self._outside: tuple[Any, _Running] | None = None
        self._sandboxes = 0
        self.cache = SdkOperationCache()
        #: The handlers bound to this wire format's shared client, by ``id()`` (process-wide).
        self._bound = _BOUND[wire_format]
        self._running_lock = threading.Lock()

    def close(self) -> None:
        self.end_travel()
        if self._worker is not None:
            self._worker.release()
            self._worker = None
        self.restore_modules()

    def restore_modules(self) -> None:
        """Put back the test process's modules that cold sandboxes re-imported, in
        ``sys.modules`` and on their packages, and run the handlers as given from here on.

        The runner calls it when it hands control back to the test. A fresh copy left in
        ``sys.modules`` would take a later ``mock.patch("app.handlers.CLIENT")`` (which
        finds its target there) away from the module of the handler the test holds. The next
        invocation then runs the test process's module again, as a new sandbox would; a
        module first imported during the run stays."""
        displaced = self._displaced
        if not displaced:
            return
        self._displaced = {}
        put_back(displaced)
        self._retire_all()
        self.handlers.update(self._given)
        retired.bury()

    def can_start_cold(self, function_name: str) -> bool:
        """Whether a cold sandbox can re-import ``function_name``'s handler (``fresh_import``):
        only a handler its module binds to a name can be found again."""
        handler = self.handlers.get(function_name)
        return handler is not None and handler_address(handler) is not None

    def _handler(self, request: InvocationRequest) -> Callable[..., Any]:
        handler = self.handlers.get(request.function_name)
        if handler is None:
            msg = f"no handler registered for function {request.function_name!r}"
            raise KeyError(msg)
        environment = request.environment
        if environment == "cold":
            previous = handler
            handler = self._imported_afresh(handler, request, self._displaced)
            self.handlers[request.function_name] = handler
            self._retire(request.function_name, previous)
        elif environment == "duplicate" and handler_address(handler) is not None:
            # Lambda delivers a duplicate to another sandbox (the first is busy): a copy of
            # the module of its own, which neither the running delivery nor the invocations
            # after it see (they stay in the first's sandbox, on its loop). The modules the
            # import replaced are put back at once.
            replaced: dict[str, ModuleType] = {}
            try:
                handler = self._imported_afresh(handler, request, replaced)
            finally:
                put_back(replaced)
        return handler

    def _imported_afresh(
        self,
        handler: Callable[..., Any],
        request: InvocationRequest,
        displaced: dict[str, ModuleType],
    ) -> Callable[..., Any]:
        """``fresh_import`` for a new sandbox; its module raising is the sandbox's init error.
        The threads the import starts (a module-level client's worker) are the invocation's
        to wait for: one may not have reached its first wait when the handler queues its
        first job (runner bug 51)."""
        # The threads themselves, not their ids: a thread that ends during the import (a
        # retired sandbox's, ended with it) leaves its id to the next thread started, maybe
        # the import's own, which an id taken before would hide.
        before = set(threading.enumerate())
        try:
            return fresh_import(handler, self.cold_module_prefixes, displaced)
        except HandlerNotDurableError:
            raise  # the test's mistake (a handler no import can find), not the sandbox's
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            module = getattr(handler, "__module__", None) or "?"
            raise _InitFailed(init_failure(request.request_id, module, exc)) from exc
        finally:
            started = [t for t in threading.enumerate() if t not in before]
            if started:
                self._init_threads[request.request_id] = started

    def drive(
        self,
        loop: Callable[[], bool],
        wall_deadline: float | None,
        busy: Callable[[], bool] | None = None,
    ) -> bool | Abandoned:
        """Run the service's loop, and the invocations it makes (see ``invoke``), on one
        thread: the calling thread when it is the main thread, else this invoker's worker
        thread while the caller waits. At ``wall_deadline`` an invocation still running is
        given up on. ``busy()`` says whether the loop's thread is inside the service's own
        code (holds its state lock), where a hung handler must not be interrupted."""
        if hang_alarm.usable():
            outer = asyncio.events._get_running_loop()
            if outer is None:
                return self._drive_here(loop, wall_deadline, busy)
            if not is_invocation_loop(outer):
                # An async test's loop runs on this thread, and this synchronous call blocks
                # it until the drive ends: set it aside meanwhile, so that the handler runs on
                # the main thread, as Lambda's runtime calls it (on a worker thread
                # ``signal.signal`` raises, and a handler keeping a ``SIGALRM`` time limit
                # failed only in an async test: runner bug 37). (A drive started from inside
                # an invocation, whose loop this thread's next invocation would need, goes to
                # a worker as before.)
                asyncio.events._set_running_loop(None)
                try:
                    return self._drive_here(loop, wall_deadline, busy)
                finally:
                    asyncio.events._set_running_loop(outer)
        if self._worker is None:
            self._worker = WorkerThread.acquire()
        worker = self._worker
        future = worker.submit(lambda: self._drive_on(worker, loop))
        while True:
            # Looked at in slices: no signal reaches the worker, so its invocation is watched
            # from here for a turn of its loop that never ends (``_stop_if_looping``).
            timeout = None if wall_deadline is None else max(0.0, wall_deadline - real_monotonic())
            if future.wait(
                GIVE_UP_POLL_SECONDS if timeout is None else min(timeout, GIVE_UP_POLL_SECONDS)
            ):
                try:
                    return future.result()
                except InvocationAbandoned:
                    abandoned = self._given_up_on_interrupted()
                    if abandoned is None:
                        raise
                    return abandoned
            if wall_deadline is not None and real_monotonic() >= wall_deadline:
                abandoned = self._abandon_running(worker)
                if abandoned is not None:
                    return abandoned
                # The worker is in the service's own code, not in a handler: it stops at the
                # loop's next deadline check.
                wall_deadline = real_monotonic() + 0.01
                continue
            self._stop_if_looping(worker, busy)

    def _drive_on(self, worker: WorkerThread, loop: Callable[[], bool]) -> bool:
        self._driver = worker.thread_ident
        try:
            return loop()
        finally:
            self.end_travel()
            if self._driver == worker.thread_ident:
                self._driver = None

    def _drive_here(
        self,
        loop: Callable[[], bool],
        wall_deadline: float | None,
        busy: Callable[[], bool] | None,
    ) -> bool | Abandoned:
        """``drive`` on the calling (main) thread: no hand-off to a worker and back. A hung
        handler is interrupted at ``wall_deadline`` by ``SIGALRM`` (``hang_alarm``) and
        unwinds; the loop then reports it ``Abandoned``, as the worker's caller does."""
        outer = self._driver
        self._driver = threading.get_ident()
        try:
            if wall_deadline is None:
                return loop()
            with hang_alarm.DeadlineAlarm(
                wall_deadline,
                lambda frame: self._interrupt(frame, busy),
                lambda frame: self._tick(frame, busy),
            ):
                return loop()
        except InvocationAbandoned:
            abandoned = self._given_up_on_interrupted()
            if abandoned is None:
                raise
            return abandoned
        finally:
            self.end_travel()
            self._driver = outer

    def _tick(self, frame: FrameType | None, busy: Callable[[], bool] | None) -> None:
        """Every ``hang_alarm.TICK_SECONDS`` of a drive: the real time the handler's thread
        spent blocked inside one turn of its loop passes on the virtual clocks
        (``blocked_time``; runner bug 36)."""
        running = self._running
        if running is None:
            return
        loop = running.loop
        traveller = running.traveller
        if (
            not running.in_handler
            or traveller is None
            or not isinstance(loop, VirtualTimeEventLoop)
            or (busy is not None and busy())
        ):
            running.blocked.forget()
            return
        limit = _looping_for(running, threading.get_ident(), frame)
        if limit is not None:
            self._stop_looping(frame, running, loop, limit)
        seconds = running.blocked.tick(loop, frame)
        if seconds:
            self._pass_blocked(seconds, loop, traveller, running)

    def _stop_looping(
        self,
        frame: FrameType | None,
        running: _Running,
        loop: VirtualTimeEventLoop,
        seconds: float,
    ) -> None:
        """The invocation on this (the driving) thread has spent ``seconds`` in the SDK's or
        asyncio's code inside one turn of its loop: stop it where it is, as the deadline
        would much later. Its loop never turns again to raise at its next turn, and nothing
        there is left to finish: it loops (SDK finding 19 on Python 3.12 and later:
        ``parallel``'s and ``map``'s completion loop)."""
        running.abandoned = True
        running.request.session.abandoned = True  # whatever it still sends bounces
        running.stuck_why = _looped(
            seconds,
            "the thread was running at:\n"
            + ("".join(traceback.format_stack(frame)[-6:]) if frame is not None else "")
            + _awaiting(loop),
        )
        self._interrupted = running
        raise _interrupted()

    def _interrupt(self, frame: FrameType | None, busy: Callable[[], bool] | None) -> None:
        """The drive's deadline passed (``DeadlineAlarm``, on the driving thread): raise into
        the handler if it is in its own code (``safe_points``), else let the service's, the
        SDK's or asyncio's code finish what it is doing: the loop checks its own deadline,
        a virtual loop raises at its next turn, and the alarm calls again. A handler that
        stays out of its own code for ``FORCE_INTERRUPT_AFTER`` seconds is interrupted
        wherever it is."""
        running = self._running
        if running is None or not running.in_handler or (busy is not None and busy()):
            return
        now = real_monotonic()
        place = safe_points.where(frame)
        loop = running.loop
        if running.alarmed_at is None:
            running.alarmed_at = now
            running.abandoned = True
            running.request.session.abandoned = True  # whatever it still sends bounces
            # Where it hung: the thread's stack in its own code, else where each of its tasks
            # awaits, after the thread's stack when it was running the SDK's or asyncio's
            # code rather than waiting (an endless loop there: SDK finding 19).
            running.stack = (
                (
                    "".join(traceback.format_stack(frame)[-6:])
                    if frame is not None and place == "user"
                    else ""
                )
                or (
                    "the thread was running at:\n" + "".join(traceback.format_stack(frame)[-6:])
                    if frame is not None and place == "engine"
                    else ""
                )
                + (_awaiting(loop) if loop is not None else "")
                or "(stack unavailable)"
            )
            self._interrupted = running
        if place != "engine" or now - running.alarmed_at >= FORCE_INTERRUPT_AFTER:
            raise _interrupted()
        if isinstance(loop, VirtualTimeEventLoop):
            # Raised at its next turn, before it dequeues anything.
            loop.interrupt_at_next_turn(_interrupted)

    def _stop_if_looping(self, worker: WorkerThread, busy: Callable[[], bool] | None) -> None:
        """``_tick``'s look for an invocation stuck inside one turn of its loop in the SDK's
        or asyncio's code, made from the thread that waits for a drive handed to the worker
        (a test calling ``run()`` from a thread of its own: no signal reaches the worker).
        One found looping is stopped as ``_stop_looping`` stops one on the main thread: the
        interruption is raised into the worker, the invocation unwinds through the invoker
        and the service's loop, and ``drive`` reports it given up on. Without this the worker
        looped until the runner's wall-clock deadline, and SDK finding 19's spin was
        reported as a hang in "blocked" code instead of a stop in its loop."""
        running = self._running
        ident = worker.thread_ident
        if (
            ident is None
            or running is None
            or running.abandoned
            or not running.in_handler
            or not isinstance(running.loop, VirtualTimeEventLoop)
            or (busy is not None and busy())
        ):
            return
        frame = sys._current_frames().get(ident)
        limit = _looping_for(running, ident, frame)
        if limit is None:
            return
        running.abandoned = True
        running.request.session.abandoned = True  # whatever it still sends bounces
        where = "".join(traceback.format_stack(frame)[-6:]) if frame is not None else ""
        running.stuck_why = _looped(limit, f"the thread was running at:\n{where}")
        self._interrupted = running
        thread_end.interrupt(ident, HandlerInterrupted)

    def _given_up_on_interrupted(self) -> Abandoned | None:
        """The invocation a deadline alarm or a look for an endless turn interrupted, once it
        has unwound (``InvocationAbandoned``), as the service is to record it."""
        interrupted = self._interrupted
        self._interrupted = None
        if interrupted is None:
            return None
        request = interrupted.request
        if interrupted.stuck_why is not None:
            return Abandoned(request, given_up_outcome(request, interrupted.stuck_why))
        return Abandoned(request, hung_outcome(request, f"it was blocked at:\n{interrupted.stack}"))

    def _abandon_running(self, worker: WorkerThread) -> Abandoned | None:
        with self._running_lock:
            running = self._running
            if running is None:
                return None
            running.abandoned = True
            self._running = None
        request = running.request
        request.session.abandoned = True
        # The patched clock is process-wide: do not leave it frozen behind a hung handler.
        _stop_travel(running.travel)
        stack = worker.stack()
        worker.abandon()
        self._worker = None
        return Abandoned(request, hung_outcome(request, f"it was blocked at:\n{stack}"))

    def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        try:
            handler = self._handler(request)
        except _InitFailed as failed:
            return failed.outcome
        if request.environment != "duplicate":
            if self._driver == threading.get_ident() and self._running is None:
                return self._invoke_here(handler, request)  # (a test's call: no hand-off)
            return self._invoke_with(handler, request)
        try:
            return self._invoke_with(handler, request)
        finally:
            if handler is not self.handlers.get(request.function_name):
                # A duplicate's own copy of the module: its sandbox ends.
                self._retire_copy(request.function_name, handler)

    def _invoke_with(
        self, handler: Callable[..., Any], request: InvocationRequest
    ) -> InvocationOutcome:
        on_driver = self._driver == threading.get_ident()
        if on_driver and self._running is None:
            return self._invoke_here(handler, request)
        running = _Running(request)
        own = on_driver or request.environment == "duplicate"
        if own:
            # A duplicate delivery, which arrives while the first is running: a worker of its
            # own (Lambda's other sandbox), on the first's clock.
            worker = WorkerThread.acquire()
            first = self._running
            if first is not None and first.traveller is not None:
                running.shared = first
        else:
            if self._worker is None:
                self._worker = WorkerThread.acquire()
            worker = self._worker
        future = worker.submit(lambda: self._run(handler, request, running))
        shared = running.shared
        timeout = request.wall_timeout
        deadline = None if timeout is None else real_monotonic() + timeout
        if shared is not None:
            beside = (future, deadline)
            shared.beside.append(beside)
        session = request.session
        stuck = _StuckTurn(running, worker.thread_ident)
        try:
            # Looked at in slices: the service may give up on it meanwhile (``abandoned``: a
            # duplicate delivery that outlived a first delivery that hung), and it may loop
            # without end inside one turn of its loop.
            while not future.wait(GIVE_UP_POLL_SECONDS):
                if session.abandoned:
                    where = self._stop_worker(running, worker, own)
                    return given_up_outcome(
                        request, f"the runner gave up on it; it was running at:\n{where}"
                    )
                if deadline is not None and real_monotonic() >= deadline:
                    session.abandoned = True
                    where = self._stop_worker(running, worker, own)
                    return hung_outcome(request, f"it was blocked at:\n{where}")
                limit = _stuck_for(stuck, worker.thread_ident)
                if limit is not None:
                    session.abandoned = True
                    where = self._stop_worker(running, worker, own, looping=True)
                    return given_up_outcome(request, _looped(limit, f"it was running at:\n{where}"))
            return future.result()
        finally:
            if shared is not None:
                shared.beside.remove(beside)
            if own:
                worker.release()

    def _stop_worker(
        self, running: _Running, worker: WorkerThread, own: bool, *, looping: bool = False
    ) -> str:
        """Give up on the invocation running on ``worker``, as Lambda stops its sandbox: its
        clock stops, and the worker is abandoned; where it was. A thread caught ``looping``
        inside one turn is ended too (``WorkerThread.end``): it would keep a core busy. One
        that waits is left to end when its wait does, as before: an exception raised into a
        thread as it wakes in a lock's or a condition's code can leave them broken for the
        threads that share them."""
        running.abandoned = True
        _stop_travel(running.travel)
        stack = worker.stack()
        if looping:
            worker.end(safe_points.outside_the_service)
        else:
            worker.abandon()
        if not own:
            self._worker = None
        return stack

    def _invoke_here(
        self, handler: Callable[..., Any], request: InvocationRequest
    ) -> InvocationOutcome:
        """Run the invocation on this thread, the one running ``drive``'s loop."""
        running = _Running(request)
        with self._running_lock:
            self._running = running
        try:
            outcome = self._run(handler, request, running)
        except BaseException:
            if self._end_running(running):
                raise InvocationAbandoned from None
            raise
        if self._end_running(running):
            raise InvocationAbandoned
        return outcome

    def _end_running(self, running: _Running) -> bool:
        """Whether the invocation was abandoned while it ran."""
        with self._running_lock:
            if self._running is running:
                self._running = None
            return running.abandoned

    def _run(
        self,
        handler: Callable[..., Any],
        request: InvocationRequest,
        running: _Running,
    ) -> InvocationOutcome:
        session = request.session
        travel_box = running.travel
        init_threads = self._init_threads.pop(request.request_id, ()) if self._init_threads else ()
        if init_threads:
            self._note_threads(request.function_name, handler, init_threads)
        entry, layered = self._entry(handler)
        session.sdk_cache = self.cache  # what the shared client answers from
        event = invocation_event(
            request.execution_arn,
            request.checkpoint_token,
            request.operations,
            request.next_marker,
            # Layers of the user's own above the SDK's handler read the event Lambda sends,
            # JSON (they log it, serialise it, look into it): the SDK's model objects are
            # for the SDK's handler alone (runner bug 38).
            wire_format=self.wire_format if layered is None else "json",
            cache=self.cache,
        )
        # Every invocation starts with the function's whole timeout, as on Lambda.
        timeout = self.function_timeout
        context = running.context = lambda_context(
            request.request_id,
            request.function_name,
            request.execution_arn.split("/durable-execution/")[0],
            real_monotonic() + timeout if timeout != math.inf else None,
            self._log_stream(request),
        )
        hooks = _Hooks(session, self.per_update_checkpoints, self.strict_replay, running)
        if self.random_seed is not None:
            # The SDK's retry jitter uses the global ``random``: seed it per invocation so a
            # history is the same byte for byte on every run.
            random.seed(f"{self.random_seed}:{request.execution_arn}:{session.invocation_index}")
        virtual = self.handler_clock == "virtual" and self.clock_now is not None
        loop = thread_loop(virtual=virtual and self.advance_clock is not None)
        jumping = loop if isinstance(loop, VirtualTimeEventLoop) else None
        outside_before = self._outside
        traveller: Any = None
        watched: int | None = None
        if virtual:
            assert self.clock_now is not None
            started = self.clock_now()
            shared = running.shared
            if shared is None:
                travel, traveller = self._travel_to(started)
                travel_box.append(travel)
                mark = self._lead_mark
                if mark is not None:
                    # What the handler's ``time.monotonic()`` runs ahead of the machine's: the
                    # seconds the earlier invocations' loops skipped, and every second the
                    # runner's clock moved since the last one ended (a durable wait, a retry
                    # delay: time the service jumped over). On Lambda a warm sandbox's
                    # monotonic clock runs on while the function waits, and never goes back:
                    # module state that keeps a monotonic instant (a circuit breaker's open
                    # period, a TTL cache's expiry, a rate limiter's bucket) sees an hour's
                    # wait pass. Counted per invocation, an hour's wait passed as no time,
                    # and with a fresh clock per invocation (whenever an observer listens,
                    # as the harness's do) time went back by what the last invocation's
                    # loop had skipped (runner bug 55).
                    gap = traveller.ns - mark[0]
                    traveller.skipped = mark[1] + gap / 1e9 if gap > 0 else mark[1]
            else:
                # A duplicate delivery: one clock for both (time-machine's is the process's).
                traveller = shared.traveller
            running.traveller = traveller
            if context.deadline is not None:
                # In the handler's ``time.monotonic()``, which runs ahead of the machine's by
                # what the clock's loops skipped so far.
                context.deadline += traveller.skipped
            if jumping is not None:
                if self._time_limit is not None:
                    running.time_limit = started + self._time_limit
                jumping.on_jump = lambda seconds: self._jump(seconds, traveller, running)
                if shared is None:
                    # The invoker is the loop's ``OutsideTime`` for this invocation.
                    self._outside = (traveller, running)
                    jumping.outside_time = self
                else:
                    # A duplicate runs beside the first, which keeps the invoker's.
                    jumping.outside_time = _OutsideOf(self, traveller, running)
                jumping.forget_threads()
                for thread in init_threads:
                    jumping.note_working(thread)
                interleaving = session.interleaving
                if ranks_threads(interleaving):
                    jumping.thread_rank = functools.partial(
                        interleaving.thread_rank, session.execution_arn, session.invocation_index
                    )
                jumping.align_time(real_monotonic() + traveller.skipped)
                jumping.busy_turns = 0  # counted per invocation
                sleeper = threading.get_ident()
                blocking_sleep.sleepers[sleeper] = lambda seconds: self._slept(
                    seconds, jumping, traveller, running
                )
                if not hang_alarm.ticking():
                    # No signal reaches this thread (a duplicate delivery's, a drive handed
                    # to a worker): the ticker looks at it from outside.
                    watched = sleeper
                    blocked_time.TICKER.watch(
                        sleeper,
                        running.blocked,
                        lambda: jumping if running.in_handler else None,
                        lambda seconds: self._pass_blocked_outside(
                            seconds, jumping, traveller, running
                        ),
                    )
        bound_session = current_session.set(session)
        if traveller is not None:
            # The invocation's context (its tasks inherit it) reads this clock.
            bound_clock = handler_clock.context_clock.set(traveller)
        returned = False
        try:
            with adapter.invocation_scope(hooks):
                outcome = self._drive(loop, entry, layered, event, context, running)
            returned = True
        finally:
            if traveller is not None:
                reset_context_var(handler_clock.context_clock, bound_clock)
            settle(loop, running)
            reset_context_var(current_session, bound_session)
            if jumping is not None:
                if jumping.started_threads:
                    self._note_threads(request.function_name, handler, jumping.started_threads)
                jumping.on_jump = jumping.outside_time = None
                if running.shared is None and not running.abandoned:
                    # (An abandoned invocation's thread, ended late, leaves the invoker's
                    # state to the invocations after it.)
                    self._outside = outside_before
                blocking_sleep.sleepers.pop(threading.get_ident(), None)
                if watched is not None:
                    blocked_time.TICKER.unwatch(watched)
            if running.beside:
                _await_beside(running)
            if (
                traveller is not None
                and running.shared is None
                and self.advance_clock
                and not running.abandoned
            ):
                # (On a real clock the time between invocations is the machine's own.)
                self._lead_mark = (traveller.ns, traveller.skipped)
            running.traveller = None
            if not (returned and travel_box and self._linger(running, travel_box, traveller)):
                _stop_travel(travel_box)
        if hooks.nondeterminism is not None:
            return InvocationOutcome(
                status=None,
                death=ErrorObject(error_type=NONDETERMINISTIC, error_message=hooks.nondeterminism),
                fatal=True,
            )
        return outcome

    def _retire_all(self) -> None:
        # (A function of its own: a loop variable left in ``restore_modules`` would keep the
        # last retired handler alive through the burial.)
        for name, handler in list(self.handlers.items()):
            self._retire(name, handler)
        self._threads_of.clear()  # (every copy still running was among the handlers)

    def _retire(self, name: str, handler: Callable[..., Any]) -> None:
        """Function ``name``'s sandbox ends: a copy of its module (not the test's own, which
        lives on) is kept until the next burial (``retired.bury``), and its threads end."""
        if handler is not self._given.get(name):
            self._retire_copy(name, handler)

    def _retire_copy(self, name: str, handler: Callable[..., Any]) -> None:
        retired.retire(
            handler, threads=self._threads_of.pop(handler, ()), given=self._given.get(name)
        )

    def _note_threads(
        self, name: str, handler: Callable[..., Any], threads: Iterable[threading.Thread]
    ) -> None:
        """``threads`` were started in the sandbox of ``handler``: a copy's are ended when it
        is retired (the test process's own module lives on, and so do its threads)."""
        if handler is self._given.get(name):
            return
        alive = [thread for thread in threads if thread.is_alive()]
        if alive:
            self._threads_of.setdefault(handler, []).extend(alive)

    def _travel_to(self, instant: _dt.datetime) -> tuple[Any, Any]:
        """``_start_travel(instant)``, or the travel the last invocation of this drive left
        running (``_linger``), moved to ``instant``."""
        lingering = self._lingering
        if lingering is None:
            return _start_travel(instant)
        self._lingering = None
        travel, traveller = lingering
        traveller.move_to_ns((instant - _EPOCH) // _MICROSECOND * 1000)
        return travel, traveller

    def _linger(self, running: _Running, travel_box: list[Any], traveller: Any) -> bool:
        """Leave the invocation's time travel running after it returned, for the next
        invocation of the same drive to move instead of starting one (starting and stopping a
        travel is most of what time-machine costs an invocation). Only when nothing but the
        service's own code runs until then: the drive's own invocation (not a duplicate
        delivery on another thread), no observer (observers hear of every invocation's start
        and end, out of it), and its travel still time-machine's newest. The drive stops it
        when it ends (``end_travel``), and so does the service before it runs a scheduled
        action, so that the test's code never sees the handler's clock."""
        if running is not self._running or running.abandoned or running.request.session.observed:
            return False
        if not handler_clock.newest(traveller):
            return False
        with _TRAVEL_LOCK:
            if not travel_box:
                return False  # stopped meanwhile (an abandoned invocation's)
            self._lingering = (travel_box.pop(), traveller)
        return True

    def end_travel(self) -> None:
        """Stop the time travel the last invocation left running (``_linger``), if any."""
        lingering = self._lingering
        if lingering is not None:
            self._lingering = None
            _stop_travel([lingering[0]])

    def _entry(
        self, handler: Callable[..., Any]
    ) -> tuple[adapter.AsyncHandler, Callable[..., Any] | None]:
        """The handler bound to the process's client for this invoker's wire format, once per
        handler and process (the client serves whichever invocation runs in the calling
        context, ``current_session``, from its ``sdk_cache``), and the handler itself when the
        user wrapped it in layers of their own (to call as Lambda does:
        ``adapter.call_through_layers``).

        Binding runs the SDK's decorator around the function again, which costs about as much
        as the rest of an invocation's set-up, and a test commonly makes a runner per
        execution: hence one binding for every runner, not one per runner."""
        bound = self._bound.get(id(handler))
        if bound is None or bound[0] is not handler:  # (an ``id()`` reused once it was let go)
            bound = _bind(self._bound, handler, self.wire_format)
        return bound[1], bound[2]

    def _log_stream(self, request: InvocationRequest) -> str:
        stream = self._log_streams.get(request.function_name)
        if stream is None or request.environment == "cold":
            self._sandboxes += 1
            started = (self.clock_now or _WALL_CLOCK.now)()
            stream = log_stream_name(request.function_name, self._sandboxes, started)
            self._log_streams[request.function_name] = stream
        return stream

    def _jump(self, seconds: float, traveller: Any, running: _Running) -> None:
        """The handler waited ``seconds`` of virtual time: move the runner's clock and the
        handler's ``time.time()``/``datetime.now()`` with it, and stop the invocation if
        that took it past the function's timeout."""
        assert self.advance_clock is not None
        now = self.advance_clock(seconds)
        traveller.move_to(now)
        # The handler's ``time.monotonic()`` runs ahead by as much; the time its context
        # says is left shrinks with it (``get_remaining_time_in_millis``).
        traveller.skipped += seconds
        limit = running.time_limit
        if limit is not None and now > limit:
            self._time_out(running)

    def _slept(
        self, seconds: float, loop: VirtualTimeEventLoop, traveller: Any, running: _Running
    ) -> None:
        """The handler blocked its loop's thread in ``time.sleep(seconds)``, which took that
        much real time: let the same time pass on the virtual clocks (the runner's, the
        handler's ``time.time()``, the loop's own, whose timers due meanwhile are then
        overdue, as after a real block), and stop the invocation if that took it past the
        function's timeout. (The remaining time the context reports is real time, which the
        sleep has already spent.)"""
        running.blocked.slept += seconds
        self._pass_blocked(seconds, loop, traveller, running)

    def _pass_blocked(
        self, seconds: float, loop: VirtualTimeEventLoop, traveller: Any, running: _Running
    ) -> None:
        """The handler's thread was blocked for ``seconds`` of real time inside a turn of its
        loop (``_slept``, ``_tick``): pass as much on the virtual clocks."""
        now = self._pass_on_clocks(seconds, loop, traveller)
        limit = running.time_limit
        if limit is not None and now > limit:
            # Raised here, in the handler's blocking code, to stop it; the SDK's clean-up on
            # the way out may await, so the loop's next turn raises it again, as a jump does.
            loop.interrupt_at_next_turn(self._timed_out_error)
            self._time_out(running)

    def _pass_blocked_outside(
        self, seconds: float, loop: VirtualTimeEventLoop, traveller: Any, running: _Running
    ) -> None:
        """``_pass_blocked`` from the ticker's thread (``blocked_time.TICKER``), for a thread
        no signal reaches: past the function's timeout the invocation is stopped at its
        loop's next turn (nothing can be raised into another thread's blocking call)."""
        now = self._pass_on_clocks(seconds, loop, traveller)
        limit = running.time_limit
        if limit is not None and now > limit and not running.timed_out:
            self._mark_timed_out(running)
            loop.interrupt_at_next_turn(self._timed_out_error)

    def _pass_on_clocks(
        self, seconds: float, loop: VirtualTimeEventLoop, traveller: Any
    ) -> _dt.datetime:
        """``seconds`` of real time pass on the loop's clock, the runner's and the handler's:
        the runner's clock after it."""
        assert self.advance_clock is not None
        with loop._clock_lock:
            loop._virtual += seconds
        now = self.advance_clock(seconds)
        traveller.move_to(now)
        return now

    # --- ``virtual_loop.OutsideTime`` for the invocation running (``self._outside``) ------

    def outside_wait_started(self) -> float | None:
        assert self._outside is not None
        return self.outside_started(self._outside[1])

    def outside_time_moved(self, seconds: float) -> None:
        assert self._outside is not None
        self._outside[0].shift(seconds)

    def outside_wait_ended(self, seconds: float) -> None:
        assert self._outside is not None
        self.outside_ended(seconds, *self._outside)

    def outside_started(self, running: _Running) -> float | None:
        """``OutsideTime.outside_wait_started`` for ``running``."""
        limit = running.time_limit
        if limit is None or self.clock_now is None:
            return None
        return max(0.0, (limit - self.clock_now()).total_seconds())

    def outside_ended(self, seconds: float, traveller: Any, running: _Running) -> None:
        """A wait of the loop for the world outside it passed ``seconds`` on the handler's
        clock: the runner's clock moves as far, and past the function's timeout the
        invocation is stopped. (The remaining time the context reports is real time, which
        the wait has already spent.)"""
        assert self.advance_clock is not None
        now = self.advance_clock(seconds)
        traveller.move_to(now)
        limit = running.time_limit
        if limit is not None and now > limit:
            self._time_out(running)

    def _time_out(self, running: _Running) -> None:
        """The invocation has waited past the function's timeout (called from its loop's
        selector, between two turns): stop it, as Lambda stops the sandbox, and say where
        its tasks await. Nothing it still sends reaches the service."""
        self._mark_timed_out(running)
        raise self._timed_out_error()

    def _mark_timed_out(self, running: _Running) -> None:
        if not running.timed_out:
            running.timed_out = True
            running.request.session.abandoned = True
            loop = running.loop
            running.stack = (_awaiting(loop) if loop is not None else "") or "(stack unavailable)"

    def _timed_out_error(self) -> FunctionTimedOut:
        return FunctionTimedOut(
            f"the function's timeout ({self.function_timeout:g} s) passed on the virtual clock"
        )

    def _drive(
        self,
        loop: asyncio.AbstractEventLoop,
        entry: adapter.AsyncHandler,
        layered: Callable[..., Any] | None,
        event: dict[str, Any],
        context: LocalLambdaContext,
        running: _Running,
    ) -> InvocationOutcome:
        session = running.request.session
        virtual = loop if isinstance(loop, VirtualTimeEventLoop) else None
        try:
            # Only inside the handler's run may a deadline alarm interrupt it (``_interrupt``).
            running.loop = loop
            running.in_handler = True
            try:
                if layered is None:
                    output = loop.run_until_complete(entry(event, context))
                else:
                    output = adapter.call_through_layers(
                        layered, entry, event, context, loop.run_until_complete
                    )
            finally:
                running.in_handler = False
                running.loop = None
                if virtual is not None:
                    virtual.clear_interrupt()
        except HandlerInterrupted:
            if running.timed_out:
                return timed_out_outcome(running.request, self.function_timeout, running.stack)
            return InvocationOutcome(status=None)  # abandoned: ``_invoke_here`` reports it
        except (SandboxCrashed, asyncio.CancelledError):
            if running.timed_out:
                # Stopped in its blocking code, where the SDK's clean-up was cancelled.
                return timed_out_outcome(running.request, self.function_timeout, running.stack)
            if session.crashed:
                return InvocationOutcome(
                    status=None,
                    death=ErrorObject(
                        error_type="Runtime.ExitError",
                        error_message=(
                            f"RequestId: {context.aws_request_id} Error: {session.crash_reason}"
                        ),
                    ),
                )
            raise
        except Exception as exc:
            return InvocationOutcome(
                status=None,
                death=ErrorObject(
                    error_type=type(exc).__name__,
                    error_message=str(exc),
                    stack_trace=stack_trace(exc),
                ),
            )
        except KeyboardInterrupt:
            raise  # the test run is being interrupted, not the sandbox
        except BaseException as exc:
            # Lambda's Python runtime catches Exception only: anything else the handler lets
            # out (SystemExit, a BaseExceptionGroup from an asyncio.TaskGroup) ends the
            # runtime process, and the invocation ends as Runtime.ExitError. (A crash the
            # handler wrapped in a group is still the crash: reported below.)
            if not session.crashed:
                return InvocationOutcome(
                    status=None, death=runtime_exit(context.aws_request_id, exc)
                )
        if session.crashed:
            return InvocationOutcome(
                status=None,
                death=ErrorObject(
                    error_type="Runtime.ExitError", error_message=session.crash_reason
                ),
            )
        if layered is not None:
            # Lambda's runtime writes the response as JSON: what a layer of the user's
            # returned must be JSON (the SDK's own output always is), as in a worker process.
            try:
                json.dumps(output)
            except (TypeError, ValueError) as exc:
                return InvocationOutcome(status=None, death=marshal_error(exc))
        return read_output(output)


def read_output(output: Mapping[str, Any]) -> InvocationOutcome:
    if not isinstance(output, Mapping):
        # (A layer of the user's above ``@durable_execution`` may return anything.)
        return InvocationOutcome(
            status=None,
            death=ErrorObject(
                error_type="Runtime.InvalidResponse",
                error_message=(
                    f"the handler returned {type(output).__name__}; expected the durable "
                    "execution's output, an object with Status SUCCEEDED, FAILED or PENDING"
                ),
            ),
        )
    status = output.get("Status")
    error = output.get("Error")
    if status not in ("SUCCEEDED", "FAILED", "PENDING"):
        return InvocationOutcome(
            status=None,
            death=ErrorObject(
                error_type="Runtime.InvalidResponse",
                error_message=(
                    f"the handler returned Status {status!r}; expected SUCCEEDED, FAILED or PENDING"
                ),
            ),
        )
    return InvocationOutcome(
        status=status,
        result=output.get("Result"),
        error=ErrorObject.from_dict(error) if error is not None else None,
    )


_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MICROSECOND = _dt.timedelta(microseconds=1)


def _start_travel(instant: _dt.datetime) -> tuple[Any, Any]:
    """Start the handler's clock at ``instant`` (``handler_clock``): the registration (to
    stop) and the clock (to move), the same object."""
    try:
        clock = handler_clock.start_clock(instant)
    except handler_clock.FreezegunActive as error:
        msg = (
            "the runner shows the handler its virtual clock with time-machine, which cannot "
            "start while freezegun's freeze_time is active (time-machine says: "
            f"{error}); drop freeze_time around the run and give the runner the instant "
            "instead (start_time=datetime(...), which the virtual clock starts from), or "
            "pass handler_clock='real', with which the handler reads freezegun's frozen time "
            "(it then does not move across waits)"
        )
        raise DurableRunnerError(msg) from error
    return clock, clock


_TRAVEL_LOCK = threading.Lock()


def _stop_travel(travel_box: list[Any]) -> None:
    """Stop an invocation's clock once: when it ends, or when it is abandoned (hung)."""
    with _TRAVEL_LOCK:
        if travel_box:
            handler_clock.stop_clock(travel_box.pop())


_Bound = tuple[Callable[..., Any], adapter.AsyncHandler, Callable[..., Any] | None]

#: Per wire format, ``id(handler)`` -> (the handler, its entry bound to ``shared_client``, the
#: handler again if the user wrapped it in layers of their own, else ``None``). An entry holds
#: its handler, so no other object can take that ``id()`` while the entry lives; the oldest
#: are let go past ``_BOUND_KEPT`` (property tests make handlers by the hundred, and every
#: cold or duplicate sandbox imports its handler afresh: an entry keeps that module alive).
_BOUND: dict[WireFormat, dict[int, _Bound]] = {"objects": {}, "json": {}}
_BOUND_KEPT = 64
_BIND_LOCK = threading.Lock()


def _forget_bound(handler: Callable[..., Any]) -> None:
    """Let go of a retired sandbox's handler bindings (``retired.bury``)."""
    with _BIND_LOCK:
        for table in _BOUND.values():
            bound = table.get(id(handler))
            if bound is not None and bound[0] is handler:
                del table[id(handler)]


retired.on_burial(_forget_bound)


def _bind(table: dict[int, _Bound], handler: Callable[..., Any], wire_format: WireFormat) -> _Bound:
    bound = (
        handler,
        adapter.bind_client(handler, shared_client(wire_format)),
        handler if adapter.has_outer_layers(handler) else None,
    )
    with _BIND_LOCK:
        while len(table) >= _BOUND_KEPT:
            del table[next(iter(table))]
        table[id(handler)] = bound
    return bound
