"""A loopback HTTP server speaking the Lambda durable-execution REST API for a runner."""

from async_durable_execution_runner._server.http import DurableServiceServer

__all__ = ["DurableServiceServer"]
