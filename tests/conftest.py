"""Shared test configuration.

Hypothesis profiles (durable-ci, durable-dev, durable-fuzz) come from the project's pytest
plugin (async_durable_execution_runner.pytest_plugin); pyproject.toml's
``durable_hypothesis_profile`` ini key asks for durable-dev and CI's
DURABLE_HYPOTHESIS_PROFILE for durable-ci. examples/ is importable for the tests.
"""

from __future__ import annotations

import sys
from pathlib import Path

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "examples", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
