"""Passing the arena's descriptor over a connected AF_UNIX socket (SCM_RIGHTS).

On a SOCK_STREAM socket the descriptor travels with the first byte of ``payload``; send it
before any other data on the connection, or use SOCK_SEQPACKET, so the receiver's single
``recvmsg`` gets both.
"""

from __future__ import annotations

import os
import socket

from ainos.errors import FdPassingError, InvalidArgument

__all__ = ["recv_arena_fd", "send_arena_fd"]

DEFAULT_PAYLOAD = b"ainos-arena"


def _require_unix(sock: socket.socket) -> None:
    if sock.family != socket.AF_UNIX:
        raise InvalidArgument(f"descriptors only travel over AF_UNIX sockets, not {sock.family!r}")


def send_arena_fd(sock: socket.socket, fd: int, payload: bytes = DEFAULT_PAYLOAD) -> None:
    """Send ``fd`` (the receiver gets its own duplicate) with ``payload``, non-empty."""
    _require_unix(sock)
    if not payload:
        raise InvalidArgument("the payload must not be empty: the descriptor rides on its bytes")
    try:
        sent = socket.send_fds(sock, [payload], [fd])
        if sent < len(payload):
            sock.sendall(payload[sent:])
    except OSError as error:
        raise FdPassingError(
            f"could not send descriptor {fd}: {error.strerror or error}"
        ) from error


def recv_arena_fd(sock: socket.socket, *, max_payload: int = 4096) -> tuple[int, bytes]:
    """Receive one descriptor and its payload: ``(fd, payload)``. The fd is close-on-exec."""
    _require_unix(sock)
    try:
        payload, fds, flags, _ = socket.recv_fds(sock, max_payload, 1, socket.MSG_CMSG_CLOEXEC)
    except OSError as error:
        raise FdPassingError(
            f"could not receive a descriptor: {error.strerror or error}"
        ) from error
    if len(fds) == 1 and not flags & (socket.MSG_CTRUNC | socket.MSG_TRUNC):
        # Some Python versions drop recv_fds' flags, so MSG_CMSG_CLOEXEC may not have applied.
        os.set_inheritable(fds[0], False)
        return fds[0], payload
    for fd in fds:
        os.close(fd)
    if not payload and not fds:
        reason = "the peer closed the connection before sending a descriptor"
    elif flags & socket.MSG_CTRUNC:
        reason = "more than one descriptor arrived (the extra ones were dropped)"
    elif flags & socket.MSG_TRUNC:
        reason = f"the message was longer than max_payload ({max_payload} bytes)"
    else:
        reason = "a message arrived without a descriptor"
    raise FdPassingError(f"could not receive a descriptor: {reason}")
