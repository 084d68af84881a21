"""The execution history, recorded as things happen (never rebuilt from final states)."""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable, Mapping
from typing import Any

from async_durable_execution_runner._models import Event, EventType
from async_durable_execution_runner._models._frozen import maker


class History:
    """Append-only list of events with consecutive ``EventId``s from 1."""

    def __init__(self, on_event: Callable[[Event], None] | None = None) -> None:
        self._events: list[Event] = []
        self._on_event = on_event

    def append(
        self,
        event_type: EventType,
        timestamp: _dt.datetime,
        *,
        id: str | None = None,
        name: str | None = None,
        parent_id: str | None = None,
        sub_type: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> Event:
        return self.record(event_type, timestamp, id, name, parent_id, sub_type, details)

    def record(
        self,
        event_type: EventType,
        timestamp: _dt.datetime,
        id: str | None,
        name: str | None,
        parent_id: str | None,
        sub_type: str | None,
        details: Mapping[str, Any] | None,
    ) -> Event:
        """``append`` with positional arguments (every operation's event comes through here)."""
        events = self._events
        event = _new_event(
            len(events) + 1,
            event_type,
            timestamp,
            id,
            name,
            parent_id,
            sub_type,
            dict(details) if details else {},
        )
        events.append(event)
        on_event = self._on_event
        if on_event is not None:
            on_event(event)
        return event

    @property
    def events(self) -> tuple[Event, ...]:
        return tuple(self._events)

    def __len__(self) -> int:
        return len(self._events)


#: ``Event(...)``, without ``type.__call__`` (see ``maker``): one for every event.
_new_event = maker(Event)
