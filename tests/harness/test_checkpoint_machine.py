"""The checkpoint processor against the reference model (stateful), and the strategies behind it."""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from async_durable_execution_runner._harness.checkpoint_model.reference_model import (
    Accepted,
    CheckpointModel,
    Reason,
    Rejected,
    reachable_statuses,
)
from async_durable_execution_runner._harness.checkpoint_model.updates import (
    INVALID_KINDS,
    BigPayload,
    checkpoint_batches,
    operation_updates,
)
from async_durable_execution_runner._models import (
    CallbackDetails,
    CallbackOptions,
    ChainedInvokeDetails,
    ChainedInvokeOptions,
    ContextDetails,
    ErrorObject,
    EventType,
    ExecutionDetails,
    Operation,
    OperationAction,
    OperationStatus,
    OperationType,
    OperationUpdate,
    StepDetails,
    StepOptions,
    WaitDetails,
    WaitOptions,
)
from async_durable_execution_runner._service.checkpoint import transitions
from async_durable_execution_runner._service.checkpoint.processor import CheckpointProcessor
from async_durable_execution_runner._service.checkpoint.processors import ProcessContext
from async_durable_execution_runner.errors import InvalidParameterValueException
from async_durable_execution_runner.stateful import (
    EXECUTION_ARN,
    EXECUTION_ID,
    START_TIME,
    CheckpointProcessorMachine,
    classify_rejection,
    project_operation,
)

A = OperationAction
S = OperationStatus
T = OperationType

# --- the machine ---------------------------------------------------------------------------

