"""Stores that keep executions across restarts."""

from async_durable_execution_runner._store.sqlite import SqliteStore, StoreInUseError

__all__ = ["SqliteStore", "StoreInUseError"]
