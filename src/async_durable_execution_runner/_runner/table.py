"""The compact history table ``print(result)`` shows: one line per event, grouped by
invocation, operations indented by nesting, offsets on the runner's clock (``+1h00m``),
attempts, one-line errors, and injected faults marked."""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

from async_durable_execution_runner._models import Event, EventType
from async_durable_execution_runner._models._time import parse_timestamp
from async_durable_execution_runner._replay.state import (
    EXECUTION_ENDS,
    SERVICE_EVENTS,
    operation_type_of,
)

E = EventType
FAULT_MARK = "[injected]"
#: Invocation errors Lambda records when the handler did not return on its own.
_DEATHS = {"Runtime.ExitError", "Runtime.ResponseLost", "Sandbox.Timedout"}

_TYPE_LABEL = {
    "STEP": "step",
    "WAIT": "wait",
    "CONTEXT": "context",
    "CALLBACK": "callback",
    "CHAINED_INVOKE": "invoke",
    "EXECUTION": "execution",
}
_SUB_TYPE_LABEL = {
    "Map": "map",
    "MapIteration": "map item",
    "Parallel": "parallel",
    "ParallelBranch": "branch",
    "WaitForCallback": "wait_for_callback",
    "WaitForCondition": "wait_for_condition",
    "RunInChildContext": "child",
}


def offset(seconds: float) -> str:
    """``+0s``, ``+45s``, ``+2m05s``, ``+1h00m``, ``+1h00m30s``, ``+2d03h00m``."""
    if seconds < 0:
        return "-" + offset(-seconds)[1:]
    if seconds < 60:
        whole = round(seconds)
        return f"+{whole}s" if abs(seconds - whole) < 0.0005 else f"+{seconds:.3g}s"
    total = round(seconds)
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"+{days}d{hours:02d}h{minutes:02d}m"
    if hours:
        return f"+{hours}h{minutes:02d}m" + (f"{secs:02d}s" if secs else "")
    return f"+{minutes}m{secs:02d}s"


def one_line(text: Any, width: int = 60) -> str:
    s = text if isinstance(text, str) else json.dumps(text)
    s = " ".join(s.split())
    return s if len(s) <= width else s[: width - 3] + "..."


def event_error(event: Event) -> Mapping[str, Any]:
    box = event.details.get("Error") or {}
    payload: Mapping[str, Any] = box.get("Payload") or {}
    return payload


def is_injected(error: Mapping[str, Any]) -> bool:
    """Whether an error came from the harness's fault injection (its messages say so)."""
    kind = str(error.get("ErrorType") or "")
    message = str(error.get("ErrorMessage") or "")
    return kind.startswith("Injected") or "injected" in message


def _error_text(error: Mapping[str, Any]) -> str:
    text = f"{error.get('ErrorType') or 'Error'}: {one_line(error.get('ErrorMessage') or '', 70)}"
    return f"{FAULT_MARK} {text}" if is_injected(error) else text


def describe(event: Event) -> str:
    """The details column: attempt, retry delay, result, error, duration, callback id..."""
    d = event.details
    parts: list[str] = []
    retry = d.get("RetryDetails") or {}
    if "CurrentAttempt" in retry:
        parts.append(f"attempt {retry['CurrentAttempt']}")
    if "NextAttemptDelaySeconds" in retry:
        parts.append(f"retry in {offset(float(retry['NextAttemptDelaySeconds']))[1:]}")
    if event.event_type is E.WAIT_STARTED and "Duration" in d:
        parts.append(f"for {offset(float(d['Duration']))[1:]}")
    if event.event_type is E.CALLBACK_STARTED:
        if d.get("Timeout"):
            parts.append(f"timeout {offset(float(d['Timeout']))[1:]}")
        if d.get("HeartbeatTimeout"):
            parts.append(f"heartbeat {offset(float(d['HeartbeatTimeout']))[1:]}")
    if event.event_type is E.CHAINED_INVOKE_STARTED and d.get("FunctionName"):
        parts.append(f"-> {d['FunctionName']}")
    result = d.get("Result") or {}
    if result.get("Payload") is not None:
        parts.append(f"= {one_line(result['Payload'], 40)}")
    if event.event_type is E.EXECUTION_STARTED:
        payload = (d.get("Input") or {}).get("Payload")
        if payload is not None:
            parts.append(f"input {one_line(payload, 40)}")
    error = event_error(event)
    if error:
        parts.append(_error_text(error))
    return "  ".join(parts)


def _label(event: Event) -> str:
    op_type = operation_type_of(event.event_type)
    kind = _SUB_TYPE_LABEL.get(event.sub_type or "") or _TYPE_LABEL.get(
        op_type.value if op_type else "", ""
    )
    name = event.name if event.name else (event.id or "")[:10]
    return f"{kind} {name}".strip()


