"""A fake OpenAI-compatible model provider: stands in for the agent's model (which cannot run
here beside the LLM tests) so the MCP server's ``codex`` tools run real turns.

``FakeChatProvider`` is a small HTTP server on 127.0.0.1 answering
``POST /v1/chat/completions`` from a script of replies — a final text, or tool calls
(``shell``, ``apply_patch`` …) — streamed as ``chat.completion.chunk`` server-sent events
when the request asks for ``stream`` (as the agent's ``OpenAIModel`` does), else as one
``chat.completion``. Each request body is recorded for the test to assert on.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["FakeChatProvider", "Reply", "call", "write_agent_config"]

MODEL = "fake-model"
PROVIDER = "fake"


@dataclass(frozen=True)
class Reply:
    """One scripted model reply: ``text``, and tool calls as ``(name, arguments)``."""

    text: str = ""
    calls: tuple[tuple[str, Mapping[str, Any]], ...] = ()


def call(name: str, **arguments: Any) -> Reply:
    """A reply that is one tool call."""
    return Reply(calls=((name, arguments),))


@dataclass
class FakeChatProvider:
    """Replies from ``script`` in order; past its end, ``default``."""

    script: Sequence[Reply] = ()
    default: Reply = Reply("(the fake provider's script is spent)")
    requests: list[dict[str, Any]] = field(default_factory=list)
    _replies: list[Reply] = field(default_factory=list, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)
    _server: ThreadingHTTPServer | None = field(default=None, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        self._replies = list(self.script)

    def load(self, replies: Sequence[Reply]) -> None:
        """Replace what is left of the script."""
        with self._lock:
            self._replies = list(replies)

    # -- life ---------------------------------------------------------------------------

    def start(self) -> FakeChatProvider:
        provider = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return None

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send_json(404, {"error": {"message": f"no route {self.path}"}})
                    return
                reply = provider._take(body)
                if body.get("stream"):
                    self._send_stream(provider.chunks(reply, body))
                else:
                    self._send_json(200, provider.completion(reply, body))

            def _send_json(self, status: int, value: Mapping[str, Any]) -> None:
                data = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _send_stream(self, chunks: Iterator[dict[str, Any]]) -> None:
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                self.send_header("cache-control", "no-cache")
                self.send_header("connection", "close")
                self.end_headers()
                for chunk in chunks:
                    self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeChatProvider:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The base URL an OpenAI client is given (``…/v1``)."""
        assert self._server is not None, "start the provider first"
        return f"http://127.0.0.1:{self._server.server_port}/v1"

    # -- replies ------------------------------------------------------------------------

    def _take(self, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append(body)
            return self._replies.pop(0) if self._replies else self.default

    @staticmethod
    def _usage(body: Mapping[str, Any], reply: Reply) -> dict[str, int]:
        prompt = sum(len(str(m.get("content") or "")) for m in body.get("messages") or ()) // 4
        completion = max(1, len(reply.text) // 4) + 8 * len(reply.calls)
        return {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        }

    def _tool_calls(self, reply: Reply, index: int) -> list[dict[str, Any]]:
        return [
            {
                "index": i,
                "id": f"call_{index}_{i}",
                "type": "function",
                "function": {"name": name, "arguments": json.dumps(dict(arguments))},
            }
            for i, (name, arguments) in enumerate(reply.calls)
        ]

    def chunks(self, reply: Reply, body: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        """The SSE ``chat.completion.chunk`` objects of one reply, usage last."""
        index = len(self.requests)
        base = {
            "id": f"chatcmpl-fake-{index}",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": body.get("model", MODEL),
        }

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                **base,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        yield chunk({"role": "assistant", "content": ""})
        # The text in two pieces, as a streaming server sends it.
        half = len(reply.text) // 2
        for piece in (reply.text[:half], reply.text[half:]):
            if piece:
                yield chunk({"content": piece})
        for tool_call in self._tool_calls(reply, index):
            # The name and id first, the arguments after, as OpenAI streams them.
            arguments = tool_call["function"]["arguments"]
            head = {**tool_call, "function": {"name": tool_call["function"]["name"]}}
            head["function"]["arguments"] = ""
            yield chunk({"tool_calls": [head]})
            yield chunk(
                {
                    "tool_calls": [
                        {"index": tool_call["index"], "function": {"arguments": arguments}}
                    ]
                }
            )
        yield chunk({}, "tool_calls" if reply.calls else "stop")
        if (body.get("stream_options") or {}).get("include_usage"):
            yield {**base, "choices": [], "usage": self._usage(body, reply)}

    def completion(self, reply: Reply, body: Mapping[str, Any]) -> dict[str, Any]:
        index = len(self.requests)
        message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
        if reply.calls:
            message["tool_calls"] = [
                {k: v for k, v in c.items() if k != "index"} for c in self._tool_calls(reply, index)
            ]
        return {
            "id": f"chatcmpl-fake-{index}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", MODEL),
            "choices": [
                {
                    "index": 0,
                    "message": message,
                    "finish_reason": "tool_calls" if reply.calls else "stop",
                }
            ],
            "usage": self._usage(body, reply),
        }


def write_agent_config(
    home: Path,
    base_url: str,
    *,
    approval_policy: str = "never",
    sandbox_mode: str = "workspace-write",
    max_steps: int = 6,
) -> Path:
    """``$AINOS_HOME/config/config.toml`` naming the fake provider (Codex's keys)."""
    path = home / "config" / "config.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'model = "{MODEL}"\n'
        f'model_provider = "{PROVIDER}"\n'
        f'approval_policy = "{approval_policy}"\n'
        f'sandbox_mode = "{sandbox_mode}"\n'
        "\n"
        f"[model_providers.{PROVIDER}]\n"
        'name = "Fake"\n'
        f'base_url = "{base_url}"\n'
        'wire_api = "chat"\n'
        "\n"
        "[agent]\n"
        f"max_steps = {max_steps}\n"
    )
    return path
