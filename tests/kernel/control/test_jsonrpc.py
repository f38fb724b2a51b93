from __future__ import annotations

import json

import pytest

from ainos.kernel.control._jsonrpc import Invalid, Request, encode, encode_reply, parse_line
from ainos.kernel.control._limits import MAX_JSON_DEPTH, MAX_REPLY_BYTES
from ainos.protocol.control import ErrorCode


def _error_code(parsed: object) -> int:
    assert isinstance(parsed, Invalid)
    return int(parsed.response["error"]["code"])


def test_a_request_parses() -> None:
    (request,) = parse_line(b'{"jsonrpc":"2.0","id":7,"method":"version","params":{}}')
    assert request == Request("version", {}, 7, is_notification=False)


def test_a_notification_has_no_id() -> None:
    (request,) = parse_line(b'{"jsonrpc":"2.0","method":"version"}')
    assert isinstance(request, Request)
    assert request.is_notification


@pytest.mark.parametrize("line", [b"\x00\xff", b"{nope", b'{"a":', "é".encode("latin-1")])
def test_bytes_that_are_not_json_are_a_parse_error(line: bytes) -> None:
    parsed = parse_line(line)
    assert _error_code(parsed) == ErrorCode.PARSE_ERROR
    assert isinstance(parsed, Invalid)
    assert parsed.response["id"] is None


@pytest.mark.parametrize(
    "document",
    [
        [],
        "text",
        42,
        {"id": 1, "method": "version"},
        {"jsonrpc": "1.0", "id": 1, "method": "version"},
        {"jsonrpc": "2.0", "id": 1},
        {"jsonrpc": "2.0", "id": 1, "method": ""},
        {"jsonrpc": "2.0", "id": True, "method": "version"},
        {"jsonrpc": "2.0", "id": {"x": 1}, "method": "version"},
        {"jsonrpc": "2.0", "id": 1, "method": "version", "params": "x"},
    ],
)
def test_json_that_is_not_a_request_is_invalid(document: object) -> None:
    parsed = parse_line(json.dumps(document).encode())
    if isinstance(parsed, list):
        (parsed,) = parsed
    assert _error_code(parsed) == ErrorCode.INVALID_REQUEST


def test_positional_params_are_invalid_params() -> None:
    (parsed,) = parse_line(b'{"jsonrpc":"2.0","id":1,"method":"alloc_pinned","params":[5]}')
    assert _error_code(parsed) == ErrorCode.INVALID_PARAMS


def test_a_batch_parses_each_member() -> None:
    parsed = parse_line(b'[{"jsonrpc":"2.0","id":1,"method":"version"}, 5]')
    assert isinstance(parsed, list)
    assert isinstance(parsed[0], Request)
    assert _error_code(parsed[1]) == ErrorCode.INVALID_REQUEST


def test_encode_is_one_line() -> None:
    data = encode({"jsonrpc": "2.0", "id": 1, "result": {"text": "a\nb"}})
    assert data.endswith(b"\n")
    assert data.count(b"\n") == 1


def test_nesting_up_to_the_limit_parses_and_deeper_is_a_parse_error() -> None:
    def nested(depth: int) -> bytes:
        # The request object itself and its params are two of the levels.
        inner = "[" * (depth - 2) + "]" * (depth - 2)
        return f'{{"jsonrpc":"2.0","id":1,"method":"m","params":{{"v":{inner}}}}}'.encode()

    (request,) = parse_line(nested(MAX_JSON_DEPTH))
    assert isinstance(request, Request)
    assert _error_code(parse_line(nested(MAX_JSON_DEPTH + 1))) == ErrorCode.PARSE_ERROR


def test_a_reply_that_cannot_be_encoded_is_an_internal_error_for_its_id() -> None:
    reply = json.loads(encode_reply({"jsonrpc": "2.0", "id": 3, "result": float("nan")}))
    assert reply["id"] == 3
    assert reply["error"]["code"] == ErrorCode.INTERNAL_ERROR


def test_a_batch_reply_over_the_limit_keeps_the_small_members() -> None:
    big = "x" * (MAX_REPLY_BYTES // 2)
    members = [{"jsonrpc": "2.0", "id": i, "result": big} for i in range(3)]
    members.append({"jsonrpc": "2.0", "id": "small", "result": 1})
    line = encode_reply(members)
    assert len(line) <= MAX_REPLY_BYTES + 1
    replies = json.loads(line)
    assert [r["id"] for r in replies] == [0, 1, 2, "small"]
    assert sum("error" in r for r in replies) == 2
    assert replies[3]["result"] == 1
