"""The order of the SDK's checkpoints where it depends on the Python version.

From Python 3.12 the SDK starts every operation's task with ``asyncio.eager_task_factory``
(``_core/task.py``): the task runs its first steps inside the call that makes it, before the
code that made it goes on. A ``parallel`` branch then checkpoints its first operation before
the next branch starts, a ``gather``'s second operation runs before the first suspends, and
so on (SDK finding 18 in docs/findings.md). The SDK does the same on Lambda's ``python3.12``
and later runtimes, so tests that pin an order pin the one of the Python they run on.
"""

from __future__ import annotations

import asyncio

#: Whether the SDK starts operations' tasks eagerly here (the test it makes itself).
EAGER_TASKS = getattr(asyncio, "eager_task_factory", None) is not None
