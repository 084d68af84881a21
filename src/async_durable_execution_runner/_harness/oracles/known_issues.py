"""Behaviours of the SDK that an oracle trips on, pinned in docs/findings.md.

An oracle that trips on one of these is right that the outcome is wrong, but the fault is the
SDK's, not the handler's. ``Outcome.check()`` says so ("known SDK issue", with the finding)
and, unless asked to be strict, warns instead of failing, so that a user's property does not
fail on what they cannot fix. Each entry recognises its finding from the run, narrowly: a
false "known issue" would hide a real bug.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from async_durable_execution_runner import _sdk_adapter
from async_durable_execution_runner._harness.oracles.base import ExecutionHung, UnexpectedOutcome
from async_durable_execution_runner._harness.oracles.builtin import FaultNotMasked, OracleFailure
from async_durable_execution_runner._models import EventType

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.outcome import Outcome


class KnownSdkIssueWarning(UserWarning):
    """An oracle tripped on a behaviour pinned as the SDK's (``check(strict=True)`` fails)."""


@dataclass(frozen=True)
class KnownSdkIssue:
    #: Where docs/findings.md records it, e.g. "SDK finding 8".
    finding: str
    summary: str
    oracle: type[OracleFailure]
    applies: Callable[[Outcome], bool]

    @property
    def label(self) -> str:
        return f"known SDK issue (docs/findings.md, {self.finding}: {self.summary})"


def _failed_condition_check(outcome: Outcome) -> bool:
    return any(
        e.event_type is EventType.STEP_FAILED
        and e.sub_type == "WaitForCondition"
        and "NextAttemptDelaySeconds" not in (e.details.get("RetryDetails") or {})
        for events in outcome.recorder.events.values()
        for e in events
    )


def _condition_error_types(outcome: Outcome) -> set[str]:
    return {
        str(((e.details.get("Error") or {}).get("Payload") or {}).get("ErrorType"))
        for events in outcome.recorder.events.values()
        for e in events
        if e.event_type is EventType.STEP_FAILED and e.sub_type == "WaitForCondition"
    }


def _condition_error_type_changes_on_replay(outcome: Outcome) -> bool:
    """Live, a failed wait_for_condition check fails the execution with the check's own error
    type; replayed, with ``CallableRuntimeError``. Both runs failed, in the same way but for
    that type, and a condition check is what failed. Or both succeeded, the handler having
    caught the error and kept its type's name (as a generated program's ``Catch`` does), and
    their results differ only where one says ``CallableRuntimeError`` and the other the
    check's error type. Or the handler catches one of the two types and not the other, and
    only the run that met the other failed (``_caught_in_one_run_only``)."""
    baseline = outcome.baseline()
    if baseline is None:
        return False
    if outcome.status != baseline.status:
        return _caught_in_one_run_only(outcome, baseline)
    if not (_failed_condition_check(outcome) or _failed_condition_check(baseline)):
        return False
    if outcome.error is not None and baseline.error is not None:
        types = {outcome.error.type, baseline.error.type}
        # The other type is the failed check's own: not another operation's failure that
        # won a race (a callback's CallbackError next to the check).
        checks = _condition_error_types(outcome) | _condition_error_types(baseline)
        return (
            outcome.result_json == baseline.result_json
            and len(types) == 2
            and "CallableRuntimeError" in types
            and bool((types - {"CallableRuntimeError"}) & checks)
        )
    mine, theirs = outcome.result_json, baseline.result_json
    if outcome.error is not None or baseline.error is not None or mine is None or theirs is None:
        return False
    replayed = '"CallableRuntimeError"'
    # The check's own type, by name: an ``...Error``, or whatever the failed check raised
    # (``StatusUnavailable``).
    checks = _condition_error_types(outcome) | _condition_error_types(baseline)
    names = (set(_ERROR_NAME.findall(mine + theirs)) | checks) - {"CallableRuntimeError", "None"}
    if mine == theirs:
        return False
    for name in names:
        typed = f'"{name}"'
        if mine.replace(replayed, typed) == theirs or theirs.replace(replayed, typed) == mine:
            return True
    return False


_ERROR_NAME = re.compile(r'"(\w+Error)"')


