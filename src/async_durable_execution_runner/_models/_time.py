"""Timestamp conversions shared by the wire models."""

from __future__ import annotations

import datetime as _dt
from typing import Any

UTC = _dt.UTC


def to_epoch_seconds(value: _dt.datetime) -> float:
    """Seconds since the epoch, as AWS JSON protocols put timestamps on the wire."""
    return value.timestamp()


def parse_timestamp(value: Any) -> _dt.datetime:
    """Accept what boto3 gives (datetime), the wire (epoch seconds) or ISO-8601 text."""
    if isinstance(value, _dt.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value, tz=UTC)
    if isinstance(value, str):
        parsed = _dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    msg = f"expected a timestamp (datetime, epoch seconds or ISO-8601 text), got {value!r}"
    raise TypeError(msg)
