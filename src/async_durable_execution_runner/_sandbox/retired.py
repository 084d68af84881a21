"""Retired sandboxes, let go of as Lambda lets go of a sandbox: without a word.

In-process, a cold sandbox is a copy of the handler's module (``module_state.fresh_import``).
When a later cold start, a duplicate delivery's end or the runner's hand-back to the test
retires such a copy, whatever its module state held becomes garbage: a module-level
``httpx.Client`` or ``AsyncOpenAI`` client's pooled keep-alive connections, an
``aiohttp.ClientSession``. Collected, each says it was never closed (``ResourceWarning``:
"unclosed transport", "unclosed <socket...>", "Unclosed client session"), at whatever moment
the collector next runs, in whatever test is running then; under pytest's
``filterwarnings = error`` that test fails. On Lambda the sandbox's process is frozen and
then killed: its sockets are closed by the kernel, and no finaliser runs to complain. Module
-level clients are what the clients' own documentation recommends, and correct on Lambda
(runner bug 58).

So a retired copy is kept (``retire``), and copies are collected a few at a time
(``bury``): first everything that was garbage already is collected as usual, so that its
warnings are reported as they would have been; then the copies are let go of and collected
with ``ResourceWarning`` ignored and asyncio's exception handler silent, which is what is
garbage only because a sandbox died. A copy something else still holds is kept for the next
burial instead.

Nothing may hold a retired copy past its burial for that to work: the invoker's bindings of
handlers to the shared client are dropped first (``on_burial``), and no loop variable of the
runner's may keep the last one (two did, and every burial left one copy to be collected
later, unsilenced).

A retired sandbox's threads end with it (``end_threads``). Telemetry and client libraries
start threads of their own when the module is imported (OpenTelemetry's batch span processor
and periodic metric reader, a log shipper's flusher), which wake every second or so for the
life of the process. On Lambda they die with the sandbox's process; in-process they lived on,
two more with every cold start, and a campaign of a few hundred examples over such a handler
ran thousands of them: its last examples were many times slower than its first, most of the
time spent in the kernel switching between them (runner bug 59). A thread is ended only when
it is the sandbox's own: started while the sandbox imported its module or ran an invocation,
held by the copy's module state, and not by anything that outlives the sandbox (the test
process's module, the user's modules the copy binds: a library's global worker, which every
sandbox shares, is left alone). It is ended as the process's death would end it, at its next
Python instruction, with nothing said: ``SandboxEnded`` is raised into it and its thread's
exception hook passes over it. A sandbox's threads end together, once each is parked until a
set time (``end_threads``); threads blocked for good in a call that never returns to Python
are never woken to be ended, and cost nothing meanwhile.
"""

from __future__ import annotations

import asyncio
import gc
import math
import socket
import sysconfig
import threading
import time
import types
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from async_durable_execution_runner._sandbox import parked
from async_durable_execution_runner._sandbox.thread_end import raise_into
from async_durable_execution_runner._service.clock import real_monotonic

#: Retired copies (their handlers, which hold their modules' state) kept before a burial.
KEPT = 32


class _Graveyard:
    """Retired handlers waiting for a burial, and how many were retired since the last."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.kept: list[Callable[..., Any]] = []
        self.fresh = 0


_GRAVES = _Graveyard()
_forget: list[Callable[[Callable[..., Any]], None]] = []
_burying = threading.local()


def on_burial(forget: Callable[[Callable[..., Any]], None]) -> None:
    """Have ``forget(handler)`` drop a cache's references to a retired handler before its
    burial (the handler bindings the invoker keeps across runners)."""
    _forget.append(forget)


def retire(
    handler: Callable[..., Any],
    *,
    threads: Iterable[threading.Thread] = (),
    given: Callable[..., Any] | None = None,
) -> None:
    """Keep a retired sandbox's handler (and so its module state) until the next burial, if
    its module state holds anything that could say it was never closed (``holds_resources``);
    a copy that holds none is let go of at once (its collection says nothing).

    ``threads`` are the threads started while the sandbox imported its module or ran its
    invocations, and ``given`` the test process's own handler of the same function: the
    sandbox's own threads among them are ended first (``end_threads``)."""
    state = _state_of(handler)
    if state is not None:
        alive = [thread for thread in threads if thread.is_alive()]
        if alive:
            end_threads(state, alive, _state_of(given) if given is not None else None)
    if state is not None and not holds_resources(state):
        return
    with _GRAVES.lock:
        _GRAVES.kept.append(handler)
        _GRAVES.fresh += 1


#: What a module's state is searched through, at most (``holds_resources``).
_SEARCHED = 10_000
#: Shared code and its namespaces: not a sandbox's own state.
_NOT_STATE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.CodeType,
    types.MethodDescriptorType,
    types.WrapperDescriptorType,
    str,
    bytes,
    int,
    float,
)


