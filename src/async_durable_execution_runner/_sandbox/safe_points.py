"""Where a hung handler may be interrupted: in its own code, never inside the SDK or asyncio.

A deadline alarm (``hang_alarm``) raises into whatever frame the main thread is executing.
Raised inside the SDK or asyncio, it can leave their state half-changed: a coroutine made
but never scheduled (the SDK builds a child context's coroutine, then hands it to
``create_task``), a task popped from the ready queue and never run. Raised in a garbage
collector callback, a ``__del__`` or a weak reference's finalizer, it is swallowed
("Exception ignored in ...") and reported as an unraisable exception. The handler's own code
has no such obligations the runner depends on, and a hang is there anyway: a ``time.sleep``,
a socket read in a client library, a loop that never ends.

``safe_point(frame)`` walks out from the innermost frame. Frames of the standard library
(outside asyncio and ``weakref``), of installed third-party libraries, of generated code
(``<string>``, ``<frozen ...>``), of time-machine and of the runner's wrapper of
``Condition.wait`` (``parked``) are passed *through*: they are what the code that called
them called, and whose it is is decided by that caller. The first other
frame decides:
- the SDK's, this package's (its program handlers excepted), asyncio's or ``weakref``'s, a
  garbage collector callback or a ``__del__``: not safe;
- anything else, the user's own code: safe.
One engine place is safe too: the event loop waiting in its selector, idle, between two
turns (an ``await`` of something that never comes).

A handler whose own code is installed as a library (not an editable install) is never found
in its own code: it is interrupted after the grace period instead (``FORCE_INTERRUPT_AFTER``
in ``invoker``).
"""

from __future__ import annotations

import asyncio
import gc
import os
import selectors
import sysconfig
import weakref
from types import CodeType, FrameType
from typing import Literal

import async_durable_execution

from async_durable_execution_runner._sandbox.parked import wrapper_codes
from async_durable_execution_runner._sandbox.virtual_loop import idle_wait_codes

_Kind = Literal["through", "engine", "user"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: Handlers the harness generates: user code, though they live in this package.
_PROGRAMS = os.path.join(_PACKAGE, "_harness", "programs") + os.sep
_SDK = os.path.dirname(os.path.abspath(async_durable_execution.__file__)) + os.sep
_ASYNCIO = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep
_WEAKREF = os.path.abspath(weakref.__file__)
_SELECTORS = os.path.abspath(selectors.__file__)
_STDLIB = tuple(
    {os.path.abspath(sysconfig.get_paths()[key]) + os.sep for key in ("stdlib", "platstdlib")}
)
_INSTALLED = ("site-packages", "dist-packages")
_TIME_MACHINE = f"{os.sep}time_machine{os.sep}"

_kinds: dict[str, _Kind] = {}


def kind_of(filename: str) -> _Kind:
    """Whose code a file holds, for ``safe_point``."""
    kind = _kinds.get(filename)
    if kind is None:
        kind = _classify(filename)
        _kinds[filename] = kind
    return kind


def _classify(filename: str) -> _Kind:
    if filename.startswith("<"):
        return "through"
    path = os.path.abspath(filename)
    if path.startswith(_PROGRAMS):
        return "user"
    if path.startswith((_PACKAGE, _SDK, _ASYNCIO)) or path == _WEAKREF:
        return "engine"
    if _TIME_MACHINE in path or any(part in path for part in _INSTALLED):
        return "through"  # a library: whose call it is, its caller says
    if path.startswith(_STDLIB):
        return "through"
    return "user"


Where = Literal["user", "idle", "engine"]


def _collector_callback_codes() -> set[CodeType | None]:
    return {getattr(cb, "__code__", None) for cb in gc.callbacks}


def _swallows(code: CodeType, collector_callbacks: set[CodeType | None]) -> bool:
    """Whether what is raised in ``code`` is swallowed: a ``__del__`` or a garbage collector
    callback's."""
    return code.co_name == "__del__" or code in collector_callbacks


def where(frame: FrameType | None) -> Where:
    """Whose code ``frame`` (the innermost frame of a thread) is in: the user's, an event
    loop's idle wait between turns, or the engine's (the SDK, asyncio, the runner)."""
    via_selector = False
    collector_callbacks = _collector_callback_codes()
    while frame is not None:
        code: CodeType = frame.f_code
        if code in idle_wait_codes:
            return "idle"
        if _swallows(code, collector_callbacks):
            return "engine"  # what is raised there is swallowed
        if code in wrapper_codes:
            frame = frame.f_back  # ``Condition.wait``'s, as the standard library's own
            continue
        filename = code.co_filename
        if via_selector and filename.startswith(_ASYNCIO) and code.co_name == "_run_once":
            return "idle"  # a plain loop, waiting in its selector
        kind = kind_of(filename)
        if kind != "through":
            return kind
        via_selector = via_selector or os.path.abspath(filename) == _SELECTORS
        frame = frame.f_back
    return "engine"


def swallowed(frame: FrameType | None) -> bool:
    """Whether an exception raised into ``frame`` (the innermost frame of a thread) would be
    swallowed on its way out: somewhere out from it runs a garbage collector callback, a
    ``__del__`` or ``weakref``'s finalizer, whose exceptions Python reports as unraisable
    ("Exception ignored in ...") and drops. (A Python 3.12 campaign's examples that spun in
    the SDK were found, 1 in 200 ticks or so, inside Hypothesis's collector callback.)"""
    collector_callbacks = _collector_callback_codes()
    while frame is not None:
        code: CodeType = frame.f_code
        if _swallows(code, collector_callbacks) or os.path.abspath(code.co_filename) == _WEAKREF:
            return True
        frame = frame.f_back
    return False


def safe_point(frame: FrameType | None) -> bool:
    """Whether raising into ``frame`` (the innermost frame of the thread) interrupts user
    code, or an idle event loop, rather than the SDK, asyncio or the runner."""
    return where(frame) != "engine"


#: The runner's code that changes the service's state or a harness's records: an exception
#: raised there could leave them half-changed.
_SERVICE_SIDE = tuple(
    os.path.join(_PACKAGE, part)
    for part in (
        "_service" + os.sep,
        "_harness" + os.sep,
        "_replay" + os.sep,
        "_store" + os.sep,
        os.path.join("_sandbox", "service_client.py"),
    )
)


def outside_the_service(frame: FrameType | None) -> bool:
    """Whether no frame from ``frame`` (the innermost of a thread) outwards is the service's
    or a harness's code (a service call, an observer), where ending the thread could leave
    their state half-changed: a hung sandbox's thread may then be ended (``SandboxEnded``),
    wherever else it is, as Lambda ends its process."""
    while frame is not None:
        path = os.path.abspath(frame.f_code.co_filename)
        if path.startswith(_SERVICE_SIDE) and not path.startswith(_PROGRAMS):
            return False
        frame = frame.f_back
    return True
