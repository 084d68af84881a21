"""What a duplicate delivery's sandbox shares with the first delivery's (a lock, a log):
not the handler's module, which a duplicate delivery imports afresh."""

from __future__ import annotations

import threading

#: Held by a step across an ``await``, as a lock on a shared resource would be.
LOCK = threading.Lock()
#: What each run of a step body saw: appended from both deliveries' threads.
LOG: list[tuple[str, object]] = []
#: Each run of ``duplicate_handlers.computes_without_end_in_a_duplicate``'s step body.
RUNS: list[str] = []


def reset() -> None:
    if LOCK.locked():
        LOCK.release()
    LOG.clear()
    RUNS.clear()
