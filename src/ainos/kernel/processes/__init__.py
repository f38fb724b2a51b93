"""AI process detection and monitoring."""

from ainos.kernel.processes._monitor import ProcessMonitor
from ainos.kernel.processes._signatures import (
    RUNTIME_LIBRARIES,
    runtime_of_library,
    runtimes_in_maps,
)

__all__ = ["RUNTIME_LIBRARIES", "ProcessMonitor", "runtime_of_library", "runtimes_in_maps"]
