"""Work-arounds for interpreter bugs the runner's own operations can trip over.

CPython before 3.11.8 and 3.12.2 (gh-106905, fixed by gh-113035) kept the AST constructor's
recursion depth in per-interpreter state. When a garbage collection in the middle of one
``ast.parse`` runs a finalizer that parses too (3.11's ``traceback`` parses a source line to
place its carets, and the SDK logs tracebacks), or another thread parses meanwhile, the outer
parse fails with ``SystemError: AST constructor recursion depth mismatch`` though its source is
fine. Under pytest a cold sandbox's re-import parses the handler's module (assertion
rewriting), and a dying invocation's traceback is formatted: both are the runner's doing, not
the handler's, and both succeed when done again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

_T = TypeVar("_T")

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
