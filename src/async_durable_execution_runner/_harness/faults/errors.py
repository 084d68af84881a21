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
