"""Bug: `except StepInterruptedError` around an at-most-once step holds for one invocation.

An at-most-once step checkpoints its START before the body runs. If the sandbox dies after
the body ran but before its result was checkpointed, the next invocation finds the step
STARTED and cannot know whether the charge went through: with no retries left, the SDK
checkpoints the step FAILED and raises `StepInterruptedError`, which the handler catches to
ask the payment service what happened. That works in the invocation that found the
interruption. Every later invocation replays the step from its FAILED checkpoint, and replay
raises `CallableRuntimeError` (its `error_type` is `"StepInterruptedError"`), which the
`except` clause does not catch: after the wait, the execution fails.

The fix catches both, by the error's type name: the class on the first pass, the checkpointed
`error_type` on replay.
"""

from __future__ import annotations

from typing import Any

from async_durable_execution import (
    CallableRuntimeError,
    StepInterruptedError,
    StepSemantics,
    durable_callable,
    durable_execution,
    step,
    wait,
)

from buggy.fakes import CHARGES, reset

__all__ = ["buggy", "fixed", "reset"]


def never_retry(error: Exception, attempt: int) -> int | None:
    """A charge is never attempted twice: the payment service is asked instead."""
    return None


@durable_callable
async def charge_card(order_id: str) -> str:
    CHARGES[order_id] += 1
    return f"charge-{order_id}"


@durable_callable
async def find_charge(order_id: str) -> str | None:
    """Ask the payment service whether the interrupted attempt charged the card."""
    return f"charge-{order_id}" if CHARGES[order_id] else None


def _charge(order_id: str) -> Any:
    return step(
        charge_card(order_id),
        name="charge",
        retry_strategy=never_retry,
        step_semantics=StepSemantics.AT_MOST_ONCE_PER_RETRY,
    )


def was_interrupted(error: Exception) -> bool:
    """Whether a step's failure is its interruption: the SDK's class on the invocation that
    found it, the checkpointed error's type on every replay after."""
    if isinstance(error, StepInterruptedError):
        return True
    return isinstance(error, CallableRuntimeError) and error.error_type == "StepInterruptedError"


@durable_execution
async def buggy(order: dict[str, Any]) -> dict[str, Any]:
    try:
        charge = await _charge(order["id"])
    except StepInterruptedError:  # BUG: a replay raises CallableRuntimeError instead
        charge = await step(find_charge(order["id"]), name="find-charge")
    await wait(60)  # the receipt goes out an hour later: the next invocation replays
    return {"charge": charge}


@durable_execution
async def fixed(order: dict[str, Any]) -> dict[str, Any]:
    try:
        charge = await _charge(order["id"])
    except (StepInterruptedError, CallableRuntimeError) as error:
        if not was_interrupted(error):
            raise
        charge = await step(find_charge(order["id"]), name="find-charge")
    await wait(60)
    return {"charge": charge}
