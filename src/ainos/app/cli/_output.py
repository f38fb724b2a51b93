"""Output conventions shared by the commands: data on stdout, people's messages on stderr."""

from __future__ import annotations

import json
import math
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, cast

from ainos.errors import InvalidArgument, OutputClosed

if TYPE_CHECKING:
    from rich.console import Console

    from ainos.kernel.nvml import Nvml

MAX_INTERVAL_SECONDS = 3600.0


class _GuardedStdout:
    """Standard output that turns a closed pipe into :class:`OutputClosed`.

    Typer would turn EPIPE into a silent exit status 1; raising our own error keeps
    the decision (one line, exit status 141) in one place.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def _closed(self) -> OutputClosed:
        # Nothing more can reach the reader: send the rest of Python's writes to nowhere.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, self._stream.fileno())
        os.close(devnull)
        return OutputClosed("output closed before it was fully written (broken pipe)")

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise self._closed() from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise self._closed() from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


# Piped, rich lays tables out in 80 columns and cuts what does not fit; a program or a log
# reading the output gets the whole table in this many, unless COLUMNS says otherwise.
PIPED_WIDTH = 160


class _ConsoleOnFirstUse:
    """A rich ``Console``, made when first used: importing rich takes about 20 ms, which a
    command that prints only JSON (``stats --json``) need not pay. Its own names start with
    ``_lazy`` so that none hides one of Console's (``options`` is one)."""

    _lazy_options: dict[str, Any]
    _lazy_console: Console | None

    def __init__(self, **options: Any) -> None:
        object.__setattr__(self, "_lazy_options", options)
        object.__setattr__(self, "_lazy_console", None)

    def _lazy_made(self) -> Console:
        console = self._lazy_console
        if console is None:
            from rich.console import Console

            console = Console(**self._lazy_options)
            object.__setattr__(self, "_lazy_console", console)
        return console

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lazy_made(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._lazy_made(), name, value)

    # Special methods are looked up on the type, never through __getattr__; rich's Live
    # enters its console.
    def __enter__(self) -> Console:
        return self._lazy_made().__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        self._lazy_made().__exit__(*exc_info)


_stdout = _ConsoleOnFirstUse(highlight=False)
stdout = cast("Console", _stdout)
# Messages are lines, not layout: never wrapped at the terminal width.
stderr = cast("Console", _ConsoleOnFirstUse(stderr=True, highlight=False, soft_wrap=True))


def guard_stdout() -> None:
    if not isinstance(sys.stdout, _GuardedStdout):
        if not sys.stdout.isatty() and "COLUMNS" not in os.environ:
            if _stdout._lazy_console is None:
                _stdout._lazy_options["width"] = PIPED_WIDTH
            else:
                stdout.width = PIPED_WIDTH
        sys.stdout = _GuardedStdout(sys.stdout)


def emit_json(document: object) -> None:
    """One JSON document on stdout, for programs."""
    sys.stdout.write(json.dumps(document, indent=2) + "\n")


def emit_json_line(document: object) -> None:
    """One JSON document per line (a stream of events), flushed so readers see it now."""
    sys.stdout.write(json.dumps(document, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def check_interval(seconds: float) -> float:
    if not math.isfinite(seconds) or seconds <= 0 or seconds > MAX_INTERVAL_SECONDS:
        raise InvalidArgument(
            f"--interval must be a number of seconds above 0 and at most "
            f"{MAX_INTERVAL_SECONDS:g}, got {seconds:g}"
        )
    return seconds


@contextmanager
def gpus() -> Iterator[Nvml | None]:
    """NVML for the duration of a command; ``None`` on machines without NVIDIA GPUs."""
    from ainos.kernel.nvml import open_nvml  # NVML's bindings: only for commands that read GPUs

    nvml = open_nvml()
    try:
        yield nvml
    finally:
        if nvml is not None:
            nvml.close()


def human_bytes(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_age(since: float, now: float | None = None) -> str:
    seconds = max(0, int((now if now is not None else time.time()) - since))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    if seconds < 86400:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 86400}d{seconds % 86400 // 3600:02d}h"


def optional(value: float | None, fmt: str = "{:.0f}", suffix: str = "") -> str:
    return "-" if value is None else fmt.format(value) + suffix


def write_text_atomically(path: Path, text: str) -> None:
    """``text``, ending in a newline, into ``path`` (``~`` expanded), replaced whole."""
    from ainos._files import write_text_atomically as write

    write(path.expanduser(), text if text.endswith("\n") else text + "\n")