def _failed_checks(outcome: Outcome) -> dict[str, tuple[str, str, bool]]:
    """The root's wait_for_condition checks that failed for good: operation id -> (error
    type, message, whether the handler met the failure replayed). Replayed: the invocation
    that recorded the failure ended right after it (before the handler did anything more)
    and another invocation followed, which replayed it."""
    root = outcome.recorder.root_arn
    events = outcome.recorder.events.get(root, []) if root is not None else []
    failed: dict[str, tuple[str, str, bool]] = {}
    for index, e in enumerate(events):
        if not (
            e.id
            and e.event_type is EventType.STEP_FAILED
            and e.sub_type == "WaitForCondition"
            and "NextAttemptDelaySeconds" not in (e.details.get("RetryDetails") or {})
        ):
            continue
        payload = (e.details.get("Error") or {}).get("Payload") or {}
        later = events[index + 1 :]
        ended = [n for n, f in enumerate(later) if f.event_type is EventType.INVOCATION_COMPLETED]
        replayed = bool(ended) and ended[0] == 0 and len(ended) > 1
        failed[e.id] = (str(payload.get("ErrorType")), str(payload.get("ErrorMessage")), replayed)
    return failed


def _caught_in_one_run_only(outcome: Outcome, baseline: Outcome) -> bool:
    """One run FAILED with a failed check's error and the other did not: the handler catches
    the type the SDK raises in one of them only. The FAILED run met the check's failure live
    and failed with the check's own type (the handler catches ``CallableRuntimeError``), or
    met it replayed and failed with ``CallableRuntimeError`` (the handler catches the
    check's own type), with the check's message; the other run met the same failure of the
    same check the other way. (A handler that treats one type differently from run to run is
    still flagged: the run that failed and the run that did not met it the same way.)"""
    runs = [r for r in (outcome, baseline) if r.error is not None]
    if len(runs) != 1 or runs[0].execution_status.value != "FAILED":
        return False
    failed_run = runs[0]
    other = baseline if failed_run is outcome else outcome
    error = failed_run.error
    assert error is not None
    mine, theirs = _failed_checks(failed_run), _failed_checks(other)
    for op, (kind, message, replayed) in mine.items():
        if op not in theirs or theirs[op][:2] != (kind, message) or message != error.message:
            continue
        if kind == "CallableRuntimeError":
            continue
        if error.type == kind and not replayed and theirs[op][2]:
            return True
        if error.type == "CallableRuntimeError" and replayed and not theirs[op][2]:
            return True
    return False


_BATCHES = frozenset({"Map", "Parallel"})
_CONTEXT_ENDS = frozenset({EventType.CONTEXT_SUCCEEDED, EventType.CONTEXT_FAILED})


def _batch_assembled_on_replay(outcome: Outcome) -> bool:
    """A ``map`` or ``parallel`` decided live in an invocation that died before the batch's
    own result was checkpointed, and assembled again on the replay: every branch ended as it
    did in the baseline, yet the batch's result differs. Replayed, the SDK starts the branches
    in index order, each ending at once from its checkpoint, and stops starting them at the
    completion decision; under ``max_concurrency`` a branch of higher index that had ended
    live before the decision is then left out of the result (SDK finding 17, with finding 4)."""
    baseline = outcome.baseline()
    if baseline is None:
        return False
    mine = _root_events(outcome)
    theirs = _root_events(baseline)
    theirs_ends = {e.id: e for e in theirs if e.event_type in _CONTEXT_ENDS and e.id}
    for batch, end in _batch_ends(mine).items():
        branches = _branch_ends(mine[:end], batch)
        if not branches or not _died_between(mine, max(branches.values()), end):
            continue
        other = theirs_ends.get(batch)
        if other is None:
            continue
        mine_branches = {b: _ending(mine[i]) for b, i in branches.items()}
        theirs_branches = {
            e.id: _ending(e)
            for e in theirs
            if e.event_type in _CONTEXT_ENDS and e.parent_id == batch
        }
        if mine_branches == theirs_branches and _ending(mine[end]) != _ending(other):
            return True
    return False


def _root_events(outcome: Outcome) -> list[Any]:
    root = outcome.recorder.root_arn
    return list(outcome.recorder.events.get(root, [])) if root is not None else []


def _batch_ends(events: list[Any]) -> dict[str, int]:
    """Batch context id -> the index of its terminal event."""
    batches = {
        e.id
        for e in events
        if e.event_type is EventType.CONTEXT_STARTED and e.sub_type in _BATCHES and e.id
    }
    return {
        e.id: i for i, e in enumerate(events) if e.event_type in _CONTEXT_ENDS and e.id in batches
    }


def _branch_ends(events: list[Any], batch: str) -> dict[str, int]:
    """Branch id -> the index of its terminal event, for the batch's branches that ended."""
    return {
        e.id: i
        for i, e in enumerate(events)
        if e.event_type in _CONTEXT_ENDS and e.parent_id == batch and e.id
    }


