"""Detect the handler's own reads of randomness and wall-clock time outside step bodies
(and note which step bodies draw them: their results differ from run to run by nature).

Code outside a step runs again on every replay, so a value it draws from ``random``,
``uuid``, ``secrets``, ``os.urandom`` or the clock differs between invocations. The detector
wraps those few functions (cheap, unlike tracing every call) and records each call whose
caller is the user's code — not the SDK, this package, the standard library or an installed
third-party package — and that is not inside a step body. Clock reads (``datetime.now``,
``utcnow``, ``today``, ``time.time``) are seen through ``time-machine``, which the runner
uses to show the handler its virtual clock.
"""

from __future__ import annotations

import contextvars
import functools
import logging
import os
import random
import secrets
import sys
import sysconfig
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

import async_durable_execution
import time_machine

import async_durable_execution_runner
from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._harness import handoff
from async_durable_execution_runner._sandbox.cpython_bugs import reset_context_var
from async_durable_execution_runner._sandbox.lambda_context import LocalLambdaContext
from async_durable_execution_runner._sandbox.virtual_loop import LOOP_CALLBACK_CODES

_WRAPPED: dict[str, tuple[ModuleType, tuple[str, ...]]] = {
    "random": (
        random,
        (
            "random",
            "randint",
            "randrange",
            "choice",
            "choices",
            "shuffle",
            "sample",
            "uniform",
            "gauss",
            "getrandbits",
            "randbytes",
        ),
    ),
    "uuid": (uuid, ("uuid1", "uuid4")),
    "secrets": (secrets, ("token_bytes", "token_hex", "token_urlsafe", "choice", "randbelow")),
    "os.urandom": (os, ("urandom",)),
}


@functools.cache
def _excluded_roots() -> tuple[str, ...]:
    roots = {
        str(Path(async_durable_execution.__file__).parent),
        str(Path(async_durable_execution_runner.__file__).parent),
        str(Path(time_machine.__file__).parent),
    }
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            roots.add(path)
    return tuple(sorted(roots))


@dataclass(frozen=True)
class NondeterministicCall:
    source: str  # "random", "uuid", "secrets", "os.urandom" or "clock"
    function: str
    filename: str
    lineno: int

    def __str__(self) -> str:
        return f"{self.function}() at {self.filename}:{self.lineno}"


#: The contexts a step body runs in: a step's own (and a ``wait_for_condition`` check's, a
#: subclass), and a ``wait_for_callback`` submitter's, which the SDK binds inside the
#: submitter's step and which carries that step's operation id.
_STEP_BODY_CONTEXTS = (
    async_durable_execution.StepContext,
    async_durable_execution.WaitForCallbackContext,
)


#: What ``_step_body`` says of code whose reads are made once, not again on every replay, or
#: whose code cannot be told: a thread with no durable context at all (not the durable
#: handler's own code outside its steps, which is the code that replays), a SerDes
#: serializing a value for its checkpoint, a summary generator. Not flagged, and no step's.
NOT_REPLAYED = ""


#: What a thread handed work by the handler's code outside steps does it for (``_handed``).
_OUTSIDE_STEPS = object()
#: ... and one handed work by code that runs once (``_made_once``: an upload of a payload).
_ONCE = object()
#: Whose work a thread does that was handed it without its hander's context: a step's
#: operation id, ``_OUTSIDE_STEPS`` or ``_ONCE`` (``_Attribution`` carries it there).
_handed: contextvars.ContextVar[object | None] = contextvars.ContextVar(
    "async_durable_execution_runner_handed_for", default=None
)


def _step_body(frame: FrameType | None = None) -> str | None:
    """The operation id of the step whose body is running, if one is; ``NOT_REPLAYED`` for
    code whose reads are made once (``frame``: the reading code's, to tell a SerDes
    serializing from one deserializing), or whose code cannot be told."""
    whose = _whose(frame)
    if whose is None or whose is _ONCE:
        return NOT_REPLAYED
    return None if whose is _OUTSIDE_STEPS else str(whose)


