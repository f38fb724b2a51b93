"""The OpenAI-compatible HTTP API (Starlette): models and embeddings, plus what users of
local model servers ask to see — limits, queue positions, who holds the device — and
Prometheus metrics.

Errors are OpenAI error objects: ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from ainos.ai.ml._catalog import ModelCatalog
from ainos.ai.ml._embeddings import MAX_TEXTS_PER_REQUEST, EmbeddingService
from ainos.errors import (
    AinosError,
    DeadlineExceeded,
    InvalidArgument,
    JobCancelled,
    NotFound,
    QueueFull,
)
from ainos.kernel.telemetry import CONTENT_TYPE
from ainos.protocol import ModelTask
from ainos.protocol.scheduler import ClientIdentity, Priority

__all__ = ["ApiConfig", "create_app"]

MAX_BODY_BYTES = 16 * 1024 * 1024
_THREADS = 256  # blocking calls in flight; the per-model gates bound the real work


@dataclass(frozen=True)
class ApiConfig:
    token: str | None = None  # required as "Authorization: Bearer <token>" when set
    default_embedding_model: str | None = None


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        kind: str,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.kind, self.code, self.param = status, kind, code, param

    def response(self) -> JSONResponse:
        body = {
            "error": {
                "message": str(self),
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }
        return JSONResponse(body, status_code=self.status)


def _invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)


def _from_ainos(error: AinosError) -> ApiError:
    message = str(error)
    if isinstance(error, QueueFull):
        return ApiError(429, message, "rate_limit_error", "queue_full")
    if isinstance(error, DeadlineExceeded):
        return ApiError(504, message, "timeout_error", "deadline_exceeded")
    if isinstance(error, JobCancelled):
        return ApiError(503, message, "server_error", "cancelled")
    if isinstance(error, NotFound):
        return ApiError(404, message, "invalid_request_error", "model_not_found", "model")
    if isinstance(error, InvalidArgument):
        return _invalid(message)
    return ApiError(500, message, "server_error", type(error).__name__)


async def _json_body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise ApiError(413, f"request body over {MAX_BODY_BYTES} bytes", "invalid_request_error")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(
                413, f"request body over {MAX_BODY_BYTES} bytes", "invalid_request_error"
            )
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _invalid(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise _invalid("the request body must be a JSON object")
    return document


def _priority(request: Request, body: dict[str, Any]) -> Priority:
    value = request.headers.get("x-ainos-priority") or body.get("priority") or "interactive"
    try:
        return Priority(str(value).lower())
    except ValueError:
        names = ", ".join(p.value for p in Priority)
        raise _invalid(f"priority must be one of {names}, got {value!r}", "priority") from None


def _deadline_ms(request: Request, body: dict[str, Any]) -> float | None:
    value = request.headers.get("x-ainos-deadline-ms") or body.get("deadline_ms")
    if value is None:
        return None
    try:
        deadline = float(value)
    except (TypeError, ValueError):
        raise _invalid("deadline_ms must be a number of milliseconds", "deadline_ms") from None
    if not 0 < deadline <= 3_600_000:
        raise _invalid("deadline_ms must be above 0 and at most 3600000", "deadline_ms")
    return deadline


def _client(request: Request, body: dict[str, Any]) -> ClientIdentity:
    name = request.headers.get("x-ainos-client") or body.get("user")
    if not isinstance(name, str) or not name:
        host = request.client.host if request.client else "unknown"
        name = f"http:{host}"
    return ClientIdentity(name=name[:128])


def _texts(body: dict[str, Any]) -> list[str]:
    value = body.get("input")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value:
        raise _invalid("input must be a non-empty string or list of strings", "input")
    if not all(isinstance(item, str) for item in value):
        raise _invalid(
            "input must be strings; token arrays are not accepted by this server", "input"
        )
    if len(value) > MAX_TEXTS_PER_REQUEST:
        raise _invalid(
            f"input has {len(value)} items; at most {MAX_TEXTS_PER_REQUEST} per request", "input"
        )
    if any(not item.strip() for item in value):
        raise _invalid("input must not contain empty strings", "input")
    return value


def create_app(
    embeddings: EmbeddingService,
    catalog: ModelCatalog,
    config: ApiConfig,
    *,
    metrics: Callable[[], str],
    queue: Callable[[], dict[str, Any]],
) -> Starlette:
    """The API app. ``metrics`` renders Prometheus text; ``queue`` describes the device."""

    def authorise(request: Request) -> None:
        if config.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given, config.token):
            raise ApiError(
                401, "missing or wrong bearer token", "authentication_error", "invalid_api_key"
            )

    async def models(request: Request) -> Response:
        authorise(request)
        entries = await run_in_threadpool(catalog.entries)
        data = [
            {
                "id": alias,
                "object": "model",
                "created": 0,
                "owned_by": "ainos",
                "task": entry.task.value,
                "source": entry.source.value,
                "loaded": embeddings.is_loaded(alias),
            }
            for alias, entry in sorted(entries.items())
        ]
        return JSONResponse({"object": "list", "data": data})

    async def create_embeddings(request: Request) -> Response:
        authorise(request)
        body = await _json_body(request)
        model = body.get("model") or config.default_embedding_model
        if not isinstance(model, str) or not model:
            raise _invalid("model is required", "model")
        texts = _texts(body)
        encoding = body.get("encoding_format", "float")
        if encoding not in ("float", "base64"):
            raise _invalid("encoding_format must be 'float' or 'base64'", "encoding_format")
        priority, deadline = _priority(request, body), _deadline_ms(request, body)
        # Only embedding models are ever loaded: the catalog (files read, a thread hop) is
        # asked only on the way to loading one.
        if not embeddings.is_loaded(model):
            entry = await run_in_threadpool(catalog.entry, model)
            if entry.task is not ModelTask.EMBEDDING:
                raise _invalid(f"model {model!r} does not make embeddings", "model")
        result = await run_in_threadpool(
            lambda: embeddings.embed(
                model,
                texts,
                client=_client(request, body),
                priority=priority,
                deadline_ms=deadline,
            )
        )
        dimensions = body.get("dimensions")
        if dimensions is not None and dimensions != result.vectors.shape[1]:
            raise _invalid(
                f"model {model!r} makes {result.vectors.shape[1]}-dimensional vectors only",
                "dimensions",
            )
        vectors = result.vectors.astype("<f4", copy=False)
        data = [
            {
                "object": "embedding",
                "index": index,
                "embedding": (
                    base64.b64encode(np.ascontiguousarray(vector).tobytes()).decode()
                    if encoding == "base64"
                    else vector.tolist()
                ),
            }
            for index, vector in enumerate(vectors)
        ]
        tokens = sum(result.token_counts)
        headers = {"x-ainos-queue-position": str(result.queue_position)}
        return JSONResponse(
            {
                "object": "list",
                "data": data,
                "model": model,
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
            headers=headers,
        )

    async def prometheus(request: Request) -> Response:
        authorise(request)
        text = await run_in_threadpool(metrics)
        return PlainTextResponse(text, media_type=CONTENT_TYPE)

    async def describe_queue(request: Request) -> Response:
        authorise(request)
        return JSONResponse(await run_in_threadpool(queue))

    async def loaded_models(request: Request) -> Response:
        authorise(request)
        return JSONResponse({"data": [m.to_dict() for m in embeddings.loaded()]})

    async def load(request: Request) -> Response:
        authorise(request)
        alias = request.path_params["alias"]
        loaded = await run_in_threadpool(embeddings.load, alias)
        return JSONResponse(loaded.to_dict())

    async def unload(request: Request) -> Response:
        authorise(request)
        alias = request.path_params["alias"]
        if not embeddings.unload(alias):
            raise ApiError(404, f"model {alias!r} is not loaded", "invalid_request_error")
        return JSONResponse({"alias": alias, "unloaded": True})

    async def on_api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def on_ainos_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, AinosError)
        return _from_ainos(exc).response()

    async def on_not_found(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        detail = getattr(exc, "detail", "not found")
        return ApiError(
            status, f"{request.method} {request.url.path}: {detail}", "invalid_request_error"
        ).response()

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        anyio.to_thread.current_default_thread_limiter().total_tokens = _THREADS
        yield

    return Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/embeddings", create_embeddings, methods=["POST"]),
            Route("/metrics", prometheus, methods=["GET"]),
            Route("/ainos/queue", describe_queue, methods=["GET"]),
            Route("/ainos/models", loaded_models, methods=["GET"]),
            Route("/ainos/models/{alias}/load", load, methods=["POST"]),
            Route("/ainos/models/{alias}/unload", unload, methods=["POST"]),
        ],
        exception_handlers={
            ApiError: on_api_error,
            AinosError: on_ainos_error,
            HTTPException: on_not_found,
        },
        lifespan=lifespan,
    )
