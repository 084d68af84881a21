"""A handler is bound to the process's in-process client once, for every runner: the SDK's
decorator is not run again per runner, and each runner's invocations are still answered
from that runner's own operations."""

from __future__ import annotations

from typing import Any

import pytest
from async_durable_execution import durable_execution, step, wait

from async_durable_execution_runner import DurableFunctionTestRunner
from async_durable_execution_runner import _sdk_adapter as adapter
from async_durable_execution_runner._sandbox import invoker


async def _echo(value: Any) -> Any:
    return value


@durable_execution
async def echo_after_wait(event: Any) -> Any:
    first = await step(lambda: _echo(event), name="echo")
    await wait(1, name="pause")
    return await step(lambda: _echo(first), name="again")


def test_a_handler_is_bound_once_for_every_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    original = adapter.bind_client

    def counting(handler: Any, client: object) -> Any:
        calls.append(client)
        return original(handler, client)

    monkeypatch.setattr(invoker.adapter, "bind_client", counting)
    monkeypatch.setattr(invoker, "_BOUND", {"objects": {}, "json": {}})
    for value in ("a", "b", "c"):
        with DurableFunctionTestRunner(handler=echo_after_wait) as runner:
            assert runner.run(input=value, timeout=30).result_value == value
    assert len(calls) == 1
    # A runner that asks for the JSON shapes binds the handler to the JSON client.
    with DurableFunctionTestRunner(handler=echo_after_wait, wire_format="json") as runner:
        assert runner.run(input="d", timeout=30).result_value == "d"
    assert len(calls) == 2 and calls[0] is not calls[1]


def test_two_runners_interleaved_answer_from_their_own_executions() -> None:
    """Two runners' executions of one handler, one invocation of each in turn: the shared
    client answers each from its own runner's operations."""
    first = DurableFunctionTestRunner(handler=echo_after_wait)
    second = DurableFunctionTestRunner(handler=echo_after_wait)
    with first, second:
        a = first.start(input="first")
        b = second.start(input="second")
        # Each runner's first invocation (it ends at the wait), the second runner's between
        # the first runner's two.
        assert first.deliver_due() and second.deliver_due()
        assert first.wait_for_result(a, timeout=30).result_value == "first"
        assert second.wait_for_result(b, timeout=30).result_value == "second"


def test_the_bound_handlers_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(invoker, "_BOUND_KEPT", 3)
    table: dict[int, Any] = {}
    handlers = []
    for n in range(5):

        async def body(event: Any, n: int = n) -> int:
            return n

        handlers.append(durable_execution(body))
        invoker._bind(table, handlers[-1], "objects")
    assert [entry[0] for entry in table.values()] == handlers[2:]
