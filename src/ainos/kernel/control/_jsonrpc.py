"""JSON-RPC 2.0 messages, one per line: parsing requests and forming responses.

Parsing never raises: a malformed message becomes the error response the spec asks for
(-32700 for bytes that are not JSON — or JSON nested or numeric beyond what the decoder takes —
and -32600 for JSON that is not a request). Encoding never sends more than a reply may hold:
what cannot be encoded, or is too large, goes out as an error object for the same id.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any

from ainos.kernel.control._limits import MAX_BATCH_REQUESTS, MAX_JSON_DEPTH, MAX_REPLY_BYTES
from ainos.protocol.control import ErrorCode

JSONRPC = "2.0"
RequestId = str | int | None


@dataclass(frozen=True)
class Request:
    method: str
    params: dict[str, Any]
    id: RequestId
    is_notification: bool


@dataclass(frozen=True)
class Invalid:
    """A message that cannot be served, and the error response it gets."""

    response: dict[str, Any]


def error_response(
    request_id: RequestId, code: int, message: str, data: Any = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        error["data"] = data
    return {"jsonrpc": JSONRPC, "id": request_id, "error": error}


def result_response(request_id: RequestId, result: Any) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "id": request_id, "result": result}


def notification(method: str, params: dict[str, Any]) -> dict[str, Any]:
    return {"jsonrpc": JSONRPC, "method": method, "params": params}


def encode(message: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    return json.dumps(message, separators=(",", ":"), allow_nan=False).encode() + b"\n"


def _encode_one(message: dict[str, Any], limit: int) -> bytes:
    """``message`` as JSON, or an error object for its id when it cannot be encoded or is
    larger than ``limit`` bytes."""
    try:
        data = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError) as exc:  # NaN, odd types, deep nesting
        reason = f"Internal error: the reply cannot be encoded as JSON ({type(exc).__name__})"
        return encode(error_response(message.get("id"), ErrorCode.INTERNAL_ERROR, reason))[:-1]
    if len(data) <= limit:
        return data
    return encode(_too_large(message.get("id"), len(data)))[:-1]


def _too_large(request_id: RequestId, size: int) -> dict[str, Any]:
    return error_response(
        request_id,
        ErrorCode.AINOS_ERROR,
        f"reply of {size} bytes is larger than the control socket's limit of "
        f"{MAX_REPLY_BYTES} bytes; move bulk data through the pinned pool",
        {"type": "ReplyTooLarge", "size": size, "limit": MAX_REPLY_BYTES},
    )


def encode_reply(message: dict[str, Any] | list[dict[str, Any]]) -> bytes:
    """One line to send: ``message``, with any member that cannot be encoded, or that makes
    the line longer than :data:`MAX_REPLY_BYTES`, replaced by an error object."""
    if isinstance(message, dict):
        return _encode_one(message, MAX_REPLY_BYTES) + b"\n"
    members = [_encode_one(member, MAX_REPLY_BYTES) for member in message]
    # Over the limit together: the largest members become errors until the line fits.
    by_size = sorted(range(len(members)), key=lambda i: -len(members[i]))
    for index in by_size:
        if sum(map(len, members)) + len(members) + 1 <= MAX_REPLY_BYTES:
            break
        members[index] = encode(_too_large(message[index].get("id"), len(members[index])))[:-1]
    return b"[" + b",".join(members) + b"]\n"


def parse_line(line: bytes) -> list[Request | Invalid] | Invalid:
    """Parse one line: a request, or a batch (a JSON array) of them."""
    try:
        document = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as exc:
        # ValueError: not JSON, not UTF-8, or an integer beyond the decoder's digit limit;
        # RecursionError: arrays or objects nested deeper than the decoder's stack.
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        return Invalid(error_response(None, ErrorCode.PARSE_ERROR, f"Parse error: {reason}"))
    if _depth(document) > MAX_JSON_DEPTH:
        # Decodable, but every later step (validation, the job table, encoding the answer)
        # recurses over it too: refused here, before any of them can run out of stack.
        return Invalid(
            error_response(
                None,
                ErrorCode.PARSE_ERROR,
                f"Parse error: nested deeper than {MAX_JSON_DEPTH} levels",
            )
        )
    if isinstance(document, list):
        if not document:
            return Invalid(
                error_response(None, ErrorCode.INVALID_REQUEST, "Invalid Request: empty batch")
            )
        if len(document) > MAX_BATCH_REQUESTS:
            return Invalid(
                error_response(
                    None,
                    ErrorCode.INVALID_REQUEST,
                    f"Invalid Request: batch of {len(document)} requests; "
                    f"at most {MAX_BATCH_REQUESTS}",
                )
            )
        return [parse_message(item) for item in document]
    return [parse_message(document)]


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: no answer could carry it back (allow_nan=False)
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def _depth(document: Any) -> int:
    """How deeply arrays and objects nest in ``document`` (a scalar is 0), without recursion."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict | list):
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return depth
            deepest = max(deepest, depth)
            members = value.values() if isinstance(value, dict) else value
            pending.extend((member, depth) for member in members)
    return deepest


def _valid_id(value: Any) -> bool:
    # bool is an int in Python, but not a valid id in JSON-RPC.
    return value is None or (isinstance(value, str | int) and not isinstance(value, bool))


def parse_message(document: Any) -> Request | Invalid:
    def invalid(why: str, request_id: RequestId = None) -> Invalid:
        return Invalid(
            error_response(request_id, ErrorCode.INVALID_REQUEST, f"Invalid Request: {why}")
        )

    if not isinstance(document, dict):
        return invalid("a request must be a JSON object")
    request_id = document.get("id")
    if not _valid_id(request_id):
        return invalid("id must be a string, a number or null")
    if document.get("jsonrpc") != JSONRPC:
        return invalid('"jsonrpc" must be "2.0"', request_id)
    method = document.get("method")
    if not isinstance(method, str) or not method:
        return invalid('"method" must be a non-empty string', request_id)
    params = document.get("params", {})
    if isinstance(params, list):
        if params:
            return Invalid(
                error_response(
                    request_id, ErrorCode.INVALID_PARAMS, "Invalid params: pass them by name"
                )
            )
        params = {}
    if not isinstance(params, dict):
        return invalid('"params" must be an object', request_id)
    return Request(method, params, request_id, is_notification="id" not in document)
