"""How messages name the type of a decoded JSON value: "a string", "an integer", "an object"…"""

from __future__ import annotations

__all__ = ["json_kind"]

# In this order: a bool is an int too.
_NAMES: tuple[tuple[type, str], ...] = (
    (bool, "a boolean"),
    (int, "an integer"),
    (float, "a number"),
    (str, "a string"),
    (list, "an array"),
)


def json_kind(value: object) -> str:
    """The type of a decoded JSON value as OpenAI's error messages name it (``null``, ``a
    boolean``, ``an integer``, ``a number``, ``a string``, ``an array``); anything else is
    ``an object``."""
    if value is None:
        return "null"
    return next((name for kind, name in _NAMES if isinstance(value, kind)), "an object")
