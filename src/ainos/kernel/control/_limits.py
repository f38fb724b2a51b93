"""Limits of the control protocol both ends agree on."""

from __future__ import annotations

__all__ = ["MAX_LINE_BYTES"]

MAX_LINE_BYTES = 1024 * 1024  # one JSON-RPC message (a line) at most
