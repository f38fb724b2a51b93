"""Token usage in the agent's terms, from the OpenAI usage objects of either API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ainos.protocol.agent import Usage

__all__ = ["chat_usage", "responses_usage"]


def _cached(details: object) -> int:
    value = details.get("cached_tokens") if isinstance(details, Mapping) else None
    return int(value or 0)


def chat_usage(usage: Mapping[str, Any] | None) -> Usage:
    """From a chat-completions usage (the engine's, or a server's)."""
    if not usage:
        return Usage()
    return Usage(
        input_tokens=int(usage.get("prompt_tokens") or 0),
        cached_input_tokens=_cached(usage.get("prompt_tokens_details")),
        output_tokens=int(usage.get("completion_tokens") or 0),
    )


def responses_usage(usage: Mapping[str, Any] | None) -> Usage:
    """From a Responses API usage."""
    if not usage:
        return Usage()
    return Usage(
        input_tokens=int(usage.get("input_tokens") or 0),
        cached_input_tokens=_cached(usage.get("input_tokens_details")),
        output_tokens=int(usage.get("output_tokens") or 0),
    )
