"""Landlock through raw system calls (ctypes), and the trampoline that applies it.

Landlock is an allow-list the kernel enforces on a thread and everything it starts
afterwards. We *handle* only the rights that change the filesystem (reads stay allowed
everywhere) and grant them beneath the writable roots and on ``/dev/null``. With ABI ≥ 4
the ruleset also handles TCP bind and connect and grants neither, so TCP is refused; UDP,
raw and other sockets are not covered by Landlock. With ABI ≥ 6 the command is also scoped:
it cannot signal processes outside its domain nor, without network, reach abstract Unix
sockets outside it.

Why a trampoline rather than ``preexec_fn``: ``landlock_restrict_self`` applies to the
calling thread only, so it must run in the child between fork and exec. ``preexec_fn``
does run there, but in a copy of a (possibly) multithreaded parent whose other threads'
locks (malloc, the import lock, logging) may be held forever — Python documents it as
unsafe with threads, and it disables the ``vfork``/``posix_spawn`` fast paths. Instead the
child is a fresh, single-threaded ``python -I -S`` running this file: it restricts itself
and ``exec``s the command, which inherits the restriction. It costs one interpreter start.

This module imports only the standard library: the trampoline runs it as a script.
"""

from __future__ import annotations

import ctypes
import json
import os
import platform
import signal
import stat
import sys
from collections.abc import Sequence
from typing import NoReturn

__all__ = [
    "SETUP_FAILED",
    "abi_version",
    "restrict_self",
    "trampoline_argv",
]

_SYSCALLS = {"x86_64": (444, 445, 446), "aarch64": (444, 445, 446)}
_CREATE_RULESET_VERSION = 1 << 0
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_SET_PDEATHSIG = 1

# Filesystem access rights (include/uapi/linux/landlock.h).
_WRITE_FILE = 1 << 1
_REMOVE_DIR = 1 << 4
_REMOVE_FILE = 1 << 5
_MAKE_CHAR = 1 << 6
_MAKE_DIR = 1 << 7
_MAKE_REG = 1 << 8
_MAKE_SOCK = 1 << 9
_MAKE_FIFO = 1 << 10
_MAKE_BLOCK = 1 << 11
_MAKE_SYM = 1 << 12
_REFER = 1 << 13  # ABI 2
_TRUNCATE = 1 << 14  # ABI 3
_FILE_RIGHTS = _WRITE_FILE | _TRUNCATE  # those a rule on a non-directory may carry
# Network (ABI 4) and scopes (ABI 6).
_NET_BIND_TCP = 1 << 0
_NET_CONNECT_TCP = 1 << 1
_SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
_SCOPE_SIGNAL = 1 << 1

NETWORK_ABI = 4
SETUP_FAILED = 125  # exit status of the trampoline when it could not restrict itself


