"""A self-contained HTML page with an SVG timeline of one execution.

No script, no network: styles are inline and the details of every bar are in its SVG
``<title>`` (the browser shows them on hover). One lane per operation, bars on the runner's
clock, invocations as shaded bands, and markers for retries, callbacks answered, chained
invokes returning and injected faults.

The clock axis is compressed: a durable execution spends seconds working and hours
waiting, so every event gets a column of its own and the idle time between two instants
takes space growing with the logarithm of its length (the axis labels give the real
offsets). Order and time both stay monotone.
"""

from __future__ import annotations

import hashlib
import html
import math
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field

from async_durable_execution_runner._models import Event, EventType
from async_durable_execution_runner._replay.state import (
    EXECUTION_ENDS,
    is_handler_event,
    operation_type_of,
)
from async_durable_execution_runner._runner.table import (
    describe,
    event_error,
    format_table,
    is_injected,
    offset,
    summarize,
)

E = EventType
COLUMN = 16  # px per event
LANE = 22  # px per operation lane
LABEL = 260  # px for the lane labels
TOP = 46  # px above the first lane (axis)


@dataclass
class _Lane:
    op_id: str
    label: str
    kind: str  # css class: step, wait, callback, invoke, context, map, parallel
    depth: int
    events: list[tuple[float, Event]] = field(default_factory=list)


_KINDS = {
    "STEP": "step",
    "WAIT": "wait",
    "CALLBACK": "callback",
    "CHAINED_INVOKE": "invoke",
    "CONTEXT": "context",
}
_SUB_KINDS = {"Map": "map", "Parallel": "parallel", "WaitForCallback": "callback"}

_STYLE = """
body { font: 13px system-ui, sans-serif; margin: 16px; color: #222; }
h1 { font-size: 16px; margin: 0 0 4px; }
.summary { margin: 0 0 12px; color: #444; }
svg text { font: 11px system-ui, sans-serif; fill: #222; }
.axis line { stroke: #bbb; }
.axis text { fill: #666; }
.lane-bg { fill: #fafafa; }
.invocation { fill: #e3f1e3; }
.invocation.died { fill: #f8dcdc; }
.invocation-label { fill: #3b6b3b; font-weight: 600; }
.bar { stroke-width: 1.5; rx: 3; }
.bar.step { fill: #5b8def; stroke: #3a6fd8; }
.bar.wait { fill: #d6d6d6; stroke: #999; }
.bar.callback { fill: #f2a541; stroke: #c77f1c; }
.bar.invoke { fill: #a77be0; stroke: #7d51bb; }
.bar.context { fill: #ffffff; stroke: #555; }
.bar.map, .bar.parallel { fill: #e8f4fb; stroke: #2a7ab0; }
.bar.failed { stroke: #c62828; stroke-width: 2.5; }
.bar.open { stroke-dasharray: 4 3; }
.retry { stroke: #c62828; stroke-width: 2; }
.answer { fill: #2e7d32; }
.fault { fill: #d81b60; stroke: #7a0036; }
.legend rect, .legend path, .legend circle { stroke-width: 1.5; }
pre { background: #f6f6f6; padding: 8px; overflow-x: auto; font-size: 12px; }
"""


def _kind(event: Event) -> str:
    op_type = operation_type_of(event.event_type)
    return _SUB_KINDS.get(event.sub_type or "") or _KINDS.get(
        op_type.value if op_type else "", "step"
    )


def _columns(events: Sequence[Event]) -> tuple[list[float], list[tuple[float, str]]]:
    """An x for every event, and axis ticks (x, label) where the clock moved."""
    xs: list[float] = []
    ticks: list[tuple[float, str]] = []
    start = events[0].event_timestamp
    x = float(LABEL + 20)
    previous = start
    for i, e in enumerate(events):
        gap = (e.event_timestamp - previous).total_seconds()
        if i and gap > 0:
            x += 18 + 14 * math.log10(1 + gap)
        if i == 0 or gap > 0:
            ticks.append((x, offset((e.event_timestamp - start).total_seconds())))
        xs.append(x)
        x += COLUMN
        previous = e.event_timestamp
    return xs, ticks


def _title(text: str) -> str:
    return f"<title>{html.escape(text)}</title>"


