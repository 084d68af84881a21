"""What the next imports of ``init_failure_handlers`` raise: a module of its own, which a cold
sandbox does not re-import (as a configuration service outlives a sandbox)."""

from __future__ import annotations

#: Raised, first to last, by the next imports of ``init_failure_handlers``.
NEXT_IMPORTS_RAISE: list[BaseException] = []
