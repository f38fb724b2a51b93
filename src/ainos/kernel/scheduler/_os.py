"""Lowering the OS priority of the calling thread (and of threads and processes it starts)."""

from __future__ import annotations

import os
import threading

__all__ = ["apply_priority"]


def apply_priority(priority: str, who: str) -> tuple[str, bool]:
    """Apply ``idle`` (SCHED_IDLE), ``nice`` (nice 19) or ``normal`` to the calling thread.

    Linux keeps policy and nice value per thread, and threads (engine pools included) and
    processes inherit them from their creator. Returns a line saying what was applied or
    why not, and whether it was applied.
    """
    if priority == "normal":
        return f"{who}: normal priority", True
    try:
        if priority == "idle":
            os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
        else:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (OSError, AttributeError) as error:
        return f"{who}: {priority} not permitted ({error}); running at normal priority", False
    return f"{who}: {priority}", True