def _died_between(events: list[Any], after: int, before: int) -> bool:
    """Whether an invocation ended in an error between those two events."""
    return any(
        e.event_type is EventType.INVOCATION_COMPLETED and "Error" in e.details
        for e in events[after + 1 : before]
    )


def _ending(event: Any) -> tuple[Any, ...]:
    return (event.event_type, repr(event.details))


#: A frame of a stack as ``traceback`` formats it.
_FRAME = re.compile(r'File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<name>\S+)')
#: What precedes the stack of a thread caught running (not a task's awaiting chain) in the
#: runner's report of an invocation it stopped: ``invoker._StuckTurn``, ``_interrupt``.
_RUNNING_AT = "running at:\n"


def _spun_in_batch_completion(outcome: Outcome) -> bool:
    """The hang the liveness oracle reports (the run's, else the first invocation stopped at
    a timeout) is a thread caught running inside the SDK's ``parallel``/``map`` completion
    loop, on Python 3.12 or later, where ``gather`` of finished tasks does not yield and the
    loop can spin for ever (SDK finding 19). (On 3.11 ``gather`` always yields: a hang there
    is something else.)"""
    if sys.version_info < (3, 12):
        return False
    report = outcome.hang
    if report is None:
        report = next(
            (
                info.error_message
                for info in outcome.invocations
                if info.error_type == "Sandbox.Timedout"
            ),
            None,
        )
    if not report or _RUNNING_AT not in report:
        return False
    running = report.split(_RUNNING_AT, 1)[1].split("\ntask ", 1)[0]
    return any(
        _sdk_adapter.at_batch_completion_loop(frame["file"], frame["name"], int(frame["line"]))
        for frame in _FRAME.finditer(running)
    )


def _spun_here_or_in_the_baseline(outcome: Outcome) -> bool:
    """``_spun_in_batch_completion`` of this run or of its fault-free baseline: the
    fault-tolerance oracle compares the two, and either run's spin makes them differ (a run
    stopped by it against one that ended)."""
    if sys.version_info < (3, 12):
        return False
    if _spun_in_batch_completion(outcome):
        return True
    baseline = outcome.baseline()
    return baseline is not None and _spun_in_batch_completion(baseline)


KNOWN_SDK_ISSUES: list[KnownSdkIssue] = [
    KnownSdkIssue(
        finding="SDK finding 8",
        summary="a failed wait_for_condition check changes its error type on replay",
        oracle=FaultNotMasked,
        applies=_condition_error_type_changes_on_replay,
    ),
    KnownSdkIssue(
        finding="SDK finding 17",
        summary=(
            "a map or parallel decided in an invocation that died is assembled again on the "
            "replay, which under max_concurrency can leave out branches that had ended"
        ),
        oracle=FaultNotMasked,
        applies=_batch_assembled_on_replay,
    ),
    KnownSdkIssue(
        finding="SDK finding 19",
        summary=(
            "from Python 3.12 a map or parallel can loop for ever waiting for its branches' "
            "completion handlers (asyncio.gather of finished tasks does not yield)"
        ),
        oracle=ExecutionHung,
        applies=_spun_in_batch_completion,
    ),
    # The spin's stop ends the execution STOPPED: the expected-outcome oracle, which runs
    # after the liveness oracle has labelled the spin, then finds a generated program that
    # did not end as the reference evaluator says (oracle bug 40).
    KnownSdkIssue(
        finding="SDK finding 19",
        summary=(
            "from Python 3.12 a map or parallel can loop for ever waiting for its branches' "
            "completion handlers (asyncio.gather of finished tasks does not yield)"
        ),
        oracle=UnexpectedOutcome,
        applies=_spun_in_batch_completion,
    ),
    KnownSdkIssue(
        finding="SDK finding 19",
        summary=(
            "from Python 3.12 a map or parallel can loop for ever waiting for its branches' "
            "completion handlers (asyncio.gather of finished tasks does not yield)"
        ),
        oracle=FaultNotMasked,
        applies=_spun_here_or_in_the_baseline,
    ),
]


def known_issue(outcome: Outcome, failure: OracleFailure) -> KnownSdkIssue | None:
    """The pinned SDK behaviour that explains ``failure``, if one does."""
    for issue in KNOWN_SDK_ISSUES:
        if isinstance(failure, issue.oracle) and issue.applies(outcome):
            return issue
    return None
