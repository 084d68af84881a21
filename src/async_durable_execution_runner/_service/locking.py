"""One lock for the emulated service's state, shared by every entry point.

The service is reached from several threads at once when it is served over HTTP: the thread
that drives executions (delivering timers, running invocations), the invocation's own thread
(the SDK checkpointing), and one thread per HTTP request (callbacks, reads, stops, invokes,
checkpoints from a worker process). Every read and change of service state happens under
:class:`StateLock`, so each is atomic with respect to every other.

The driver holds the lock for everything it does *except* while it waits for an invocation to
return: :class:`UnlockedInvoker` hands the lock over for that wait, because the invocation
talks to the service from another thread (an in-process SDK thread, or a worker process
calling over HTTP) and must be able to take the lock itself. :class:`LockedSession` takes it
for each of the invocation's service calls.
"""

from __future__ import annotations

import _thread
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, cast

from async_durable_execution_runner._models._frozen import replace
from async_durable_execution_runner._service.invocation import ColdStarter, InvocationAbandoned

if TYPE_CHECKING:
    from collections.abc import Callable as DriveLoop

    from async_durable_execution_runner._models import Operation, OperationUpdate
    from async_durable_execution_runner._service.invocation import (
        InvocationOutcome,
        InvocationRequest,
        Invoker,
    )
    from async_durable_execution_runner._service.seams import OperationRequest, WrapBody
    from async_durable_execution_runner._service.session import InvocationSession


class StateLock(_thread.RLock):  # type: ignore[misc]
    """A re-entrant lock whose holder can hand it over whole while it blocks (``released()``).

    The C re-entrant lock itself, so taking and letting go of it (once per service call of
    every invocation) runs no Python code. Its ``_release_save``/``_acquire_restore``/
    ``_is_owned`` are the protocol ``threading.Condition`` uses for re-entrant locks, so a
    condition built on it releases every level of a nested hold while it waits.
    """

    if TYPE_CHECKING:  # the C lock's methods, which typeshed does not list

        def _is_owned(self) -> bool: ...

        def _release_save(self) -> tuple[int, int]: ...

        def _acquire_restore(self, state: tuple[int, int], /) -> None: ...

    @property
    def held(self) -> bool:
        """Whether the calling thread holds the lock."""
        return bool(self._is_owned())

    def released(self) -> _Released:
        """Let go of every level this thread holds for the block, then take them back."""
        return _Released(self)


class _Released:
    """``StateLock.released()``: a class, where a generator-based context manager costs
    several times as much."""

    __slots__ = ("_lock", "_saved")

    def __init__(self, lock: StateLock) -> None:
        self._lock = lock
        self._saved: tuple[int, int] | None = None

    def __enter__(self) -> None:
        if self._lock._is_owned():
            self._saved = self._lock._release_save()

    def __exit__(self, *exc_info: object) -> None:
        if self._saved is not None:
            self._lock._acquire_restore(self._saved)


