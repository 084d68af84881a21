"""The built-in oracles, one module each; importing this registers them, in the order
``Outcome.check()`` runs them (the first failure is the one raised).

Each raises an ``OracleFailure`` subclass whose message names the oracle, the operation (id
and name) and the event at fault.
"""

from async_durable_execution_runner._harness.oracles.at_most_once import check_at_most_once
from async_durable_execution_runner._harness.oracles.base import (
    ORACLES,
    AtMostOnceViolation,
    CheckpointRefused,
    ExecutionHung,
    FaultNotMasked,
    MalformedHistory,
    NondeterminismSource,
    OperationsLeftOpen,
    OracleFailure,
    OracleFn,
    ReplayDivergence,
    SchemaViolation,
    TransitionViolation,
    UnexpectedOutcome,
    oracle,
)
from async_durable_execution_runner._harness.oracles.checkpoints import check_checkpoints_accepted
from async_durable_execution_runner._harness.oracles.expected_outcome import (
    check_expected_outcome,
)
from async_durable_execution_runner._harness.oracles.fault_tolerance import check_fault_tolerance
from async_durable_execution_runner._harness.oracles.history import (
    check_history,
    check_history_events,
)
from async_durable_execution_runner._harness.oracles.liveness import check_liveness
from async_durable_execution_runner._harness.oracles.nondeterminism import (
    check_nondeterminism_sources,
)
from async_durable_execution_runner._harness.oracles.open_operations import (
    check_open_operations,
    open_operations,
)
from async_durable_execution_runner._harness.oracles.replay import check_replay
from async_durable_execution_runner._harness.oracles.schema import _VERDICTS, check_schemas
from async_durable_execution_runner._harness.oracles.transitions import check_transitions

#: The order ``Outcome.check()`` runs them in, whatever order the modules were imported in.
_ORDER = (
    "liveness",
    "schema",
    "transitions",
    "history",
    # A refused checkpoint fails the execution mid-flight: named before what follows from it.
    "checkpoints-accepted",
    "replay-determinism",
    "nondeterminism-sources",
    "expected-outcome",
    "at-most-once",
    "open-operations",
    "fault-tolerance",
)
for _name in _ORDER:
    ORACLES[_name] = ORACLES.pop(_name)

__all__ = [
    "ORACLES",
    "_VERDICTS",
    "AtMostOnceViolation",
    "CheckpointRefused",
    "ExecutionHung",
    "FaultNotMasked",
    "MalformedHistory",
    "NondeterminismSource",
    "OperationsLeftOpen",
    "OracleFailure",
    "OracleFn",
    "ReplayDivergence",
    "SchemaViolation",
    "TransitionViolation",
    "UnexpectedOutcome",
    "check_at_most_once",
    "check_checkpoints_accepted",
    "check_expected_outcome",
    "check_fault_tolerance",
    "check_history",
    "check_history_events",
    "check_liveness",
    "check_nondeterminism_sources",
    "check_open_operations",
    "check_replay",
    "check_schemas",
    "check_transitions",
    "open_operations",
    "oracle",
]