def _whose(frame: FrameType | None) -> object | None:
    """Whose code runs here: a step's operation id, ``_OUTSIDE_STEPS`` (the handler's code
    outside steps, which replays), ``_ONCE`` (code the SDK runs once per checkpointed
    value), or ``None`` (cannot be told)."""
    try:
        context = async_durable_execution.get_current_context()
    except RuntimeError:
        # The handler's code always runs in a durable context (its root context outside
        # steps), and ``asyncio.to_thread`` carries it to the thread. Code without one is
        # either
        # - in a thread handed work, or started, without the caller's context
        #   (``run_in_executor``, a pool's ``submit``, ``threading.Thread``): the code that
        #   handed it over is known (``_handed``), except for a thread the handler's code
        #   started outside steps, and a thread handed work by a thread of its own;
        # - or, on the run's own thread, in a layer of the Lambda entry point above
        #   ``@durable_execution`` (a logging or metrics decorator, as Powertools' are), which
        #   runs before the SDK's handler starts and after it returns: what it reads is for
        #   its logs and metrics, and no durable operation is decided there.
        return _handed.get()
    except Exception:  # the SDK's refusal, whatever its type
        # The SDK refuses to name a context while a flow's definition (a ``@durable_dag``)
        # runs, synchronously, on every replay: the handler's code outside steps. (Letting
        # the refusal out would fail the user's definition under the harness only.)
        return _OUTSIDE_STEPS
    if isinstance(context, _STEP_BODY_CONTEXTS):
        return str(context.operation_identifier.operation_id)
    if _made_once(frame):
        return _ONCE
    return _OUTSIDE_STEPS


#: How far up from a nondeterministic call, or from a hand-off to a thread, to look for the
#: SDK serializing or summarising (the SerDes, a pipeline's stages, a helper or two, the
#: hand-off's own frames: ``run_in_executor``, the pool's ``submit``).
_ONCE_FRAMES = 24


def _made_once(frame: FrameType | None) -> bool:
    """Whether ``frame`` runs under the SDK making what it checkpoints of a value, once:
    serializing it, or summarising a result too big to checkpoint. On replay the SDK
    deserializes the payload, or runs the children again and returns their result without
    summarising, so a key a SerDes draws for the payload it offloads (an S3 object, a file)
    or the time a summary is stamped with is read once. (A deserializer runs on every
    replay: what it reads stays the handler's.)"""
    codes = adapter.serializer_codes()
    sites = adapter.summary_call_sites()
    caller = frame
    for _ in range(_ONCE_FRAMES):
        if caller is None:
            return False
        code = caller.f_code
        if code in codes or (code, caller.f_lineno) in sites:
            return True
        caller = caller.f_back
    return False


class _Attribution:
    """Carries to handed-off work whose code handed it over: a step body's draws there are
    the step's to make (a blocking client's request id), and a job the handler's code
    outside steps waits for (``await loop.run_in_executor(None, new_order_id)``) draws
    again on every replay, as the same job through ``asyncio.to_thread`` does.

    Not carried: what the handler's code outside steps starts as a thread of its own. Such a
    thread may outlive the call that started it and serve later steps (a background uploader
    started on first use): which code its reads are for cannot be told, and a flag on
    correct code is worse than none."""

    def capture(self) -> object | None:
        if _active[0] is None:
            return None
        return _whose(sys._getframe(1))

    def carry(
        self, captured: object, work: Callable[..., Any], *, thread: bool
    ) -> Callable[..., Any]:
        if thread and captured is _OUTSIDE_STEPS:
            return work

        def for_the_hander(*args: Any, **kwargs: Any) -> Any:
            token = _handed.set(captured)
            try:
                return work(*args, **kwargs)
            finally:
                reset_context_var(_handed, token)

        return for_the_hander


_ATTRIBUTION = _Attribution()


#: How far up from a nondeterministic call to look for the SDK asking a strategy for a delay
#: (the strategy, a helper or two of the user's, then the SDK's method).
_DELAY_FRAMES = 8


def _deciding_a_delay(frame: FrameType) -> bool:
    """Whether ``frame`` runs under a retry or polling strategy the SDK is asking for a delay
    once an attempt has ended: the delay is checkpointed and the strategy does not run on
    replay, so a random draw there (custom jitter) is as safe as the SDK's own."""
    deciders = adapter.delay_deciders()
    caller: FrameType | None = frame
    for _ in range(_DELAY_FRAMES):
        if caller is None:
            return False
        if caller.f_code in deciders:
            return True
        caller = caller.f_back
    return False


