"""Ending a thread of a sandbox that is gone: ``SandboxEnded`` raised into it.

Lambda ends a sandbox's process, and with it every thread, when the sandbox is retired or
its invocation is stopped. In-process the runner can only ask a thread to end: the exception
is raised at the thread's next Python instruction, so a thread looping in Python code ends
at once, and one blocked in a C call (a lock, a socket) when the call returns."""

from __future__ import annotations

import ctypes
import sys
import threading


class SandboxEnded(BaseException):
    """Raised into a thread of a sandbox that is gone. A ``BaseException``, so that a
    library's ``except Exception`` around its work does not keep the thread going; its
    thread's exception hook passes over it (``raise_into``)."""


_set_async_exc = ctypes.pythonapi.PyThreadState_SetAsyncExc
_set_async_exc.argtypes = (ctypes.c_ulong, ctypes.py_object)
_set_async_exc.restype = ctypes.c_int


def raise_into(thread: threading.Thread) -> bool:
    """Raise ``SandboxEnded`` into ``thread`` at its next Python instruction, with its
    exception hook made to pass over it (``threading`` calls the hook it finds on the thread
    then; pytest's reports any exception a thread ends with, ``SystemExit`` included);
    whether it was raised."""
    hook = getattr(thread, "_invoke_excepthook", None)
    ident = thread.ident
    if hook is None or ident is None:
        return False  # (another interpreter's threading: left alone)

    def passing_over_the_end(ending: threading.Thread) -> None:
        if isinstance(sys.exc_info()[1], SandboxEnded):
            return
        hook(ending)

    thread._invoke_excepthook = passing_over_the_end  # type: ignore[attr-defined]
    changed: int = _set_async_exc(ident, SandboxEnded)
    return changed == 1


def interrupt(ident: int, error: type[BaseException]) -> bool:
    """Raise ``error`` into the thread ``ident`` at its next Python instruction, for code on
    that thread to catch (unlike ``raise_into``, the thread is not meant to end); whether it
    was raised."""
    changed: int = _set_async_exc(ident, error)
    return changed == 1
