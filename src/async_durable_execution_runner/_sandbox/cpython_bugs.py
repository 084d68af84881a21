"""Work-arounds for interpreter bugs the runner's own operations can trip over.

**A stale context variable after ``ContextVar.reset`` (CPython 3.11).** Resetting a variable
that was first set in the current context (its token's old value is ``Token.MISSING``) clears
the variable's one-entry cache, then builds the context's mapping without it. An allocation
there can run a garbage collection, whose callbacks and finalizers run Python code; one that
reads the variable meanwhile finds it in the old mapping and caches it, borrowed, under the
thread's current context version. The variable then answers its old value in this context
until the next context switch, and once that value is freed, freed memory. The runner reads
``handler_clock.context_clock`` in its patched ``time.perf_counter()``, which Hypothesis's own
gc callback calls: a stateful suite's failing run raised ``AttributeError: 'tuple' object has
no attribute 'skipped'`` there (a freed handler clock's memory, reused by a tuple), and pytest
ended in an ``INTERNALERROR`` (the next bug, as the ignored exception's traceback was
formatted in the middle of a parse). From 3.12 a collection runs only between bytecodes, never
inside the reset. ``reset_context_var`` resets, then enters and leaves an empty context, which
moves the thread's context version the cache is checked against.

**The AST constructor's recursion depth (CPython before 3.11.8 and 3.12.2).** CPython kept it
(gh-106905, fixed by gh-113035) in per-interpreter state. When a garbage collection in the
middle of one ``ast.parse`` runs a finalizer that parses too (3.11's ``traceback`` parses a
source line to place its carets, and the SDK logs tracebacks), or another thread parses
meanwhile, the outer parse fails with ``SystemError: AST constructor recursion depth mismatch``
though its source is fine. Under pytest a cold sandbox's re-import parses the handler's module
(assertion rewriting), and a dying invocation's traceback is formatted: both are the runner's
doing, not the handler's, and both succeed when done again.
"""

from __future__ import annotations

import contextvars
import sys
from collections.abc import Callable
from typing import Any, TypeVar

_T = TypeVar("_T")

#: Whether a garbage collection can run inside ``ContextVar.reset`` (see the docstring).
STALE_RESET = sys.version_info < (3, 12)
_MISSING = contextvars.Token.MISSING


def _nothing() -> None:
    return None


def reset_context_var(var: contextvars.ContextVar[Any], token: contextvars.Token[Any]) -> None:
    """``var.reset(token)``, leaving no stale value in the variable's cache (CPython 3.11)."""
    var.reset(token)
    if STALE_RESET and token.old_value is _MISSING:
        contextvars.Context().run(_nothing)


_AST_DEPTH_MISMATCH = "AST constructor recursion depth mismatch"

#: Attempts in all; a genuine, repeatable failure still surfaces after them.
ATTEMPTS = 3


def is_ast_depth_mismatch(exc: BaseException) -> bool:
    return isinstance(exc, SystemError) and _AST_DEPTH_MISMATCH in str(exc)


def retrying_ast_depth_mismatch(fn: Callable[[], _T]) -> _T:
    """``fn()``, called again (up to ``ATTEMPTS`` times in all) while it fails with the
    spurious AST recursion-depth ``SystemError``; any other error is raised at once."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            return fn()
        except SystemError as exc:
            if attempt == ATTEMPTS or not is_ast_depth_mismatch(exc):
                raise
    raise AssertionError("unreachable: the last attempt returns or raises")