def render_html(events: Sequence[Event], *, title: str = "durable execution") -> str:
    """The whole page, as text."""
    if not events:
        return f"<!doctype html><title>{html.escape(title)}</title><p>(no events)</p>"
    xs, ticks = _columns(events)
    start = events[0].event_timestamp
    lanes: dict[str, _Lane] = {}
    parents: dict[str, str | None] = {}
    for x, e in zip(xs, events, strict=True):
        if not e.id or e.event_type is E.EXECUTION_STARTED or e.event_type in EXECUTION_ENDS:
            continue
        parents.setdefault(e.id, e.parent_id)
        lane = lanes.get(e.id)
        if lane is None:
            depth, parent = 0, e.parent_id
            while parent is not None and depth < 50:
                depth += 1
                parent = parents.get(parent)
            name = e.name or e.id[:10]
            lane = lanes[e.id] = _Lane(e.id, name, _kind(e), depth)
        lane.events.append((x, e))
    width = (xs[-1] if xs else LABEL) + 60
    height = TOP + LANE * (len(lanes) + 1) + 70
    parts: list[str] = [
        f'<svg width="{width:.0f}" height="{height}" viewBox="0 0 {width:.0f} {height}" '
        'role="img" aria-label="execution timeline">'
    ]
    bottom = TOP + LANE * (len(lanes) + 1)
    parts.extend(_bands(events, xs, start, bottom))
    parts.append('<g class="axis">')
    for x, label in ticks:
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 8}" x2="{x:.1f}" y2="{bottom}"/>')
        parts.append(f'<text x="{x + 2:.1f}" y="{TOP - 12}">{html.escape(label)}</text>')
    parts.append("</g>")
    # The execution's own lane.
    y = TOP
    exec_end = next(
        (x for x, e in zip(xs, events, strict=True) if e.event_type in EXECUTION_ENDS), None
    )
    end_event = next((e for e in events if e.event_type in EXECUTION_ENDS), None)
    parts.append(f'<text x="8" y="{y + 15}" font-weight="600">execution</text>')
    parts.append(
        _bar(
            xs[0],
            exec_end if exec_end is not None else xs[-1],
            y,
            "context"
            + ("" if end_event is not None else " open")
            + (
                " failed"
                if end_event is not None and end_event.event_type is not E.EXECUTION_SUCCEEDED
                else ""
            ),
            f"execution: {end_event.event_type.value if end_event else 'running'}\n"
            + (describe(end_event) if end_event else ""),
            css="execution",
        )
    )
    for index, lane in enumerate(lanes.values(), start=1):
        y = TOP + LANE * index
        if index % 2 == 0:
            parts.append(
                f'<rect class="lane-bg" x="0" y="{y}" width="{width:.0f}" height="{LANE}"/>'
            )
        indent = 8 + 12 * lane.depth
        parts.append(
            f'<text x="{indent}" y="{y + 15}">{html.escape(lane.kind)} '
            f"{html.escape(_clip(lane.label, 28))}</text>"
        )
        parts.extend(_lane(lane, y, start, xs[-1]))
    parts.append("</svg>")
    summary = summarize(events)
    table = html.escape(format_table(events))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>"
        f'<h1>{html.escape(title)}</h1><p class="summary">{html.escape(summary)}</p>'
        f"{_legend()}{''.join(parts)}<h2>History</h2><pre>{table}</pre></body></html>\n"
    )


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _bar(x1: float, x2: float, y: float, kind: str, tip: str, css: str = "bar") -> str:
    w = max(x2 - x1, 6.0)
    classes = f"bar {kind}" if css == "bar" else f"{css} bar {kind}"
    return (
        f'<rect class="{classes}" x="{x1:.1f}" y="{y + 4}" width="{w:.1f}" '
        f'height="{LANE - 8}">{_title(tip)}</rect>'
    )


def _lane(lane: _Lane, y: float, start: object, last_x: float) -> list[str]:
    out: list[str] = []
    first_x = lane.events[0][0]
    terminal = next(((x, e) for x, e in lane.events if _ends(e)), None)
    end_x = terminal[0] if terminal else last_x
    classes = lane.kind
    if terminal is None:
        classes += " open"
    elif not terminal[1].event_type.value.endswith("Succeeded"):
        classes += " failed"
    lines = [f"{lane.kind} {lane.label}"]
    for _, e in lane.events:
        when = offset((e.event_timestamp - lane.events[0][1].event_timestamp).total_seconds())
        lines.append(f"{e.event_type.value} ({when} after start) {describe(e)}".rstrip())
    out.append(_bar(first_x, end_x, y, classes, "\n".join(lines)))
    mid = y + LANE / 2
    for x, e in lane.events:
        error = event_error(e)
        if e.event_type is E.STEP_FAILED and "NextAttemptDelaySeconds" in (
            e.details.get("RetryDetails") or {}
        ):
            out.append(
                f'<line class="retry" x1="{x:.1f}" y1="{y + 1}" x2="{x:.1f}" y2="{y + LANE - 1}">'
                f"{_title('retry: ' + describe(e))}</line>"
            )
        if e.event_type in (
            E.CALLBACK_SUCCEEDED,
            E.CALLBACK_FAILED,
            E.CALLBACK_TIMED_OUT,
            E.CHAINED_INVOKE_SUCCEEDED,
            E.CHAINED_INVOKE_FAILED,
            E.CHAINED_INVOKE_TIMED_OUT,
            E.CHAINED_INVOKE_STOPPED,
        ):
            out.append(
                f'<circle class="answer" cx="{x:.1f}" cy="{mid:.1f}" r="3.5">'
                f"{_title(e.event_type.value + ' ' + describe(e))}</circle>"
            )
        if error and is_injected(error):
            out.append(_fault(x, y, f"injected fault: {describe(e)}"))
    return out


