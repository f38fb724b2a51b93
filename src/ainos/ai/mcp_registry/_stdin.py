"""Our standard input for the SDK's stdio server, made stoppable.

The SDK reads stdin in a worker thread; a task group cannot cancel a thread blocked in a
read, so when the server side of ``ainos mcp run`` ends first the proxy would wait for the
client to close stdin. Here a thread copies fd 0 into a pipe and ends the pipe either when
stdin ends or when told to stop (a wake-up pipe interrupts its ``select``), so the reader
sees end-of-file on demand.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from typing import TextIO

import anyio

__all__ = ["StoppableStdin"]

_CHUNK = 64 * 1024


class StoppableStdin:
    def __init__(self, fd: int = 0) -> None:
        self._fd = fd
        data_read, self._data_write = os.pipe()
        self._wake_read, self._wake_write = os.pipe()
        self._text: TextIO = os.fdopen(data_read, "r", encoding="utf-8", errors="replace")
        self.file = anyio.wrap_file(self._text)
        self._thread = threading.Thread(target=self._pump, name="mcp-stdin", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        try:
            while True:
                ready, _, _ = select.select([self._fd, self._wake_read], [], [])
                if self._wake_read in ready:
                    return
                chunk = os.read(self._fd, _CHUNK)
                if not chunk:
                    return
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self._data_write, view) :]
        except OSError:
            return
        finally:
            # Only this thread ever uses these two: closing them here cannot race.
            os.close(self._data_write)
            os.close(self._wake_read)

    def stop(self) -> None:
        """End the stream now: the reader sees end-of-file."""
        with contextlib.suppress(OSError):  # the pump has ended already
            os.write(self._wake_write, b"\0")

    def close(self) -> None:
        self.stop()
        self._thread.join(1.0)
        os.close(self._wake_write)
        self._text.close()
