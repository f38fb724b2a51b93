"""Page-locking under RLIMIT_MEMLOCK, in child processes that set their own limit.

Each child gives up CAP_IPC_LOCK (which lets root lock beyond the limit), so the limit alone
decides, as it does for an unprivileged daemon.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CHILD = Path(__file__).with_name("_mlock_child.py")
MiB = 1 << 20


def _run(limit: int, pool_bytes: int) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(CHILD), str(limit), str(pool_bytes)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    report: dict[str, Any] = json.loads(done.stdout)
    if "skip" in report:
        pytest.skip(report["skip"])
    return report


def test_lowered_limit_runs_unlocked_says_why_once_and_works() -> None:
    report = _run(64 * 1024, 4 * MiB)
    stats = report["stats"]
    assert report["ok"]
    assert stats["locked"] is False
    reason = stats["lock_reason"]
    assert "RLIMIT_MEMLOCK is 65536 bytes" in reason
    assert f"mlock of {4 * MiB} bytes failed" in reason
    assert report["warnings"] == [f"pinned pool runs unlocked: {reason}"]
    assert stats["total_bytes"] == 4 * MiB
    assert stats["used_bytes"] == 0


def test_limit_large_enough_locks() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    limit = 8 * MiB if hard == resource.RLIM_INFINITY else min(hard, 8 * MiB)
    if limit < 4 * MiB:
        pytest.skip(f"the hard RLIMIT_MEMLOCK ({hard} bytes) is below this test's 4 MiB")
    report = _run(limit, 2 * MiB)
    stats = report["stats"]
    assert report["ok"]
    assert stats["locked"] is True
    assert "lock_reason" not in stats  # None is left out of the wire form
    assert report["warnings"] == []
