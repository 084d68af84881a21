"""The service's one source of time.

The virtual clock never reads wall time, so a handler and a clock give the same history
byte for byte. The real clock exists for people who want waits to really take their time.
"""

from __future__ import annotations

import datetime as _dt
import time

UTC = _dt.UTC

#: The machine's own ``time.monotonic``, taken before the handler's clock
#: (``_sandbox.handler_clock``) replaces the module's: the runner's own wall-clock deadlines
#: read it, never the handler's clock, which runs ahead by what its loops skipped.
real_monotonic = time.monotonic

DEFAULT_START = _dt.datetime(2025, 1, 1, tzinfo=UTC)


class VirtualClock:
    """Time that moves only when told: ``advance``/``advance_to``. Never goes backwards."""

    is_virtual = True

    def __init__(self, start: _dt.datetime = DEFAULT_START) -> None:
        if start.tzinfo is None:
            msg = f"VirtualClock needs an aware start instant (tzinfo=UTC); got naive {start!r}"
            raise ValueError(msg)
        self._now = start.astimezone(UTC)

    def now(self) -> _dt.datetime:
        return self._now

    def advance(self, delta: _dt.timedelta | float) -> _dt.datetime:
        seconds = delta.total_seconds() if isinstance(delta, _dt.timedelta) else float(delta)
        if seconds < 0:
            msg = f"the virtual clock cannot go backwards: advance({seconds}) is negative"
            raise ValueError(msg)
        self._now = self._now + _dt.timedelta(seconds=seconds)
        return self._now

    def advance_to(self, instant: _dt.datetime) -> None:
        self._now = max(instant, self._now)

    def __repr__(self) -> str:
        return f"VirtualClock(now={self._now.isoformat()})"


class RealClock:
    """Wall-clock time; ``advance_to`` sleeps until the instant."""

    is_virtual = False

    def now(self) -> _dt.datetime:
        return _dt.datetime.fromtimestamp(time.time(), tz=UTC)  # noqa: TID251 - the one wall-clock reader

    def advance_to(self, instant: _dt.datetime) -> None:
        delay = (instant - self.now()).total_seconds()
        if delay > 0:
            time.sleep(delay)

    def __repr__(self) -> str:
        return "RealClock()"
