"""The enumerations of Windows.AI.Actions, with the same values and Windows' names on the wire."""

from __future__ import annotations

from enum import IntEnum
from typing import TypeVar

__all__ = [
    "ActionEntityKind",
    "ActionEntityTextFormat",
    "ActionFeedbackKind",
    "ActionInvocationHelpKind",
    "ActionInvocationResult",
    "RemoteFileKind",
    "parse_enum",
]


class _WireEnum(IntEnum):
    """An enumeration written in JSON by its Windows name (``STREAMING_TEXT``: StreamingText)."""

    @property
    def wire_name(self) -> str:
        return "".join(part.capitalize() for part in self.name.split("_"))


class ActionEntityKind(_WireEnum):
    NONE = 0
    DOCUMENT = 1
    FILE = 2
    PHOTO = 3
    TEXT = 4
    STREAMING_TEXT = 5
    REMOTE_FILE = 6
    TABLE = 7
    CONTACT = 8
    URI = 9
    ARRAY = 10
    APPOINTMENT = 11
    DATE = 12
    CUSTOM_TEXT = 13


class ActionEntityTextFormat(_WireEnum):
    PLAIN = 0
    MARKDOWN = 1


class ActionInvocationResult(_WireEnum):
    SUCCESS = 0
    USER_CANCELED = 1
    UNSUPPORTED = 2
    UNAVAILABLE = 3


class ActionFeedbackKind(_WireEnum):
    POSITIVE = 0
    NEGATIVE = 1


class ActionInvocationHelpKind(_WireEnum):
    NONE = 0
    ERROR = 1
    WARNING = 2


class RemoteFileKind(_WireEnum):
    FILE = 0
    PHOTO = 1
    DOCUMENT = 2


_E = TypeVar("_E", bound=_WireEnum)


def parse_enum(enum: type[_E], name: str, *, ignore_case: bool = False) -> _E | None:
    """The member whose Windows name is ``name`` (exact, as the schema demands), or ``None``."""
    for member in enum:
        wire = member.wire_name
        if wire == name or (ignore_case and wire.lower() == name.lower()):
            return member
    return None
