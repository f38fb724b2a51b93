"""The OpenAI-compatible HTTP API (Starlette): models and embeddings, plus what users of
local model servers ask to see — limits, queue positions, who holds the device — and
Prometheus metrics.

Errors are OpenAI error objects: ``{"error": {"message", "type", "param", "code"}}``.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import logging
import re
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
import numpy as np
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ainos.ai.ml import (
    EmbeddingRequest,
    EmbeddingResult,
    EmbeddingService,
    ModelCatalog,
    embedding_request,
)
from ainos.ai.ml.llm import LlmService
from ainos.app.api._common import (
    ApiError,
    client_identity,
    deadline_ms,
    from_ainos,
    invalid,
    json_body,
    priority,
)
from ainos.app.api._dashboard import Dashboard, dashboard_routes
from ainos.app.api._guard import LOOPBACK_ORIGINS, RequestGuard, host_name
from ainos.app.api._interrupt import ClientGone, Stopping, unless_interrupted
from ainos.app.api._llm_routes import ChatApi, llm_routes
from ainos.errors import AinosError, InvalidArgument
from ainos.kernel.telemetry import CONTENT_TYPE
from ainos.protocol import ModelTask, StatsSnapshot
from ainos.protocol.monitor import MachineView

__all__ = ["ApiConfig", "create_app"]

_THREADS = 256  # blocking calls in flight; the per-model gates bound the real work
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiConfig:
    token: str | None = None  # required as "Authorization: Bearer <token>" when set
    default_embedding_model: str | None = None
    default_chat_model: str | None = None
    # Host names the API answers to beside loopback ones (the address it serves on, say).
    allowed_hosts: tuple[str, ...] = ()
    # Browser origins (scheme://host[:port]) that may call it beside pages on loopback.
    allowed_origins: tuple[str, ...] = ()
    # Seconds a generation's stream may stay silent before it tells the client it goes on.
    stream_keepalive_s: float | None = 15.0


def _texts(body: dict[str, Any]) -> object:
    """The request's ``input`` as a list (OpenAI's single string too); the embedding service
    checks what is in it, once."""
    value = body.get("input")
    return [value] if isinstance(value, str) else value


@dataclass(frozen=True)
class _Api:
    """What the handlers serve from, kept in the app's state."""

    embeddings: EmbeddingService
    catalog: ModelCatalog
    config: ApiConfig
    metrics: Callable[[], str]
    queue: Callable[[], dict[str, Any]]
    llm: LlmService | None
    stopping: Stopping
    view: Callable[[], MachineView] | None = None

    def is_loaded(self, alias: str) -> bool:
        return self.embeddings.is_loaded(alias) or (
            self.llm is not None and self.llm.is_loaded(alias)
        )

    def authorise(self, request: Request) -> None:
        if self.config.token is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(given, self.config.token):
            raise ApiError(
                401, "missing or wrong bearer token", "authentication_error", "invalid_api_key"
            )


def _state(request: Request) -> _Api:
    api: _Api = request.app.state.api
    return api


