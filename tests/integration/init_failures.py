"""What the next imports of ``init_failure_handlers`` raise: a module of its own, which a cold
sandbox does not re-import (as a configuration service outlives a sandbox)."""

from __future__ import annotations

import tempfile
from pathlib import Path

#: While it exists, the next import raises (once), in any process: a worker process sees the
#: file, not the list below (nor the test's environment: a forkserver's workers have the
#: server's).
MARKER = Path(tempfile.gettempdir()) / "durable-runner-tests-fail-next-import"

#: Raised, first to last, by the next imports of ``init_failure_handlers``.
NEXT_IMPORTS_RAISE: list[BaseException] = []


def fail_once_by_marker() -> None:
    if MARKER.exists():
        MARKER.unlink(missing_ok=True)
        msg = "parameter store unreachable during init"
        raise RuntimeError(msg)
