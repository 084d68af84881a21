"""What the handlers of ``connection_handlers.py`` register with the test: a module of its own, so
that a cold sandbox's re-import of the handlers does not make another (as a test double's
record of its callers outlives the sandboxes that called it)."""

from __future__ import annotations

from typing import Any

#: Functions the handlers registered, in the order they were first seen.
SEEN: list[Any] = []
