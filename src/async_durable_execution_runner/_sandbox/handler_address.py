"""Where a handler is found by name: the module, and the name that module binds it to.

Lambda finds a handler by its handler setting (``module.name``). A cold sandbox re-imports the
module and looks the handler up again, a worker process imports it, and a reproducer or a
corpus file names it in an import line: all of them need that address, which is not always
the handler's qualified name.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from async_durable_execution_runner import _sdk_adapter as adapter


def handler_address(handler: Callable[..., Any]) -> tuple[str, str] | None:
    """``(module, name)`` by which the handler is found in its module, as Lambda's handler
    setting (``module.name``) finds it; ``None`` when it cannot be.

    The handler's qualified name, when that names the handler itself; otherwise the name
    its module binds it to: a handler made by a factory (``billing_eu =
    make_handler(config)``, qualified name ``make_handler.<locals>.bill``) or by calling
    ``refund_handler = durable_execution(process_refund)`` (qualified name
    ``process_refund``, which names the undecorated function). The module is the one the
    user's function was defined in (its globals), which still binds the handler when a cold
    sandbox has since imported the module afresh."""
    module_name = getattr(handler, "__module__", None)
    qualname = getattr(handler, "__qualname__", None) or ""
    if not module_name or module_name == "__main__":
        return None
    original = adapter.undecorated(handler)
    namespace = getattr(inspect.unwrap(original), "__globals__", None) if original else None
    if isinstance(namespace, dict) and namespace.get("__name__") == module_name:
        if "<locals>" not in qualname:
            head, *rest = qualname.split(".")
            obj: Any = namespace.get(head)
            for part in rest:
                obj = getattr(obj, part, None)
            if obj is handler:
                return (module_name, qualname)
        for name, value in namespace.items():
            if value is handler:
                return (module_name, name)
    if not qualname or "<locals>" in qualname:
        return None
    return (module_name, qualname)
