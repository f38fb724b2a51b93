"""The OpenAI chat-completions and Responses routes, on :class:`LlmService`.

A streamed reply starts only once the first chunk (or the error) is known, so a request that
cannot run — too long for the context, a full queue — gets a proper error object and status,
not a 200 stream with an error inside. A client that goes away cancels its generation.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ainos.ai.ml import ModelCatalog
from ainos.ai.ml.llm import (
    ChatCall,
    ChatStream,
    Generation,
    LlmService,
    collect_completion,
    prepare_chat,
)
from ainos.app.api._common import (
    client_identity,
    deadline_ms,
    dumps,
    from_ainos,
    invalid,
    json_body,
    priority,
)
from ainos.app.api._interrupt import Stopping, unless_interrupted
from ainos.app.api._keepalive import with_ticks
from ainos.app.api._responses import (
    ResponseStore,
    collect_response,
    stream_events,
    to_chat,
)
from ainos.errors import AinosError, ContextLengthExceeded
from ainos.protocol import ModelTask

__all__ = ["ChatApi", "llm_routes"]

Authorise = Callable[[Request], None]
_SSE = "text/event-stream"
_DONE = "data: [DONE]\n\n"
_KEEPALIVE = ": keep-alive\n\n"  # an SSE comment: read by the connection, ignored by clients
# No token of a model's vocabulary is longer than this many characters, so a prompt of more
# than context times this cannot fit: it is refused before the tokeniser spends seconds on it.
_MAX_CHARS_PER_TOKEN = 128


async def _peeked(
    chunks: AsyncIterator[dict[str, Any]],
) -> tuple[list[dict[str, Any]], AsyncIterator[dict[str, Any]]]:
    """The first chunk (raising the error that came instead), and the iterator to go on."""
    try:
        return [await chunks.__anext__()], chunks
    except StopAsyncIteration:
        return [], chunks


def _sse(document: Mapping[str, Any], event: str | None = None) -> str:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {dumps(document)}\n\n"


def _error_event(error: AinosError) -> dict[str, Any]:
    return from_ainos(error).body()


@dataclass(frozen=True)
class ChatApi:
    """What the chat and Responses handlers serve from, kept in the app's state."""

    llm: LlmService
    catalog: ModelCatalog
    authorise: Authorise
    default_model: str | None
    stopping: Stopping
    responses: ResponseStore = field(default_factory=ResponseStore)
    # Seconds of silence after which a stream tells its client it goes on (None: never).
    keepalive_s: float | None = None


def _chat(request: Request) -> ChatApi:
    chat: ChatApi = request.app.state.chat
    return chat


async def _ensure_loaded(chat: ChatApi, model: str) -> None:
    if chat.llm.is_loaded(model):
        return
    entry = await run_in_threadpool(chat.catalog.entry, model)
    if entry.task is not ModelTask.CHAT:
        raise invalid(f"model {model!r} is not a chat model", "model")
    await run_in_threadpool(chat.llm.load, model)


async def _start(
    chat: ChatApi, request: Request, body: dict[str, Any], call: ChatCall
) -> Generation:
    await _ensure_loaded(chat, call.model)
    _check_prompt_size(chat, call)
    generation = chat.llm.generate(
        call.model,
        call.engine_request,
        client=client_identity(request, body),
        priority=priority(request, body),
        deadline_ms=deadline_ms(request, body),
        loop=asyncio.get_running_loop(),
    )
    return chat.stopping.track(generation)


def _check_prompt_size(chat: ChatApi, call: ChatCall) -> None:
    window = chat.llm.engine(call.model).context_tokens
    messages = call.engine_request.get("messages") or []
    characters = sum(len(m["content"]) for m in messages if isinstance(m.get("content"), str))
    if characters > window * _MAX_CHARS_PER_TOKEN:
        raise ContextLengthExceeded(
            f"the prompt of {characters} characters is more than the model's context of "
            f"{window} tokens can hold",
            prompt_tokens=None,
            context_tokens=window,
        )


async def _collected(chunks: AsyncIterator[dict[str, Any]]) -> list[dict[str, Any]]:
    return [chunk async for chunk in chunks]


async def _client_chunks(
    stream: ChatStream, generation: Generation
) -> AsyncIterator[dict[str, Any]]:
    async for chunk in generation:
        for out in stream.feed(chunk):
            yield out
    for out in stream.finish():
        yield out


async def chat_completions(request: Request) -> Response:
    chat = _chat(request)
    chat.authorise(request)
    body = await json_body(request)
    call = prepare_chat(body, chat.default_model)
    generation = await _start(chat, request, body, call)
    headers = {"x-ainos-queue-position": str(generation.initial_position)}
    stream = ChatStream(call)
    chunks = _client_chunks(stream, generation)
    if not call.stream:
        collected = await unless_interrupted(request, _collected(chunks), chat.stopping)
        reply = collect_completion(call, collected, stream.usage)
        return JSONResponse(reply, headers=headers)
    first, rest = await _peeked(chunks)

    async def events() -> AsyncIterator[str]:
        for chunk in first:
            yield _sse(chunk)
        try:
            async for later in with_ticks(rest, chat.keepalive_s):
                yield _KEEPALIVE if later is None else _sse(later)
        except AinosError as exc:
            yield _sse(_error_event(exc))
            return
        yield _DONE

    return StreamingResponse(events(), media_type=_SSE, headers=headers)


async def create_response(request: Request) -> Response:
    chat = _chat(request)
    chat.authorise(request)
    body = await json_body(request)
    turn = to_chat(body, chat.responses, default_model=chat.default_model)
    # The Response object reports usage: ask the chat layer for its usage chunk.
    chat_request = {**turn.chat_request, "stream_options": {"include_usage": True}}
    call = prepare_chat(chat_request, chat.default_model)
    generation = await _start(chat, request, body, call)
    headers = {"x-ainos-queue-position": str(generation.initial_position)}
    chunks = _client_chunks(ChatStream(call), generation)
    if not turn.stream:
        reply = await unless_interrupted(
            request, collect_response(turn, chunks, chat.responses), chat.stopping
        )
        return JSONResponse(reply, headers=headers)
    events = stream_events(turn, chunks, chat.responses, chat.keepalive_s)

    async def sse() -> AsyncIterator[str]:
        try:
            async for event in events:
                yield _sse(event, str(event["type"]))
        finally:
            await events.aclose()  # a client gone: stops the generation too

    return StreamingResponse(sse(), media_type=_SSE, headers=headers)


async def get_response(request: Request) -> Response:
    chat = _chat(request)
    chat.authorise(request)
    return JSONResponse(chat.responses.response(request.path_params["response_id"]))


async def delete_response(request: Request) -> Response:
    chat = _chat(request)
    chat.authorise(request)
    response_id = request.path_params["response_id"]
    chat.responses.delete(response_id)
    return JSONResponse({"id": response_id, "object": "response", "deleted": True})


def llm_routes() -> list[Route]:
    """The chat completion and Responses routes; their state is the app's ``state.chat``
    (a :class:`ChatApi`)."""
    return [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/responses", create_response, methods=["POST"]),
        Route("/v1/responses/{response_id}", get_response, methods=["GET"]),
        Route("/v1/responses/{response_id}", delete_response, methods=["DELETE"]),
    ]
