"""A partner the handlers of ``test_crash_in_body`` call: it outlives the sandbox (a crashed
sandbox's re-invocation imports the handler's module afresh, not this one)."""

from __future__ import annotations

#: What the partner was asked to do, in order.
CALLS: list[str] = []
