"""The shared-memory arena: a sealed memfd, mapped, optionally page-locked.

The arena is a ``memfd`` rather than a file in /dev/shm so it has no name to collide with or
leak: it lives exactly as long as some process holds its descriptor or a mapping, which is
what makes a crashed daemon or client leave nothing behind. It is sealed against shrinking
(a client truncating it would turn every other process's access into SIGBUS), against growing,
and against further sealing.
"""

from __future__ import annotations

import ctypes
import fcntl
import logging
import mmap
import os
import resource

from ainos.errors import InvalidArgument, MemoryPoolError

__all__ = ["SharedArena"]

_log = logging.getLogger("ainos.kernel.memory")

_libc = ctypes.CDLL(None, use_errno=True)
_mlock = _libc.mlock
_mlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_mlock.restype = ctypes.c_int
_munlock = _libc.munlock
_munlock.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
_munlock.restype = ctypes.c_int

_SEALS = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_SEAL


def _limit_text(value: int) -> str:
    return "unlimited" if value == resource.RLIM_INFINITY else f"{value} bytes"


class SharedArena:
    """A mapped memfd. Create one with :meth:`create` (owner) or :meth:`attach` (client)."""

    def __init__(self, fd: int, size: int, *, sealed: bool) -> None:
        self._fd = fd
        self._size = size
        self._sealed = sealed
        self._mmap: mmap.mmap | None = mmap.mmap(fd, size, flags=mmap.MAP_SHARED)
        anchor = ctypes.c_char.from_buffer(self._mmap)
        self._address = ctypes.addressof(anchor)
        del anchor  # it holds a buffer export, which would keep the mmap from closing
        self._buffer: memoryview | None = memoryview(self._mmap)
        self._locked = False

    @classmethod
    def create(cls, size: int, name: str) -> SharedArena:
        """A new, zero-filled arena of ``size`` bytes, sealed where the kernel allows it."""
        try:
            fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        except OSError as error:
            raise MemoryPoolError(f"cannot create the arena: {error.strerror}") from error
        try:
            os.ftruncate(fd, size)
            sealed = True
            try:
                fcntl.fcntl(fd, fcntl.F_ADD_SEALS, _SEALS)
            except OSError as error:  # e.g. a kernel or seccomp policy without sealing
                _log.warning("arena not sealed against resizing: %s", error.strerror)
                sealed = False
            return cls(fd, size, sealed=sealed)
        except OSError as error:
            os.close(fd)
            raise MemoryPoolError(
                f"cannot create a {size}-byte arena: {error.strerror or error}"
            ) from error
        except BaseException:
            os.close(fd)
            raise

    @classmethod
    def attach(cls, fd: int) -> SharedArena:
        """Map an arena received from its owner; takes ownership of ``fd``."""
        try:
            size = os.fstat(fd).st_size
            if size <= 0:
                raise InvalidArgument(f"descriptor {fd} is not an arena: it has no size")
            try:
                seals = fcntl.fcntl(fd, fcntl.F_GET_SEALS)
            except OSError:
                seals = 0
            return cls(fd, size, sealed=bool(seals & fcntl.F_SEAL_SHRINK))
        except OSError as error:
            os.close(fd)
            raise MemoryPoolError(f"cannot map arena descriptor {fd}: {error.strerror}") from error
        except BaseException:
            os.close(fd)
            raise

    @property
    def fd(self) -> int:
        return self._fd

    @property
    def size(self) -> int:
        return self._size

    @property
    def address(self) -> int:
        """Virtual address of the mapping in this process."""
        return self._address

    @property
    def sealed(self) -> bool:
        """True when the arena cannot shrink (so a mapping can never fault past its end)."""
        return self._sealed

    @property
    def locked(self) -> bool:
        return self._locked

    @property
    def closed(self) -> bool:
        return self._buffer is None

    @property
    def buffer(self) -> memoryview:
        """The whole arena, writable. Slices of it are the zero-copy views handed out."""
        if self._buffer is None:
            raise MemoryPoolError("the arena is closed")
        return self._buffer

    def lock(self) -> str | None:
        """Page-lock the arena (faulting every page in). Returns None, or why it could not."""
        if _mlock(ctypes.c_void_p(self._address), ctypes.c_size_t(self._size)) == 0:
            self._locked = True
            return None
        errno = ctypes.get_errno()
        soft, hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
        return (
            f"mlock of {self._size} bytes failed ({os.strerror(errno)}); "
            f"RLIMIT_MEMLOCK is {_limit_text(soft)} (hard {_limit_text(hard)}): "
            "raise it (ulimit -l, systemd LimitMEMLOCK=) or grant CAP_IPC_LOCK"
        )

    def close(self) -> None:
        """Unlock, unmap and close the descriptor; idempotent.

        Views still exported keep their pages mapped (Python frees the mapping when the last
        one is released), so a view outliving the arena never points at unmapped memory.
        """
        if self._buffer is None:
            return
        if self._locked:
            _munlock(ctypes.c_void_p(self._address), ctypes.c_size_t(self._size))
            self._locked = False
        self._buffer.release()
        self._buffer = None
        mapping, self._mmap = self._mmap, None
        try:
            if mapping is not None:
                mapping.close()
        except BufferError:
            _log.debug("arena views still exported; unmapped when the last is released")
        os.close(self._fd)
