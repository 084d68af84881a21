"""Oracles that judge a run; ``Outcome.check()`` runs every registered one.

Each failure is an ``OracleFailure`` (an ``AssertionError``) subclass whose message names the
oracle, the operation and the event. Register your own with ``@oracle("name")``.
"""

from async_durable_execution_runner._harness.oracles import (
    ORACLES,
    AtMostOnceViolation,
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
    check_fault_tolerance,
    check_history,
    check_open_operations,
    check_replay,
    check_schemas,
    check_transitions,
    oracle,
)

__all__ = [
    "ORACLES",
    "AtMostOnceViolation",
    "ExecutionHung",
    "FaultNotMasked",
    "MalformedHistory",
    "NondeterminismSource",
    "OperationsLeftOpen",
    "OracleFailure",
    "ReplayDivergence",
    "SchemaViolation",
    "TransitionViolation",
    "UnexpectedOutcome",
    "check_at_most_once",
    "check_fault_tolerance",
    "check_history",
    "check_open_operations",
    "check_replay",
    "check_schemas",
    "check_transitions",
    "oracle",
]
