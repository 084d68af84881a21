"""The per-type converters and the checkpoint answer's cache path give exactly what the
general ones give."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._models import (
    CallbackDetails,
    ChainedInvokeDetails,
    ContextDetails,
    ErrorObject,
    ExecutionDetails,
    Operation,
    OperationStatus,
    OperationType,
    StepDetails,
    WaitDetails,
)
from async_durable_execution_runner._models.operations import with_status
from async_durable_execution_runner._service.service_client import SdkOperationCache

NOW = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
_text = st.none() | st.text(max_size=5)
_errors = st.none() | st.builds(
    ErrorObject,
    _text,
    _text,
    _text,
    st.none() | st.tuples(st.text(max_size=3)),
)
_times = st.none() | st.just(NOW)


@st.composite
def operations(draw: st.DrawFn) -> Operation:
    """Any operation, its details of any kinds (not only its own type's)."""
    return Operation(
        id=draw(st.text(min_size=1, max_size=5)),
        type=draw(st.sampled_from(OperationType)),
        status=draw(st.sampled_from(OperationStatus)),
        start_timestamp=NOW,
        parent_id=draw(_text),
        name=draw(_text),
        sub_type=draw(st.none() | st.sampled_from(["Step", "Map", "Other-Sub"])),
        end_timestamp=draw(_times),
        execution_details=draw(st.none() | st.builds(ExecutionDetails, _text)),
        context_details=draw(
            st.none() | st.builds(ContextDetails, st.none() | st.booleans(), _text, _errors)
        ),
        step_details=draw(
            st.none() | st.builds(StepDetails, st.integers(0, 3), _times, _text, _errors)
        ),
        wait_details=draw(st.none() | st.builds(WaitDetails, _times)),
        callback_details=draw(
            st.none() | st.builds(CallbackDetails, st.just("cb"), _text, _errors)
        ),
        chained_invoke_details=draw(st.none() | st.builds(ChainedInvokeDetails, _text, _errors)),
    )


@given(operations())
def test_each_type_converter_equals_operation_to_sdk(op: Operation) -> None:
    expected = adapter.operation_to_sdk(op)
    converted = adapter.OPERATION_TO_SDK[op.type](op)
    assert converted == expected
    assert vars(converted) == vars(expected)
    assert repr(converted) == repr(expected)


def test_every_type_has_a_converter() -> None:
    assert set(adapter.OPERATION_TO_SDK) == set(OperationType)


def _step(op_id: str) -> Operation:
    return Operation(
        id=op_id,
        type=OperationType.STEP,
        status=OperationStatus.STARTED,
        start_timestamp=NOW,
        step_details=StepDetails(0),
    )


def test_changed_shares_many_entries() -> None:
    cache = SdkOperationCache()
    a, b = _step("a"), _step("b")
    answered = cache.changed("arn", [a, b])
    assert answered == [adapter.operation_to_sdk(a), adapter.operation_to_sdk(b)]
    # The next page finds them converted; an answer of converted versions reuses them.
    page = cache.many("arn", [a, b])
    assert page[0] is answered[0] and page[1] is answered[1]
    assert cache.changed("arn", [b])[0] is answered[1]
    # A new version replaces the old one, which is rebuilt if asked for again.
    done = with_status(a, OperationStatus.SUCCEEDED, NOW)
    newer = cache.changed("arn", [done])[0]
    assert newer == adapter.operation_to_sdk(done)
    assert cache.many("arn", [done])[0] is newer
    old = cache.changed("arn", [a])[0]
    assert old == answered[0] and old is not answered[0]
    assert cache.changed("other", [b])[0] is not answered[1]  # executions apart
