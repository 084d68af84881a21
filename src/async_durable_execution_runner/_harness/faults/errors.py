"""The service errors a fault plan can inject, and the exception a failed step attempt raises."""

from __future__ import annotations

from async_durable_execution_runner._service.tokens import STALE_TOKEN_PREFIX
from async_durable_execution_runner.errors import (
    DurableServiceError,
    InvalidParameterValueException,
    ServiceException,
    TooManyRequestsException,
)


class ValidationException(DurableServiceError):
    """A 400 the SDK does not retry (it fails the execution with ``CheckpointError``)."""

    code = "ValidationException"
    http_status = 400


#: Service errors a plan can inject, simplest first (shrinking moves toward the first).
SERVICE_ERRORS: tuple[str, ...] = (
    "TooManyRequestsException",
    "ServiceException",
    "StaleCheckpointToken",
    "ValidationException",
)
#: The errors the SDK retries by re-invoking (so the service masks them).
RETRYABLE_ERRORS = frozenset(
    {"TooManyRequestsException", "ServiceException", "StaleCheckpointToken"}
)


def service_error(code: str) -> DurableServiceError:
    """The error the service answers with, for a code in ``SERVICE_ERRORS``."""
    if code == "TooManyRequestsException":
        return TooManyRequestsException("Rate exceeded (injected)")
    if code == "ServiceException":
        return ServiceException("Internal service error (injected)")
    if code == "StaleCheckpointToken":
        return InvalidParameterValueException(
            f"{STALE_TOKEN_PREFIX}: the token was superseded (injected)"
        )
    if code == "ValidationException":
        return ValidationException("1 validation error detected (injected)")
    msg = f"unknown service error {code!r}; expected one of {', '.join(SERVICE_ERRORS)}"
    raise ValueError(msg)


class InjectedStepError(Exception):
    """Raised in place of a step body by a ``step_exception`` fault."""


def injected_step_error(
    message: str, retried_types: tuple[type[BaseException], ...], retried_messages: tuple[str, ...]
) -> InjectedStepError:
    """The error a ``step_exception`` fault raises: a transient failure of the kind the step
    retries. A strategy that retries only some exception types (``retryable_error_types``)
    gets an ``InjectedStepError`` that also is the first of them that can be made
    (``InjectedConnectionError`` for ``ConnectionError``), so a burst can use up its budget;
    one that retries only messages containing some text gets that text in the message."""
    if retried_messages and not retried_types:
        message = f"{message} ({retried_messages[0]})"
    for base in retried_types:
        cls = _injected_class(base)
        if cls is None:
            continue
        try:
            # Without the class's own ``__init__``, whose signature may not take a message
            # (an error with fields of its own); only the message is set.
            error = cls.__new__(cls, message)
            BaseException.__init__(error, message)
            str(error)  # a ``__str__`` that needs those fields: not this class
        except Exception:  # the next type, or the harness's own error
            continue
        return error
    return InjectedStepError(message)


def injected_as(error: BaseException, base: type[BaseException]) -> BaseException:
    """``error`` again, standing for ``base`` instead of the type it was made for: the same
    type as the code of another sandbox knows it (a cold one re-imports the handler's module,
    and with it its exception classes and its retry strategies' lists of them)."""
    if getattr(type(error), "_base", None) in (None, base):
        return error
    return injected_step_error(str(error), (base,), ())


def injected_base(error: BaseException) -> type[BaseException] | None:
    """The type an injected failure stands for (``injected_step_error``), if any."""
    base = getattr(type(error), "_base", None)
    return base if isinstance(error, InjectedStepError) and isinstance(base, type) else None


def _injected_class(base: type[BaseException]) -> type[InjectedStepError] | None:
    """``InjectedStepError`` and ``base`` in one class, or ``None`` where they cannot be (not
    an ``Exception``, a base whose instance layout conflicts, a ``final`` class). One class
    per base, so that ``type(error)`` is stable."""
    if base in _INJECTED:
        return _INJECTED[base]
    cls: type[InjectedStepError] | None = None
    if issubclass(base, Exception) and not issubclass(base, InjectedStepError):
        try:
            cls = type(
                f"Injected{base.__name__}",
                (InjectedStepError, base),
                {"__module__": __name__, "__reduce__": _reduce_injected, "_base": base},
            )
        except TypeError:
            cls = None
    _INJECTED[base] = cls
    return cls


_INJECTED: dict[type[BaseException], type[InjectedStepError] | None] = {}


def _reduce_injected(self: InjectedStepError) -> tuple[object, tuple[object, ...]]:
    # Pickled (a scenario's result handed between processes) by its base, as the class is
    # made at run time.
    return injected_step_error, (str(self), (type(self)._base,), ())  # type: ignore[attr-defined]
