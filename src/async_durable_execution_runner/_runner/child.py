"""``DurableChildContextTestRunner``: test one child context on its own.

A child context (a ``@durable_callable`` run with ``run_in_child_context``) is a unit of a
durable function: its steps, waits and callbacks replay as a group. This runner wraps it in a
one-line durable function (``run_in_child_context(context_function(input), name=name)``) and
runs that on the emulator, so a test exercises the context exactly as its parent would, with
the local runner's whole API and result object::

    @durable_callable
    async def approve_and_price(order): ...

    with DurableChildContextTestRunner(approve_and_price, name="review") as runner:
        arn = runner.start({"id": 1, "quantity": 2})
        ...
        result = runner.wait_for_result(arn)
    result.get_context("review").result

The context function gets the execution's input as its one argument (none when the input is
``None``). The wrapper is built in this process, so ``isolation="process"`` is not available.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from async_durable_execution import durable_execution, run_in_child_context

from async_durable_execution_runner._runner.local import DurableFunctionTestRunner
from async_durable_execution_runner.errors import DurableRunnerError

__all__ = ["DurableChildContextTestRunner"]


class DurableChildContextTestRunner(DurableFunctionTestRunner):
    """Run ``context_function`` (a ``@durable_callable``) as the only child context of an
    execution, named ``name`` (default: the function's name). Other keyword arguments are the
    local runner's."""

    def __init__(
        self, context_function: Callable[..., Any], *, name: str | None = None, **options: Any
    ) -> None:
        if not callable(context_function):
            msg = f"context_function must be a @durable_callable, got {context_function!r}"
            raise DurableRunnerError(msg)
        if options.get("isolation", "inprocess") != "inprocess":
            msg = (
                "DurableChildContextTestRunner builds its wrapper function in this process: "
                "isolation='process' cannot import it; test the parent function for that"
            )
            raise DurableRunnerError(msg)
        self.context_name = name or getattr(context_function, "__name__", "child")
        context_name = self.context_name

        @durable_execution
        async def child_context_under_test(event: Any) -> Any:
            call = context_function() if event is None else context_function(event)
            return await run_in_child_context(call, name=context_name)

        options.setdefault("function_name", f"{context_name}-context")
        super().__init__(child_context_under_test, **options)
