"""A real client process maps the arena it received over a socket and fills its handle."""

from __future__ import annotations

import mmap
import signal
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np

from ainos.kernel.memory import PinnedPool, send_arena_fd

CLIENT = Path(__file__).with_name("_client.py")


def _pattern(size: int) -> bytes:
    """What ``_client.py`` writes (its ``pattern``)."""
    return (np.arange(size, dtype=np.uint64) * 7 % 251).astype(np.uint8).tobytes()


def test_client_writes_parent_reads_and_a_killed_client_leaks_nothing() -> None:
    with PinnedPool(8 << 20, cuda=False) as pool:
        parent, child = socket.socketpair()
        with parent, child:
            process = subprocess.Popen(
                [sys.executable, str(CLIENT), str(child.fileno())], pass_fds=[child.fileno()]
            )
            child.close()
            owner = f"client-{process.pid}"
            try:
                handle = pool.alloc(3 * 1024 * 1024 + 17, owner)
                spare = pool.alloc(4096, owner)
                bystander = pool.alloc(4096, "another-client")
                send_arena_fd(parent, pool.fd, handle.to_json().encode())
                reply = parent.makefile("rb").readline()
                assert reply == b"written\n"

                view = pool.view(handle)
                assert isinstance(view.obj, mmap.mmap)  # the parent's own mapping, no copy
                assert view == _pattern(handle.size)
                array = pool.array(handle)
                assert np.shares_memory(array, np.frombuffer(pool.view(handle), np.uint8))
                del array, view

                process.send_signal(signal.SIGKILL)
                assert process.wait(timeout=30) == -signal.SIGKILL
            finally:
                if process.poll() is None:
                    process.kill()
                    process.wait()

            freed = pool.free_owner(owner)
            assert {h.handle_id for h in freed} == {handle.handle_id, spare.handle_id}
            stats = pool.stats()
            assert stats.block_count == 1
            assert stats.used_bytes == bystander.block_size
            assert stats.owner_count == 1
            pool.free(bystander, "another-client")
            assert pool.stats().largest_free_block_bytes == pool.total_bytes
