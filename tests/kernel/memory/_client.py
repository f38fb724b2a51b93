"""A pool client in its own process: receive the arena, fill a handle, wait to be killed.

Usage: python _client.py SOCKET_FD. The payload sent with the arena descriptor is the
handle (JSON); the client fills it with ``pattern(size)`` through its own mapping, replies
``written``, and blocks until the socket closes (or it is killed).
"""

from __future__ import annotations

import socket
import sys

import numpy as np

from ainos.kernel.memory import ArenaMapping, PinnedHandle, recv_arena_fd


def pattern(size: int) -> bytes:
    return (np.arange(size, dtype=np.uint64) * 7 % 251).astype(np.uint8).tobytes()


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    fd, payload = recv_arena_fd(sock)
    handle = PinnedHandle.model_validate_json(payload)
    mapping = ArenaMapping(fd, arena_id=handle.arena_id)
    view = mapping.view(handle)
    view[:] = pattern(handle.size)
    sock.sendall(b"written\n")
    sock.recv(1)  # hold the mapping until the parent is done with us
    view.release()
    mapping.close()


if __name__ == "__main__":
    main()
