"""The JSON-RPC error answering a stdin line the SDK's stdio transport could not read (it
parses each line exactly so: ``jsonrpc_message_adapter.validate_json``)."""

from __future__ import annotations

import mcp_types as types
import pytest
from pydantic import ValidationError

from ainos.app.mcp_server._stdio import error_for


def _read(line: str) -> Exception:
    """The exception the SDK's stdio reader hands over for ``line``."""
    with pytest.raises(ValidationError) as caught:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    return caught.value


def test_a_line_that_is_not_json_is_a_parse_error() -> None:
    error = error_for(_read("{bad json\n"))
    assert error is not None
    assert error.id is None
    assert error.error.code == types.PARSE_ERROR == -32700
    assert error.error.message.startswith("Parse error")
    # What goes on the wire.
    wire = error.model_dump(mode="json", by_alias=True, exclude_none=True)
    assert wire["jsonrpc"] == "2.0"
    assert wire["error"]["code"] == -32700


@pytest.mark.parametrize(
    ("line", "request_id"),
    [
        ('{"jsonrpc":"2.0","id":7,"foo":1}', 7),
        ('{"jsonrpc":"2.0","id":"seven","foo":1}', "seven"),
        # A field of the wrong value: the id is still the message's.
        ('{"jsonrpc":"1.0","id":8,"method":"ping"}', 8),
        ('{"jsonrpc":"2.0","id":9,"method":5}', 9),
        ('{"jsonrpc":"2.0","id":10,"method":"ping","params":5}', 10),
        ('{"jsonrpc":"2.0","id":true,"foo":1}', None),  # a boolean is no id
        ("[1, 2]", None),
        ("42", None),
    ],
)
def test_json_that_is_no_message_is_an_invalid_request(
    line: str, request_id: str | int | None
) -> None:
    error = error_for(_read(line))
    assert error is not None
    assert error.error.code == types.INVALID_REQUEST == -32600
    assert error.id == request_id
    # The data shows the message that was read (as far as 200 characters).
    assert isinstance(error.error.data, str)
    assert len(error.error.data) <= 200
    if line.startswith("{"):
        assert error.error.data.startswith('{"jsonrpc": ')


def test_a_blank_line_is_not_answered() -> None:
    assert error_for(_read("\n")) is None
    assert error_for(_read("   ")) is None


def test_another_read_failure_is_an_internal_error() -> None:
    error = error_for(UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"))
    assert error is not None
    assert error.id is None
    assert error.error.code == types.INTERNAL_ERROR
    assert "invalid start byte" in error.error.message
    assert error_for(OSError()) is not None
