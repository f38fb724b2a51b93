"""A client of the kernel's services: a control connection, or the embedded caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ainos.protocol.control import PeerCredentials, RuntimeRegistration
from ainos.protocol.scheduler import ClientIdentity

Notify = Callable[[str, dict[str, Any]], None]


@dataclass(eq=False)
class Session:
    session_id: int
    peer: PeerCredentials
    notify: Notify | None = None
    registration: RuntimeRegistration | None = None
    jobs: set[str] = field(default_factory=set)

    @property
    def owner(self) -> str:
        """Owner key of this session's pinned blocks: freed when the session ends."""
        return f"session-{self.session_id}-pid-{self.peer.pid}"

    def identity(self) -> ClientIdentity:
        registration = self.registration
        return ClientIdentity(
            pid=self.peer.pid,
            uid=self.peer.uid,
            runtime_id=registration.runtime_id if registration else None,
            name=registration.name if registration else None,
        )
