"""JSON-RPC 2.0 messages, one per line: parsing requests and forming responses.

Parsing never raises: a malformed message becomes the error response the spec asks for
(-32700 for bytes that are not JSON, -32600 for JSON that is not a request).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

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


def parse_line(line: bytes) -> list[Request | Invalid] | Invalid:
    """Parse one line: a request, or a batch (a JSON array) of them."""
    try:
        document = json.loads(line)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return Invalid(error_response(None, ErrorCode.PARSE_ERROR, f"Parse error: {exc}"))
    if isinstance(document, list):
        if not document:
            return Invalid(
                error_response(None, ErrorCode.INVALID_REQUEST, "Invalid Request: empty batch")
            )
        return [parse_message(item) for item in document]
    return [parse_message(document)]


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
