"""Models and the machine as structured tools: ``embed``, ``generate``, ``ainos_stats``,
``ainos_processes``, ``ainos_scheduler``."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import mcp_types as types

from ainos.app.mcp_server._loop import LoopHandle
from ainos.app.mcp_server._state import ServerState
from ainos.app.mcp_server._tools import ToolCall, ToolEntry, json_result

__all__ = ["system_tools"]

_READ_ONLY = types.ToolAnnotations(read_only_hint=True, open_world_hint=False)


def _object(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


_ANY_OBJECT: dict[str, Any] = {"type": "object"}


def system_tools(state: ServerState) -> list[ToolEntry]:
    # ``ainos.ai.ml`` (onnx, ~1 s to import) is imported by the first call that needs a
    # model, not while the server starts: clients wait for ``initialize``.
    backend = state.backend

    async def embed(call: ToolCall) -> types.CallToolResult:
        from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL

        model = call.arguments.get("model", DEFAULT_EMBEDDING_MODEL)
        texts: list[str] = call.arguments["texts"]
        vectors = await anyio.to_thread.run_sync(backend.embed, model, texts)
        dims = len(vectors[0]) if vectors else 0
        return json_result(
            {"model": model, "dimensions": dims, "embeddings": vectors, "where": backend.where},
            text=f"{len(vectors)} embeddings of {dims} dimensions from {model}",
        )

    async def generate(call: ToolCall) -> types.CallToolResult:
        from ainos.ai.ml import DEFAULT_CHAT_MODEL

        args = call.arguments
        model = args.get("model", DEFAULT_CHAT_MODEL)
        messages = []
        if args.get("system"):
            messages.append({"role": "system", "content": args["system"]})
        messages.append({"role": "user", "content": args["prompt"]})
        sampling = {"max_tokens": args.get("max_tokens", 256)}
        if "temperature" in args:
            sampling["temperature"] = args["temperature"]
        sent = 0
        loop = LoopHandle()

        def on_text(text: str) -> None:
            nonlocal sent
            sent += 1
            # Streaming text as progress: clients reset their timeouts and can show it.
            try:
                loop.run(call.peer.progress, sent, None, text[-400:])
            except Exception:  # the caller went away; the generation finishes anyway
                return

        reply = await anyio.to_thread.run_sync(backend.generate, model, messages, sampling, on_text)
        return json_result(
            {
                "model": model,
                "text": reply.text,
                "finish_reason": reply.finish_reason,
                "usage": reply.usage,
                "where": backend.where,
            },
            text=reply.text,
        )

    def reader(read: Any) -> Any:
        async def handler(call: ToolCall) -> types.CallToolResult:
            return json_result(await anyio.to_thread.run_sync(read))

        return handler

    def tool(
        name: str, title: str, description: str, schema: dict[str, Any], read_only: bool = True
    ) -> types.Tool:
        return types.Tool(
            name=name,
            title=title,
            description=description,
            input_schema=schema,
            output_schema=_ANY_OBJECT,
            annotations=_READ_ONLY
            if read_only
            else types.ToolAnnotations(
                read_only_hint=True, open_world_hint=False, idempotent_hint=False
            ),
        )

    embed_schema = _object(
        {
            "texts": {
                "type": "array",
                "items": {"type": "string", "minLength": 1},
                "minItems": 1,
                "maxItems": 256,
            },
            "model": {"type": "string", "description": "default: the packaged embedding model"},
        },
        ["texts"],
    )
    generate_schema = _object(
        {
            "prompt": {"type": "string", "minLength": 1},
            "system": {"type": "string"},
            "model": {"type": "string", "description": "default: the packaged chat model"},
            "max_tokens": {"type": "integer", "minimum": 1, "maximum": 4096},
            "temperature": {"type": "number", "minimum": 0, "maximum": 2},
        },
        ["prompt"],
    )
    return [
        ToolEntry(
            tool(
                "embed",
                "Sentence embeddings",
                "Sentence embeddings of texts with an on-device model, through the scheduler.",
                embed_schema,
            ),
            embed,
        ),
        ToolEntry(
            tool(
                "generate",
                "Local text generation",
                "A reply from an on-device chat model (streamed as progress).",
                generate_schema,
                read_only=False,
            ),
            generate,
        ),
        ToolEntry(
            tool(
                "ainos_stats",
                "Machine statistics",
                "CPU and GPU utilisation, memory, power, temperature, clocks.",
                _object({}),
            ),
            reader(backend.stats),
        ),
        ToolEntry(
            tool(
                "ainos_processes",
                "AI processes",
                "Processes using ML runtimes or GPUs, and clients registered with ainos.",
                _object({}),
            ),
            reader(backend.processes),
        ),
        ToolEntry(
            tool(
                "ainos_scheduler",
                "Scheduler",
                "The scheduler's classes: queue depths, waits, batch sizes, deadline misses.",
                _object({}),
            ),
            reader(backend.scheduler),
        ),
    ]
