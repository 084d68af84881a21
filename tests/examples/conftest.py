"""The gallery's tests: ``examples/`` is importable (``gallery.*``), and so is
``strategies/fault_effects.py``, the copyable helper that says what an unretryable service
error does to an outcome."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for extra in (ROOT / "examples", ROOT / "strategies"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
