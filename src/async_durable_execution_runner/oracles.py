"""Oracles that judge a run; ``Outcome.check()`` runs every registered one.

Each failure is an ``OracleFailure`` (an ``AssertionError``) subclass whose message names the
oracle, the operation and the event. Register your own with ``@oracle("name")``. A failure that
a behaviour pinned as the SDK's explains (``KNOWN_SDK_ISSUES``, docs/findings.md) is labelled
"known SDK issue" and is a ``KnownSdkIssueWarning`` unless ``check(strict=True)``.
"""

from async_durable_execution_runner._harness.oracles.builtin import (
    ORACLES,
    AtMostOnceViolation,
    CheckpointRefused,
    ExecutionHung,
    FaultNotMasked,
    MalformedHistory,
    NondeterminismSource,
    OperationsLeftOpen,
    OracleFailure,
    ReplayDivergence,
    SchemaViolation,
    TransitionViolation,
    UnexpectedOutcome,
    check_at_most_once,
    check_checkpoints_accepted,
    check_fault_tolerance,
    check_history,
    check_open_operations,
    check_replay,
    check_schemas,
    check_transitions,
    oracle,
)
from async_durable_execution_runner._harness.oracles.known_issues import (
    KNOWN_SDK_ISSUES,
    KnownSdkIssue,
    KnownSdkIssueWarning,
)

__all__ = [
    "KNOWN_SDK_ISSUES",
    "ORACLES",
    "AtMostOnceViolation",
    "CheckpointRefused",
    "ExecutionHung",
    "FaultNotMasked",
    "KnownSdkIssue",
    "KnownSdkIssueWarning",
    "MalformedHistory",
    "NondeterminismSource",
    "OperationsLeftOpen",
    "OracleFailure",
    "ReplayDivergence",
    "SchemaViolation",
    "TransitionViolation",
    "UnexpectedOutcome",
    "check_at_most_once",
    "check_checkpoints_accepted",
    "check_fault_tolerance",
    "check_history",
    "check_open_operations",
    "check_replay",
    "check_schemas",
    "check_transitions",
    "oracle",
]
