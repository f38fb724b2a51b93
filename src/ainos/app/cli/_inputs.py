"""Reading what commands take from files: JSON schemas (``--json-schema``, ``--output-schema``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ainos.errors import InvalidArgument

__all__ = ["read_json_schema"]


def read_json_schema(path: Path | None, option: str) -> dict[str, Any] | None:
    """The JSON schema in ``path`` (None when no file was given); a bad file is one clear
    error naming ``option``."""
    if path is None:
        return None
    try:
        schema = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidArgument(f"{option} {path}: cannot read it: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidArgument(f"{option} {path}: not JSON: {exc}") from None
    if not isinstance(schema, dict):
        raise InvalidArgument(f"{option} {path}: a JSON schema is an object")
    return schema
