"""The README's quick start runs verbatim."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"

# The seed's published quick start test, verbatim: its imports (InvocationStatus from where
# the 2.5 SDK keeps it) and its test function. The README's quick start must contain both.
SEED_IMPORTS = """\
from async_durable_execution_runner.runner import (
    ContextOperation,
    DurableFunctionTestResult,
    DurableFunctionTestRunner,
    StepOperation,
)
"""
SEED_TEST = """\
def test_my_durable_functions():
    with DurableFunctionTestRunner(handler=function_under_test) as runner:
        result: DurableFunctionTestResult = runner.run(input="input str", timeout=10)

    assert result.status is InvocationStatus.SUCCEEDED
    assert result.result == '["1 2", "3 4 4 3", "5 6"]'

    one_result: StepOperation = result.get_step("one")
    assert one_result.result == '"1 2"'

    two_result: ContextOperation = result.get_context("two")
    assert two_result.result == '"3 4 4 3"'

    three_result: StepOperation = result.get_step("three")
    assert three_result.result == '"5 6"'
"""


def _quick_start_code() -> str:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no python block under '## Quick start'"
    return match.group(1)


def test_readme_quick_start_is_the_seeds_test() -> None:
    code = _quick_start_code()
    assert SEED_IMPORTS in code
    assert SEED_TEST in code
    assert "from async_durable_execution import (\n    InvocationStatus," in code


def test_readme_quick_start_runs_verbatim(tmp_path: Path) -> None:
    # Durable handlers must live in an importable module, so run the block as one.
    module_file = tmp_path / "readme_quick_start.py"
    module_file.write_text(_quick_start_code())
    spec = importlib.util.spec_from_file_location("readme_quick_start", module_file)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_quick_start"] = module
    try:
        spec.loader.exec_module(module)
        module.test_my_durable_functions()  # as pytest would call it
    finally:
        sys.modules.pop("readme_quick_start", None)


def test_readme_property_testing_example_runs(tmp_path: Path) -> None:
    section = README.read_text().split("## Property-based testing", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no python block under '## Property-based testing'"
    module_file = tmp_path / "readme_property.py"
    module_file.write_text(match.group(1))
    spec = importlib.util.spec_from_file_location("readme_property", module_file)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # the block calls its own test


def test_readme_rest_api_example_runs(tmp_path: Path) -> None:
    section = README.read_text().split("## The service's REST API, on loopback", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no python block under the REST API section"
    module_file = tmp_path / "readme_server.py"
    module_file.write_text(match.group(1))
    spec = importlib.util.spec_from_file_location("readme_server", module_file)
    assert spec
    assert spec.loader
    spec.loader.exec_module(importlib.util.module_from_spec(spec))


def test_readme_first_lines_are_the_two_commands() -> None:
    lines = [line.strip() for line in README.read_text().splitlines() if line.strip()]
    commands = [line for line in lines[:6] if line.startswith("python3 -m venv")]
    assert len(commands) == 2
    assert "async_durable_execution_runner run" in commands[0]
    assert "pytest" in commands[1]
