"""A chat-completions API on loopback for ``agents.py``'s handlers that use the ``openai``
package: a ``ThreadingHTTPServer`` in a thread of the test process that speaks the wire
format the ``openai`` client expects (``POST /v1/chat/completions``, tool calls, server-sent
events for ``stream=True``), answering with ``agents_services.complete``'s sampled replies.

It lives in a module of its own because a service outlives the Lambda sandbox. Every request
is served on a thread of its own, with HTTP/1.1 keep-alive, so a client's pooled connection
is reused across steps and invocations of a warm sandbox.

- a conversation is named by the ``X-Conversation`` header; its first ``REFUSED_REQUESTS``
  requests get ``429`` with ``Retry-After: 1`` (counted across sandboxes and re-runs, as a
  real API counts them);
- ``stream=True`` answers with server-sent events, one chunk of a few characters each, a few
  milliseconds of real time apart, in chunked transfer encoding, ended by ``data: [DONE]``.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import agents_services as services
from loopback_http import JsonHandler, LoopbackService

_lock = threading.Lock()
#: Every request served, in arrival order: (conversation, whether it streamed, status).
REQUESTS: list[tuple[str, bool, int]] = []
#: Conversation -> requests seen so far.
SEEN: dict[str, int] = {}
#: Responses the client hung up on before reading (a sandbox that died mid-request).
ABANDONED: list[str] = []

#: How many requests of a new conversation are refused with ``429``.
REFUSED_REQUESTS = 2
#: Real seconds between two streamed chunks.
CHUNK_GAP = 0.003


def reset() -> None:
    """A fresh deployment of the API (the server keeps listening)."""
    with _lock:
        REQUESTS.clear()
        SEEN.clear()
        ABANDONED.clear()
    base_url()


def _internal(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The wire's messages in ``agents_services.complete``'s shape: a tool message names its
    tool (the wire names only the call it answers)."""
    names = {}
    out = []
    for message in messages:
        for call in message.get("tool_calls") or []:
            names[call["id"]] = call["function"]["name"]
        if message["role"] == "tool":
            out.append({**message, "name": names[message["tool_call_id"]]})
        else:
            out.append({**message, "content": message.get("content") or ""})
    return out


def _completion(conversation: str, model: str, messages: list[dict[str, Any]]) -> dict[str, Any]:
    reply = services.complete(conversation, _internal(messages))
    tool_calls = [
        {
            "id": call["id"],
            "type": "function",
            "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])},
        }
        for call in reply["tool_calls"]
    ]
    return {
        "id": "chatcmpl-" + services.uuid.uuid4().hex[:20],
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": reply["content"],
                    **({"tool_calls": tool_calls} if tool_calls else {}),
                },
                "finish_reason": "tool_calls" if tool_calls else "stop",
            }
        ],
        "usage": {"prompt_tokens": 10 * len(messages), "completion_tokens": 12, "total_tokens": 0},
    }


class _Handler(JsonHandler):
    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, completion: dict[str, Any]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        message = completion["choices"][0]["message"]
        text = message["content"] or ""
        base = {k: completion[k] for k in ("id", "created", "model")}
        deltas: list[dict[str, Any]] = [{"role": "assistant", "content": ""}]
        deltas += [{"content": text[i : i + 5]} for i in range(0, len(text), 5)]
        for delta in deltas:
            chunk = {
                **base,
                "object": "chat.completion.chunk",
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
            self._chunk(f"data: {json.dumps(chunk)}\n\n".encode())
            time.sleep(CHUNK_GAP)
        last = {
            **base,
            "object": "chat.completion.chunk",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}],
        }
        self._chunk(f"data: {json.dumps(last)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._chunk(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        conversation = self.headers.get("X-Conversation", "-")
        streaming = bool(body.get("stream"))
        if self.path != "/v1/chat/completions":
            self.answer(404, {"error": {"message": f"no route {self.path}"}})
            return
        with _lock:
            seen = SEEN.get(conversation, 0)
            SEEN[conversation] = seen + 1
        if seen < REFUSED_REQUESTS:
            with _lock:
                REQUESTS.append((conversation, streaming, 429))
            self.answer(
                429,
                {"error": {"message": "Rate limit reached", "type": "requests", "code": None}},
                ("Retry-After", "1"),
            )
            return
        with _lock:
            REQUESTS.append((conversation, streaming, 200))
        completion = _completion(conversation, body["model"], body["messages"])
        if streaming:
            self._stream(completion)
        else:
            self.answer(200, completion)


def _hung_up(client: str) -> None:
    with _lock:
        ABANDONED.append(client)


_SERVICE = LoopbackService(_Handler, "model-api", _hung_up)


def base_url() -> str:
    """The API's address (``.../v1``), started on first use."""
    return _SERVICE.address() + "/v1"
