"""Run one command (an argv, never a shell we add) inside the sandbox a policy asks for.

The command reads ``/dev/null``; its stdout and stderr share one pipe, so the output keeps
their interleaving. It leads its own process group: on timeout or cancel the group gets
SIGTERM, then SIGKILL after a short grace, and whatever the command left running in its
group when it exits is killed too (under bubblewrap its PID namespace dies with it anyway).

Exit codes: the command's own status; a death by signal N is ``128 + N`` as a shell reports
it (so all mechanisms agree: bubblewrap reports it that way too); ``None`` when we killed it
(``timed_out`` or ``cancelled`` says why). A missing executable is exit code 127 with a
message in the output, as in a shell.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ainos.app.agent.sandbox import _landlock
from ainos.app.agent.sandbox._bwrap import bwrap_argv, find_bwrap
from ainos.app.agent.sandbox._check import Mechanism, choose_mechanism
from ainos.app.agent.sandbox._policy import SandboxMode, SandboxPolicy
from ainos.errors import InvalidArgument, SandboxUnavailable

__all__ = ["CommandResult", "run_command"]

_POLL_S = 0.05
_TERM_GRACE_S = 1.0  # SIGTERM → SIGKILL
_DRAIN_S = 0.5  # after the command exits, how long its leftovers may keep the pipe open
_READ_CHUNK = 64 * 1024

_DENIAL_WORDS = (
    "read-only file system",
    "permission denied",
    "operation not permitted",
    "landlock",
)
_NETWORK_DENIAL_WORDS = (
    "network is unreachable",
    "temporary failure in name resolution",
    "could not resolve host",
    "name or service not known",
    "failed to resolve",
    "connection refused",  # loopback in a fresh network namespace has no listeners
)


@dataclass(frozen=True)
class CommandResult:
    argv: tuple[str, ...]
    exit_code: int | None  # None: killed by us (timed_out / cancelled); signal N → 128 + N
    output: str  # stdout and stderr interleaved, utf-8 with replacement, head … tail
    truncated: bool
    timed_out: bool
    cancelled: bool
    duration_s: float
    mechanism: Mechanism  # which sandbox ran it; "none" for danger-full-access
    likely_sandbox_denial: bool  # failed with words a sandbox refusal prints

    def to_dict(self) -> dict[str, Any]:
        document = asdict(self)
        document["argv"] = list(self.argv)
        return document


def run_command(
    argv: Sequence[str],
    *,
    cwd: Path,
    policy: SandboxPolicy,
    timeout_s: float = 60,
    output_cap: int = 64 * 1024,
    cancel: threading.Event | None = None,
    env: Mapping[str, str] | None = None,
) -> CommandResult:
    """Run ``argv`` in ``cwd`` under ``policy``; see the module docstring for the rules.

    Raises :class:`SandboxUnavailable` when the policy needs a sandbox and none works here,
    :class:`InvalidArgument` for an empty argv, a missing ``cwd`` or writable root, or a
    non-positive timeout.
    """
    command = tuple(str(part) for part in argv)
    if not command:
        raise InvalidArgument("no command to run: the argv is empty")
    if not timeout_s > 0:
        raise InvalidArgument(f"timeout must be above 0 seconds, got {timeout_s:g}")
    if output_cap < 0:
        raise InvalidArgument(f"output cap must be at least 0 bytes, got {output_cap}")
    cwd = Path(cwd).expanduser().absolute()
    if not cwd.is_dir():
        raise InvalidArgument(f"working directory {cwd} does not exist or is not a directory")
    mechanism = choose_mechanism(policy)
    environ = dict(os.environ if env is None else env)
    for root in policy.writable_roots if policy.sandboxed else ():
        if not root.exists():
            raise InvalidArgument(f"writable root {root} does not exist")
    if policy.mode is SandboxMode.WORKSPACE_WRITE and not policy.workspace.is_dir():
        raise InvalidArgument(f"workspace {policy.workspace} does not exist")
    started = time.monotonic()
    if _missing(command[0], cwd, environ):
        return CommandResult(
            command,
            127,
            f"ainos: command not found: {command[0]}\n",
            False,
            False,
            False,
            time.monotonic() - started,
            mechanism,
            False,
        )
    with _wrapped(command, cwd, policy, mechanism, environ) as (full_argv, full_env):
        outcome = _supervise(full_argv, cwd, full_env, timeout_s, output_cap, cancel)
    exit_code, output, truncated, timed_out, cancelled = outcome
    return CommandResult(
        command,
        exit_code,
        output,
        truncated,
        timed_out,
        cancelled,
        time.monotonic() - started,
        mechanism,
        _likely_denial(mechanism, policy, exit_code, output),
    )


def _missing(program: str, cwd: Path, environ: Mapping[str, str]) -> bool:
    if "/" in program:
        return not (cwd / program).exists()
    return shutil.which(program, path=environ.get("PATH", os.defpath)) is None


@contextmanager
def _wrapped(
    argv: tuple[str, ...],
    cwd: Path,
    policy: SandboxPolicy,
    mechanism: Mechanism,
    environ: dict[str, str],
) -> Iterator[tuple[list[str], dict[str, str]]]:
    """The argv and environment that run ``argv`` under ``mechanism``; cleans up after."""
    if mechanism == "none":
        yield list(argv), environ
        return
    environ = {**environ, "AINOS_SANDBOXED": mechanism}
    if not policy.network:
        environ["AINOS_SANDBOX_NETWORK_DISABLED"] = "1"
    if mechanism == "bubblewrap":
        path = find_bwrap()
        if path is None:  # removed since the probe
            raise SandboxUnavailable("bubblewrap: bwrap is no longer on PATH")
        if policy.mode is not SandboxMode.READ_ONLY:
            yield bwrap_argv(path, argv, cwd=cwd, policy=policy, environ=environ), environ
            return
        with _scratch(environ) as scratch:
            yield (
                bwrap_argv(path, argv, cwd=cwd, policy=policy, environ=environ, scratch=scratch),
                environ,
            )
        return
    writable = [str(p) for p in policy.writable_paths(environ)]
    if policy.mode is not SandboxMode.READ_ONLY:
        yield _landlock.trampoline_argv(argv, writable, deny_tcp=not policy.network), environ
        return
    with _scratch(environ) as scratch:
        yield _landlock.trampoline_argv(argv, [str(scratch)], deny_tcp=not policy.network), environ


@contextmanager
def _scratch(environ: dict[str, str]) -> Iterator[Path]:
    """Read-only mode's one writable place, a fresh directory as ``TMPDIR``, removed after:
    tools that need a temporary file still work, and nothing they write outlives them."""
    scratch = Path(tempfile.mkdtemp(prefix="ainos-sandbox-tmp-"))
    environ["TMPDIR"] = str(scratch)
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _supervise(
    argv: list[str],
    cwd: Path,
    env: dict[str, str],
    timeout_s: float,
    output_cap: int,
    cancel: threading.Event | None,
) -> tuple[int | None, str, bool, bool, bool]:
    capture = _Capture(output_cap)
    try:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    except FileNotFoundError:
        return 127, f"ainos: command not found: {argv[0]}\n", False, False, False
    except PermissionError as exc:
        return 126, f"ainos: cannot execute {argv[0]}: {exc.strerror}\n", False, False, False
    assert process.stdout is not None
    stream = process.stdout
    fd = stream.fileno()
    os.set_blocking(fd, False)
    group = process.pid
    deadline = time.monotonic() + timeout_s
    timed_out = cancelled = False
    killed_at: float | None = None  # when SIGTERM went out
    exited_at: float | None = None
    hard_killed = leftovers_killed = eof = False
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        try:
            while True:
                now = time.monotonic()
                if killed_at is None and process.returncode is None:
                    if cancel is not None and cancel.is_set():
                        cancelled = True
                    elif now >= deadline:
                        timed_out = True
                    if timed_out or cancelled:
                        _signal_group(group, signal.SIGTERM)
                        killed_at = now
                if killed_at is not None and not hard_killed and now - killed_at >= _TERM_GRACE_S:
                    _signal_group(group, signal.SIGKILL)
                    hard_killed = True
                if not eof:
                    if selector.select(_POLL_S):
                        data = _read(fd)
                        if data:
                            capture.add(data)
                        elif data == b"":
                            eof = True
                            selector.unregister(fd)
                else:
                    with suppress(subprocess.TimeoutExpired):
                        process.wait(_POLL_S)
                if process.poll() is None:
                    continue
                if eof:
                    break
                # The command is gone but something it started holds the pipe open.
                exited_at = exited_at if exited_at is not None else now
                if now - exited_at >= _DRAIN_S and not leftovers_killed:
                    # Leftovers keep the group id in use, so it cannot name another group.
                    _signal_group(group, signal.SIGKILL)
                    leftovers_killed = True
                elif now - exited_at >= 2 * _DRAIN_S + _TERM_GRACE_S:
                    break  # a holder outside the group (it called setsid): stop waiting
        except BaseException:
            _signal_group(group, signal.SIGKILL)
            process.wait()
            raise
        finally:
            stream.close()
    status = process.wait()
    if timed_out or cancelled:
        exit_code: int | None = None
    else:
        exit_code = 128 - status if status < 0 else status
    output, truncated = capture.render()
    return exit_code, output, truncated, timed_out, cancelled


def _read(fd: int) -> bytes | None:
    try:
        return os.read(fd, _READ_CHUNK)
    except BlockingIOError:
        return None  # spurious readiness: nothing to read yet, not the end


def _signal_group(group: int, signum: int) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)


class _Capture:
    """Keeps the first and the last ``cap / 2`` bytes of a stream and counts the rest."""

    def __init__(self, cap: int) -> None:
        self._tail_limit = cap // 2
        self._head_limit = cap - self._tail_limit
        self._head = bytearray()
        self._tail = bytearray()
        self._total = 0

    def add(self, data: bytes) -> None:
        self._total += len(data)
        room = self._head_limit - len(self._head)
        if room > 0:
            self._head += data[:room]
            data = data[room:]
        if data:
            self._tail += data
            if len(self._tail) > 2 * self._tail_limit + _READ_CHUNK:
                del self._tail[: len(self._tail) - self._tail_limit]

    def render(self) -> tuple[str, bool]:
        if self._tail_limit:
            del self._tail[: max(0, len(self._tail) - self._tail_limit)]
        else:
            self._tail.clear()
        omitted = self._total - len(self._head) - len(self._tail)
        head = self._head.decode("utf-8", errors="replace")
        tail = self._tail.decode("utf-8", errors="replace")
        if omitted <= 0:
            return head + tail, False
        return f"{head}\n[… {omitted} bytes omitted …]\n{tail}", True


def _likely_denial(
    mechanism: Mechanism, policy: SandboxPolicy, exit_code: int | None, output: str
) -> bool:
    if mechanism == "none" or exit_code in (None, 0):
        return False
    text = output.lower()
    words = _DENIAL_WORDS if policy.network else _DENIAL_WORDS + _NETWORK_DENIAL_WORDS
    return any(word in text for word in words)
