"""Sending the arena descriptor over AF_UNIX sockets, and every way it can go wrong."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ainos.errors import FdPassingError, InvalidArgument
from ainos.kernel.memory import ArenaMapping, PinnedPool, recv_arena_fd, send_arena_fd


@pytest.fixture
def pool() -> Iterator[PinnedPool]:
    with PinnedPool(1 << 20, cuda=False) as pool:
        yield pool


def _open_fds() -> set[str]:
    return {entry.name for entry in Path("/proc/self/fd").iterdir()}


def _fds_back_to(before: set[str], timeout_s: float = 2.0) -> set[str]:
    """The open descriptors once they are ``before`` again, or when the timeout is over:
    another thread of the test process (a sampler reading /proc) may hold one for a
    moment, where a leak stays."""
    deadline = time.monotonic() + timeout_s
    while (now := _open_fds()) != before and time.monotonic() < deadline:
        time.sleep(0.01)
    return now


@pytest.mark.parametrize("kind", [socket.SOCK_STREAM, socket.SOCK_SEQPACKET, socket.SOCK_DGRAM])
def test_descriptor_and_payload_arrive(pool: PinnedPool, kind: int) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, kind)
    with left, right:
        send_arena_fd(left, pool.fd, b'{"arena": 1}')
        fd, payload = recv_arena_fd(right)
    assert payload == b'{"arena": 1}'
    assert fd != pool.fd
    assert not os.get_inheritable(fd)  # received close-on-exec
    assert (os.fstat(fd).st_ino, os.fstat(fd).st_dev) == (
        os.fstat(pool.fd).st_ino,
        os.fstat(pool.fd).st_dev,
    )
    with ArenaMapping(fd, arena_id=pool.arena_id) as mapping:
        assert mapping.size == pool.total_bytes
        assert mapping.sealed


def test_only_unix_sockets_and_non_empty_payloads(pool: PinnedPool) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as inet:
        with pytest.raises(InvalidArgument, match="AF_UNIX"):
            send_arena_fd(inet, pool.fd)
        with pytest.raises(InvalidArgument, match="AF_UNIX"):
            recv_arena_fd(inet)
    left, right = socket.socketpair()
    with left, right, pytest.raises(InvalidArgument, match="must not be empty"):
        send_arena_fd(left, pool.fd, b"")


def test_peer_closed_before_sending() -> None:
    left, right = socket.socketpair()
    left.close()
    with right, pytest.raises(FdPassingError, match="closed the connection"):
        recv_arena_fd(right)


def test_message_without_descriptor() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.sendall(b"hello")
        with pytest.raises(FdPassingError, match="without a descriptor"):
            recv_arena_fd(right)


def test_extra_descriptors_are_refused_without_leaking(pool: PinnedPool) -> None:
    left, right = socket.socketpair()
    with left, right:
        before = _open_fds()
        socket.send_fds(left, [b"x"], [pool.fd, pool.fd])
        with pytest.raises(FdPassingError, match="more than one descriptor"):
            recv_arena_fd(right)
        assert _fds_back_to(before) == before


def test_oversized_datagram_is_refused_without_leaking(pool: PinnedPool) -> None:
    left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with left, right:
        before = _open_fds()
        send_arena_fd(left, pool.fd, b"x" * 100)
        with pytest.raises(FdPassingError, match="longer than max_payload"):
            recv_arena_fd(right, max_payload=10)
        assert _fds_back_to(before) == before


def test_send_to_a_gone_peer_is_a_clear_error(pool: PinnedPool) -> None:
    left, right = socket.socketpair()
    right.close()
    with left, pytest.raises(FdPassingError, match="could not send descriptor"):
        send_arena_fd(left, pool.fd)


def test_mapping_refuses_what_is_not_an_arena(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    fd = os.open(empty, os.O_RDWR)
    with pytest.raises(InvalidArgument, match="not an arena"):
        ArenaMapping(fd)
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(fd)  # the mapping took ownership and closed it
