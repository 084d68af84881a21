"""``DurableExecutionMachine``: the stateful base users subclass.

Its rules start executions, advance the virtual clock, answer, fail or time out callbacks,
crash the next invocation at a checkpoint, and inject service errors; after every step the
built-in oracles (and the subclass's own ``@invariant``s) run. Hypothesis shrinks a failing
run to the shortest sequence of rules, printed as runnable code.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from async_durable_execution import InvocationStatus
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from async_durable_execution_runner._harness.faults.errors import SERVICE_ERRORS, service_error
from async_durable_execution_runner._harness.faults.logs import MarkedLogs
from async_durable_execution_runner._harness.oracles import builtin as _oracles
from async_durable_execution_runner._harness.recorder import Recorder
from async_durable_execution_runner._models import OperationStatus
from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner._runner.result import CallbackOperation
from async_durable_execution_runner._service.seams import (
    Crash,
    FailCall,
    Fault,
    NoFaults,
    ServiceCall,
)
from async_durable_execution_runner.errors import DurableServiceError

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-1000, 1000) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=5,
)


#: What the machine's faults say in the errors they raise (``service_error``'s "(injected)",
#: the machine's crash and callback failure "... by the machine").
_FAULT_MARKERS = ("(injected)", "by the machine")


@dataclass
class _ArmedFaults(NoFaults):
    """Faults armed by rules; each fires on the next checkpoint call (of any execution)."""

    armed: list[Fault] = field(default_factory=list)
    fired: list[Fault] = field(default_factory=list)

    def on_service_call(self, call: ServiceCall) -> Fault | None:
        if call.kind != "checkpoint" or not self.armed:
            return None
        fault = self.armed.pop(0)
        self.fired.append(fault)
        return fault


@dataclass
class _View:
    """What the oracles read, for a machine (no scenario, no baseline)."""

    recorder: Recorder


class DurableExecutionMachine(RuleBasedStateMachine):
    """Subclass with ``handler = my_durable_handler`` (and optionally ``functions``,
    ``inputs``, ``callback_payloads``); add ``@invariant``s of your own.

    ``self.runner`` is the ``DurableFunctionTestRunner``; ``self.started`` lists the ARNs of
    the executions the machine started (chained invokes run as executions of their own), and
    ``self.results`` maps each finished one to its ``DurableFunctionTestResult``.
    """

    handler: ClassVar[Callable[..., Any] | None] = None
    functions: ClassVar[Mapping[str, Callable[..., Any]]] = {}
    inputs: ClassVar[st.SearchStrategy[Any]] = st.none()
    callback_payloads: ClassVar[st.SearchStrategy[Any]] = JSON_VALUES
    #: Oracles run after every step (names from ``oracles.ORACLES``; the fault-tolerance and
    #: nondeterminism oracles need a scenario and run in ``durable_scenarios`` tests instead).
    machine_oracles: ClassVar[tuple[str, ...]] = (
        "schema",
        "transitions",
        "history",
        "replay-determinism",
        "at-most-once",
    )

    executions = Bundle("executions")

    def __init__(self) -> None:
        super().__init__()
        if type(self).handler is None:
            msg = f"{type(self).__name__} must set `handler = <a @durable_execution handler>`"
            raise TypeError(msg)
        self.recorder = Recorder()
        self.faults = _ArmedFaults()
        handler = type(self).handler
        assert handler is not None
        self.runner = DurableFunctionTestRunner(
            handler,
            functions=dict(type(self).functions),
            faults=self.faults,
            observers=(self.recorder,),
            random_seed=0,
            max_invocation_attempts=10,
            checkpoint_batching="sdk",
        )
        self.started: list[str] = []
        self.results: dict[str, Any] = {}
        # What the SDK logs because of the machine's own faults (a failed checkpoint, a
        # callback the machine failed) is expected, and a campaign runs hundreds of them:
        # held back, as a scenario run holds back its plan's (``faults.logs``).
        self.fault_logs = MarkedLogs(_FAULT_MARKERS)
        self.fault_logs.install()

    def teardown(self) -> None:
        self.fault_logs.remove()
        self.runner.close()

    # --- helpers ----------------------------------------------------------------------

    def pending_callbacks(self, arn: str) -> list[str]:
        """Ids of the execution's callbacks still waiting for an answer."""
        return [
            op.callback_id
            for op in self.runner.get_result(arn).all_operations
            if isinstance(op, CallbackOperation)
            and op.status is OperationStatus.STARTED
            and op.callback_id is not None
        ]

    def _settle(self) -> None:
        """Run what is due now (no time passes), then record finished executions."""
        self.runner.advance(0)
        for arn in self.started:
            if (
                arn not in self.results
                and self.runner.get_status(arn) is not InvocationStatus.PENDING
            ):
                self.results[arn] = self.runner.get_result(arn)

    # --- rules ------------------------------------------------------------------------

    @initialize(target=executions, data=st.data())
    def start_first_execution(self, data: st.DataObject) -> str:
        return self.start_execution(data.draw(type(self).inputs, label="input"))

    def start_execution(self, payload: Any) -> str:
        arn = self.runner.start(input=payload)
        self.started.append(arn)
        self._settle()
        return arn

    @rule(target=executions, data=st.data())
    def start_another_execution(self, data: st.DataObject) -> str:
        return self.start_execution(data.draw(type(self).inputs, label="input"))

    @rule(seconds=st.sampled_from((1, 60, 3600, 86_400)))
    def advance_clock(self, seconds: int) -> None:
        self.runner.advance(seconds)
        self._settle()

    @rule(arn=executions, data=st.data())
    def deliver_callback(self, arn: str, data: st.DataObject) -> None:
        pending = self.pending_callbacks(arn)
        if not pending:
            return
        callback_id = data.draw(st.sampled_from(pending), label="callback")
        payload = data.draw(type(self).callback_payloads, label="payload")
        self._send(lambda: self.runner.send_callback_success(callback_id, json.dumps(payload)))

    @rule(arn=executions, data=st.data())
    def fail_callback(self, arn: str, data: st.DataObject) -> None:
        pending = self.pending_callbacks(arn)
        if not pending:
            return
        callback_id = data.draw(st.sampled_from(pending), label="callback")
        self._send(
            lambda: self.runner.send_callback_failure(
                callback_id, {"ErrorType": "Rejected", "ErrorMessage": "failed by the machine"}
            )
        )

    @rule(arn=executions, data=st.data(), heartbeat=st.booleans())
    def time_out_callback(self, arn: str, data: st.DataObject, heartbeat: bool) -> None:
        pending = self.pending_callbacks(arn)
        if not pending:
            return
        callback_id = data.draw(st.sampled_from(pending), label="callback")
        self._send(lambda: self.runner.time_out_callback(callback_id, heartbeat=heartbeat))

    @precondition(lambda self: len(self.faults.armed) < 3)
    @rule()
    def crash_on_next_checkpoint(self) -> None:
        self.faults.armed.append(Crash("crashed by the machine"))

    @precondition(lambda self: len(self.faults.armed) < 3)
    @rule(code=st.sampled_from(SERVICE_ERRORS[:3]))
    def fail_next_checkpoint(self, code: str) -> None:
        self.faults.armed.append(FailCall(service_error(code)))

    def _send(self, action: Callable[[], None]) -> None:
        try:
            action()
        except DurableServiceError:
            return  # the callback closed meanwhile: the service refuses, nothing changes
        self._settle()

    # --- invariants -------------------------------------------------------------------

    @invariant()
    def oracles_hold(self) -> None:
        view = _View(self.recorder)
        for name in type(self).machine_oracles:
            _oracles.ORACLES[name](view)  # type: ignore[arg-type]
