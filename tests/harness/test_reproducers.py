"""A reproducer (``Scenario.to_pytest()``) is a test a user pastes into their suite: it
imports public modules only, and it runs without Hypothesis."""

from __future__ import annotations

import ast
import datetime as _dt
import functools
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from orders import order_workflow, pricing_handler

from async_durable_execution_runner._sandbox.cpython_bugs import retrying_ast_depth_mismatch
from async_durable_execution_runner.programs import (
    Program,
    Step,
    Wait,
    program_event,
    program_handler,
    succeed,
)
from async_durable_execution_runner.scenarios import Scenario, Timings, crash, step_exception
from async_durable_execution_runner.strategies import durable_scenarios, fault_plans


def private_imports(code: str) -> list[str]:
    """The modules ``code`` imports whose dotted path has a ``_``-prefixed part."""
    found = []
    # Parsed while Hypothesis runs scenarios whose SDK logs tracebacks: CPython before 3.11.8
    # can fail a parse that a collection interrupts (``cpython_bugs``; seen in a clean-clone
    # CI run in session 30).
    tree = retrying_ast_depth_mismatch(functools.partial(ast.parse, code))
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found.extend(n for n in names if any(part.startswith("_") for part in n.split(".")))
    return found


def run_reproducer(code: str) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(code, "reproducer.py", "exec"), namespace)
    namespace["test_regression"]()


# A run that trips a finding pinned as the SDK's is a warning by design (see test_random_programs).
@pytest.mark.filterwarnings("default::async_durable_execution_runner.oracles.KnownSdkIssueWarning")
@settings(max_examples=8)
@given(durable_scenarios())
def test_program_scenario_reproducers_import_public_modules_and_pass(scenario: Scenario) -> None:
    code = scenario.to_pytest()
    assert private_imports(code) == [], code
    assert "async_durable_execution_runner.programs" in code
    run_reproducer(code)


@settings(max_examples=5)
@given(
    durable_scenarios(
        order_workflow,
        functions={"pricing": pricing_handler},
        faults=fault_plans(max_faults=2),
    )
)
def test_handler_scenario_reproducers_import_public_modules(scenario: Scenario) -> None:
    code = scenario.to_pytest()
    assert private_imports(code) == [], code
    compile(code, "reproducer.py", "exec")


def test_a_program_reproducer_runs_in_a_fresh_interpreter_without_hypothesis() -> None:
    program = Program([Step("s1", succeed(1)), Wait("w1", 60), Step("s2", succeed(2))])
    scenario = Scenario(
        handler=program_handler,
        input=program_event(program),
        faults=(crash(invocation=2, call=1), step_exception(step=1, times=2)),
        timings=Timings(seed=3),
        functions={"program": program_handler},
        program=program,
    )
    code = scenario.to_pytest()
    assert private_imports(code) == [], code
    script = (
        f"{code}\n"
        "test_regression()\n"
        "import sys\n"
        "assert 'hypothesis' not in sys.modules, 'the reproducer needed Hypothesis'\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_private_imports_are_recognised() -> None:
    assert private_imports("from async_durable_execution_runner._harness.programs import *") == [
        "async_durable_execution_runner._harness.programs"
    ]
    assert private_imports("import orders\nfrom async_durable_execution_runner import x") == []


def test_a_bound_method_as_before_run_is_named_through_the_object_it_is_bound_to() -> None:
    # ``before_run=SENT.clear`` (a list's method) named itself ``from None import list``.
    from orders import order_workflow as handler
    from tests.harness import reproducer_fakes

    scenario = Scenario(
        handler=handler, input={"id": "o-1"}, before_run=reproducer_fakes.SENT.clear
    )
    code = scenario.to_pytest()
    assert "from tests.harness.reproducer_fakes import SENT" in code, code
    assert "before_run=SENT.clear," in code, code
    namespace: dict[str, Any] = {}
    exec(compile(code, "reproducer.py", "exec"), namespace)
    assert namespace["test_regression"]  # it compiles and names what it uses

    unnamed = Scenario(handler=handler, input={"id": "o-1"}, before_run=[].clear)
    code = unnamed.to_pytest()
    assert "before_run=None," in code and "# before_run was <built-in method clear" in code
    compile(code, "reproducer.py", "exec")


def test_a_reproducer_imports_datetime_only_when_it_names_one() -> None:
    # A user pastes it into a suite that a linter checks: no unused import.
    plain = Scenario(handler=order_workflow, input={"id": 1, "quantity": 2})
    assert "import datetime" not in plain.to_pytest()
    started = Scenario(
        handler=order_workflow,
        input={"id": 1, "quantity": 2},
        timings=Timings(start=_dt.datetime(2026, 1, 2, tzinfo=_dt.UTC)),
    )
    code = started.to_pytest()
    assert "import datetime\n" in code
    assert "datetime.datetime(2026, 1, 2" in code
    compile(code, "reproducer.py", "exec")
