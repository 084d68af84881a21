"""One HTTP answer, and AWS's error shape for rest-json services."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from async_durable_execution_runner._botocore_model import load_service_model
from async_durable_execution_runner._models.operations import to_json_ready
from async_durable_execution_runner.errors import DurableServiceError

__all__ = ["HttpReply"]

_JSON = "application/json"


def _message_key(code: str) -> str:
    """``message`` or ``Message``: error shapes of the model spell it either way."""
    shape: dict[str, Any] = load_service_model()["shapes"].get(code, {})
    return "Message" if "Message" in shape.get("members", {}) else "message"


class HttpReply:
    """One HTTP answer: status, headers and body bytes."""

    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.body = body
        self.headers: dict[str, str] = dict(headers or {})

    @classmethod
    def json(
        cls, status: int, document: Any, headers: Mapping[str, str] | None = None
    ) -> HttpReply:
        body = json.dumps(to_json_ready(document), separators=(",", ":")).encode()
        return cls(status, body, {"Content-Type": _JSON, **(headers or {})})

    @classmethod
    def error(cls, error: DurableServiceError) -> HttpReply:
        fault = error.http_status >= 500
        document = {"Type": "Service" if fault else "User", _message_key(error.code): error.message}
        return cls.json(error.http_status, document, {"x-amzn-errortype": error.code})
