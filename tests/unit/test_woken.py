"""``_sandbox/woken.py``: whose ``notify`` makes the threads it wakes work for an invocation."""

from __future__ import annotations

import os
import sys
import threading
from types import FrameType

import async_durable_execution_runner
from async_durable_execution_runner._sandbox import parked, woken

_PACKAGE = os.path.dirname(os.path.abspath(async_durable_execution_runner.__file__))
_STDLIB_FILE = os.path.abspath(threading.__file__)


def _frame_in(filename: str) -> FrameType:
    """A frame of code that claims to live in ``filename``, called from here."""
    namespace: dict[str, object] = {"sys": sys}
    exec(compile("frame = sys._getframe()", filename, "exec"), namespace)
    frame = namespace["frame"]
    assert isinstance(frame, FrameType)
    return frame


def test_the_handler_s_notify_counts_and_the_runner_s_does_not() -> None:
    assert woken._by_handler(sys._getframe())  # a test's code: the user's
    assert not woken._by_handler(_frame_in(os.path.join(_PACKAGE, "_service", "executor.py")))


def test_a_library_s_notify_is_judged_by_its_caller() -> None:
    # The standard library's frame (``queue.put``), called from this test's: the user's.
    assert woken._by_handler(_frame_in(_STDLIB_FILE))


def test_the_hook_is_wired() -> None:
    assert parked.on_wake is woken.note_woken


def test_a_notify_outside_any_invocation_notes_nothing() -> None:
    # No virtual loop runs here, and this thread works for none: nothing to note, no error.
    woken.note_woken([threading.get_ident()], sys._getframe())
