"""``time.sleep`` on a thread running an invocation passes virtual time too.

The virtual-time loop (``virtual_loop``) moves its clock only when it is idle. A handler that
blocks its loop's thread in ``time.sleep`` (``while time.time() < deadline: time.sleep(0.01)``,
a blocking client's retry back-off) takes real time that a virtual clock standing still
would never show it: ``time.time()`` would never reach the deadline. So ``time.sleep`` is
replaced, process-wide and once (as ``virtual_loop`` replaces ``wrap_future``), by a sleep that
really sleeps (threads and processes the handler waits on need the time) and then, on a
thread an invoker registered in ``sleepers``, hands the time slept to the invoker, which
passes as much on the virtual clocks. On another thread, while an invocation's loop waits
for work in threads (``thread_waits``), it hands the time to that wait, which counts it
(``virtual_loop.ThreadTime``). Elsewhere it is ``time.sleep`` and two dictionary tests.

Code that bound ``time.sleep`` to a name of its own before this module was imported
(``from time import sleep`` at its import) keeps the plain sleep; the pytest plugin imports
the runner before test modules, and a cold sandbox re-imports after it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import FrameType

#: Thread id -> what a sleep on that thread does to the virtual clocks (``seconds`` slept),
#: for each thread running an invocation on a virtual-time loop.
sleepers: dict[int, Callable[[float], None]] = {}

#: While an invocation's loop waits for work in other threads (``virtual_loop.ThreadTime``):
#: what a sleep on any thread not in ``sleepers`` does, for each such wait.
thread_waits: dict[int, Callable[[float], None]] = {}

_real_sleep = time.sleep


def blocking_sleep(seconds: float) -> None:
    """``time.sleep(seconds)``; then, on a registered thread, ``sleepers[thread](seconds)``,
    and on another while a loop waits for threads, that wait's callable."""
    _real_sleep(seconds)
    if seconds > 0:
        if sleepers:
            slept = sleepers.get(threading.get_ident())
            if slept is not None:
                slept(seconds)
                return
        if thread_waits:
            for passed in list(thread_waits.values()):
                passed(seconds)


def caller(frame: FrameType | None) -> FrameType | None:
    """``frame``, or its caller when ``frame`` is this sleep's own: where a signal that
    interrupted the sleep finds the code that called ``time.sleep``."""
    if frame is not None and frame.f_code is blocking_sleep.__code__:
        return frame.f_back
    return frame


time.sleep = blocking_sleep  # type: ignore[assignment]  # (typeshed: float | SupportsIndex)
