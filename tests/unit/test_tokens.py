"""Checkpoint tokens: only the execution's newest token is accepted; everything else is refused
with a message that starts ``Invalid Checkpoint Token`` (the SDK keys its recovery on it)."""

from __future__ import annotations

import base64
import copy
import re
from collections.abc import Iterator

import pytest
from async_durable_execution import create_callback, durable_execution

from async_durable_execution_runner import (
    DurableFunctionTestRunner,
    ExecutionObserver,
    InvalidParameterValueException,
)
from async_durable_execution_runner._models import OperationAction, OperationType, OperationUpdate
from async_durable_execution_runner._service.tokens import (
    STALE_TOKEN_PREFIX,
    CheckpointToken,
    check_token,
)

PREFIX = "Invalid Checkpoint Token"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9+/]+={0,2}")  # botocore's CheckpointToken shape


@durable_execution
async def waits_for_approval(_event: object) -> object:
    callback = await create_callback(name="approval")
    return await callback.result()


class Rejections(ExecutionObserver):
    def __init__(self) -> None:
        self.errors: list[Exception] = []

    def on_checkpoint_rejected(self, execution_arn: str, updates: object, error: Exception) -> None:
        self.errors.append(error)


@pytest.fixture
def runner() -> Iterator[DurableFunctionTestRunner]:
    with DurableFunctionTestRunner(handler=waits_for_approval) as r:
        yield r


def step_start(op_id: str = "probe") -> OperationUpdate:
    return OperationUpdate(id=op_id, type=OperationType.STEP, action=OperationAction.START)


def snapshot(runner: DurableFunctionTestRunner, arn: str) -> tuple[object, ...]:
    e = runner.executor.get(arn)
    return (
        copy.deepcopy(e.operations),
        e.events,
        e.token_sequence,
        e.current_token(),
        runner.executor.pending_items(arn),
    )


def test_prefix_is_exact() -> None:
    assert STALE_TOKEN_PREFIX == PREFIX


def test_tokens_fit_the_service_model() -> None:
    token = CheckpointToken("a67bba67-2ed0-5655-bbe1-a723d494ef94", 12).encode()
    assert TOKEN_PATTERN.fullmatch(token)
    assert 1 <= len(token) <= 2048
    assert CheckpointToken.decode(token) == CheckpointToken(
        "a67bba67-2ed0-5655-bbe1-a723d494ef94", 12
    )


def test_a_fresh_token_is_accepted_and_superseded(runner: DurableFunctionTestRunner) -> None:
    arn = runner.start()
    execution = runner.executor.get(arn)
    fresh = execution.current_token()
    new_token, changed = runner.executor.checkpoint(arn, fresh, [step_start("a")])
    assert [op.id for op in changed] == ["a"]
    assert new_token != fresh
    assert new_token == execution.current_token()
    assert TOKEN_PATTERN.fullmatch(new_token)
    # The response's token is the one to use next; the one it replaced is now stale.
    before = snapshot(runner, arn)
    with pytest.raises(InvalidParameterValueException) as info:
        runner.executor.checkpoint(arn, fresh, [step_start("b")])
    assert info.value.message.startswith(PREFIX)
    assert "stale" in info.value.message
    assert snapshot(runner, arn) == before
    newer, _ = runner.executor.checkpoint(arn, new_token, [step_start("b")])
    assert newer != new_token
    # An empty checkpoint (a poll for news) also supersedes the token.
    polled, changed = runner.executor.checkpoint(arn, newer, [])
    assert changed == []
    assert polled != newer


def test_every_invocation_supersedes_the_token(runner: DurableFunctionTestRunner) -> None:
    arn = runner.start()
    execution = runner.executor.get(arn)
    held = execution.current_token()
    callback_id = runner.wait_for_callback(arn)
    runner.send_callback_success(callback_id, '"yes"')
    result = runner.wait_for_result(arn)
    assert result.result_value == '"yes"'  # the callback's raw payload, passed through
    assert len(result.invocations) == 2
    assert execution.current_token() != held
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}"):
        runner.executor.checkpoint(arn, held, [])


