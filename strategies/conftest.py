"""Makes the handler modules importable by name.

Cold re-invocations drop a handler's module from ``sys.modules`` and import it afresh, then
re-resolve the handler by its qualified name: handlers must live in an importable module of
their own (here ``durable_primitives``, and ``seed`` / ``orders`` from ``examples/``). When you
copy these suites, put your handlers in a module on ``sys.path`` the same way.

The Hypothesis profile is yours: each suite carries ``scenario_settings()`` (deadline off),
and the project's namespaced profiles (``durable-ci``, ``durable-dev``, ``durable-fuzz``) load
only when asked for (``--durable-profile=...`` or ``DURABLE_HYPOTHESIS_PROFILE=...``).
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for extra in (HERE, HERE.parent / "examples"):
    if str(extra) not in sys.path:
        sys.path.insert(0, str(extra))