def _verb(event: Event) -> str:
    value = event.event_type.value
    for prefix in ("ChainedInvoke", "Execution", "Context", "Callback", "Step", "Wait"):
        if value.startswith(prefix):
            verb = value[len(prefix) :].lower()
            if "NextAttemptDelaySeconds" in (event.details.get("RetryDetails") or {}):
                # A failed attempt to retry, or a wait_for_condition poll saying "not yet".
                return "retrying" if event.event_type is E.STEP_FAILED else "polled"
            return verb.replace("timedout", "timed out")
    return value


def _timestamp(value: Any, fallback: _dt.datetime) -> _dt.datetime:
    return parse_timestamp(value) if value is not None else fallback


def summarize(events: Sequence[Event]) -> str:
    """One line: how the execution stands, its invocations, its span on the runner's clock."""
    if not events:
        return "no events"
    end = next((e for e in events if e.event_type in EXECUTION_ENDS), None)
    invocations = sum(1 for e in events if e.event_type is E.INVOCATION_COMPLETED)
    span = offset((events[-1].event_timestamp - events[0].event_timestamp).total_seconds())
    status = end.event_type.value.removeprefix("Execution").upper() if end else "RUNNING"
    faults = sum(1 for e in events if is_injected(event_error(e)))
    text = (
        f"{status.replace('TIMEDOUT', 'TIMED_OUT')} after {invocations} invocation(s), "
        f"{len(events)} events, {span[1:]} on the runner's clock"
    )
    return text + (f", {faults} injected fault(s)" if faults else "")


def format_table(
    events: Sequence[Event], *, title: str | None = None, summary: bool = False
) -> str:
    """The history as a table a person reads: invocations as headed groups."""
    if not events:
        return "(no events)"
    if summary and title is None:
        title = summarize(events)
    start = events[0].event_timestamp
    parents: dict[str, str | None] = {}
    for e in events:
        if e.id and e.event_type is not E.EXECUTION_STARTED:
            parents.setdefault(e.id, e.parent_id)

    def depth(op_id: str | None) -> int:
        level, seen = 0, set()
        parent = parents.get(op_id or "")
        while parent is not None and parent not in seen:
            seen.add(parent)
            level += 1
            parent = parents.get(parent)
        return level

    completions = [e for e in events if e.event_type is E.INVOCATION_COMPLETED]
    rows: list[tuple[str, str, str, str]] = []
    lines: list[str] = []
    if title:
        lines.append(title)
    invocation = 0
    opened = False

    def header() -> None:
        nonlocal opened, invocation
        invocation += 1
        opened = True
        done = completions[invocation - 1] if invocation <= len(completions) else None
        if done is None:
            rows.append(("", f"-- invocation {invocation} (running)", "", ""))
            return
        began = _timestamp(done.details.get("StartTimestamp"), done.event_timestamp)
        ended = _timestamp(done.details.get("EndTimestamp"), done.event_timestamp)
        span = offset((ended - began).total_seconds())[1:]
        error = event_error(done)
        if error:
            how = "died"
            if is_injected(error) or error.get("ErrorType") in _DEATHS:
                how += f": {_error_text(error)}"
        else:
            how = "returned"
        rows.append(
            (
                offset((began - start).total_seconds()),
                f"-- invocation {invocation} (ran {span}, {how})",
                "",
                "",
            )
        )

    for e in events:
        t = offset((e.event_timestamp - start).total_seconds())
        if e.event_type is E.INVOCATION_COMPLETED:
            if not opened:
                header()
            opened = False
            continue
        if e.event_type is E.EXECUTION_STARTED:
            rows.append((t, "execution started", "", describe(e)))
            continue
        if e.event_type in EXECUTION_ENDS:
            verb = e.event_type.value.removeprefix("Execution").lower()
            rows.append(
                (t, f"== execution {verb.replace('timedout', 'timed out')}", "", describe(e))
            )
            continue
        if not opened and e.event_type not in SERVICE_EVENTS:
            header()
        indent = "  " * (depth(e.id) + 1)
        rows.append((t, indent + _label(e), _verb(e), describe(e)))

    def is_header(r: tuple[str, str, str, str]) -> bool:
        return r[1].startswith(("-- ", "== ", "execution started")) and not r[2]

    body = [r for r in rows if not is_header(r)] or rows
    widths = [max(len(r[i]) for r in (rows if i == 0 else body)) for i in range(3)]
    for r in rows:
        if is_header(r):
            line = f"{r[0].ljust(widths[0])}  {r[1]}"
            if r[3]:
                line += f"  {r[3]}"
        else:
            line = "  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3]
        lines.append(line.rstrip())
    return "\n".join(lines)
