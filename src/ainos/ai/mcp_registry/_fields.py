"""Reading typed fields out of decoded JSON/TOML, each fault named by file and path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ainos._json import json_kind
from ainos.errors import McpManifestError

__all__ = ["Fields"]


class Fields:
    """The object at ``path`` in the file ``where``; its getters raise
    :class:`McpManifestError` naming both when a field is missing or mistyped."""

    def __init__(self, value: object, where: str, path: str = "") -> None:
        self.where = where
        self.path = path
        if not isinstance(value, Mapping):
            raise self.fault(f"expected an object, got {json_kind(value)}")
        self.data: Mapping[str, Any] = value

    def fault(self, message: str, key: str | None = None) -> McpManifestError:
        at = self._at(key)
        return McpManifestError(f"{self.where}: {at + ': ' if at else ''}{message}")

    def _at(self, key: str | None) -> str:
        if key is None:
            return self.path
        return f"{self.path}.{key}" if self.path else key

    def has(self, key: str) -> bool:
        return self.data.get(key) is not None

    def string(self, key: str, default: str | None = None) -> str:
        value = self.data.get(key)
        if value is None:
            if default is None:
                raise self.fault("is required", key)
            return default
        if not isinstance(value, str):
            raise self.fault(f"expected a string, got {json_kind(value)}", key)
        return value

    def optional_string(self, key: str) -> str | None:
        return self.string(key) if self.has(key) else None

    def boolean(self, key: str, default: bool) -> bool:
        value = self.data.get(key, default)
        if not isinstance(value, bool):
            raise self.fault(f"expected a boolean, got {json_kind(value)}", key)
        return value

    def strings(self, key: str) -> tuple[str, ...]:
        value = self.data.get(key)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fault("expected an array of strings", key)
        return tuple(value)

    def string_map(self, key: str) -> dict[str, str]:
        value = self.data.get(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fault(f"expected an object, got {json_kind(value)}", key)
        out: dict[str, str] = {}
        for name, item in value.items():
            if not isinstance(item, str):
                raise self.fault(f"expected a string, got {json_kind(item)}", f"{key}.{name}")
            out[str(name)] = item
        return out

    def child(self, key: str) -> Fields:
        if key not in self.data:
            raise self.fault("is required", key)
        return Fields(self.data[key], self.where, self._at(key))

    def optional_child(self, key: str) -> Fields | None:
        return self.child(key) if self.has(key) else None

    def items(self, key: str) -> list[Fields]:
        """The objects of the array ``key`` (none when it is absent)."""
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.fault(f"expected an array, got {json_kind(value)}", key)
        return [Fields(item, self.where, f"{self._at(key)}[{i}]") for i, item in enumerate(value)]

    def entries(self) -> list[tuple[str, Fields]]:
        """Each member of this object, itself an object."""
        return [(str(k), Fields(v, self.where, self._at(str(k)))) for k, v in self.data.items()]
