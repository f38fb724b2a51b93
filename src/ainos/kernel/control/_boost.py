"""Changing a process's OS scheduling to match its priority class (boost_priority).

Linux keeps a nice value and a scheduling policy per thread, so every thread of the
process is changed. Raising priority (a lower nice value) needs CAP_SYS_NICE or a
sufficient RLIMIT_NICE; what the OS refuses is reported, never fatal.
"""

from __future__ import annotations

import os

from ainos.errors import NotFound
from ainos.protocol.scheduler import Priority

# Nice values per class: realtime work gets ahead of ordinary processes, idle work runs
# only when nothing else wants the CPU (and under SCHED_IDLE, below even nice 19).
NICE_FOR_CLASS: dict[Priority, int] = {
    Priority.REALTIME: -10,
    Priority.INTERACTIVE: 0,
    Priority.BATCH: 10,
    Priority.IDLE: 19,
}


def _threads(pid: int) -> list[int]:
    try:
        return [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    except FileNotFoundError:
        raise NotFound(f"no process {pid}") from None
    except PermissionError:
        return [pid]


def apply_os_priority(pid: int, priority: Priority) -> tuple[list[str], list[str]]:
    """Set nice value and scheduling policy on every thread; (applied, refused)."""
    applied: list[str] = []
    refused: list[str] = []
    nice = NICE_FOR_CLASS[priority]
    threads = _threads(pid)
    policy = os.SCHED_IDLE if priority is Priority.IDLE else os.SCHED_OTHER
    policy_name = "SCHED_IDLE" if policy == os.SCHED_IDLE else "SCHED_OTHER"
    changed_nice = changed_policy = 0
    nice_error = policy_error = ""
    for tid in threads:
        try:
            if os.sched_getscheduler(tid) != policy:
                os.sched_setscheduler(tid, policy, os.sched_param(0))
                changed_policy += 1
        except ProcessLookupError:
            continue  # the thread ended meanwhile
        except PermissionError as exc:
            policy_error = exc.strerror or str(exc)
        try:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
            changed_nice += 1
        except ProcessLookupError:
            continue
        except PermissionError as exc:
            nice_error = exc.strerror or str(exc)
    if changed_nice:
        applied.append(f"nice {nice} on {changed_nice} of {len(threads)} threads")
    if nice_error:
        refused.append(
            f"nice {nice}: {nice_error} (a lower nice value needs CAP_SYS_NICE or RLIMIT_NICE)"
        )
    if changed_policy:
        applied.append(f"{policy_name} on {changed_policy} threads")
    if policy_error:
        refused.append(f"{policy_name}: {policy_error}")
    return applied, refused