def holds_resources(state: dict[str, Any]) -> bool:
    """Whether a module's state (its namespace) reaches a socket or an object with a
    finaliser of its own (a transport, a session, an open file) within ``_SEARCHED``
    objects: what may say it was never closed when collected. A burial costs two full
    collections of the process's objects, so the copies that hold nothing of the kind (most
    handlers' modules: data, configuration, clients not yet used) are not kept for one."""
    seen: set[int] = set()
    queue = [value for name, value in state.items() if not name.startswith("__")]
    while queue and len(seen) < _SEARCHED:
        obj = queue.pop()
        if id(obj) in seen or isinstance(obj, _NOT_STATE):
            continue
        seen.add(id(obj))
        kind = type(obj)
        if isinstance(obj, socket.socket) or getattr(kind, "__del__", None) is not None:
            return True
        queue.extend(gc.get_referents(obj))
    # Too much to search (a boto3 client's graph): let go of as before; urllib3's pools close
    # their own sockets when collected.
    return False


def _state_of(handler: Callable[..., Any]) -> dict[str, Any] | None:
    """The module namespace of the function ``handler`` wraps (``@durable_execution`` keeps
    it), which holds the sandbox's module state."""
    original = getattr(handler, "_durable_execution_original", handler)
    state = getattr(original, "__globals__", None)
    return state if isinstance(state, dict) else None


def end_threads(
    state: dict[str, Any],
    threads: list[threading.Thread],
    given_state: dict[str, Any] | None = None,
) -> list[threading.Thread]:
    """End those of ``threads`` that the module state ``state`` holds, and nothing that
    outlives the sandbox does; the threads told to end (all of them, or none).

    What outlives the sandbox: ``given_state`` (the test process's module of the same
    handler) and the user's modules the sandbox's module binds (the fakes of its partners,
    state shared between sandboxes: not the standard library's or installed packages').
    A thread they hold serves them: a library's worker every sandbox shares (the sandbox's
    module bound a global object whose thread every sandbox uses; a process of its own
    would have had its own), or a client a fake keeps to shut down later. A thread the
    sandbox does not hold either (a worker a library keeps in its own module) is left alone
    for the same reason.

    The threads are ended together, and only if each will wake of its own accord soon: each
    parked (``parked``) until a set time, as a flusher is between rounds (one at work, just
    started or in the middle of a round, is looked at again shortly: ``_Reaper``). Threads
    that cooperate wait for each other (a pool's task handler for the sentinel its worker
    handler sends when the pool is shut down): ending some of them, or some that are blocked
    for good and so never end, left a later ``terminate()`` waiting forever."""
    me = threading.current_thread()
    candidates = {
        id(thread): thread
        for thread in threads
        if thread is not me
        and thread is not threading.main_thread()
        and thread.ident is not None
        and thread.is_alive()
    }
    if not candidates:
        return []
    held = _reaches(state, candidates.keys())
    outside = [given_state] if given_state is not None else []
    outside.extend(_user_modules_bound_in(state))
    for other in outside:
        if not held:
            break
        held -= _reaches(other, held)
    ending = [candidates[key] for key in held]
    if not ending:
        return []
    verdict = _parked_state(ending)
    if verdict is _AT_WORK:
        # (A thread just started, or between rounds: looked at again shortly.)
        _REAPER.later(ending)
        return []
    if verdict is not _ALL_PARKED:
        return []
    return [thread for thread in ending if raise_into(thread)]


_ALL_PARKED = "all parked until a set time"
_AT_WORK = "one at work"
_NEVER = "one parked until woken"


def _parked_state(threads: list[threading.Thread]) -> str:
    """Whether every one of ``threads`` is parked until a set time (a timed wait or sleep),
    and so runs Python again by then, where ``SandboxEnded`` is raised; or one is parked
    until woken, and may never run Python again (then none is ended); or one is at work
    (running, just started, or blocked where nothing marks it parked)."""
    untils = [parked.parked_until(thread.ident) for thread in threads]
    if math.inf in untils:
        return _NEVER
    if None in untils:
        return _AT_WORK
    return _ALL_PARKED