class LockedSession:
    """An ``InvocationSession`` whose service calls each take the state lock.

    Attribute reads and writes go to the wrapped session (``crash_reason``, ``abandoned``...).
    """

    _session: InvocationSession
    execution_arn: str
    invocation_index: int
    steers_steps: bool
    response_turns: Callable[[], int]

    def __init__(
        self,
        session: InvocationSession,
        lock: StateLock,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        # The whole ``__dict__`` in one store (``__setattr__`` forwards to the session): one
        # of these per invocation.
        object.__setattr__(
            self,
            "__dict__",
            {
                "_session": session,
                "_lock": lock,
                "_on_change": on_change,
                # Fixed for the session's life, and read on every call: kept here, not
                # forwarded.
                "execution_arn": session.execution_arn,
                "invocation_index": session.invocation_index,
                # Fixed too, and read as the invocation starts: a property here would be a
                # second call on top of the session's.
                "steers_steps": session.steers_steps,
                # Asked after every service call and reads only the session's own fields (no
                # lock needed): the session's bound method itself, not a method calling it.
                "response_turns": session.response_turns,
            },
        )

    @property
    def crashed(self) -> bool:
        return self._session.crash_reason is not None

    # Read as each invocation starts: properties, not a miss of the normal lookup that
    # ``__getattr__`` then forwards.
    @property
    def observed(self) -> bool:
        return self._session.observed

    @property
    def crash_reason(self) -> str | None:
        return self._session.crash_reason

    @property
    def inner(self) -> InvocationSession:
        session: InvocationSession = object.__getattribute__(self, "_session")
        return session

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_session"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_session"), name, value)

    def checkpoint(
        self, token: str, updates: Sequence[OperationUpdate], client_token: str | None = None
    ) -> tuple[str, list[Operation]]:
        # ``self._session`` and ``self._on_change`` are in the instance's own ``__dict__``: a
        # plain read, no property call (every checkpoint of every invocation comes here).
        with self._lock:
            answer = self._session.checkpoint(token, updates, client_token)
            on_change = self._on_change
            if on_change is not None:
                on_change()  # persisted before the SDK hears the checkpoint was taken
            return answer

    def get_execution_state(
        self, token: str, marker: str, max_items: int
    ) -> tuple[list[Operation], str | None]:
        with self._lock:
            return self.inner.get_execution_state(token, marker, max_items)

    def operation_requested(self, request: OperationRequest) -> None:
        with self._lock:
            self.inner.operation_requested(request)

    def step_attempt(
        self,
        operation_id: str,
        name: str | None,
        sub_type: str | None,
        attempt: int,
        semantics: str | None = None,
        retried: tuple[tuple[type[BaseException], ...], tuple[str, ...]] = ((), ()),
        crash_sandbox: Callable[[str], None] | None = None,
    ) -> tuple[BaseException | WrapBody | None, int]:
        with self._lock:
            return self.inner.step_attempt(
                operation_id, name, sub_type, attempt, semantics, retried, crash_sandbox
            )