def _ends(event: Event) -> bool:
    """Whether the event ends its operation (a failed attempt that will retry does not)."""
    retry = event.details.get("RetryDetails") or {}
    return event.event_type.is_terminal and "NextAttemptDelaySeconds" not in retry


def _fault(x: float, y: float, tip: str) -> str:
    mid = y + LANE / 2
    points = f"{x:.1f},{y + 1} {x + 5:.1f},{mid:.1f} {x:.1f},{y + LANE - 1} {x - 5:.1f},{mid:.1f}"
    return f'<polygon class="fault" points="{points}">{_title(tip)}</polygon>'


def _bands(events: Sequence[Event], xs: Sequence[float], start: object, bottom: float) -> list[str]:
    """One shaded band per invocation, from its first event to its ``InvocationCompleted``."""
    out: list[str] = []
    begin: float | None = None
    index = 0
    for x, e in zip(xs, events, strict=True):
        if e.event_type is E.INVOCATION_COMPLETED:
            index += 1
            x1 = begin if begin is not None else x - COLUMN / 2
            error = event_error(e)
            css = "invocation died" if error else "invocation"
            tip = f"invocation {index}"
            if error:
                tip += f": died, {error.get('ErrorType')}: {error.get('ErrorMessage')}"
            out.append(
                f'<rect class="{css}" x="{x1 - 4:.1f}" y="{TOP - 6}" width="{x - x1 + 8:.1f}" '
                f'height="{bottom - TOP + 6}">{_title(tip)}</rect>'
            )
            out.append(
                f'<text class="invocation-label" x="{x1 - 2:.1f}" y="{bottom + 14}">'
                f"inv {index}</text>"
            )
            if error and is_injected(error):
                out.append(
                    _fault(
                        x,
                        TOP,
                        f"injected fault: invocation {index} died: {error.get('ErrorMessage')}",
                    )
                )
            begin = None
            continue
        if begin is None and is_handler_event(e):
            begin = x
    return out


def _legend() -> str:
    items = [
        ('<rect class="bar step" x="0" y="2" width="22" height="12"/>', "step"),
        ('<rect class="bar wait" x="0" y="2" width="22" height="12"/>', "wait"),
        ('<rect class="bar callback" x="0" y="2" width="22" height="12"/>', "callback"),
        ('<rect class="bar invoke" x="0" y="2" width="22" height="12"/>', "chained invoke"),
        ('<rect class="bar context" x="0" y="2" width="22" height="12"/>', "context"),
        ('<rect class="bar map" x="0" y="2" width="22" height="12"/>', "map / parallel"),
        ('<line class="retry" x1="11" y1="0" x2="11" y2="16"/>', "retry"),
        ('<circle class="answer" cx="11" cy="8" r="4"/>', "answer arrives"),
        ('<polygon class="fault" points="11,0 16,8 11,16 6,8"/>', "injected fault"),
        ('<rect class="invocation" x="0" y="0" width="22" height="16"/>', "invocation"),
    ]
    cells = "".join(
        f'<g transform="translate({i * 120},0)">{shape}<text x="28" y="12">{label}</text></g>'
        for i, (shape, label) in enumerate(items)
    )
    return f'<svg class="legend" width="{len(items) * 120}" height="20">{cells}</svg>'


def timeline_file(events: Sequence[Event], *, title: str = "durable execution") -> str:
    """Write the page for ``events`` under the temporary directory and return its path.

    Named by a digest of the page, so the many reports of one shrinking run (the same
    failing example, reported again) write one file, not one each."""
    page = render_html(events, title=title)
    folder = os.path.join(tempfile.gettempdir(), "durable-timelines")
    os.makedirs(folder, exist_ok=True)
    digest = hashlib.sha1(page.encode(), usedforsecurity=False).hexdigest()[:16]
    path = os.path.join(folder, f"timeline-{digest}.html")
    if not os.path.exists(path):
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
    return path
