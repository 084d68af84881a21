"""A dead invocation's stack trace: the tail of its formatted traceback, formatted from its
last frames only where that gives the same lines as formatting it whole."""

from __future__ import annotations

import traceback
from typing import Any

import pytest

from async_durable_execution_runner._sandbox.stack_trace import LINES, stack_trace


def _raised(fn: object) -> BaseException:
    try:
        fn()  # type: ignore[operator]
    except BaseException as exc:  # whatever it raised is the subject
        return exc
    raise AssertionError("expected it to raise")


def _deep(depth: int) -> None:
    # Two functions in turn: a deep stack of frames that differ from the one above them (the
    # SDK's and asyncio's), not a recursion, whose repeated frames are counted.
    if depth:
        _deeper(depth - 1)
    raise ValueError("the partner said no")


def _deeper(depth: int) -> None:
    if depth:
        _deep(depth - 1)
    raise ValueError("the partner said no")


def _chained_short() -> None:
    try:
        _deep(12)
    except ValueError as exc:
        raise RuntimeError("the export failed") from exc


def _recursing(n: int) -> int:
    return _recursing(n + 1)


def _grouped() -> None:
    errors = [_raised(lambda: _deep(3)), _raised(lambda: _deep(15))]
    raise ExceptionGroup("both branches failed", errors)  # type: ignore[arg-type]


def _message_only() -> BaseException:
    return KeyError("no traceback: never raised")


CASES = {
    "deep": lambda: _raised(lambda: _deep(30)),
    "chained, its own traceback short": lambda: _raised(_chained_short),
    "a recursion": lambda: _raised(lambda: _recursing(0)),
    "an exception group": lambda: _raised(_grouped),
    "never raised": _message_only,
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_tail_is_the_standard_librarys(case: str) -> None:
    exc = CASES[case]()
    expected = tuple(traceback.format_exception(exc)[-LINES:])
    assert stack_trace(exc) == expected
    assert stack_trace(exc)[-1] == expected[-1]


def test_a_deep_traceback_is_formatted_from_its_last_frames_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The saving: the frames above the tail are never formatted (each costs a parse of its
    # source line on Python 3.11).
    exc = _raised(lambda: _deep(40))
    formatted: list[int] = []
    original = traceback.StackSummary.format_frame_summary

    def counting(
        self: traceback.StackSummary, frame: traceback.FrameSummary, **options: Any
    ) -> str | None:
        formatted.append(1)  # (3.13 passes ``colorize=``)
        return original(self, frame, **options)

    monkeypatch.setattr(traceback.StackSummary, "format_frame_summary", counting)
    tail = stack_trace(exc)
    assert len(formatted) <= LINES
    assert tail[-1] == "ValueError: the partner said no\n"
