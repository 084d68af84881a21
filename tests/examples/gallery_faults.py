"""What a fault plan allows an outcome to be, beyond what the workflow itself decides."""

from __future__ import annotations

import warnings

from fault_effects import failed_by_service_error

from async_durable_execution_runner.oracles import KnownSdkIssueWarning
from async_durable_execution_runner.scenarios import Outcome

__all__ = ["checked_but_for_a_known_sdk_issue", "failed_by_service_error", "retries_exhausted"]


def checked_but_for_a_known_sdk_issue(outcome: Outcome) -> bool:
    """``outcome.check()``, and whether the run met a behaviour pinned as the SDK's (a
    ``KnownSdkIssueWarning``: from Python 3.12, SDK finding 19's ``map`` that spins until
    the runner stops it). Such a run says nothing of what the workflow promises; any other
    warning still fails the test, as ``filterwarnings = error`` has it."""
    with warnings.catch_warnings(record=True) as heard:
        warnings.simplefilter("always", KnownSdkIssueWarning)
        outcome.check()
    return any(issubclass(w.category, KnownSdkIssueWarning) for w in heard)


def retries_exhausted(outcome: Outcome, max_attempts: int = 6) -> bool:
    """Whether the applied ``step_exception`` faults failed every attempt a step has (bursts
    can add up to more than the retry policy allows)."""
    failing: dict[int, set[int]] = {}
    for fault in outcome.applied("step_exception"):
        times = getattr(fault, "times", 1)
        failing.setdefault(fault.step, set()).update(range(fault.attempt, fault.attempt + times))
    return any(set(range(1, max_attempts + 1)) <= attempts for attempts in failing.values())
