"""The handler's clock: what ``time.time()``, ``datetime.now()`` and the other functions
time-machine patches say to code running in an invocation, and its ``time.monotonic()``.

time-machine patches the process's clock functions and answers them from the newest traveller
on its stack: one clock for the whole process, and ``travel.stop()`` takes the newest traveller
off, whichever it is. When every invocation started and stopped a travel of its own, two
runners driving invocations on two threads at once (a test calling ``run()`` from several
threads, a server's background drive beside a test's own runner) showed each other's clocks:
a step of one read the other's virtual time, and one's stop took the other's travel off the
stack (runner bug 32). Here one travel serves every invocation in the process. While any
invocation's clock is registered (``start_clock``), time-machine's newest traveller is an
``_Umbrella``, whose destination is the clock of the context reading it: each invocation's
context is given its clock (``context_clock``), and the tasks and ``asyncio.to_thread`` calls of the
invocation inherit it. Code in no invocation's context (a thread the handler started itself,
a pool's thread) reads the clock registered last, as it read the only travel before.

time-machine leaves ``time.monotonic()`` alone, so a deadline the handler measures with it
(the right clock for one) never came while the loop skipped virtual seconds: a poll every
``asyncio.sleep(1)`` until ten monotonic seconds passed went on for thousands of virtual
seconds, past the function's timeout (runner bug 34). ``time.monotonic`` answers an
invocation's context with the machine's time plus the seconds its loop skipped; the
runner's own deadlines read ``real_monotonic``.

Everything here that reaches into time-machine (its traveller stack, a traveller's
destination attribute, its uuid reset) is time-machine's, not the SDK's: the SDK adapter is
not the place for it.
"""

from __future__ import annotations

import contextvars
import datetime as _dt
import sys
import threading
import time
from typing import Any

from async_durable_execution_runner._service import clock

_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MICROSECOND = _dt.timedelta(microseconds=1)
_NS_PER_SECOND = 1_000_000_000

#: The clock of the invocation this context belongs to (``None``: no invocation's).
context_clock: contextvars.ContextVar[HandlerClock | None] = contextvars.ContextVar(
    "async_durable_execution_runner_handler_clock", default=None
)
_context_get = context_clock.get

#: The registered clocks, oldest first; the last is what code in no invocation reads.
_registered: list[HandlerClock] = []
_lock = threading.Lock()
#: The travel that puts the umbrella on time-machine's stack, and the umbrella itself,
#: while any clock is registered.
_travel: Any = None
_umbrella: Any = None
#: The travel objects the umbrella is started from (time-machine's ``travel``, reusable),
#: by whether local time is UTC.
_travels: dict[bool, Any] = {}


