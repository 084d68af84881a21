"""Shared test configuration.

Hypothesis profiles (durable-ci, durable-dev, durable-fuzz) come from the project's pytest
plugin (async_durable_execution_runner.pytest_plugin); pyproject.toml's
``durable_hypothesis_profile`` ini key asks for durable-dev and CI's
DURABLE_HYPOTHESIS_PROFILE for durable-ci. examples/ is importable for the tests.
"""

from __future__ import annotations

import gc
import sys
import warnings
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[1]
for extra in (ROOT / "examples", ROOT):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))


@pytest.fixture
def earlier_garbage_collected() -> None:
    """A full collection before a test that runs the collector itself and judges what it
    finds: earlier tests' garbage is collected here, not judged. A socket an earlier test left
    open in a reference cycle warns "unclosed" when collected, and with ``filterwarnings =
    error`` that failed whichever test collected it, depending on when the collector last ran
    in full (clean-clone CI runs in sessions 29 and 30)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
