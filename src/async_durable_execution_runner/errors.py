"""Public errors.

::

    Exception
    ├── DurableServiceError            the service refused a request, in AWS's error shape
    │   ├── InvalidParameterValueException   (400) bad token, invalid update, bad callback id...
    │   ├── ResourceNotFoundException        (404) unknown execution or callback
    │   ├── TooManyRequestsException         (429) throttled (only when a fault hook says so)
    │   ├── ServiceException                 (500) service-side failure (fault hooks)
    │   ├── CallbackTimeoutException         (400) the callback timed out before the call
    │   ├── InvalidRequestContentException   (400) an Invoke payload that is not JSON
    │   ├── RequestTooLargeException         (413) an Invoke payload over Lambda's quota
    │   ├── SerializedRequestEntityTooLargeException (413) another request body over quota
    │   ├── DurableExecutionAlreadyStartedException  (409) that execution name is taken
    │   └── UnknownOperationException        (404) no operation answers the method and path
    └── DurableRunnerError             the runner could not do what the test asked
        ├── HandlerNotDurableError           the handler is not decorated with @durable_execution
        ├── ExecutionNotFinishedError        wait_for_result ran out of time (wall clock)
        └── OperationLookupError             get_step(name) matched nothing or several
"""

from __future__ import annotations

from typing import Any, ClassVar


class DurableServiceError(Exception):
    """An error the durable service answers with: AWS error code, message and HTTP status."""

    code: ClassVar[str] = "ServiceException"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_client_error_response(self) -> dict[str, Any]:
        """The ``response`` mapping a botocore ``ClientError`` carries for this error."""
        return {
            "Error": {"Code": self.code, "Message": self.message},
            "ResponseMetadata": {"HTTPStatusCode": self.http_status},
            "message": self.message,
        }

    @classmethod
    def for_code(cls, code: str, message: str) -> DurableServiceError:
        """Build the error class named by an AWS error code."""
        for sub in _all_subclasses(DurableServiceError):
            if sub.code == code:
                return sub(message)
        err = DurableServiceError(message)
        err.code = code  # type: ignore[misc]
        return err

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


def _all_subclasses(cls: type[DurableServiceError]) -> list[type[DurableServiceError]]:
    out: list[type[DurableServiceError]] = []
    for sub in cls.__subclasses__():
        out.append(sub)
        out.extend(_all_subclasses(sub))
    return out


class InvalidParameterValueException(DurableServiceError):
    code = "InvalidParameterValueException"
    http_status = 400


class ResourceNotFoundException(DurableServiceError):
    code = "ResourceNotFoundException"
    http_status = 404


class TooManyRequestsException(DurableServiceError):
    code = "TooManyRequestsException"
    http_status = 429


class ServiceException(DurableServiceError):
    code = "ServiceException"
    http_status = 500


class CallbackTimeoutException(DurableServiceError):
    code = "CallbackTimeoutException"
    http_status = 400


class InvalidRequestContentException(DurableServiceError):
    code = "InvalidRequestContentException"
    http_status = 400


class RequestTooLargeException(DurableServiceError):
    code = "RequestTooLargeException"
    http_status = 413


class SerializedRequestEntityTooLargeException(DurableServiceError):
    code = "SerializedRequestEntityTooLargeException"
    http_status = 413


class DurableExecutionAlreadyStartedException(DurableServiceError):
    code = "DurableExecutionAlreadyStartedException"
    http_status = 409


class UnknownOperationException(DurableServiceError):
    """No operation of the Lambda API this server speaks answers the request's method and path."""

    code = "UnknownOperationException"
    http_status = 404


class DurableRunnerError(Exception):
    """The runner could not do what the test asked."""


class HandlerNotDurableError(DurableRunnerError, TypeError):
    """The handler given to the runner is not a ``@durable_execution`` handler."""


class ExecutionNotFinishedError(DurableRunnerError, TimeoutError):
    """``wait_for_result``/``run`` ran out of (wall-clock) time before the execution ended."""


class OperationLookupError(DurableRunnerError, LookupError):
    """A name given to ``get_step``/``get_wait``/... matched no operation, or several."""


__all__ = [
    "CallbackTimeoutException",
    "DurableExecutionAlreadyStartedException",
    "DurableRunnerError",
    "DurableServiceError",
    "ExecutionNotFinishedError",
    "HandlerNotDurableError",
    "InvalidParameterValueException",
    "InvalidRequestContentException",
    "OperationLookupError",
    "RequestTooLargeException",
    "ResourceNotFoundException",
    "SerializedRequestEntityTooLargeException",
    "ServiceException",
    "TooManyRequestsException",
    "UnknownOperationException",
]
