"""Running one benchmark case in a process of its own: its own process group (stopped
whole on a timeout), its progress lines read as they come, its CPU time and peak RSS (its
children's included) from wait4; and the order cases take turns in."""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import IO

from ainos.errors import AinosError

__all__ = ["PROGRESS_PREFIX", "Exited", "case_order", "report_progress", "run_process"]

PROGRESS_PREFIX = "ainos-bench-progress"  # a case's stderr line: PREFIX DONE TOTAL
_KILL_GRACE_S = 5.0


def report_progress(stream: IO[str], done: int, total: int) -> None:
    """A case's progress line, as :func:`run_process` reads it."""
    stream.write(f"{PROGRESS_PREFIX} {done} {total}\n")
    stream.flush()


def case_order(cases: Sequence[str], repeats: int) -> list[tuple[int, str]]:
    """(round, case) in the order they run: every case once a round, a different one first
    each round (A B C, B C A, C A B, A B C …)."""
    order = []
    for repeat in range(repeats):
        shift = repeat % len(cases) if cases else 0
        order += [(repeat, case) for case in [*cases[shift:], *cases[:shift]]]
    return order


def _stop_group(process: subprocess.Popen[bytes], waiter: threading.Thread) -> None:
    """The case's process group (it leads one) stopped: TERM, then KILL after a grace."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        waiter.join(_KILL_GRACE_S)
        if not waiter.is_alive():
            return


def _read_progress(stream: IO[bytes], on_step: Callable[[int, int], None], kept: list[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").rstrip("\n")
        parts = line.split()
        if len(parts) == 3 and parts[0] == PROGRESS_PREFIX:
            with contextlib.suppress(ValueError):
                on_step(int(parts[1]), int(parts[2]))
            continue
        kept.append(line)
        del kept[:-40]


@dataclass(frozen=True)
class Exited:
    """A case process that ran to its end."""

    code: int
    usage: resource.struct_rusage  # its own and its reaped descendants'
    wall_s: float
    stdout: bytes
    stderr_tail: list[str]


def run_process(
    command: Sequence[str], on_step: Callable[[int, int], None], timeout_s: float
) -> Exited:
    """``command`` in a new session (it leads its own process group, so it and all it
    starts can be stopped together), reaped with ``os.wait4`` the moment it exits."""
    kept: list[str] = []
    reaped: list[tuple[int, resource.struct_rusage, float]] = []
    with tempfile.TemporaryFile() as output:
        began = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        assert process.stderr is not None
        with process.stderr:

            def wait() -> None:
                _, status, usage = os.wait4(process.pid, 0)
                reaped.append((status, usage, time.perf_counter()))

            waiter = threading.Thread(target=wait, name="ainos-bench-wait", daemon=True)
            reader = threading.Thread(
                target=_read_progress,
                args=(process.stderr, on_step, kept),
                name="ainos-bench-stderr",
                daemon=True,
            )
            waiter.start()
            reader.start()
            try:
                deadline = began + timeout_s
                while waiter.is_alive() and time.perf_counter() < deadline:
                    waiter.join(0.5)
                if waiter.is_alive():
                    raise AinosError(f"did not finish within {timeout_s:g} s")
            except BaseException:
                _stop_group(process, waiter)
                raise
            finally:
                if reaped:  # reaped here: Popen must not wait for it again
                    process.returncode = os.waitstatus_to_exitcode(reaped[0][0])
                reader.join(_KILL_GRACE_S)
        status, usage, ended = reaped[0]
        output.seek(0)
        return Exited(
            code=os.waitstatus_to_exitcode(status),
            usage=usage,
            wall_s=ended - began,
            stdout=output.read(),
            stderr_tail=kept,
        )