TestCheckpointProcessor = CheckpointProcessorMachine.TestCase
TestCheckpointProcessor.settings = settings(
    settings.default,
    max_examples=max(100, settings.default.max_examples),
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
if "MUTANT_UNDER_TEST" in os.environ:
    # Under mutmut only the verdict matters: the same examples for every mutant, no shrinking.
    TestCheckpointProcessor.settings = settings(
        TestCheckpointProcessor.settings,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
    )


# --- a state with an operation in every interesting status ---------------------------------

NOW = START_TIME + dt.timedelta(hours=1)


def _op(op_id: str, op_type: OperationType, status: OperationStatus, **kw: object) -> Operation:
    end = NOW if status.is_terminal else None
    return Operation(
        id=op_id, type=op_type, status=status, start_timestamp=START_TIME, end_timestamp=end, **kw
    )  # type: ignore[arg-type]


STATE: dict[str, Operation] = {
    EXECUTION_ID: _op(
        EXECUTION_ID, T.EXECUTION, S.STARTED, execution_details=ExecutionDetails("{}")
    ),
    "step-started": _op("step-started", T.STEP, S.STARTED, step_details=StepDetails(attempt=0)),
    "step-pending": _op(
        "step-pending", T.STEP, S.PENDING, step_details=StepDetails(1, next_attempt_timestamp=NOW)
    ),
    "step-ready": _op(
        "step-ready", T.STEP, S.READY, step_details=StepDetails(2, next_attempt_timestamp=NOW)
    ),
    "step-done": _op("step-done", T.STEP, S.SUCCEEDED, step_details=StepDetails(attempt=1)),
    "wait": _op("wait", T.WAIT, S.STARTED, wait_details=WaitDetails(NOW + dt.timedelta(seconds=9))),
    "ctx": _op("ctx", T.CONTEXT, S.STARTED, context_details=ContextDetails()),
    "ctx-done": _op("ctx-done", T.CONTEXT, S.FAILED, context_details=ContextDetails()),
    "cb": _op("cb", T.CALLBACK, S.STARTED, callback_details=CallbackDetails("cb-cb")),
    "inv": _op("inv", T.CHAINED_INVOKE, S.STARTED, chained_invoke_details=ChainedInvokeDetails()),
}


def _ctx() -> ProcessContext:
    return ProcessContext(
        now=NOW,
        execution_arn=EXECUTION_ARN,
        execution_id=EXECUTION_ID,
        new_callback_id=lambda op_id: f"cb-{op_id}",
    )


def accepted_by_processor(
    updates: list[OperationUpdate], state: dict[str, Operation] = STATE
) -> bool:
    try:
        CheckpointProcessor().plan(operations=state, updates=updates, ctx=_ctx())
    except InvalidParameterValueException:
        return False
    return True


def processor_reason(updates: list[OperationUpdate]) -> Reason | None:
    """The processor's rejection class, or None if it accepts (or cannot be classified)."""
    try:
        CheckpointProcessor().plan(operations=STATE, updates=updates, ctx=_ctx())
    except InvalidParameterValueException as error:
        model = _model().check(updates, NOW)
        if not isinstance(model, Rejected):
            return None
        update = updates[model.index] if model.index is not None else None
        return classify_rejection(error.message, update)
    return None


def _model() -> CheckpointModel:
    """A reference model holding STATE (built through its own rules where it can be)."""
    model = CheckpointModel(EXECUTION_ID, START_TIME)
    model.operations.update({op_id: project_operation(op) for op_id, op in STATE.items()})
    return model


# Deterministic: these tests are about what the strategies can produce and how they shrink.
QUICK = settings(
    database=None, derandomize=True, max_examples=3000, phases=[Phase.generate, Phase.shrink]
)


# --- the strategies ------------------------------------------------------------------------


def test_batches_come_both_accepted_and_rejected() -> None:
    batches = checkpoint_batches(STATE)
    find(batches, accepted_by_processor, settings=QUICK)
    find(batches, lambda b: not accepted_by_processor(b), settings=QUICK)


@settings(max_examples=100, deadline=None, database=None)
@given(st.data())
def test_valid_batches_are_accepted(data: st.DataObject) -> None:
    updates = data.draw(checkpoint_batches(STATE, valid=True))
    assert accepted_by_processor(updates), updates
    assert isinstance(_model().check(updates, NOW), Accepted)


@pytest.mark.parametrize("reason", list(Reason), ids=lambda r: r.value)
def test_every_rejection_reason_comes_up(reason: Reason) -> None:
    def rejected_for(updates: list[OperationUpdate]) -> bool:
        outcome = _model().check(updates, NOW)
        return isinstance(outcome, Rejected) and outcome.reasons == {reason}

    found = find(checkpoint_batches(STATE), rejected_for, settings=QUICK)
    # Shrinking leaves the update at fault and at most a couple of others.
    assert len(found) <= 3, found


def test_a_transition_rejection_shrinks_to_one_update() -> None:
    found = find(
        checkpoint_batches(STATE),
        lambda b: processor_reason(b) is Reason.TRANSITION,
        settings=QUICK,
    )
    assert len(found) == 1
    (update,) = found
    current = STATE.get(update.id)
    assert current is None or current.type is update.type
    assert not transitions.is_allowed(update.type, update.action, current and current.status)


@pytest.mark.parametrize("kind", INVALID_KINDS)
def test_every_invalid_kind_can_be_rejected(kind: str) -> None:
    find(
        operation_updates(STATE, kinds=[kind]),
        lambda u: not accepted_by_processor([u]),
        settings=QUICK,
    )


def test_updates_read_a_callable_source_at_draw_time() -> None:
    state: dict[str, Operation] = {}
    strategy = operation_updates(lambda: state, kinds=["allowed"])
    state.update(STATE)
    # With the state filled in after the strategy was built, "allowed" can address it.
    find(strategy, lambda u: u.id in STATE and u.action is not A.START, settings=QUICK)


def test_unknown_kinds_are_refused() -> None:
    with pytest.raises(InvalidArgument, match="unknown update kinds"):
        operation_updates(STATE, kinds=["no-such-kind"])


def test_big_payloads_stay_readable_and_rare() -> None:
    assert repr(BigPayload("x" * 10)) == "BigPayload('x' * 10)"
    big = find(
        operation_updates(STATE),
        lambda u: u.payload is not None and len(u.payload) > 1_000_000,
        settings=QUICK,
    )
    assert isinstance(big.payload, BigPayload)


# --- the reference model on its own ------------------------------------------------------


def test_reachable_statuses_follow_the_table() -> None:
    assert reachable_statuses(T.STEP) == {S.STARTED, S.PENDING, S.READY, S.SUCCEEDED, S.FAILED}
    assert reachable_statuses(T.WAIT) == {S.STARTED, S.SUCCEEDED, S.CANCELLED}
    assert reachable_statuses(T.EXECUTION) == {S.STARTED, S.SUCCEEDED, S.FAILED}
    assert reachable_statuses(T.CALLBACK) == {S.STARTED, S.CANCELLED}


def test_model_step_retry_cycle() -> None:
    model = CheckpointModel(EXECUTION_ID, START_TIME)
    t0 = START_TIME
    start = OperationUpdate("s", T.STEP, A.START)
    failed = ErrorObject(error_type="Boom")
    retry = OperationUpdate("s", T.STEP, A.RETRY, error=failed, step_options=StepOptions(7))
    out = model.checkpoint([start, retry], t0)
    assert isinstance(out, Accepted)
    assert out.event_types == [EventType.STEP_STARTED, EventType.STEP_FAILED]
    assert [e.fact("RetryDetails.CurrentAttempt") for per in out.events for e in per] == [None, 1]
    assert out.events[1][0].fact("RetryDetails.NextAttemptDelaySeconds") == 7
    assert model.operations["s"].status is S.PENDING
    assert model.due(t0 + dt.timedelta(seconds=6)) == []
    assert model.due(t0 + dt.timedelta(seconds=7)) == ["s"]
    model.fire("s", t0 + dt.timedelta(seconds=7))
    assert model.operations["s"].status is S.READY
    later = t0 + dt.timedelta(seconds=8)
    out = model.checkpoint([start, OperationUpdate("s", T.STEP, A.SUCCEED, payload="1")], later)
    assert isinstance(out, Accepted)
    op = model.operations["s"]
    assert (op.status, op.attempt, op.start, op.end) == (S.SUCCEEDED, 2, t0, later)


def test_model_rejects_whole_batches() -> None:
    model = CheckpointModel(EXECUTION_ID, START_TIME)
    before = dict(model.operations)
    out = model.checkpoint(
        [
            OperationUpdate("w", T.WAIT, A.START, wait_options=WaitOptions(5)),
            OperationUpdate("w", T.WAIT, A.START, wait_options=WaitOptions(5)),
        ],
        START_TIME,
    )
    assert out == Rejected(1, frozenset({Reason.TRANSITION}))
    assert model.operations == before


# --- classification of the processor's messages ------------------------------------------


@pytest.mark.parametrize(
    ("updates", "reason"),
    [
        ([OperationUpdate("step-done", T.STEP, A.SUCCEED)], Reason.TRANSITION),
        ([OperationUpdate("wait", T.STEP, A.SUCCEED)], Reason.TYPE_MISMATCH),
        ([OperationUpdate("n", T.STEP, A.START, parent_id="step-started")], Reason.PARENT),
        ([OperationUpdate("n", T.WAIT, A.START)], Reason.OPTIONS),
        ([OperationUpdate("n n", T.STEP, A.START)], Reason.LIMITS),
        (
            [OperationUpdate("x", T.EXECUTION, A.SUCCEED), OperationUpdate("n", T.STEP, A.START)],
            Reason.CLOSED_EXECUTION,
        ),
    ],
    ids=lambda v: v.value if isinstance(v, Reason) else "",
)
def test_processor_rejections_are_classified(
    updates: list[OperationUpdate], reason: Reason
) -> None:
    assert processor_reason(updates) is reason


def test_whole_call_rejections_are_classified() -> None:
    with pytest.raises(InvalidParameterValueException) as info:
        CheckpointProcessor().plan(operations=STATE, updates=[], ctx=_ctx(), execution_open=False)
    assert classify_rejection(info.value.message, None) is Reason.CLOSED_EXECUTION
    assert classify_rejection("something new", None) is None


# --- rules the mutation run found under-tested ---------------------------------------------
#
# Each survivor of `mutmut` over _service/checkpoint/ that revealed a rule the machine's
# derandomised run did not reach gets an example here (see docs/harness.md, "Mutation
# testing"). They drive the machine's own comparison (processor against model), so each checks
# the decision, the reason class, the message naming the update, and on accept the full result.

LIMIT = 6 * 1024 * 1024


def _machine(*setup: list[OperationUpdate]) -> CheckpointProcessorMachine:
    machine = CheckpointProcessorMachine()
    for batch in setup:
        assert machine.check_batch(batch), batch
    return machine


def _rejected_for(machine: CheckpointProcessorMachine, updates: list[OperationUpdate]) -> Reason:
    outcome = machine.model.check(updates, machine.now)
    assert not machine.check_batch(updates)  # and the processor agrees, for the same reason
    assert isinstance(outcome, Rejected)
    (reason,) = outcome.reasons
    return reason


class TestRulesFoundByMutation:
    def test_a_payload_of_exactly_the_limit_is_accepted(self) -> None:
        machine = _machine([OperationUpdate("s", T.STEP, A.START)])
        exact = OperationUpdate("s", T.STEP, A.SUCCEED, payload=BigPayload("p" * LIMIT))
        assert machine.check_batch([exact])
        one_more = OperationUpdate("t", T.STEP, A.START, payload=BigPayload("p" * (LIMIT + 1)))
        assert _rejected_for(machine, [one_more]) is Reason.LIMITS

    def test_an_execution_update_cannot_have_a_parent(self) -> None:
        machine = _machine([OperationUpdate("ctx", T.CONTEXT, A.START)])
        update = OperationUpdate(EXECUTION_ID, T.EXECUTION, A.SUCCEED, parent_id="ctx")
        assert _rejected_for(machine, [update]) is Reason.PARENT

    def test_an_execution_fail_carries_no_payload(self) -> None:
        update = OperationUpdate(EXECUTION_ID, T.EXECUTION, A.FAIL, payload='"x"')
        assert _rejected_for(_machine(), [update]) is Reason.OPTIONS

    @pytest.mark.parametrize("options", [None, StepOptions(None)])
    def test_a_retry_needs_its_delay(self, options: StepOptions | None) -> None:
        machine = _machine([OperationUpdate("s", T.STEP, A.START)])
        retry = OperationUpdate("s", T.STEP, A.RETRY, step_options=options)
        assert _rejected_for(machine, [retry]) is Reason.OPTIONS

    def test_an_execution_update_addresses_the_execution_whatever_its_id(self) -> None:
        machine = _machine()
        # The transition is checked (and reported) against the execution's own operation.
        cancel = OperationUpdate("execution-result-1", T.EXECUTION, A.CANCEL)
        assert _rejected_for(machine, [cancel]) is Reason.TRANSITION
        assert machine.check_batch([OperationUpdate("execution-result-1", T.EXECUTION, A.SUCCEED)])
        assert machine.operations[EXECUTION_ID].status is S.SUCCEEDED
        assert "execution-result-1" not in machine.operations

    @pytest.mark.parametrize(
        "options",
        [CallbackOptions(-1, None), CallbackOptions(None, -1)],
        ids=["timeout", "heartbeat"],
    )
    def test_negative_callback_timeouts_are_refused(self, options: CallbackOptions) -> None:
        update = OperationUpdate("cb", T.CALLBACK, A.START, callback_options=options)
        assert _rejected_for(_machine(), [update]) is Reason.OPTIONS

    # The processor bugs the machine found (fixed in validators/operations.py).

    @pytest.mark.parametrize(
        "options",
        [
            {"wait_options": WaitOptions(0)},
            {"step_options": StepOptions(0)},
            {"callback_options": CallbackOptions(-1)},
            {"chained_invoke_options": ChainedInvokeOptions(None, "t")},
        ],
        ids=["wait", "step", "callback", "invoke"],
    )
    def test_option_values_are_checked_wherever_they_appear(
        self, options: dict[str, object]
    ) -> None:
        update = OperationUpdate("s", T.STEP, A.START, **options)  # type: ignore[arg-type]
        assert _rejected_for(_machine(), [update]) is Reason.OPTIONS

    @pytest.mark.parametrize(
        ("function_name", "tenant_id", "accepted"),
        [
            ("f" * 256, None, True),
            ("f" * 257, None, False),
            ("fn", "tenant-1", True),
            ("fn", "", False),
            ("fn", "tab\tno", False),
            ("fn", "t" * 257, False),
        ],
    )
    def test_invoke_names_and_tenants_follow_the_model(
        self, function_name: str, tenant_id: str | None, accepted: bool
    ) -> None:
        options = ChainedInvokeOptions(function_name, tenant_id)
        update = OperationUpdate("i", T.CHAINED_INVOKE, A.START, chained_invoke_options=options)
        if accepted:
            assert _machine().check_batch([update])
        else:
            assert _rejected_for(_machine(), [update]) is Reason.OPTIONS

    def test_execution_update_ids_follow_the_model(self) -> None:
        update = OperationUpdate("bad id!", T.EXECUTION, A.SUCCEED)
        assert _rejected_for(_machine(), [update]) is Reason.LIMITS