#: How far up from a nondeterministic call to look for the logging machinery or an import
#: (a formatter called by a handler's ``emit``, called by ``Handler.handle``, ``callHandlers``,
#: ``Logger.handle`` and ``Logger._log``; a helper or two called at module level).
_CONTEXT_FRAMES = 16

#: ``Logger._log`` runs the record factory, the logger's filters and every handler (with
#: their filters and formatters); ``Handler.handle`` runs a handler outside a logging call (a
#: ``QueueListener``'s thread).
_LOGGING_CODES = frozenset({logging.Logger._log.__code__, logging.Handler.handle.__code__})

#: The event loop's call into a callback (a task's step): the bottom of a handler's stack.
_LOOP_CALLBACKS = LOOP_CALLBACK_CODES


def _logging_or_importing(frame: FrameType) -> bool:
    """Whether ``frame`` runs under the logging machinery handling a record, or under a
    module's code being imported.

    A formatter, filter or record factory that stamps a line with ``datetime.now()`` (or a
    handler that draws a uuid for it) writes to the logs, never to the execution's state;
    the SDK itself drops its root logger's records during replay. A module's top-level code
    runs once per sandbox, when the module is imported (a cold start), not on every replay:
    a sandbox id or a start time drawn there for the logs is sandbox initialisation. (A
    value the handler's own code reads before it calls the logger, ``log.info("%s",
    time.time())``, is still its own read: it may reach a durable decision as well.)"""
    caller: FrameType | None = frame
    for _ in range(_CONTEXT_FRAMES):
        if caller is None:
            return False
        code = caller.f_code
        if code in _LOGGING_CODES:
            return True
        if code in _LOOP_CALLBACKS:
            return False  # below it: what ran the event loop (a test, a module), not the handler
        if code.co_name == "<module>":
            importer = caller.f_back
            return importer is not None and importer.f_code.co_filename.startswith(
                "<frozen importlib"
            )
        caller = caller.f_back
    return False


@functools.cache
def _own_roots() -> tuple[str, ...]:
    return (
        str(Path(async_durable_execution.__file__).parent),
        str(Path(async_durable_execution_runner.__file__).parent),
        str(Path(time_machine.__file__).parent),
    )


class NondeterminismDetector:
    """Records nondeterministic calls while active (a context manager; process-wide)."""

    _lock = threading.Lock()

    def __init__(self) -> None:
        self.calls: list[NondeterministicCall] = []
        #: Operation ids of the step bodies that drew randomness or read the clock (from any
        #: code but the SDK's and this package's: a library's uuid counts too).
        self.in_steps: set[str] = set()
        self._own = _own_roots()
        self._outside = ("<", *_excluded_roots())
        self._saved: list[tuple[Any, str, Any]] = []

    def _record(self, source: str, function: str, frame: FrameType | None) -> None:
        if frame is None:
            return
        filename = frame.f_code.co_filename
        if filename.startswith(self._own):
            # The SDK and the runner read the clock all the time: in a step body or not, such a
            # call is nobody's nondeterminism (and asking the SDK which step runs costs more).
            return
        step = _step_body(frame)
        if step is not None:
            if step != NOT_REPLAYED:
                self.in_steps.add(step)
            return
        if (
            filename.startswith(self._outside)
            or _deciding_a_delay(frame)
            or _logging_or_importing(frame)
        ):
            return
        self.calls.append(NondeterministicCall(source, function, filename, frame.f_lineno))

    def __enter__(self) -> NondeterminismDetector:
        if _owner[0] == threading.get_ident():
            # (It would wait for itself: the process's scenarios take turns on this lock.)
            msg = (
                "a scenario was run while another one runs on this thread: most likely a "
                "cold sandbox imported afresh the module that defines the handler, and that "
                "module runs scenarios when it is imported (its top-level code, a script). "
                "Run scenarios from test functions or under `if __name__ == '__main__':`, or "
                "define the handler in a module of its own"
            )
            raise RuntimeError(msg)
        self._lock.acquire()
        _owner[0] = threading.get_ident()
        _active[0] = self
        handoff.register(_ATTRIBUTION)
        for source, (module, names) in _WRAPPED.items():
            for name in names:
                original = getattr(module, name)
                self._saved.append((module, name, original))
                setattr(module, name, _wrapper(source, f"{module.__name__}.{name}", original))
        for name in _ELAPSED:
            original = getattr(time, name)
            self._saved.append((time, name, original))
            setattr(time, name, _elapsed_wrapper(name, original))
        traveller = time_machine.Traveller
        original_time_ns = traveller.time_ns
        self._saved.append((traveller, "time_ns", original_time_ns))
        traveller.time_ns = _clock_wrapper(original_time_ns)  # type: ignore[method-assign,assignment]
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()
        _active[0] = None
        _owner[0] = None
        self._lock.release()


