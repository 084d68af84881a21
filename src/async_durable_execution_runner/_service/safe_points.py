"""Where a hung handler may be interrupted: in its own code, never inside the SDK or asyncio.

A deadline alarm (``hang_alarm``) raises into whatever frame the main thread is executing.
Raised inside the SDK or asyncio, it can leave their state half-changed: a coroutine made
but never scheduled (the SDK builds a child context's coroutine, then hands it to
``create_task``), a task popped from the ready queue and never run. The handler's own code
has no such obligations the runner depends on, and a hang is there anyway: a ``time.sleep``,
a socket read in a client library, a loop that never ends.

``safe_point(frame)`` walks out from the innermost frame. Frames of the standard library
(outside asyncio), of generated code (``<string>``, ``<frozen ...>``) and of time-machine
are passed *through*: they are what user code calls. The first other frame decides:
- the SDK's, this package's (its program handlers excepted) or asyncio's: not safe;
- anything else, the user's code or a library it calls: safe.
One engine place is safe too: the event loop waiting in its selector, idle, between two
turns (an ``await`` of something that never comes).
"""

from __future__ import annotations

import asyncio
import os
import selectors
import sysconfig
from types import CodeType, FrameType
from typing import Literal

import async_durable_execution

from async_durable_execution_runner._service.virtual_loop import idle_wait_code

_Kind = Literal["through", "engine", "user"]

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep
#: Handlers the harness generates: user code, though they live in this package.
_PROGRAMS = os.path.join(_PACKAGE, "_harness", "programs") + os.sep
_SDK = os.path.dirname(os.path.abspath(async_durable_execution.__file__)) + os.sep
_ASYNCIO = os.path.dirname(os.path.abspath(asyncio.__file__)) + os.sep
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
    if path.startswith((_PACKAGE, _SDK, _ASYNCIO)):
        return "engine"
    if _TIME_MACHINE in path:
        return "through"
    if path.startswith(_STDLIB) and not any(part in path for part in _INSTALLED):
        return "through"
    return "user"


Where = Literal["user", "idle", "engine"]


def where(frame: FrameType | None) -> Where:
    """Whose code ``frame`` (the innermost frame of a thread) is in: the user's, an event
    loop's idle wait between turns, or the engine's (the SDK, asyncio, the runner)."""
    via_selector = False
    while frame is not None:
        code: CodeType = frame.f_code
        if code is idle_wait_code:
            return "idle"
        filename = code.co_filename
        if via_selector and filename.startswith(_ASYNCIO) and code.co_name == "_run_once":
            return "idle"  # a plain loop, waiting in its selector
        kind = kind_of(filename)
        if kind != "through":
            return kind
        via_selector = via_selector or os.path.abspath(filename) == _SELECTORS
        frame = frame.f_back
    return "engine"


def safe_point(frame: FrameType | None) -> bool:
    """Whether raising into ``frame`` (the innermost frame of the thread) interrupts user
    code, or an idle event loop, rather than the SDK, asyncio or the runner."""
    return where(frame) != "engine"