class _Reaper:
    """Looks again, every ``EVERY`` seconds for up to ``PATIENCE``, at retired sandboxes'
    threads that were at work when their sandbox was retired (a thread the import had just
    started had not reached its first wait yet), and ends each group once all of it is
    parked until a set time. A thread of the runner's own, only while there are any."""

    EVERY = 0.02
    PATIENCE = 10.0

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.groups: list[tuple[float, list[threading.Thread]]] = []
        self.thread: threading.Thread | None = None

    def later(self, threads: list[threading.Thread]) -> None:
        with self.lock:
            self.groups.append((real_monotonic() + self.PATIENCE, threads))
            if self.thread is None:
                thread = threading.Thread(
                    target=self._run, name="durable-sandbox-reaper", daemon=True
                )
                thread.runner_internal = True  # type: ignore[attr-defined]
                self.thread = thread
                thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(self.EVERY)
            with self.lock:
                groups, self.groups = self.groups, []
            kept = []
            for give_up_at, threads in groups:
                alive = [thread for thread in threads if thread.is_alive()]
                if not alive:
                    continue
                verdict = _parked_state(alive)
                if verdict is _ALL_PARKED:
                    for thread in alive:
                        raise_into(thread)
                elif verdict is _AT_WORK and real_monotonic() < give_up_at:
                    kept.append((give_up_at, alive))
            with self.lock:
                self.groups[:0] = kept
                if not self.groups:
                    self.thread = None
                    return

    def pending(self) -> int:
        """How many groups of threads wait for another look."""
        with self.lock:
            return len(self.groups)


_REAPER = _Reaper()


_INSTALLED = tuple(
    {
        path
        for key in ("stdlib", "platstdlib", "purelib", "platlib")
        if (path := sysconfig.get_paths().get(key))
    }
)


def _user_modules_bound_in(state: dict[str, Any]) -> list[dict[str, Any]]:
    """The namespaces of the user's modules ``state`` binds (``import services``): neither
    the standard library's nor an installed package's (``threading``'s registry of every
    thread would hold them all), nor this runner's or the SDK's."""
    namespaces = []
    for value in state.values():
        if not isinstance(value, types.ModuleType) or value.__dict__ is state:
            continue
        name = value.__name__
        path = getattr(value, "__file__", None)
        if (
            not isinstance(path, str)
            or path.startswith(_INSTALLED)
            or name.startswith("async_durable_execution")
        ):
            continue
        namespaces.append(vars(value))
    return namespaces


#: Not searched for threads either: an event loop is the process's (the invoker keeps one per
#: thread across sandboxes), and a thread started in an invocation holds its loop, whose
#: list of the threads started since leads from the test's module to every sandbox's.
_NOT_SANDBOX_STATE = (*_NOT_STATE, asyncio.AbstractEventLoop)


def _reaches(state: dict[str, Any], targets: Iterable[int]) -> set[int]:
    """The ids among ``targets`` that ``state`` reaches within ``_SEARCHED`` objects."""
    wanted = set(targets)
    found: set[int] = set()
    seen: set[int] = set()
    queue = [value for name, value in state.items() if not name.startswith("__")]
    while queue and len(seen) < _SEARCHED and found != wanted:
        obj = queue.pop()
        key = id(obj)
        if key in seen or isinstance(obj, _NOT_SANDBOX_STATE):
            continue
        seen.add(key)
        if key in wanted:
            found.add(key)
            continue
        queue.extend(gc.get_referents(obj))
    return found


def retired() -> int:
    """How many retired sandboxes wait for a burial."""
    return len(_GRAVES.kept)


def bury(*, at_least: int = KEPT) -> int:
    """Collect the retired sandboxes, if ``at_least`` were retired since the last burial,
    with their resource warnings silenced; how many were let go of.

    A copy that something else still holds (the harness's record of a step's error, whose
    traceback holds the copy's frames, until the test is done with its outcome) survives
    the collection: it goes back to wait for the next burial, held, so that no later
    collection of it, unsilenced, can find it first."""
    with _GRAVES.lock:
        if not _GRAVES.kept or _GRAVES.fresh < at_least:
            return 0
        dead = list(_GRAVES.kept)
        _GRAVES.kept.clear()
        _GRAVES.fresh = 0
    _forget_all(dead)
    # A weak reference to each copy's module state: the user's function the handler wraps
    # (``@durable_execution`` keeps it), which its module binds by name.
    refs = [
        weakref.ref(getattr(handler, "_durable_execution_original", handler)) for handler in dead
    ]
    # What was garbage before is reported as the collector would have reported it.
    gc.collect()
    count = len(dead)
    del dead  # (the last reference: no loop variable may keep one past here)
    with _silenced():
        gc.collect()
    survivors = [alive for ref in refs if (alive := ref()) is not None]
    with _GRAVES.lock:
        _GRAVES.kept.extend(survivors)
    return count - len(survivors)


def _forget_all(dead: list[Callable[..., Any]]) -> None:
    for forget in _forget:
        for handler in dead:
            forget(handler)


def burying() -> bool:
    """Whether this thread is collecting retired sandboxes (asyncio's exception handler of
    the runner's loops stays silent meanwhile: ``aiohttp`` reports an unclosed session there
    too)."""
    return getattr(_burying, "on", False)


@contextmanager
def _silenced() -> Iterator[None]:
    _burying.on = True
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ResourceWarning)
            yield
    finally:
        _burying.on = False