class _RulesetAttr(ctypes.Structure):
    _fields_ = (
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    )


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = (("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32))


def _libc() -> ctypes.CDLL:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc


def _numbers() -> tuple[int, int, int]:
    machine = platform.machine()
    if machine not in _SYSCALLS:
        raise OSError(f"no Landlock system call numbers known for architecture {machine}")
    return _SYSCALLS[machine]


def _check(result: int, what: str) -> int:
    if result < 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")
    return result


def abi_version() -> int:
    """The kernel's Landlock ABI version; ``OSError`` (ENOSYS: not built in, EOPNOTSUPP:
    disabled at boot) when there is none."""
    create, _, _ = _numbers()
    libc = _libc()
    result = libc.syscall(
        ctypes.c_long(create), None, ctypes.c_size_t(0), ctypes.c_uint32(_CREATE_RULESET_VERSION)
    )
    return _check(result, "landlock_create_ruleset")


def _handled_fs(abi: int) -> int:
    rights = (
        _WRITE_FILE
        | _REMOVE_DIR
        | _REMOVE_FILE
        | _MAKE_CHAR
        | _MAKE_DIR
        | _MAKE_REG
        | _MAKE_SOCK
        | _MAKE_FIFO
        | _MAKE_BLOCK
        | _MAKE_SYM
    )
    if abi >= 2:
        rights |= _REFER
    if abi >= 3:
        rights |= _TRUNCATE
    return rights


def restrict_self(writable: Sequence[str], *, deny_tcp: bool) -> None:
    """Restrict this thread (and what it executes) to writing beneath ``writable`` and
    ``/dev/null``; with ``deny_tcp``, to no TCP bind or connect. Sets no_new_privs."""
    create, add_rule, restrict = _numbers()
    abi = abi_version()
    if deny_tcp and abi < NETWORK_ABI:
        raise OSError(f"Landlock ABI {abi} cannot deny network access (needs {NETWORK_ABI})")
    libc = _libc()
    handled = _handled_fs(abi)
    attr = _RulesetAttr(handled, 0, 0)
    size = 8
    if abi >= NETWORK_ABI:
        size = 16
        if deny_tcp:
            attr.handled_access_net = _NET_BIND_TCP | _NET_CONNECT_TCP
    if abi >= 6:
        size = 24
        attr.scoped = _SCOPE_SIGNAL | (_SCOPE_ABSTRACT_UNIX_SOCKET if deny_tcp else 0)
    ruleset = _check(
        libc.syscall(
            ctypes.c_long(create), ctypes.byref(attr), ctypes.c_size_t(size), ctypes.c_uint32(0)
        ),
        "landlock_create_ruleset",
    )
    try:
        for path in (*writable, "/dev/null"):
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            try:
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                rule = _PathBeneathAttr(handled if is_dir else handled & _FILE_RIGHTS, fd)
                _check(
                    libc.syscall(
                        ctypes.c_long(add_rule),
                        ctypes.c_int(ruleset),
                        ctypes.c_int(_RULE_PATH_BENEATH),
                        ctypes.byref(rule),
                        ctypes.c_uint32(0),
                    ),
                    f"landlock_add_rule {path}",
                )
            finally:
                os.close(fd)
        _check(
            libc.prctl(
                ctypes.c_int(_PR_SET_NO_NEW_PRIVS),
                ctypes.c_ulong(1),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
                ctypes.c_ulong(0),
            ),
            "prctl(PR_SET_NO_NEW_PRIVS)",
        )
        _check(
            libc.syscall(ctypes.c_long(restrict), ctypes.c_int(ruleset), ctypes.c_uint32(0)),
            "landlock_restrict_self",
        )
    finally:
        os.close(ruleset)


def trampoline_argv(argv: Sequence[str], writable: Sequence[str], *, deny_tcp: bool) -> list[str]:
    """The argv that runs ``argv`` under Landlock through this file as a script."""
    spec = json.dumps({"writable": list(writable), "deny_tcp": deny_tcp, "parent": os.getpid()})
    return [sys.executable, "-I", "-S", os.path.abspath(__file__), spec, *argv]


def _fail(status: int, message: str) -> NoReturn:
    os.write(2, f"ainos: {message}\n".encode(errors="replace"))
    os._exit(status)


def _trampoline(args: list[str]) -> NoReturn:
    spec = json.loads(args[0])
    argv = args[1:]
    libc = _libc()
    # Die with the agent, like bubblewrap's --die-with-parent.
    libc.prctl(
        ctypes.c_int(_PR_SET_PDEATHSIG), ctypes.c_ulong(signal.SIGKILL), *[ctypes.c_ulong(0)] * 3
    )
    if os.getppid() != spec["parent"]:
        os._exit(SETUP_FAILED)
    try:
        restrict_self(spec["writable"], deny_tcp=spec["deny_tcp"])
    except OSError as exc:
        _fail(SETUP_FAILED, f"landlock sandbox could not be applied: {exc}")
    try:
        os.execvp(argv[0], argv)
    except FileNotFoundError:
        _fail(127, f"command not found: {argv[0]}")
    except OSError as exc:
        _fail(126, f"cannot execute {argv[0]}: {exc.strerror}")


if __name__ == "__main__":
    _trampoline(sys.argv[1:])
