"""Changing a process's OS scheduling to match its priority class (boost_priority).

Four settings follow the class, each applied where the OS permits and otherwise reported
as one refused line, never fatal:

* scheduling policy and nice value: Linux keeps them per thread, so every thread of the
  process is changed. Raising priority (a lower nice value) needs CAP_SYS_NICE or a
  sufficient RLIMIT_NICE.
* CPU affinity, also per thread: realtime and interactive may use every CPU the daemon
  may use (undoing an earlier confinement); batch and idle leave the lowest-numbered of
  them to foreground work. Another user's process needs CAP_SYS_NICE.
* cgroup v2 CPU weight, per process, where a cgroup subtree is delegated to the daemon
  (see ``_cgroup``).

Threads that end meanwhile are skipped.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Set
from pathlib import Path

from ainos.errors import NotFound
from ainos.kernel.control._cgroup import PROC, apply_cgroup_weight
from ainos.protocol.scheduler import Priority

__all__ = ["NICE_FOR_CLASS", "affinity_for_class", "apply_os_priority"]

# Nice values per class: realtime work gets ahead of ordinary processes, idle work runs
# only when nothing else wants the CPU (and under SCHED_IDLE, below even nice 19).
NICE_FOR_CLASS: dict[Priority, int] = {
    Priority.REALTIME: -10,
    Priority.INTERACTIVE: 0,
    Priority.BATCH: 10,
    Priority.IDLE: 19,
}

_CONFINED = frozenset({Priority.BATCH, Priority.IDLE})

Lines = tuple[list[str], list[str]]


def apply_os_priority(
    pid: int, priority: Priority, *, proc: Path = PROC, cgroup_root: Path | None = None
) -> Lines:
    """Set policy, nice value, affinity and cgroup weight for the class; (applied, refused).

    ``proc`` and ``cgroup_root`` (the cgroup v2 mount, found in mountinfo by default) are
    the real ones unless a test passes a fake tree.
    """
    threads = _threads(pid, proc)
    applied: list[str] = []
    refused: list[str] = []
    for step in (
        _apply_policy(threads, priority),
        _apply_nice(threads, priority),
        _apply_affinity(threads, priority),
        apply_cgroup_weight(pid, priority, proc=proc, cgroup_root=cgroup_root),
    ):
        applied += step[0]
        refused += step[1]
    return applied, refused


def affinity_for_class(priority: Priority, allowed: Set[int]) -> tuple[set[int], bool]:
    """The CPUs for the class out of those allowed, and whether one is kept for foreground."""
    if priority in _CONFINED and len(allowed) > 1:
        return set(allowed) - {min(allowed)}, True
    return set(allowed), False


def _threads(pid: int, proc: Path) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(proc / str(pid) / "task")]
    except FileNotFoundError:
        raise NotFound(f"no process {pid}") from None
    except PermissionError:
        return [pid]  # changes the main thread at least


def _each_thread(threads: list[int], change: Callable[[int], bool]) -> tuple[int, OSError | None]:
    """Apply ``change`` to every thread: (threads it changed, the OS's last refusal)."""
    changed = 0
    error: OSError | None = None
    for tid in threads:
        try:
            if change(tid):
                changed += 1
        except ProcessLookupError:
            continue  # the thread ended meanwhile
        except OSError as exc:
            error = exc
    return changed, error


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _apply_policy(threads: list[int], priority: Priority) -> Lines:
    policy = os.SCHED_IDLE if priority is Priority.IDLE else os.SCHED_OTHER
    name = "SCHED_IDLE" if policy == os.SCHED_IDLE else "SCHED_OTHER"

    def change(tid: int) -> bool:
        if os.sched_getscheduler(tid) == policy:
            return False
        os.sched_setscheduler(tid, policy, os.sched_param(0))
        return True

    changed, error = _each_thread(threads, change)
    applied = [f"{name} on {changed} threads"] if changed else []
    return applied, [f"{name}: {_reason(error)}"] if error else []


def _apply_nice(threads: list[int], priority: Priority) -> Lines:
    nice = NICE_FOR_CLASS[priority]

    def change(tid: int) -> bool:
        os.setpriority(os.PRIO_PROCESS, tid, nice)
        return True

    changed, error = _each_thread(threads, change)
    applied = [f"nice {nice} on {changed} of {len(threads)} threads"] if changed else []
    if error is None:
        return applied, []
    hint = "a lower nice value needs CAP_SYS_NICE or RLIMIT_NICE"
    return applied, [f"nice {nice}: {_reason(error)} ({hint})"]


def _apply_affinity(threads: list[int], priority: Priority) -> Lines:
    cpus, kept = affinity_for_class(priority, _daemon_cpus())

    def change(tid: int) -> bool:
        os.sched_setaffinity(tid, cpus)
        return True

    changed, error = _each_thread(threads, change)
    line = f"affinity cpus {_cpu_list(cpus)}"
    applied = [f"{line} on {changed} of {len(threads)} threads"] if changed else []
    if applied and priority in _CONFINED and not kept:
        applied[0] += " (the only CPU allowed, none kept for foreground work)"
    if error is None:
        return applied, []
    hint = ""
    if isinstance(error, PermissionError):
        hint = " (needs CAP_SYS_NICE for another user's process)"
    return applied, [f"{line}: {_reason(error)}{hint}"]


@functools.cache
def _daemon_cpus() -> frozenset[int]:
    """The CPUs the daemon may use, read once: boosting the daemon's own process (as in
    embedded mode) to batch must not shrink what a later realtime boost restores. The main
    thread's, not the caller's, which a scheduler lane may have confined."""
    return frozenset(os.sched_getaffinity(os.getpid()))


def _cpu_list(cpus: Set[int]) -> str:
    """0-3,6 style, as in /sys and taskset."""
    ranges: list[list[int]] = []
    for cpu in sorted(cpus):
        if ranges and cpu == ranges[-1][1] + 1:
            ranges[-1][1] = cpu
        else:
            ranges.append([cpu, cpu])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
