"""The README's quick start runs verbatim."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"


def _quick_start_code() -> str:
    text = README.read_text()
    section = text.split("## Quick start", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no python block under '## Quick start'"
    return match.group(1)


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
    finally:
        sys.modules.pop("readme_quick_start", None)
    assert module.result.status.value == "SUCCEEDED"


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
