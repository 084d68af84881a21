"""What a fault plan allows an outcome to be, beyond what the workflow itself decides."""

from __future__ import annotations

from fault_effects import failed_by_service_error

from async_durable_execution_runner.scenarios import Outcome

__all__ = ["failed_by_service_error", "retries_exhausted"]


def retries_exhausted(outcome: Outcome, max_attempts: int = 6) -> bool:
    """Whether the applied ``step_exception`` faults failed every attempt a step has (bursts
    can add up to more than the retry policy allows)."""
    failing: dict[int, set[int]] = {}
    for fault in outcome.applied("step_exception"):
        times = getattr(fault, "times", 1)
        failing.setdefault(fault.step, set()).update(range(fault.attempt, fault.attempt + times))
    return any(set(range(1, max_attempts + 1)) <= attempts for attempts in failing.values())
