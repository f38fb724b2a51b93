"""Typed reading of untrusted JSON objects, with the JSON path of every fault in the message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TypeVar

from ainos.ai.actions._kinds import _WireEnum, parse_enum
from ainos.errors import InvalidArgument

__all__ = ["JsonObject", "describe_json_type"]

_E = TypeVar("_E", bound=_WireEnum)


def describe_json_type(value: object) -> str:
    """The JSON name of a decoded value's type, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__


class JsonObject:
    """A JSON object being read; every getter names ``path.key`` when the value is wrong."""

    def __init__(self, data: object, path: str) -> None:
        if not isinstance(data, Mapping):
            raise InvalidArgument(f"{path}: expected an object, got {describe_json_type(data)}")
        self.data: Mapping[str, object] = data
        self.path = path

    def at(self, key: str) -> str:
        return f"{self.path}.{key}"

    def fail(self, key: str, message: str) -> InvalidArgument:
        return InvalidArgument(f"{self.at(key)}: {message}")

    def _get(self, key: str, expected: str) -> object:
        if key not in self.data:
            raise self.fail(key, f"missing (expected {expected})")
        return self.data[key]

    def text(self, key: str, default: str | None = None) -> str:
        if default is not None and key not in self.data:
            return default
        value = self._get(key, "a string")
        if not isinstance(value, str):
            raise self.fail(key, f"expected a string, got {describe_json_type(value)}")
        return value

    def opt_text(self, key: str) -> str | None:
        if self.data.get(key) is None:
            return None
        return self.text(key)

    def flag(self, key: str, default: bool | None = None) -> bool:
        if default is not None and key not in self.data:
            return default
        value = self._get(key, "a boolean")
        if not isinstance(value, bool):
            raise self.fail(key, f"expected a boolean, got {describe_json_type(value)}")
        return value

    def number(self, key: str) -> float:
        value = self._get(key, "a number")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.fail(key, f"expected a number, got {describe_json_type(value)}")
        return float(value)

    def count(self, key: str) -> int:
        value = self._get(key, "a count")
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self.fail(key, f"expected a whole number ≥ 0, got {value!r}")
        return value

    def array(self, key: str) -> Sequence[object]:
        value = self._get(key, "an array")
        if not isinstance(value, list | tuple):
            raise self.fail(key, f"expected an array, got {describe_json_type(value)}")
        return value

    def texts(self, key: str, default: Sequence[str] | None = None) -> tuple[str, ...]:
        if default is not None and key not in self.data:
            return tuple(default)
        items = self.array(key)
        for index, item in enumerate(items):
            if not isinstance(item, str):
                raise InvalidArgument(
                    f"{self.at(key)}[{index}]: expected a string, got {describe_json_type(item)}"
                )
        return tuple(str(item) for item in items)

    def text_map(self, key: str) -> dict[str, str]:
        value = self._get(key, "an object")
        if not isinstance(value, Mapping):
            raise self.fail(key, f"expected an object, got {describe_json_type(value)}")
        for name, item in value.items():
            if not isinstance(item, str):
                raise InvalidArgument(
                    f"{self.at(key)}.{name}: expected a string, got {describe_json_type(item)}"
                )
        return dict(value)

    def timestamp(self, key: str) -> datetime:
        text = self.text(key)
        try:
            return datetime.fromisoformat(text)
        except ValueError:
            raise self.fail(key, f"not an ISO 8601 date and time: {text!r}") from None

    def member(self, key: str, enum: type[_E], default: _E | None = None) -> _E:
        if default is not None and key not in self.data:
            return default
        name = self.text(key)
        member = parse_enum(enum, name)
        if member is None:
            names = ", ".join(m.wire_name for m in enum)
            raise self.fail(key, f"unknown value {name!r} (expected one of {names})")
        return member
