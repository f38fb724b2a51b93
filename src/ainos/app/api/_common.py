"""What every route of the OpenAI-compatible API shares: OpenAI error objects, the JSON body
(bounded), and the ainos request headers (priority, deadline, client name)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from ainos.app.api._responses import ResponseNotFound
from ainos.errors import (
    AinosError,
    ContextLengthExceeded,
    DeadlineExceeded,
    InvalidArgument,
    JobCancelled,
    NotFound,
    QueueFull,
)
from ainos.protocol.scheduler import ClientIdentity, Priority

__all__ = [
    "MAX_BODY_BYTES",
    "ApiError",
    "client_identity",
    "deadline_ms",
    "from_ainos",
    "invalid",
    "json_body",
    "priority",
]

MAX_BODY_BYTES = 16 * 1024 * 1024


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

    def body(self) -> dict[str, Any]:
        """The OpenAI error object, as a response body or an error event of a stream."""
        return {
            "error": {
                "message": str(self),
                "type": self.kind,
                "param": self.param,
                "code": self.code,
            }
        }

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def invalid(message: str, param: str | None = None, code: str | None = None) -> ApiError:
    return ApiError(400, message, "invalid_request_error", code, param)


def from_ainos(error: AinosError) -> ApiError:
    message = str(error)
    if isinstance(error, ContextLengthExceeded):
        return ApiError(
            400, message, "invalid_request_error", "context_length_exceeded", "messages"
        )
    if isinstance(error, QueueFull):
        return ApiError(429, message, "rate_limit_error", "queue_full")
    if isinstance(error, DeadlineExceeded):
        return ApiError(504, message, "timeout_error", "deadline_exceeded")
    if isinstance(error, JobCancelled):
        return ApiError(503, message, "server_error", "cancelled")
    if isinstance(error, ResponseNotFound):
        # Only a request's previous_response_id names the code; GET/DELETE of an unknown
        # id is a plain 404.
        code = "previous_response_not_found" if error.param == "previous_response_id" else None
        return ApiError(404, message, "invalid_request_error", code, error.param)
    if isinstance(error, NotFound):
        return ApiError(404, message, "invalid_request_error", "model_not_found", "model")
    if isinstance(error, InvalidArgument):
        return invalid(message, getattr(error, "param", None))
    return ApiError(500, message, "server_error", type(error).__name__)


# Bounds on what a body may hold, checked as it is read: deeper nesting and longer
# integers are no request of this API, and would otherwise end in a RecursionError, an
# OverflowError (an int as a float) or a C integer that wraps, far from the body.
MAX_JSON_DEPTH = 64
_MAX_INT_DIGITS = 20
# Only a body with a \uD800-\uDFFF escape can hold a lone surrogate, which no text
# encoder (tokenisers included) accepts.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > _MAX_INT_DIGITS:
        raise ValueError(f"an integer of {len(digits)} digits is out of range")
    return int(digits)


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _check_document(document: object, surrogates: bool) -> None:
    """Depth at most MAX_JSON_DEPTH and, when ``surrogates``, no lone surrogate in a string
    (walked without recursion, so no depth can overflow the stack)."""
    stack: list[tuple[object, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[object] = [*value.keys(), *value.values()]
        elif isinstance(value, list):
            children = value
        else:
            if surrogates and isinstance(value, str):
                try:
                    value.encode("utf-8")
                except UnicodeEncodeError:
                    raise invalid("a string of the request body holds a lone surrogate") from None
            continue
        if depth > MAX_JSON_DEPTH:
            raise invalid(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels")
        stack.extend((child, depth + 1) for child in children)


async def json_body(request: Request) -> dict[str, Any]:
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
        document = json.loads(body, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise invalid(f"the request body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, bad UTF-8, an integer out of range
        raise invalid(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise invalid("the request body must be a JSON object")
    _check_document(document, _SURROGATE_ESCAPE.search(body) is not None)
    return document


def priority(request: Request, body: dict[str, Any]) -> Priority:
    value = request.headers.get("x-ainos-priority") or body.get("priority") or "interactive"
    try:
        return Priority(str(value).lower())
    except ValueError:
        names = ", ".join(p.value for p in Priority)
        raise invalid(f"priority must be one of {names}, got {value!r}", "priority") from None


def deadline_ms(request: Request, body: dict[str, Any]) -> float | None:
    value = request.headers.get("x-ainos-deadline-ms") or body.get("deadline_ms")
    if value is None:
        return None
    if isinstance(value, bool):  # float(True) would be a 1 ms deadline
        raise invalid("deadline_ms must be a number of milliseconds", "deadline_ms")
    try:
        deadline = float(value)
    except (TypeError, ValueError):
        raise invalid("deadline_ms must be a number of milliseconds", "deadline_ms") from None
    if not 0 < deadline <= 3_600_000:
        raise invalid("deadline_ms must be above 0 and at most 3600000", "deadline_ms")
    return deadline


def client_identity(request: Request, body: dict[str, Any]) -> ClientIdentity:
    name = request.headers.get("x-ainos-client") or body.get("user")
    if not isinstance(name, str) or not name:
        host = request.client.host if request.client else "unknown"
        name = f"http:{host}"
    return ClientIdentity(name=name[:128])


def dumps(document: Any) -> str:
    """Compact JSON, as the API sends it (SSE lines, bodies)."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
