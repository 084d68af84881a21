"""Cheap construction for frozen, slotted dataclasses.

The service builds several of these per checkpoint update (the update read from the SDK, the
new operation, its history events, the plan's parts). A frozen dataclass's generated
``__init__`` cannot use a plain attribute store (its own ``__setattr__`` refuses), so it stores
every field through ``object.__setattr__``, about five times the cost of a plain store
(counted with valgrind: some 21,000 instructions for a 14-field ``Operation`` against 4,000).
That was the largest single cost per update.

``cheap_frozen`` keeps the class exactly as the dataclass decorator made it (frozen, hashable,
``repr``, ``==``, ``fields()``, ``dataclasses.replace``) and gives it a ``__new__`` that fills
the fields of a plain twin class with the same slots, with plain stores, then relabels the
object as the frozen class (``__class__`` assignment, allowed between classes with the same
slot layout). It also adds ``__replace__`` (the name Python 3.13's ``copy.replace`` uses), a
``replace`` without ``dataclasses.replace``'s walk over ``fields()``, and ``__reduce__``, so
that copying and pickling go through the constructor.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_KEEP: Any = object()  # a field left as it is by ``__replace__``


def cheap_frozen(cls: type[T]) -> type[T]:
    """Class decorator, applied over ``@dataclass(frozen=True, slots=True)``."""
    params = getattr(cls, "__dataclass_params__", None)
    if params is None or not params.frozen or "__slots__" not in cls.__dict__:
        msg = f"cheap_frozen needs a @dataclass(frozen=True, slots=True) class, got {cls!r}"
        raise TypeError(msg)
    if hasattr(cls, "__post_init__"):
        msg = f"{cls.__qualname__} has a __post_init__, which cheap_frozen would skip"
        raise TypeError(msg)
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if any(not f.init or f.kw_only for f in fields):
        msg = f"cheap_frozen supports only plain init fields; {cls.__qualname__} has others"
        raise TypeError(msg)
    twin = type(f"_{cls.__name__}Fill", (), {"__slots__": cls.__dict__["__slots__"]})
    namespace: dict[str, Any] = {
        "_new": object.__new__,
        "_twin": twin,
        "_cls": cls,
        "_KEEP": _KEEP,
        "_MISSING": dataclasses.MISSING,
    }
    params_src: list[str] = []
    defaults_src: list[str] = []
    stores: list[str] = []
    for f in fields:
        name = f.name
        if f.default is not dataclasses.MISSING:
            namespace[f"_default_{name}"] = f.default
            params_src.append(f"{name}=_default_{name}")
        elif f.default_factory is not dataclasses.MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            params_src.append(f"{name}=_MISSING")
            defaults_src.append(f"    if {name} is _MISSING: {name} = _factory_{name}()")
        else:
            params_src.append(name)
        stores.append(f"    self.{name} = {name}")
    names = [f.name for f in fields]
    # ``make`` is ``__new__`` with the class fixed: the same lines, generated together.
    body = [*defaults_src, "    self = _new(_twin)", *stores]
    source = "\n".join(
        [
            f"def __new__(cls, {', '.join(params_src)}):",
            *body,
            "    self.__class__ = cls",
            "    return self",
            "",
            f"def make({', '.join(params_src)}):",
            *body,
            "    self.__class__ = _cls",
            "    return self",
            "",
            f"def __replace__(self, *, {', '.join(f'{n}=_KEEP' for n in names)}):",
            "    return __new__(",
            "        _cls,",
            *(f"        self.{n} if {n} is _KEEP else {n}," for n in names),
            "    )",
            "",
            "def __reduce__(self):",
            f"    return (_cls, ({''.join(f'self.{n}, ' for n in names)}))",
        ]
    )
    exec(source, namespace)
    new = namespace["__new__"]
    new.__qualname__ = f"{cls.__qualname__}.__new__"
    new.__annotations__ = {f.name: f.type for f in fields}
    signature = inspect.signature(cls)  # still the dataclass's __init__, without self
    cls.__new__ = staticmethod(new)  # type: ignore[method-assign]
    # ``type.__call__`` then calls ``object.__init__``, which accepts (and ignores) the
    # arguments because the class has a ``__new__`` of its own.
    cls.__init__ = object.__init__  # type: ignore[method-assign]
    cls.__signature__ = signature  # type: ignore[attr-defined]
    make = namespace["make"]
    make.__qualname__ = f"{cls.__qualname__}.make"
    _MAKERS[cls] = make
    for name in ("__replace__", "__reduce__"):
        function = namespace[name]
        function.__qualname__ = f"{cls.__qualname__}.{name}"
        setattr(cls, name, function)
    return cls


_MAKERS: dict[type, Callable[..., Any]] = {}


def maker(cls: type[T]) -> Callable[..., T]:
    """``cls(...)`` (positional or keyword fields) for a ``cheap_frozen`` class, without
    ``type.__call__``: calling the class looks ``__new__`` up, copies the arguments to put the
    class in front and calls ``object.__init__`` (some 1,000 instructions, counted with
    valgrind, about a fifth of building an ``Event``). For the objects every update makes."""
    make: Callable[..., T] = _MAKERS[cls]
    return make


def replace(obj: T, /, **changes: Any) -> T:
    """``dataclasses.replace`` for ``cheap_frozen`` classes (and any dataclass)."""
    method = getattr(type(obj), "__replace__", None)
    if method is None:
        return dataclasses.replace(obj, **changes)  # type: ignore[type-var]
    result: T = method(obj, **changes)
    return result
