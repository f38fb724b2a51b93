"""A client's share of the pinned pool, and strict types for every size and count, against a
real ``ainos serve``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
from tests.control_daemon import Daemon, Line, start_daemon, stop_daemon

from ainos.errors import PoolQuotaExceeded
from ainos.kernel.control import Client
from ainos.protocol.control import ErrorCode

MIB = 1024 * 1024

# Another client process: takes ``size`` bytes and says whether it got them.
_TAKER = textwrap.dedent(
    """
    import sys
    from ainos.kernel.control import Client
    with Client(sys.argv[1]) as client:
        client.alloc_pinned(int(sys.argv[2]))
        print("got it")
    """
)


def test_one_client_cannot_take_the_whole_pool(daemon: Daemon) -> None:
    with Client(daemon.socket_path) as client:
        with pytest.raises(PoolQuotaExceeded) as refused:
            client.alloc_pinned(16 * MIB)
        assert str(refused.value) == (
            f"pinned pool quota exceeded: client pid {os.getpid()} holds 0 of its "
            f"{8 * MIB} bytes (--pool-client-quota-mib) and asked for {16 * MIB} more"
        )
        client.alloc_pinned(8 * MIB)  # the default quota: half the pool
        with pytest.raises(PoolQuotaExceeded, match=f"holds {8 * MIB} of its {8 * MIB} bytes"):
            client.alloc_pinned(4096)
        # Another process still gets its half.
        other = subprocess.run(
            [sys.executable, "-c", _TAKER, str(daemon.socket_path), str(8 * MIB)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert other.stdout.strip() == "got it", other.stderr


def test_the_connections_of_one_process_share_its_quota(tmp_path: Path) -> None:
    daemon = start_daemon(tmp_path, "--pool-mib", "8", "--pool-client-quota-mib", "2")
    try:
        with Client(daemon.socket_path) as first, Client(daemon.socket_path) as second:
            held = first.alloc_pinned(2 * MIB)
            with pytest.raises(PoolQuotaExceeded, match=f"holds {2 * MIB} of its {2 * MIB}"):
                second.alloc_pinned(4096)
            first.free_pinned(held.handle_id)
            second.alloc_pinned(2 * MIB)  # freed: room again
            with pytest.raises(PoolQuotaExceeded):
                first.alloc_pinned(4096)
        with Client(daemon.socket_path) as later:  # the blocks went with the connections
            # The daemon frees them when it reads each connection's end: wait for that.
            deadline = time.monotonic() + 30
            while later.get_memory_pool().used_bytes and time.monotonic() < deadline:
                time.sleep(0.01)
            later.alloc_pinned(2 * MIB)
    finally:
        stop_daemon(daemon)


def test_a_quota_larger_than_the_pool_is_refused(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ainos",
            "serve",
            "--no-http",
            "--socket",
            str(tmp_path / "control.sock"),
            "--pool-mib",
            "4",
            "--pool-client-quota-mib",
            "8",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert result.stderr.splitlines() == [
        "ainos: error: --pool-client-quota-mib must be between 1 and --pool-mib (4), got 8"
    ]


@pytest.mark.parametrize(
    ("method", "params"),
    [
        ("alloc_pinned", {"size": "10"}),
        ("alloc_pinned", {"size": True}),
        ("alloc_pinned", {"size": 4096.0}),
        ("free_pinned", {"handle_id": "1"}),
        ("free_pinned", {"handle_id": True}),
        ("boost_priority", {"pid": "1", "priority": "batch", "os_scheduling": False}),
        ("boost_priority", {"pid": 1, "priority": "batch", "os_scheduling": "no"}),
        ("get_optimized_path", {"memory_bytes": True}),
        ("get_optimized_path", {"memory_bytes": "1024"}),
        ("get_optimized_path", {"memory_bytes": 10**4000}),
        ("alloc_pinned", {"size": 2**63}),
        ("boost_priority", {"pid": 2**64, "priority": "batch", "os_scheduling": False}),
        ("submit", {"op": "noop", "wait_s": "1"}),
        ("submit", {"op": "noop", "notify": 1}),
        ("job_result", {"job_id": "x", "timeout_s": "1"}),
        ("list_ai_processes", {"include_all": "yes"}),
        ("register_runtime", {"name": "flags", "uses_gpu": "yes"}),
        ("set_gpu_util", {"target": "batch", "fraction": "0.5"}),
    ],
)
def test_sizes_counts_and_flags_are_strictly_typed(
    daemon: Daemon, method: str, params: dict[str, Any]
) -> None:
    with Line(daemon.socket_path) as connection:
        reply = connection.request(method, params)
        assert reply["error"]["code"] == ErrorCode.INVALID_PARAMS, reply
        assert connection.request("get_memory_pool")["result"]["block_count"] == 0


@pytest.mark.parametrize("handle_id", ["1", True, 1.0])
def test_pinned_read_takes_integer_handles(daemon: Daemon, handle_id: object) -> None:
    with Line(daemon.socket_path) as connection:
        assert connection.request("alloc_pinned", {"size": 4096})["result"]["handle_id"] == 1
        reply = connection.request(
            "submit", {"op": "pinned.read", "args": {"handle_id": handle_id}, "wait_s": 30}
        )
        assert reply["error"]["code"] == ErrorCode.INVALID_PARAMS
        assert reply["error"]["message"] == "argument 'handle_id' must be an integer"
