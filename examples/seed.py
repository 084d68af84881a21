"""The README's quick start: steps, a wait and a child context."""

from async_durable_execution import (
    durable_callable,
    durable_execution,
    run_in_child_context,
    step,
    wait,
)


@durable_callable
async def join(*parts: str) -> str:
    return " ".join(parts)


@durable_callable
async def both_halves() -> str:
    left = await step(join("3", "4"), name="three-four")
    right = await step(join("4", "3"), name="four-three")
    return f"{left} {right}"


@durable_execution
async def function_under_test(event: str) -> list[str]:
    one = await step(join("1", "2"), name="one")
    two = await run_in_child_context(both_halves(), name="two")
    await wait(1, name="pause")
    three = await step(join("5", "6"), name="three")
    return [one, two, three]
