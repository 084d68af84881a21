"""Validators: every rule a checkpoint must pass before anything of it is applied."""

from async_durable_execution_runner._service.checkpoint.validators.checkpoint import (
    CheckpointValidator,
)
from async_durable_execution_runner._service.checkpoint.validators.operations import (
    OPERATION_VALIDATORS,
    UpdateFieldsValidator,
    ValidationContext,
)
from async_durable_execution_runner._service.checkpoint.validators.transitions import (
    TransitionsValidator,
)

__all__ = [
    "OPERATION_VALIDATORS",
    "CheckpointValidator",
    "TransitionsValidator",
    "UpdateFieldsValidator",
    "ValidationContext",
]
