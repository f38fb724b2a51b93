"""Create a pool under a given RLIMIT_MEMLOCK, without CAP_IPC_LOCK, and report as JSON.

Usage: python _mlock_child.py LIMIT_BYTES POOL_BYTES. The process drops CAP_IPC_LOCK first
(root holds it, and it bypasses the limit), sets the soft and hard limit to LIMIT_BYTES
(printing {"skip": why} if it may not), creates the pool, uses it, and prints its stats and
the warnings it logged.
"""

from __future__ import annotations

import ctypes
import json
import logging
import resource
import sys

from ainos.kernel.memory import PinnedPool

CAP_IPC_LOCK = 14
_LINUX_CAPABILITY_VERSION_3 = 0x20080522


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [
        ("effective", ctypes.c_uint32),
        ("permitted", ctypes.c_uint32),
        ("inheritable", ctypes.c_uint32),
    ]


def drop_ipc_lock() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    if libc.capget(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capget")
    bit = 1 << CAP_IPC_LOCK
    if not (data[0].effective | data[0].permitted) & bit:
        return
    data[0].effective &= ~bit
    data[0].permitted &= ~bit
    data[0].inheritable &= ~bit
    if libc.capset(ctypes.byref(header), data) != 0:
        raise OSError(ctypes.get_errno(), "capset")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def main() -> None:
    limit, pool_bytes = int(sys.argv[1]), int(sys.argv[2])
    drop_ipc_lock()
    try:
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (limit, limit))
    except (OSError, ValueError) as error:
        print(json.dumps({"skip": f"cannot set RLIMIT_MEMLOCK to {limit}: {error}"}))
        return
    collect = _Collect()
    logging.getLogger("ainos.kernel.memory").addHandler(collect)
    with PinnedPool(pool_bytes, cuda=False) as pool:
        handle = pool.alloc(pool_bytes // 2, "client")
        pool.view(handle)[-5:] = b"works"
        roundtrip = bytes(pool.view(handle)[-5:]) == b"works"
        pool.free(handle, "client")
        stats = pool.stats()
    print(json.dumps({"stats": stats.to_dict(), "warnings": collect.messages, "ok": roundtrip}))


if __name__ == "__main__":
    main()
