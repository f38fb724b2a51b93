"""Limits of the control protocol both ends agree on."""

from __future__ import annotations

__all__ = ["MAX_BATCH_REQUESTS", "MAX_JSON_DEPTH", "MAX_LINE_BYTES", "MAX_REPLY_BYTES"]

MAX_LINE_BYTES = 1024 * 1024  # one JSON-RPC message (a line) at most
# Arrays and objects nested deeper are refused: no method's params need more, and deeper
# values would exhaust the stack of whatever recurses over them after the decoder.
MAX_JSON_DEPTH = 64
# A batch is served in one thread, its answers sent as one line: its size bounds how long one
# line can hold a connection and how much memory its reply takes.
MAX_BATCH_REQUESTS = 100
# The largest reply line: bulk data travels in the pinned pool, not in JSON. A client reads
# lines up to 64 * MAX_LINE_BYTES, so every reply the server sends fits its buffer.
MAX_REPLY_BYTES = 16 * MAX_LINE_BYTES
