"""``Outcome``: what one run of a scenario produced, and the oracles' verdict on it."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from async_durable_execution import InvocationStatus

from async_durable_execution_runner._harness.faults.kinds import FAULT_KINDS, FaultKind
from async_durable_execution_runner._harness.oracles import builtin as _oracles
from async_durable_execution_runner._harness.oracles.known_issues import (
    KnownSdkIssue,
    KnownSdkIssueWarning,
    known_issue,
)
from async_durable_execution_runner._harness.recorder import Recorder
from async_durable_execution_runner._harness.scenario.nondeterminism import NondeterministicCall
from async_durable_execution_runner._harness.world import Replay, World
from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._runner.display import format_history
from async_durable_execution_runner._runner.html_report import timeline_file
from async_durable_execution_runner._runner.result import DurableFunctionTestResult
from async_durable_execution_runner._service.execution import ExecutionStatus
from async_durable_execution_runner._service.seams import InvocationInfo

if TYPE_CHECKING:
    from async_durable_execution_runner._harness.scenario.scenario import Scenario


@dataclass
class Outcome:
    """What one run of a scenario produced, and the oracles' verdict on it."""

    scenario: Scenario
    result: DurableFunctionTestResult
    recorder: Recorder
    faults_applied: tuple[FaultKind, ...]
    nondeterministic_calls: tuple[NondeterministicCall, ...] = ()
    #: Operation ids of the steps whose bodies drew randomness or read the clock.
    nondeterministic_steps: frozenset[str] = frozenset()
    #: Why the run did not finish within the scenario's wall-clock timeout, if it did not.
    hang: str | None = None
    #: The SDK log records the injected faults caused, held back from the log: one line per
    #: fault (``Outcome.report()`` shows them).
    fault_logs: tuple[str, ...] = ()
    #: Made while the scenario was drawn (to place its faults) and handed back by its first
    #: ``run()``: in the world as it was then, not as the test set it up around ``run()``.
    drawn: bool = False
    _baseline: Outcome | None = field(default=None, repr=False)
    #: What this run's completed operations produced (recorded when masked faults were
    #: planned): the baseline replays it.
    _world: World | None = field(default=None, repr=False)
    #: For a baseline: the world it replayed, and what its bodies produced on their own.
    _replay: Replay | None = field(default=None, repr=False)

    @property
    def status(self) -> InvocationStatus:
        """The SDK's ``InvocationStatus`` (timed-out and stopped executions report FAILED)."""
        return self.result.status

    @property
    def execution_status(self) -> ExecutionStatus:
        """The full status: RUNNING, SUCCEEDED, FAILED, TIMED_OUT or STOPPED."""
        return self.result.execution_status

    @property
    def result_json(self) -> str | None:
        return self.result.result

    @property
    def value(self) -> Any:
        return self.result.result_value

    @property
    def error(self) -> ErrorObject | None:
        return self.result.error

    @property
    def history(self) -> list[dict[str, Any]]:
        return self.result.history

    @property
    def invocations(self) -> tuple[InvocationInfo, ...]:
        return self.result.invocations

    def baseline(self) -> Outcome | None:
        """The same world without the faults: the fault-tolerance oracle's reference.

        Run on first use (it calls ``before_run`` again), with no faults at all: every step,
        ``wait_for_condition`` check and chained invoke that completed in this run yields the
        value, or raises the error, this run checkpointed for it (bodies still run, so their
        side effects on the handler's state stay visible); every callback this run created
        is answered as it was here; unmasked faults hit the operations they hit here. So the
        only difference left is the masked faults. ``None`` without masked faults planned.
        """
        if self._baseline is None and self._world is not None:
            self._baseline = self.scenario.baseline(self._world)
        return self._baseline

    def check(
        self, *, skip: tuple[str, ...] = (), strict: bool = False, warn: bool = True
    ) -> tuple[KnownSdkIssue, ...]:
        """Run every built-in oracle; raise the first ``OracleFailure`` with a full report.

        A failure that a behaviour pinned as the SDK's explains (docs/findings.md) says
        "known SDK issue" and names the finding; it is a ``KnownSdkIssueWarning`` and the
        remaining oracles still run, unless ``strict=True``, which fails on it too.

        Returns the known SDK issues the oracles tripped on, in the order met (empty for a
        clean run): such a run says nothing of what the handler promises, so a property can
        leave its own assertions out for it. With ``warn=False`` they are returned without
        the warning, which ``filterwarnings = error`` would turn into a failure.
        """
        __tracebackhide__ = True  # pytest shows the report, not this loop
        met: list[KnownSdkIssue] = []
        for name, check in _oracles.ORACLES.items():
            if name in skip:
                continue
            try:
                check(self)
            except _oracles.OracleFailure as failure:
                issue = known_issue(self, failure)
                if issue is None:
                    raise type(failure)(f"{failure.detail}\n\n{self.report()}") from None
                labelled = f"{issue.label}: {failure.detail}"
                if strict:
                    raised = type(failure)(f"{labelled}\n\n{self.report()}")
                    raised.known_issue = issue
                    raise raised from None
                if issue not in met:
                    met.append(issue)
                if warn:
                    warnings.warn(
                        f"[{failure.oracle}] {labelled}. Not the handler's fault; "
                        "check(strict=True) fails on it.",
                        KnownSdkIssueWarning,
                        stacklevel=2,
                    )
        return tuple(met)

    def report(self) -> str:
        lines = ["Minimal scenario:"]
        lines.extend(f"  - {line}" for line in self.scenario.describe())
        applied = ", ".join(map(repr, self.faults_applied)) or "none"
        lines.append(f"Faults applied: {applied}")
        if self.fault_logs:
            lines.append("SDK log records caused by the injected faults (held back from the log):")
            lines.extend(f"  - {line}" for line in self.fault_logs)
        lines.append(
            f"Outcome: {self.execution_status.value}"
            + (f", result {self.result.result}" if self.result.result is not None else "")
            + (f", error {self.error.error_type}: {self.error.error_message}" if self.error else "")
            + f", {len(self.invocations)} invocation(s)"
        )
        lines.append(f"Invocations: {describe_invocations(self.invocations)}")
        lines.append("History:")
        lines.extend("  " + row for row in format_history(self.result.events).splitlines())
        lines.append(f"Timeline (open in a browser): {timeline_file(self.result.events)}")
        lines.append("Reproduce with:")
        lines.extend("    " + row for row in self.scenario.to_pytest().splitlines())
        return "\n".join(lines)

    # Convenience for assertions in tests.
    def applied(self, kind: str) -> list[FaultKind]:
        if kind not in FAULT_KINDS:
            msg = f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_KINDS)}"
            raise ValueError(msg)
        return [f for f in self.faults_applied if f.kind == kind]


#: Invocations a report names one by one; the rest are counted.
_INVOCATIONS_SHOWN = 12


def describe_invocations(invocations: Sequence[InvocationInfo]) -> str:
    """Each invocation's sandbox and how it ended, in order: "1 warm (Runtime.ExitError),
    2 cold, 3 warm". The sandbox says what the handler's module state was (a cold one
    imported it afresh: after a crash or a timeout, as on Lambda, or as the timings drew)."""
    parts = [
        f"{info.index} {info.environment}" + (f" ({info.error_type})" if info.error_type else "")
        for info in invocations[:_INVOCATIONS_SHOWN]
    ]
    more = len(invocations) - _INVOCATIONS_SHOWN
    if more > 0:
        parts.append(f"and {more} more")
    return ", ".join(parts) or "none"
