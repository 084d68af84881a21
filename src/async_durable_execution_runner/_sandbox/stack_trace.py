"""The stack trace a dead invocation's error carries: the last lines of its traceback.

Lambda's runtime reports an invocation that died with the end of the exception's formatted
traceback. Formatting a whole traceback costs about 35 us a frame on Python 3.11 (each
frame's source line is parsed to place its carets), and an invocation dies with 20 or more
frames below it (the SDK's wrappers, asyncio's): 0.7 ms a death, where only the last few
frames are kept. Only those are formatted here, whenever that gives the same lines.
"""

from __future__ import annotations

import traceback

from async_durable_execution_runner._sandbox.cpython_bugs import retrying_ast_depth_mismatch

#: Lines of the formatted traceback an invocation's error keeps.
LINES = 8

_REPEATED = "[Previous line repeated"


def stack_trace(exc: BaseException, lines: int = LINES) -> tuple[str, ...]:
    """``traceback.format_exception(exc)[-lines:]``, as a tuple.

    Only ``exc``'s own last ``lines`` frames are formatted when the tail falls inside its
    own section: always but for a traceback shorter than the tail (which then reaches into
    the exceptions chained before it), an exception group (whose members' chains precede
    their own sections) and a recursion (whose repeated frames are counted over the whole
    stack). Those are formatted whole."""

    def tail() -> list[str]:
        if not isinstance(exc, BaseExceptionGroup):
            own = list(
                traceback.TracebackException(
                    type(exc), exc, exc.__traceback__, limit=-lines, compact=True
                ).format(chain=False)
            )
            if len(own) > lines and not any(_REPEATED in line for line in own):
                return own[-lines:]
        return traceback.format_exception(exc)[-lines:]

    return tuple(retrying_ast_depth_mismatch(tail))
