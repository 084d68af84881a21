"""A sandbox's module state: a new sandbox imports the handler's module afresh, and what
Lambda's Python runtime reports when the sandbox ends or fails to start.

In-process, a sandbox is a copy of the handler's module (and of ``cold_module_prefixes``):
the test process's own for a warm one, one imported afresh for a cold one or a duplicate
delivery. Everything else in the process is shared by every sandbox.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from async_durable_execution_runner._models import ErrorObject
from async_durable_execution_runner._sandbox.cpython_bugs import retrying_ast_depth_mismatch
from async_durable_execution_runner._sandbox.handler_address import handler_address
from async_durable_execution_runner._sandbox.stack_trace import stack_trace
from async_durable_execution_runner._service.invocation import InvocationOutcome
from async_durable_execution_runner.errors import HandlerNotDurableError


def fresh_import(
    handler: Callable[..., Any],
    prefixes: tuple[str, ...],
    displaced: dict[str, ModuleType] | None = None,
) -> Callable[..., Any]:
    """A cold sandbox: the handler's module (and ``prefixes``) imported afresh, the handler
    looked up again by the name its module binds it to (``handler_address``), so module-level
    state starts over. The modules it takes out of ``sys.modules`` go into ``displaced``,
    the first of each name kept (see ``InProcessInvoker.restore_modules``)."""
    address = handler_address(handler)
    if address is None:
        msg = (
            f"a cold sandbox re-imports the handler's module, but {handler!r} is not importable "
            f"by name (module {getattr(handler, '__module__', None)!r}, qualname "
            f"{getattr(handler, '__qualname__', None)!r}, and no module-level name is bound to "
            "it); define the handler at module level in a module of its own"
        )
        raise HandlerNotDurableError(msg)
    module_name, name = address
    doomed = {module_name, *prefixes}
    # ``str.startswith`` with a tuple tests every prefix in C: a generator per loaded module
    # cost 0.25 to 0.5 ms per cold invocation (hundreds of modules under pytest).
    packages = tuple(p + "." for p in doomed)
    for loaded in list(sys.modules):
        if loaded in doomed or loaded.startswith(packages):
            module = sys.modules.pop(loaded)
            if displaced is not None and module is not None:
                displaced.setdefault(loaded, module)
    obj: Any = retrying_ast_depth_mismatch(lambda: importlib.import_module(module_name))
    for part in name.split("."):
        obj = getattr(obj, part)
    fresh: Callable[..., Any] = obj
    return fresh


def put_back(modules: Mapping[str, ModuleType]) -> None:
    """``modules`` in ``sys.modules`` again, and on their packages."""
    sys.modules.update(modules)
    for name, module in modules.items():
        parent, _, child = name.rpartition(".")
        package = sys.modules.get(parent) if parent else None
        if package is not None:
            setattr(package, child, module)


def runtime_exit(request_id: str, exc: BaseException) -> ErrorObject:
    """The invocation's error when the handler let out something Lambda's Python runtime does
    not catch (not an ``Exception``): the runtime process exits."""
    return ErrorObject(
        error_type="Runtime.ExitError",
        error_message=(
            f"RequestId: {request_id} Error: Runtime exited with error: exit status 1 "
            f"({type(exc).__name__}: {exc})"
        ),
        stack_trace=stack_trace(exc),
    )


def marshal_error(exc: BaseException) -> ErrorObject:
    """The invocation's error when Lambda's runtime cannot write the handler's response as
    JSON (``json.dumps`` raised ``exc``)."""
    return ErrorObject(
        error_type="Runtime.MarshalError",
        error_message=f"Unable to marshal response: {exc}",
        stack_trace=stack_trace(exc),
    )


def init_failure(request_id: str, module: str, exc: BaseException) -> InvocationOutcome:
    """The outcome of an invocation whose sandbox failed to initialise: the handler's
    ``module`` raised ``exc`` while a new sandbox imported it. Lambda's Python runtime reports
    the error as its init error (an import error as ``Runtime.ImportModuleError``, a syntax
    error as ``Runtime.UserCodeSyntaxError``, anything else by its type, ``SystemExit`` as
    the runtime's exit) and exits; the invocation fails, and the next one starts cold."""
    if isinstance(exc, ImportError):
        error_type, message = (
            "Runtime.ImportModuleError",
            f"Unable to import module '{module}': {exc}",
        )
    elif isinstance(exc, SyntaxError):
        error_type, message = (
            "Runtime.UserCodeSyntaxError",
            f"Syntax error in module '{module}': {exc}",
        )
    elif isinstance(exc, Exception):
        error_type, message = type(exc).__name__, str(exc)
    else:
        return InvocationOutcome(
            status=None, death=runtime_exit(request_id, exc), sandbox_ended=True
        )
    return InvocationOutcome(
        status=None,
        death=ErrorObject(
            error_type=error_type,
            error_message=message,
            stack_trace=stack_trace(exc),
        ),
        sandbox_ended=True,
    )