class HandlerClock:
    """One invocation's clock (or one drive's, moved from invocation to invocation): an
    instant in nanoseconds since the epoch, which the invoker moves. It answers the part of
    time-machine's ``Traveller`` the invoker uses (``shift``, ``move_to``)."""

    __slots__ = ("live", "ns", "skipped")

    def __init__(self, ns: int) -> None:
        self.ns = ns
        #: Seconds the invocation's loop skipped (jumped over instead of waiting): what its
        #: ``time.monotonic()`` runs ahead of the machine's.
        self.skipped = 0.0
        #: Registered (``start_clock``) and not stopped since: a context whose clock was
        #: stopped (a handler abandoned as hung, still running; a thread it started, still
        #: running) reads the wall clock code in no invocation's context reads, and its
        #: monotonic clock keeps its lead.
        self.live = True

    def shift(self, delta: _dt.timedelta | float) -> None:
        if isinstance(delta, _dt.timedelta):
            step = delta // _MICROSECOND * 1000
        else:
            step = round(delta * _NS_PER_SECOND)
        self.move_to_ns(self.ns + step)

    def move_to(self, destination: _dt.datetime, tick: bool = False) -> None:
        """Jump to ``destination`` (an aware datetime); ``tick`` is always off here."""
        self.move_to_ns((destination - _EPOCH) // _MICROSECOND * 1000)

    def move_to_ns(self, target: int) -> None:
        backwards = target < self.ns
        self.ns = target
        if _solo[0] is self:
            # The only clock: the umbrella's own destination is what every reader reads.
            _solo[1]["_destination_timestamp_ns"] = target
        if backwards:
            _reset_uuid_timestamps()


#: The machine's own ``time.monotonic`` (``clock.real_monotonic``) and ``time.monotonic_ns``
#: (and ``perf_counter``'s): the runner's wall-clock deadlines read these, never the handler's.
real_monotonic = clock.real_monotonic
real_monotonic_ns = time.monotonic_ns
real_perf_counter = time.perf_counter
real_perf_counter_ns = time.perf_counter_ns


def _monotonic() -> float:
    """``time.monotonic()`` in an invocation's context (its tasks, its ``to_thread`` calls,
    the jobs and threads it starts): the machine's plus the seconds the handler's clock runs
    ahead (``HandlerClock.skipped``), so a deadline the handler measures with it (``while
    time.monotonic() < deadline: await asyncio.sleep(1)``) passes after as many virtual
    seconds as on Lambda; elsewhere, the machine's. A stopped clock keeps its lead, so time
    does not go back for a thread that outlives its invocation."""
    clock = _context_get()
    if clock is None:
        return real_monotonic()
    return real_monotonic() + clock.skipped


def _monotonic_ns() -> int:
    clock = _context_get()
    if clock is None:
        return real_monotonic_ns()
    return real_monotonic_ns() + round(clock.skipped * _NS_PER_SECOND)


def _perf_counter() -> float:
    """``time.perf_counter()``, counting the seconds the invocation's loop skipped (as
    ``_monotonic``: a duration or a deadline measured with it is what it is on Lambda)."""
    clock = _context_get()
    if clock is None:
        return real_perf_counter()
    return real_perf_counter() + clock.skipped


def _perf_counter_ns() -> int:
    clock = _context_get()
    if clock is None:
        return real_perf_counter_ns()
    return real_perf_counter_ns() + round(clock.skipped * _NS_PER_SECOND)


# Once, process-wide, as ``blocking_sleep`` patches ``time.sleep``: code that wraps
# ``time.monotonic`` (the harness's nondeterminism detector) wraps this, whenever it does.
# Outside an invocation's context it is the machine's clock, one Python call away; code that
# bound ``monotonic`` to a name of its own at import (``threading``, ``queue``) keeps the C
# function.
time.monotonic = _monotonic
time.monotonic_ns = _monotonic_ns
time.perf_counter = _perf_counter
time.perf_counter_ns = _perf_counter_ns


def start_clock(instant: _dt.datetime) -> HandlerClock:
    """Register a clock at ``instant`` (the umbrella travel starts with the first one)."""
    clock = HandlerClock((instant - _EPOCH) // _MICROSECOND * 1000)
    with _lock:
        if not _registered:
            _start_umbrella()
        _registered.append(clock)
        _settle_mode()
    return clock


def stop_clock(clock: HandlerClock) -> None:
    """Unregister ``clock``, in whatever order clocks were started (the umbrella travel stops
    with the last one); unregistering it twice does nothing."""
    with _lock:
        clock.live = False
        try:
            _registered.remove(clock)
        except ValueError:
            return
        if _registered:
            _settle_mode()
        else:
            _solo[0] = _solo[1] = None
            _stop_umbrella()


#: (the only registered clock, the umbrella's ``__dict__``) while exactly one is registered,
#: the usual case: the umbrella is then time-machine's plain traveller, its destination kept
#: equal to that clock's (``HandlerClock.move_to_ns``), and reading the clock costs what it
#: costs without this module. With several, the umbrella asks the reading context's.
_solo: list[Any] = [None, None]
#: time-machine's traveller stack, once the umbrella has started.
_stack: list[Any] = [[]]


def _settle_mode() -> None:
    """(Under ``_lock``.) The umbrella's class for the clocks registered now."""
    umbrella = _umbrella
    plain = type(umbrella).__mro__[1] if type(umbrella) in _umbrella_classes.values() else None
    if len(_registered) == 1:
        only = _registered[0]
        if plain is not None:
            umbrella.__class__ = plain
        umbrella.__dict__["_destination_timestamp_ns"] = only.ns
        _solo[0], _solo[1] = only, umbrella.__dict__
    else:
        _solo[0] = _solo[1] = None
        if plain is None:
            umbrella.__class__ = _umbrella_class(type(umbrella))


def newest(clock: HandlerClock) -> bool:
    """Whether ``clock`` is the only one registered, and the umbrella still time-machine's
    newest traveller (the handler started no travel of its own and left it running)."""
    if _solo[0] is not clock:
        return False  # several clocks registered: each invocation stops its own
    stack = _stack[0]
    return bool(stack) and stack[-1] is _umbrella


def _destination_ns(umbrella: Any) -> int:
    """What code in no invocation's context (or in a stopped one's) reads."""
    registered = _registered
    if registered:
        return registered[-1].ns
    # Between the umbrella's start and its first clock's registration (under the lock).
    own: int = umbrella.__dict__.get("_destination_timestamp_ns", 0)
    return own


def _start_umbrella() -> None:
    import time_machine

    global _travel, _umbrella
    # Local time in the handler is UTC, as in Lambda: given a UTC datetime, time-machine sets
    # ``TZ=UTC`` (and calls ``tzset()``) while it travels; where local time already is UTC,
    # an epoch number leaves ``TZ`` alone.
    utc = _local_is_utc()
    travel = _travels.get(utc)
    if travel is None:
        travel = _travels[utc] = time_machine.travel(0 if utc else _EPOCH, tick=False)
    try:
        umbrella = travel.start()
    except RuntimeError as error:
        if "freezegun" in str(error):
            raise FreezegunActive(str(error)) from error
        raise
    # The traveller time-machine pushed: plain while one clock is registered, answering from
    # the reading context's clock when several are (``_settle_mode``; ``time_ns`` reads
    # ``_destination_timestamp_ns``, which ``_Umbrella`` computes).
    _travel, _umbrella = travel, umbrella
    _stack[0] = _traveller_stack()  # time-machine's own list, changed in place


def _stop_umbrella() -> None:
    global _travel, _umbrella  # noqa: PLW0603 - one umbrella per process
    travel, umbrella = _travel, _umbrella
    _travel = _umbrella = None
    if travel is None:
        return
    stack = _traveller_stack()
    if stack and stack[-1] is umbrella:
        travel.stop()
    elif umbrella in stack:
        # A travel the handler started is newer, and still running: leave it the patch.
        stack.remove(umbrella)
        umbrella._stop()


class FreezegunActive(RuntimeError):
    """time-machine refused to start: freezegun's ``freeze_time`` is active."""


_umbrella_classes: dict[type, type] = {}


def _umbrella_class(traveller: type) -> type:
    made = _umbrella_classes.get(traveller)
    if made is None:

        class _Umbrella(traveller):  # type: ignore[misc]
            """time-machine's traveller, whose destination is the reading context's clock."""

            @property
            def _destination_timestamp_ns(self) -> int:
                # Read on every read of the clock in the process: ``_destination_ns`` inlined.
                clock = _context_get()
                if clock is not None and clock.live:
                    return clock.ns
                return _destination_ns(self)

            @_destination_timestamp_ns.setter
            def _destination_timestamp_ns(self, value: int) -> None:
                self.__dict__["_destination_timestamp_ns"] = value

        made = _umbrella_classes[traveller] = _Umbrella
    return made


def _traveller_stack() -> list[Any]:
    """time-machine's stack of active travellers (named ``coordinates_stack`` before
    time-machine 3)."""
    module = sys.modules.get("time_machine")
    if module is None:
        return []
    stack: list[Any] = getattr(module, "traveller_stack", None) or getattr(
        module, "coordinates_stack", []
    )
    return stack


def _reset_uuid_timestamps() -> None:
    # ``uuid.uuid1`` keeps its last timestamp to stay monotonic: time-machine resets it when
    # its clock goes backwards, and so does a handler clock.
    reset = getattr(sys.modules.get("time_machine"), "_reset_uuid_timestamps", None)
    if reset is not None:
        reset()


def _local_is_utc() -> bool:
    return time.timezone == 0 and time.altzone == 0 and tuple(time.tzname) == ("UTC", "UTC")
