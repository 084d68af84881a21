"""Plain-text views of results: a history table a person can read."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from async_durable_execution_runner._models import Event, EventType


def _detail_summary(event: Event) -> str:
    d = event.details
    if event.event_type is EventType.INVOCATION_COMPLETED:
        err = d.get("Error", {}).get("Payload", {})
        return f"error {err.get('ErrorType')}: {err.get('ErrorMessage')}" if err else ""
    parts: list[str] = []
    if "Result" in d and d["Result"].get("Payload") is not None:
        parts.append(f"result={_short(d['Result']['Payload'])}")
    if "Error" in d:
        payload = d["Error"].get("Payload", {})
        parts.append(
            f"error={payload.get('ErrorType')}: {_short(payload.get('ErrorMessage') or '')}"
        )
    retry = d.get("RetryDetails")
    if retry:
        parts.append(f"attempt={retry.get('CurrentAttempt')}")
        if "NextAttemptDelaySeconds" in retry:
            parts.append(f"retry_in={retry['NextAttemptDelaySeconds']}s")
    if "Duration" in d:
        parts.append(f"duration={d['Duration']}s")
    if "CallbackId" in d:
        parts.append(f"callback_id={_short(d['CallbackId'], 24)}")
    if "FunctionName" in d:
        parts.append(f"function={d['FunctionName']}")
    if "Input" in d and event.event_type is EventType.EXECUTION_STARTED:
        parts.append(f"input={_short(d['Input'].get('Payload') or '')}")
    return " ".join(parts)


def _short(text: Any, width: int = 40) -> str:
    s = text if isinstance(text, str) else json.dumps(text)
    return s if len(s) <= width else s[: width - 3] + "..."


def format_history(events: Sequence[Event]) -> str:
    """One line per event: id, time offset from the first event, type, name, details."""
    if not events:
        return "(no events)"
    start = events[0].event_timestamp
    rows = [("#", "t+", "event", "name", "details")]
    for e in events:
        offset = (e.event_timestamp - start).total_seconds()
        name = e.name or (e.id[:10] if e.id else "")
        rows.append((str(e.event_id), f"{offset:g}s", e.event_type.value, name, _detail_summary(e)))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for r in rows:
        lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
    return "\n".join(line.rstrip() for line in lines)
