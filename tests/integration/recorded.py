"""What handlers of ``handlers.py`` saw, kept where a cold sandbox, which imports
``handlers.py`` afresh, does not start it over."""

from __future__ import annotations

#: ``handlers.reads_its_context``, per invocation: (ms left before and after a 100 s
#: in-process sleep, log group, log stream).
CONTEXTS: list[tuple[int, int, str, str]] = []
