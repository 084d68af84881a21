"""Every program node type in ``NODE_TYPES`` is handled everywhere it must be: the generator
draws it, it prints as Python that rebuilds it and travels as JSON, the interpreter runs it,
the reference evaluator computes it, a reproducer can import it, and the two agree on a
program holding it. A node type added without one of these fails here, saying what to add
where."""

from __future__ import annotations

import contextlib
import dataclasses
import functools

import pytest
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis.errors import NoSuchExample

from async_durable_execution_runner import programs
from async_durable_execution_runner._harness.programs.interpreter import RUNNERS
from async_durable_execution_runner._harness.programs.nodes import (
    NODE_TYPES,
    REPR_NAMESPACE,
    Node,
    Program,
    node_from_json,
)
from async_durable_execution_runner._harness.programs.reference import EVALUATORS
from async_durable_execution_runner._harness.programs.strategies import durable_programs
from async_durable_execution_runner.scenarios import Scenario

HERE = "src/async_durable_execution_runner/_harness/programs"
TYPES = list(NODE_TYPES)
# The programs first drawn will do (shrinking them costs more than running them), the same
# ones every time.
FIND = settings(
    database=None,
    derandomize=True,
    max_examples=2_000,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.filter_too_much],
)


@functools.cache
def drawn_programs() -> dict[str, Program]:
    """For each node type, the first generated program holding one (one pass of the
    generator until every type has shown up)."""
    found: dict[str, Program] = {}

    def every_type_seen(program: Program) -> bool:
        for node in program.walk(into_invokes=True):
            found.setdefault(node.type, program)
        return len(found) == len(NODE_TYPES)

    with contextlib.suppress(NoSuchExample):
        find(durable_programs(max_depth=2, max_nodes=6), every_type_seen, settings=FIND)
    return found


def drawn_program(node_type: str) -> tuple[Program, Node]:
    """A generated program holding a node of ``node_type``, and that node."""
    cls = NODE_TYPES[node_type]
    program = drawn_programs().get(node_type)
    if program is None:
        pytest.fail(
            f"durable_programs() never drew a {cls.__name__}: give it a weight in _KINDS and a "
            f"branch in _node ({HERE}/strategies.py)"
        )
    return program, next(n for n in program.walk(into_invokes=True) if type(n) is cls)


@pytest.mark.parametrize("node_type", TYPES)
def test_every_node_type_is_named_printed_and_serialised(node_type: str) -> None:
    cls = NODE_TYPES[node_type]
    if "name" in {f.name for f in dataclasses.fields(cls)}:
        assert cls.prefix, (
            f"{cls.__name__} has an operation name: give it a `prefix` ({HERE}/nodes.py)"
        )
    _, node = drawn_program(node_type)
    assert eval(repr(node), dict(REPR_NAMESPACE)) == node, (
        f"{cls.__name__}'s repr must be the Python that rebuilds it ({HERE}/nodes.py)"
    )
    assert node_from_json(node.to_json()) == node, (
        f"{cls.__name__}: to_json and from_json must round-trip ({HERE}/nodes.py)"
    )


@pytest.mark.parametrize("node_type", TYPES)
def test_every_node_type_is_run_evaluated_and_exported(node_type: str) -> None:
    cls = NODE_TYPES[node_type]
    assert cls in RUNNERS, f"add a runner for {cls.__name__} to RUNNERS ({HERE}/interpreter.py)"
    assert cls in EVALUATORS, (
        f"add {cls.__name__} to EVALUATORS, the reference evaluator's table ({HERE}/reference.py)"
    )
    assert getattr(programs, cls.__name__, None) is cls and cls.__name__ in programs.__all__, (
        f"export {cls.__name__} from src/async_durable_execution_runner/programs.py "
        "(a reproducer imports it from there)"
    )


@pytest.mark.parametrize("node_type", TYPES)
def test_the_interpreter_and_the_evaluator_agree_on_every_node_type(node_type: str) -> None:
    program, _ = drawn_program(node_type)
    scenario = Scenario(
        handler=programs.program_handler,
        input=programs.program_event(program),
        callback_payloads=dict.fromkeys(_callbacks(program), (1,)),
        functions={programs.PROGRAM_FUNCTION: programs.program_handler},
        program=program,
    )
    scenario.run().check(strict=True)  # the expected-outcome oracle compares the two


def _callbacks(program: Program) -> list[str]:
    return [n.label for n in program.walk(into_invokes=True) if isinstance(n, programs.Callback)]