async def models(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    entries = await run_in_threadpool(api.catalog.entries)
    data = [
        {
            "id": alias,
            "object": "model",
            "created": 0,
            "owned_by": "ainos",
            "task": entry.task.value,
            "source": entry.source.value,
            "loaded": api.is_loaded(alias),
        }
        for alias, entry in sorted(entries.items())
    ]
    return JSONResponse({"object": "list", "data": data})


async def create_embeddings(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    body = await json_body(request)
    model = body.get("model") or api.config.default_embedding_model
    if not isinstance(model, str) or not model:
        raise invalid("model is required", "model")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        raise invalid("encoding_format must be 'float' or 'base64'", "encoding_format")
    job_priority, deadline = priority(request, body), deadline_ms(request, body)
    try:
        asked = embedding_request(
            model,
            _texts(body),
            client=client_identity(request, body),
            priority=job_priority,
            deadline_ms=deadline,
        )
    except InvalidArgument as exc:
        raise invalid(str(exc), "input") from None
    # Only embedding models are ever loaded: the catalog (files read, a thread hop) is
    # asked only on the way to loading one.
    if not api.embeddings.is_loaded(model):
        entry = await run_in_threadpool(api.catalog.entry, model)
        if entry.task is not ModelTask.EMBEDDING:
            raise invalid(f"model {model!r} does not make embeddings", "model")
    result = await unless_interrupted(request, _embed(api.embeddings, asked), api.stopping)
    dimensions = body.get("dimensions")
    if dimensions is not None and dimensions != result.vectors.shape[1]:
        raise invalid(
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


class _ThreadJobs:
    """What cancels the jobs a request waiting in a worker thread submits, called from the
    event loop when the request is given up — before or after the thread submits them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cancel: Callable[[], object] | None = None
        self._given_up = False

    def submitted(self, cancel: Callable[[], object]) -> None:
        with self._lock:
            self._cancel = cancel
            given_up = self._given_up
        if given_up:
            cancel()

    def give_up(self) -> None:
        with self._lock:
            self._given_up = True
            cancel = self._cancel
        if cancel is not None:
            cancel()


async def _embed(embeddings: EmbeddingService, asked: EmbeddingRequest) -> EmbeddingResult:
    # A model with room answers without a thread hop; one that is busy or not loaded
    # yet makes the request wait its turn (or the load) in a worker thread.
    result = await embeddings.run_nowait(asked)
    if result is not None:
        return result
    jobs = _ThreadJobs()
    run = functools.partial(embeddings.run, asked, on_submitted=jobs.submitted)
    try:
        # Abandoned when cancelled: the thread ends on its own once its jobs are cancelled.
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    except asyncio.CancelledError:
        jobs.give_up()
        raise


async def prometheus(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    text = await run_in_threadpool(api.metrics)
    return PlainTextResponse(text, media_type=CONTENT_TYPE)


async def describe_queue(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    return JSONResponse(await run_in_threadpool(api.queue))


async def machine_view(request: Request) -> Response:
    """The machine now, as ``ainos top`` and the dashboard show it."""
    api = _state(request)
    api.authorise(request)
    if api.view is None:
        raise ApiError(404, "this server has no view of the machine", "invalid_request_error")
    view = await run_in_threadpool(api.view)
    return JSONResponse(view.model_dump(mode="json"))


async def loaded_models(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    loaded = api.embeddings.loaded() + (api.llm.loaded() if api.llm is not None else [])
    return JSONResponse({"data": [m.to_dict() for m in loaded]})


async def load(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    alias = request.path_params["alias"]
    entry = await run_in_threadpool(api.catalog.entry, alias)
    service = api.llm if entry.task is ModelTask.CHAT and api.llm is not None else api.embeddings
    loaded = await run_in_threadpool(service.load, alias)
    return JSONResponse(loaded.to_dict())


async def unload(request: Request) -> Response:
    api = _state(request)
    api.authorise(request)
    alias = request.path_params["alias"]
    llm = api.llm
    unloaded = api.embeddings.unload(alias) or (
        llm is not None and await run_in_threadpool(llm.unload, alias)
    )
    if not unloaded:
        raise ApiError(404, f"model {alias!r} is not loaded", "invalid_request_error")
    return JSONResponse({"alias": alias, "unloaded": True})


async def on_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return exc.response()


async def on_ainos_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AinosError)
    return from_ainos(exc).response()


async def on_not_found(request: Request, exc: Exception) -> Response:
    status = getattr(exc, "status_code", 404)
    detail = getattr(exc, "detail", "not found")
    return ApiError(
        status, f"{request.method} {request.url.path}: {detail}", "invalid_request_error"
    ).response()


async def on_client_gone(request: Request, exc: Exception) -> Response:
    """A client that hung up is no server error: one line, and no answer (none can go)."""
    _log.info("%s %s: the client closed the connection", request.method, request.url.path)
    return Response(status_code=499)


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    anyio.to_thread.current_default_thread_limiter().total_tokens = _THREADS
    app.state.api.stopping.bind(asyncio.get_running_loop())
    yield


_ERROR_HANDLERS: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
    ApiError: on_api_error,
    AinosError: on_ainos_error,
    HTTPException: on_not_found,
    ClientGone: on_client_gone,
    ClientDisconnect: on_client_gone,
}


class _EmbeddingsShortcut:
    """``POST /v1/embeddings`` from a program (no ``Origin``, so no CORS to answer) goes
    straight to its handler, past CORS, Starlette's exception middleware and its router:
    it is the API's most frequent request, and those layers cost it about a sixth of the
    daemon's CPU time per request. It comes after the door; errors are answered as the
    app's handlers answer them."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] != "/v1/embeddings"
            or scope["method"] != "POST"
        ):
            await self._app(scope, receive, send)
            return
        request = Request(scope, receive)
        if "origin" in request.headers:
            await self._app(scope, receive, send)
            return
        try:
            response = await create_embeddings(request)
        except Exception as error:
            handler = next(
                (_ERROR_HANDLERS[kind] for kind in type(error).__mro__ if kind in _ERROR_HANDLERS),
                None,
            )
            if handler is None:
                raise  # Starlette's outermost middleware answers 500
            response = await handler(request, error)
        await response(scope, receive, send)


def _middleware(config: ApiConfig) -> list[Middleware]:
    """The door (Host, Origin, JSON bodies), the embeddings' shortcut, then CORS answers
    for the origins the door lets in, so their pages can read the replies."""
    names = "|".join(re.escape(host_name(h)) for h in config.allowed_hosts)
    origins = LOOPBACK_ORIGINS if not names else rf"{LOOPBACK_ORIGINS}|https?://({names})(:\d+)?"
    return [
        Middleware(RequestGuard, hosts=config.allowed_hosts, origins=config.allowed_origins),
        Middleware(_EmbeddingsShortcut),
        Middleware(
            CORSMiddleware,
            allow_origins=list(config.allowed_origins),
            allow_origin_regex=origins,
            allow_methods=["GET", "POST", "DELETE"],
            allow_headers=["*"],
        ),
    ]


def create_app(
    embeddings: EmbeddingService,
    catalog: ModelCatalog,
    config: ApiConfig,
    *,
    metrics: Callable[[], str],
    queue: Callable[[], dict[str, Any]],
    llm: LlmService | None = None,
    view: Callable[[], MachineView] | None = None,
    device_history: Callable[[], list[StatsSnapshot]] | None = None,
) -> Starlette:
    """The API app. ``metrics`` renders Prometheus text; ``queue`` describes the device;
    ``llm`` adds chat completions and the Responses API; ``view`` looks at the machine
    (``GET /ainos/view``), and with ``device_history`` (the telemetry ring buffer) it is the
    live dashboard at ``/``."""
    api = _Api(embeddings, catalog, config, metrics, queue, llm, Stopping(), view)
    live = view is not None and device_history is not None
    app = Starlette(
        routes=[
            Route("/v1/models", models, methods=["GET"]),
            Route("/v1/embeddings", create_embeddings, methods=["POST"]),
            Route("/metrics", prometheus, methods=["GET"]),
            Route("/ainos/queue", describe_queue, methods=["GET"]),
            Route("/ainos/view", machine_view, methods=["GET"]),
            Route("/ainos/models", loaded_models, methods=["GET"]),
            Route("/ainos/models/{alias}/load", load, methods=["POST"]),
            Route("/ainos/models/{alias}/unload", unload, methods=["POST"]),
            *(llm_routes() if llm is not None else []),
            *(dashboard_routes(config.token is not None) if live else []),
        ],
        exception_handlers=_ERROR_HANDLERS,
        middleware=_middleware(config),
        lifespan=_lifespan,
    )
    app.state.api = api
    # What the daemon cancels when its drain timeout is over (HttpServer.stop's on_overdue).
    app.state.stopping = api.stopping
    if view is not None and device_history is not None:
        app.state.dashboard = Dashboard(view, device_history, api.authorise, api.stopping)
    if llm is not None:
        app.state.chat = ChatApi(
            llm,
            catalog,
            api.authorise,
            config.default_chat_model,
            api.stopping,
            keepalive_s=config.stream_keepalive_s,
        )
    return app