#: The detector whose run is under way (runs take ``NondeterminismDetector._lock``).
_active: list[NondeterminismDetector | None] = [None]
#: The thread whose scenario holds the detector, if any.
_owner: list[int | None] = [None]

#: Wrappers are built once per function they wrap (by id, checked against ``__wrapped__``,
#: so that a function patched in by a test gets its own) and installed for each run:
#: building them for every run cost more than the run's own reads of the clock.
_WRAPPERS: dict[tuple[str, str, int], Callable[..., Any]] = {}
_MAX_WRAPPERS = 256


def _wrapper(source: str, label: str, original: Callable[..., Any]) -> Callable[..., Any]:
    key = (source, label, id(original))
    known = _WRAPPERS.get(key)
    if known is not None and known.__wrapped__ is original:  # type: ignore[attr-defined]
        return known

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        detector = _active[0]
        if detector is not None:
            detector._record(source, label, sys._getframe(1))
        return original(*args, **kwargs)

    _remember(key, wrapper)
    return wrapper


def _clock_wrapper(original_time_ns: Callable[[Any], int]) -> Callable[[Any], int]:
    key = ("clock", "time_ns", id(original_time_ns))
    known = _WRAPPERS.get(key)
    if known is not None and known.__wrapped__ is original_time_ns:  # type: ignore[attr-defined]
        return known

    def time_ns(self: Any) -> int:
        # time-machine routes datetime.now/utcnow/today and time.time through here; the SDK
        # and the runner read the clock most, so their reads are told apart right here.
        detector = _active[0]
        if detector is not None:
            frame = sys._getframe(1)
            if not frame.f_code.co_filename.startswith(detector._own):
                detector._record("clock", "datetime.now/time.time", frame)
        return original_time_ns(self)

    time_ns.__wrapped__ = original_time_ns  # type: ignore[attr-defined]
    _remember(key, time_ns)
    return time_ns


#: Real elapsed time, which the virtual clock does not stop: a step body that does what fits
#: in a budget (hashes for 20 ms, ``while time.monotonic() < deadline``) returns another
#: value on every run, as one drawing randomness does. Read outside a step it is a duration
#: for the logs or a metric, not a decision's input, and is not flagged.
_ELAPSED = ("perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns")

#: The runner's Lambda context reads ``time.monotonic()`` for the user's code that asks it
#: for the time left (``get_remaining_time_in_millis()``: real time, as on Lambda).
_REMAINING_TIME = LocalLambdaContext.get_remaining_time_in_millis.__code__


def _elapsed_wrapper(label: str, original: Callable[[], Any]) -> Callable[[], Any]:
    key = ("elapsed", label, id(original))
    known = _WRAPPERS.get(key)
    if known is not None and known.__wrapped__ is original:  # type: ignore[attr-defined]
        return known

    def elapsed() -> Any:
        detector = _active[0]
        if detector is not None:
            caller = sys._getframe(1)
            if caller.f_code is _REMAINING_TIME and caller.f_back is not None:
                # The Lambda context's ``get_remaining_time_in_millis()``: real time left,
                # read for whoever called it.
                caller = caller.f_back
            # The standard library (threading, asyncio), the SDK and the runner read it all
            # the time: only the user's own reads mark a step.
            if not caller.f_code.co_filename.startswith(detector._outside):
                step = _step_body()
                if step:
                    detector.in_steps.add(step)
        return original()

    elapsed.__wrapped__ = original  # type: ignore[attr-defined]
    _remember(key, elapsed)
    return elapsed


def _remember(key: tuple[str, str, int], wrapper: Callable[..., Any]) -> None:
    if len(_WRAPPERS) >= _MAX_WRAPPERS:  # tests that patch these functions anew each time
        _WRAPPERS.clear()
    _WRAPPERS[key] = wrapper
