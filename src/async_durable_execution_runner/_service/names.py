"""The names the service gives things: execution ARNs, request ids, callback ids.

All are derived from what they name (never from chance), so a run gives the same history
byte for byte every time.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import uuid

_NAMESPACE = uuid.UUID("6f1c1f0e-5a4e-4d7b-9a43-3d1f0d7e2b10")
_NAMESPACE_BYTES = _NAMESPACE.bytes


# Remembered: the names repeat (a runner per test or per benchmark execution names its first
# execution ``execution-1`` and its first invocation ``...#1`` every time), and a hit skips
# the digest and the formatting.
@functools.lru_cache(maxsize=1024)
def _uuid5(name: str) -> str:
    """``str(uuid.uuid5(_NAMESPACE, name))`` without building a ``UUID`` (a tenth of the cost:
    every invocation gets a request id)."""
    h = hashlib.sha1(_NAMESPACE_BYTES + name.encode()).hexdigest()
    # Version 5 in the 13th digit, the RFC 4122 variant in the two top bits of the 17th.
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:32]}"


_VARIANT = {f"{n:x}": f"{(n & 0x3) | 0x8:x}" for n in range(16)}


DEFAULT_REGION = "us-east-1"
DEFAULT_ACCOUNT = "123456789012"


@functools.lru_cache(maxsize=1024)  # as ``_uuid5``: the same few names, runner after runner
def execution_arn(region: str, account_id: str, function_name: str, execution_name: str) -> str:
    """The ARN an execution of that name gets."""
    execution_id = _uuid5(f"{function_name}/{execution_name}")
    return (
        f"arn:aws:lambda:{region}:{account_id}:function:{function_name}:$LATEST"
        f"/durable-execution/{execution_name}/{execution_id}"
    )


def request_id(execution_arn: str, invocation_index: int) -> str:
    """The Lambda request id of an invocation."""
    return _uuid5(f"{execution_arn}#{invocation_index}")


def callback_id(execution_id: str, operation_id: str) -> str:
    """Callback ids as the service makes them: opaque base64 text."""
    return base64.b64encode(f"{execution_id}:{operation_id}".encode()).decode()


def child_execution_name(parent_name: str, operation_id: str) -> str:
    """The name of the execution a chained invoke starts."""
    return f"{parent_name}-{operation_id[:12]}"


def function_key(function_name: str) -> str:
    """The function's short name, whether given as a name or as an ARN."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        return parts[6] if len(parts) > 6 else function_name
    return function_name.split(":", maxsplit=1)[0]
