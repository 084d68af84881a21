"""``safe_point``: a deadline alarm interrupts a hung handler in its own code, or in an idle
event loop, never inside the SDK, asyncio or the runner (where state would be left half-changed)."""

from __future__ import annotations

import asyncio
import copy
import gc
import os
import sys
import weakref
from collections.abc import Callable
from types import FrameType
from typing import Any

import async_durable_execution
import pytest
from async_durable_execution import InvocationStatus, durable_execution, step

import async_durable_execution_runner
from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner._sandbox.safe_points import kind_of, safe_point, swallowed

_PACKAGE = os.path.dirname(async_durable_execution_runner.__file__)
_SDK = os.path.dirname(async_durable_execution.__file__)


@pytest.mark.parametrize(
    ("filename", "kind"),
    [
        (os.path.join(_SDK, "context.py"), "engine"),
        (asyncio.tasks.__file__, "engine"),
        (os.path.join(_PACKAGE, "_service", "invoker.py"), "engine"),
        (os.path.join(_PACKAGE, "_harness", "programs", "interpreter.py"), "user"),
        (copy.__file__, "through"),
        ("<string>", "through"),
        ("<frozen importlib._bootstrap>", "through"),
        (__file__, "user"),
        (os.path.join("/srv", "site-packages", "requests", "sessions.py"), "through"),
        (weakref.__file__, "engine"),
    ],
)
def test_each_file_is_the_users_the_engines_or_passed_through(filename: str, kind: str) -> None:
    assert kind_of(filename) == kind


def test_the_users_own_frame_is_safe() -> None:
    assert safe_point(sys._getframe())


def test_standard_library_frames_are_passed_through_to_their_caller() -> None:
    seen: list[FrameType] = []

    class Spy:
        def __deepcopy__(self, memo: dict[int, Any]) -> Spy:
            frame = sys._getframe().f_back  # copy.deepcopy's frame, called from this test
            assert frame is not None
            seen.append(frame)
            return self

    copy.deepcopy(Spy())
    (frame,) = seen
    assert kind_of(frame.f_code.co_filename) == "through"
    assert safe_point(frame)


def test_a_frame_inside_asyncio_is_not_safe() -> None:
    seen: list[FrameType] = []

    def callback() -> None:
        frame = sys._getframe().f_back  # asyncio's Handle._run
        assert frame is not None
        seen.append(frame)

    loop = asyncio.new_event_loop()
    try:
        loop.call_soon(callback)
        loop.call_soon(loop.stop)
        loop.run_forever()
    finally:
        loop.close()
    (frame,) = seen
    assert not safe_point(frame)


def test_a_frame_inside_the_sdk_is_not_safe() -> None:
    with DurableFunctionTestRunner(handler=_records_the_sdk_frame_calling_a_step) as runner:
        assert runner.run(timeout=10).status is InvocationStatus.SUCCEEDED
    (frame,) = _SDK_FRAMES
    assert kind_of(frame.f_code.co_filename) == "engine"
    assert not safe_point(frame)


_SDK_FRAMES: list[FrameType] = []


async def _record_the_sdk_caller() -> str:
    frame = sys._getframe().f_back
    while frame is not None and not frame.f_code.co_filename.startswith(_SDK):
        frame = frame.f_back
    assert frame is not None, "the step body was not called from the SDK"
    _SDK_FRAMES.append(frame)
    return "ok"


@durable_execution
async def _records_the_sdk_frame_calling_a_step(event: Any) -> str:
    return await step(_record_the_sdk_caller, name="record")


def _judged_in_a_collector_callback_and_a_finaliser(judge: Callable[[], bool]) -> list[bool]:
    """What ``judge`` says inside a garbage collector callback, then inside a ``__del__``."""
    verdicts: list[bool] = []

    def on_collection(phase: str, info: dict[str, Any]) -> None:
        if phase == "start" and not verdicts:
            verdicts.append(judge())

    gc.callbacks.append(on_collection)
    try:
        gc.collect()
    finally:
        gc.callbacks.remove(on_collection)

    class Finalised:
        def __del__(self) -> None:
            verdicts.append(judge())

    Finalised()
    return verdicts


@pytest.mark.usefixtures("earlier_garbage_collected")
def test_a_garbage_collector_callback_or_a_finaliser_is_not_safe() -> None:
    """What is raised there is swallowed ("Exception ignored in ..."), not interrupting."""
    verdicts = _judged_in_a_collector_callback_and_a_finaliser(lambda: safe_point(sys._getframe(1)))
    assert verdicts == [False, False]


@pytest.mark.usefixtures("earlier_garbage_collected")
def test_what_is_raised_in_a_collector_callback_or_a_finaliser_is_swallowed() -> None:
    """``swallowed``: a frame called from one of those, however deep, would lose what is
    raised into it; the driving thread's stop of an endless loop waits for another tick."""

    def deeper() -> bool:
        return swallowed(sys._getframe())

    verdicts = _judged_in_a_collector_callback_and_a_finaliser(deeper)

    class Plain:
        pass

    weakref.finalize(Plain(), lambda: verdicts.append(deeper()))
    gc.collect()
    assert verdicts == [True, True, True]
    assert not deeper()  # (a test's own frame)
