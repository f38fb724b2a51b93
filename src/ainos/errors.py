"""The one exception hierarchy of ainos.

Every error a user can cause or meet derives from :class:`AinosError`. The CLI turns any
of them into a single line on stderr and a non-zero exit code; anything else escaping is
a bug and is reported as such.
"""

from __future__ import annotations

__all__ = [
    "AinosError",
    "DeviceError",
    "InvalidArgument",
    "NotFound",
    "PermissionDenied",
    "TelemetryError",
]


class AinosError(Exception):
    """Base of every ainos error. ``str(error)`` is the one line a user sees."""

    exit_code: int = 1


class InvalidArgument(AinosError):
    """A value given by the user or a client is not acceptable."""

    exit_code = 2


class NotFound(AinosError):
    """A named thing (device, process, model, action …) does not exist."""


class PermissionDenied(AinosError):
    """The operating system refused an operation ainos asked for."""


class DeviceError(AinosError):
    """A compute device could not be queried or used."""


class TelemetryError(AinosError):
    """Statistics could not be sampled or exported."""
