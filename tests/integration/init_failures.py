"""What the next imports of ``init_failure_handlers`` raise: a module of its own, which a cold
sandbox does not re-import (as a configuration service outlives a sandbox)."""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable naming a directory whose ``fail-next-import`` marker makes the
#: next import raise (once): seen by worker processes, which the list below is not.
MARKER_DIR = "DURABLE_TEST_INIT_FAILURE_DIR"

#: Raised, first to last, by the next imports of ``init_failure_handlers``.
NEXT_IMPORTS_RAISE: list[BaseException] = []


def fail_once_by_marker() -> None:
    directory = os.environ.get(MARKER_DIR)
    marker = Path(directory) / "fail-next-import" if directory else None
    if marker is not None and marker.exists():
        marker.unlink()
        msg = "parameter store unreachable during init"
        raise RuntimeError(msg)