class UnlockedInvoker:
    """Wraps an invoker: the state lock is let go while an invocation runs, and the
    invocation's service calls take it (through :class:`LockedSession`).

    ``session_for`` finds the session of an execution's running invocation, so that a
    checkpoint arriving over HTTP from a worker process goes through that invocation's session
    (its fault hooks and call counting), as the in-process client's would.
    """

    #: Called (under the lock) after each checkpoint an invocation makes, before its
    #: answer: the runner persists there. (A class default: most runners have no store.)
    on_change: Callable[[], None] | None = None

    def __init__(self, inner: Invoker, lock: StateLock) -> None:
        self.inner = inner
        self.lock = lock
        #: Per execution ARN, its running invocations' (checkpoint token they were sent,
        #: session), oldest first: a duplicate delivery runs beside the first one.
        self._active: dict[str, list[tuple[str, LockedSession | InvocationSession]]] = {}
        #: id(the request handed on) -> (it, the executor's request), while the invocation runs
        #: and, for one abandoned as hung, until the drive that gave up on it has read it.
        self._originals: dict[int, tuple[InvocationRequest, InvocationRequest]] = {}

    def __new__(cls, inner: Invoker, lock: StateLock) -> UnlockedInvoker:
        # An invoker that drives runs the executor's loop on its own thread: the lock goes
        # with the loop to that thread, and the caller waits without it. The wrapper then has
        # a ``drive`` of its own, from its class: a bound method stored on the instance would
        # be a reference cycle, keeping the runner's invoker, client and cached operations
        # alive until the garbage collector finds them (every runner, so every execution).
        drives = cls is UnlockedInvoker and hasattr(inner, "drive")
        return super().__new__(_UnlockedDriver if drives else cls)

    @property
    def session_lock(self) -> StateLock:
        """The lock the service builds each invocation's session with (and ``on_change``):
        the session takes it for each service call itself, so ``invoke`` need neither wrap it
        nor copy the request."""
        return self.lock

    def invoke(self, request: InvocationRequest) -> InvocationOutcome:
        session: Any = request.session
        lock = self.lock
        if getattr(session, "lock", None) is lock or isinstance(session, LockedSession):
            locked, handed = session, request
        else:
            locked = LockedSession(session, lock, self.on_change)
            handed = replace(request, session=cast("InvocationSession", locked))
        arn = request.execution_arn
        entry: tuple[str, Any] = (request.checkpoint_token, locked)
        active = self._active
        running = active.get(arn)
        if running is None:
            active[arn] = running = [entry]
        else:
            running.append(entry)
        # A request handed on as it came (the service built its session with this lock, the
        # usual case) needs no mapping back.
        mapped = handed is not request
        if mapped:
            self._originals[id(handed)] = (handed, request)
        abandoned = False
        # ``lock.released()`` spelled out (here and in ``_locked_drive``): once per invocation
        # and per drive, where the context manager's three calls cost more than the hand-over.
        saved = lock._release_save() if lock._is_owned() else None
        try:
            return self.inner.invoke(handed)
        except InvocationAbandoned:
            # A hung invocation's thread unwinds so when its handler finally returns, maybe
            # before the drive that abandoned it has mapped its request back (a starved
            # handler returns just after its deadline): leave the mapping to that drive.
            abandoned = True
            raise
        finally:
            if saved is not None:
                lock._acquire_restore(saved)
            if mapped and not abandoned:
                self._originals.pop(id(handed), None)
            # Its own entry, whichever of the execution's invocations ends first.
            if len(running) == 1:
                if active.get(arn) is running:
                    del active[arn]
            else:
                running.remove(entry)

    def session_for(self, arn: str, token: str) -> LockedSession | InvocationSession | None:
        """The session of ``arn``'s running invocation that a service call carrying
        ``token`` comes from: the invocation sent that token, the newest first (a duplicate
        delivery is sent the first delivery's, which has moved on from it), else the first
        delivery (whose token has moved on); ``None`` if none runs."""
        running = self._active.get(arn)
        if not running:
            return None
        if len(running) > 1:
            for sent, session in reversed(running):
                if sent == token:
                    return session
        return running[0][1]

    def _locked_drive(self, loop: DriveLoop[[], Any], wall_deadline: float | None) -> Any:
        def locked_loop() -> Any:
            with self.lock:
                return loop()

        lock = self.lock
        saved = lock._release_save() if lock._is_owned() else None
        try:
            # Held by the loop's thread exactly while it runs the service's own code: where a
            # hung handler must not be interrupted (``InProcessInvoker.drive``).
            outcome = self.inner.drive(  # type: ignore[attr-defined]
                locked_loop, wall_deadline, busy=lock._is_owned
            )
        finally:
            if saved is not None:
                lock._acquire_restore(saved)
        if type(outcome) is bool:
            # The loop's own answer (not ``Abandoned``): nothing to map back. Asked first, as
            # ``getattr`` missing on a bool would build and drop an ``AttributeError``.
            return outcome
        # A hung invocation comes back naming the request this wrapper handed on: name the
        # executor's own request instead.
        handed = getattr(outcome, "request", None)
        entry = self._originals.pop(id(handed), None) if handed is not None else None
        original = entry[1] if entry is not None and entry[0] is handed else None
        if original is not None and original is not handed:
            outcome = replace(outcome, request=original)
        return outcome

    def close(self) -> None:
        self.inner.close()

    def can_start_cold(self, function_name: str) -> bool:
        # Spelled out, not left to ``__getattr__``: from Python 3.12 on, ``isinstance`` with a
        # runtime-checkable protocol (``ColdStarter``) looks attributes up statically, so a
        # forwarded one does not count, and the invocation after one that ended its sandbox
        # stayed warm.
        inner = self.inner
        return isinstance(inner, ColdStarter) and inner.can_start_cold(function_name)

    def __getattr__(self, name: str) -> Any:
        # Tests and diagnostics read the wrapped invoker's attributes (``workers_started``...).
        return getattr(self.inner, name)


class _UnlockedDriver(UnlockedInvoker):
    """An ``UnlockedInvoker`` around an invoker that drives (see ``UnlockedInvoker.__new__``)."""

    drive = UnlockedInvoker._locked_drive