def test_stale_token(runner: DurableFunctionTestRunner) -> None:
    rejections = Rejections()
    runner.add_observer(rejections)
    arn = runner.start()
    execution = runner.executor.get(arn)
    stale = CheckpointToken(execution.execution_id, execution.token_sequence - 1).encode()
    before = snapshot(runner, arn)
    with pytest.raises(InvalidParameterValueException) as info:
        runner.executor.checkpoint(arn, stale, [step_start()])
    message = info.value.message
    assert message.startswith(PREFIX)
    assert "stale" in message
    assert str(execution.token_sequence) in message
    assert snapshot(runner, arn) == before
    assert rejections.errors == [info.value]
    # A token from the future is not the current one either.
    ahead = CheckpointToken(execution.execution_id, execution.token_sequence + 1).encode()
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}"):
        runner.executor.checkpoint(arn, ahead, [step_start()])
    assert snapshot(runner, arn) == before


def test_foreign_token(runner: DurableFunctionTestRunner) -> None:
    first = runner.start(execution_name="first")
    second = runner.start(execution_name="second")
    one = runner.executor.get(first)
    two = runner.executor.get(second)
    before = (snapshot(runner, first), snapshot(runner, second))
    # The other execution's *current* token: right sequence or not, wrong execution.
    with pytest.raises(InvalidParameterValueException) as info:
        runner.executor.checkpoint(first, two.current_token(), [step_start()])
    message = info.value.message
    assert message.startswith(PREFIX)
    assert two.execution_id in message
    assert one.execution_id in message
    same_sequence = CheckpointToken(two.execution_id, one.token_sequence).encode()
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}"):
        runner.executor.checkpoint(first, same_sequence, [step_start()])
    assert (snapshot(runner, first), snapshot(runner, second)) == before


MALFORMED = {
    "empty": "",
    "none": None,
    "number": 42,
    "not-base64": "this is not a token!",
    "base64-of-text": base64.b64encode(b"hello").decode(),
    "base64-of-list": base64.b64encode(b"[1, 2]").decode(),
    "missing-sequence": base64.b64encode(b'{"e": "x"}').decode(),
    "bad-sequence": base64.b64encode(b'{"e": "x", "s": "one"}').decode(),
    "truncated": CheckpointToken("x", 1).encode()[:-3],
}


@pytest.mark.parametrize("token", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_token(runner: DurableFunctionTestRunner, token: object) -> None:
    arn = runner.start()
    before = snapshot(runner, arn)
    with pytest.raises(InvalidParameterValueException) as info:
        runner.executor.checkpoint(arn, token, [step_start()])  # type: ignore[arg-type]
    assert info.value.message.startswith(PREFIX)
    assert info.value.code == "InvalidParameterValueException"
    assert snapshot(runner, arn) == before


def test_get_execution_state_checks_the_token_too(runner: DurableFunctionTestRunner) -> None:
    arn = runner.start()
    execution = runner.executor.get(arn)
    ops, marker = runner.executor.get_execution_state(arn, execution.current_token(), "")
    assert marker is None
    assert [op.id for op in ops] == list(execution.operations)
    stale = CheckpointToken(execution.execution_id, execution.token_sequence - 1).encode()
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}"):
        runner.executor.get_execution_state(arn, stale, "")
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}"):
        runner.executor.get_execution_state(arn, "garbage!", "")


def test_check_token_alone() -> None:
    token = CheckpointToken("exec", 3).encode()
    check_token(token, execution_id="exec", current_sequence=3)
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}.*stale"):
        check_token(token, execution_id="exec", current_sequence=4)
    with pytest.raises(InvalidParameterValueException, match=f"^{PREFIX}.*belongs to"):
        check_token(token, execution_id="other", current_sequence=3)
