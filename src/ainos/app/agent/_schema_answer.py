"""The final answer of a turn asked for JSON matching a schema (``--output-schema``).

Generation is constrained to the schema, so a finished reply parses and matches it. A reply cut
short — by the token limit, or by the repetition guard stopping a loop inside a string — is a
prefix of such a document: it is closed where it stopped (pydantic-core's partial JSON parser)
and kept when the closed document still matches the schema, with a note saying so. Otherwise
the turn fails with one line naming what is wrong: a half-written document is never passed
off as the answer.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pydantic_core
from jsonschema import validators
from jsonschema.exceptions import SchemaError

from ainos.errors import AgentError

__all__ = ["SchemaAnswer", "schema_answer"]


@dataclass(frozen=True)
class SchemaAnswer:
    """The document's text, and why it had to be closed (None when the model finished it)."""

    text: str
    closed_because: str | None = None


def schema_answer(text: str, finish_reason: str, schema: Mapping[str, Any]) -> SchemaAnswer:
    """The JSON document of ``text``, a reply constrained to ``schema`` that ended with
    ``finish_reason``; :class:`AgentError` when neither it nor its closed prefix matches."""
    text = text.strip()
    closed_because: str | None = None
    try:
        document = json.loads(text)
    except ValueError:
        closed_because = _STOPPERS.get(finish_reason, finish_reason)
        try:
            document = pydantic_core.from_json(text, allow_partial="trailing-strings")
        except ValueError:
            raise AgentError(
                f"the model's answer is not JSON ({_cut(finish_reason)}): {_excerpt(text)}"
            ) from None
    problem = _mismatch(document, schema)
    if problem is not None:
        raise AgentError(
            f"the model's answer does not match the output schema ({_cut(finish_reason)}): "
            f"{problem}"
        )
    if closed_because is None:
        return SchemaAnswer(text)
    return SchemaAnswer(json.dumps(document, ensure_ascii=False, indent=2), closed_because)


def _mismatch(document: Any, schema: Mapping[str, Any]) -> str | None:
    try:
        validator = validators.validator_for(schema)(schema)
        error = next(iter(validator.iter_errors(document)), None)
    except SchemaError as exc:  # checked when the schema was read; here for callers that did not
        return f"the schema itself is invalid: {exc.message}"
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path)
    return f"{where}: {error.message}" if where else error.message


# What ended a reply cut short, by its finish reason.
_STOPPERS = {"length": "the token limit", "repetition": "the repetition guard (a loop)"}


def _cut(finish_reason: str) -> str:
    if finish_reason == "stop":
        return "it finished"
    return f"stopped by {_STOPPERS.get(finish_reason, finish_reason)}"


def _excerpt(text: str, limit: int = 120) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
