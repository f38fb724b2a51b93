"""The AI process monitor: finds processes that run ML runtimes and reports their comings
and goings.

Reading a process's memory map is the costly part (tens to hundreds of KiB for a Python
process), so it is read once per process and again only when the process's virtual size
changes: loading a library always grows it, and ``/proc/<pid>/statm`` is one short read.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil

from ainos.kernel.nvml import Nvml
from ainos.kernel.processes._signatures import runtimes_in_maps
from ainos.protocol import (
    AIProcess,
    DetectionSource,
    ProcessEvent,
    ProcessEventKind,
    ProcessScan,
)

_PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class _Known:
    """What the monitor remembers of one process between scans."""

    process: psutil.Process
    started_at: float
    vms_pages: int = -1  # virtual size when the maps were last read
    runtimes: frozenset[str] = frozenset()
    maps_denied: bool = False
    name: str = ""
    user: str | None = None
    command: str = ""
    cpu_primed: bool = False


@dataclass(frozen=True)
class _Registration:
    started_at: float
    runtime: str


@dataclass
class _ScanState:
    scanned: int = 0
    permission_denied: int = 0
    maps_read: int = 0
    processes: list[AIProcess] = field(default_factory=list)


def _statm(pid: int) -> tuple[int, int] | None:
    """(virtual size, resident size) in pages; None when the process is gone."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as statm:
            fields = statm.read().split()
        return int(fields[0]), int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


class ProcessMonitor:
    """Finds AI processes: ML runtime libraries in their maps, GPU compute users (NVML),
    and processes registered with ainos."""

    def __init__(self, nvml: Nvml | None = None) -> None:
        self._nvml = nvml
        self._known: dict[int, _Known] = {}
        self._registered: dict[int, _Registration] = {}
        self._lock = threading.Lock()
        self._previous: dict[tuple[int, float], AIProcess] | None = None

    # -- registrations -----------------------------------------------------------

    def register(self, pid: int, runtime: str) -> None:
        """Record that ``pid`` announced itself as an AI process using ``runtime``."""
        process = psutil.Process(pid)  # raises NoSuchProcess for a dead pid
        with self._lock:
            self._registered[pid] = _Registration(process.create_time(), runtime)

    def unregister(self, pid: int) -> None:
        with self._lock:
            self._registered.pop(pid, None)

    # -- scanning ----------------------------------------------------------------

    def scan(self, *, include_all: bool = False) -> ProcessScan:
        """Look at every process once. With ``include_all``, non-AI processes are listed too."""
        with self._lock:
            gpu_users = self._nvml.compute_processes() if self._nvml is not None else {}
            state = _ScanState()
            live = set(psutil.pids())
            for pid in list(self._known):
                if pid not in live:
                    del self._known[pid]
            for pid in list(self._registered):
                if pid not in live:
                    del self._registered[pid]
            for pid in sorted(live):
                record = self._look_at(pid, gpu_users, state, include_all)
                if record is not None:
                    state.processes.append(record)
            return ProcessScan(
                timestamp=time.time(),
                processes=state.processes,
                scanned=state.scanned,
                permission_denied=state.permission_denied,
                maps_read=state.maps_read,
            )

    def _look_at(
        self,
        pid: int,
        gpu_users: dict[int, int | None],
        state: _ScanState,
        include_all: bool,
    ) -> AIProcess | None:
        sizes = _statm(pid)
        if sizes is None:
            self._known.pop(pid, None)
            return None
        vms_pages, rss_pages = sizes
        state.scanned += 1
        known = self._known.get(pid)
        if known is None or (vms_pages != known.vms_pages and not _same_process(known)):
            known = self._learn(pid)
            if known is None:
                return None
        if vms_pages and vms_pages != known.vms_pages:
            self._read_maps(pid, known, state)
            known.vms_pages = vms_pages
        if known.maps_denied:
            state.permission_denied += 1

        sources = []
        if known.runtimes:
            sources.append(DetectionSource.MAPS)
        if pid in gpu_users:
            sources.append(DetectionSource.NVML)
        registration = self._registered.get(pid)
        if registration is not None and registration.started_at == known.started_at:
            sources.append(DetectionSource.REGISTERED)
        if not sources and not include_all:
            return None
        runtimes = set(known.runtimes)
        if registration is not None:
            runtimes.add(registration.runtime)
        return AIProcess(
            pid=pid,
            name=known.name,
            user=known.user,
            command=known.command,
            runtimes=sorted(runtimes),
            sources=sources,
            cpu_percent=self._cpu_percent(known),
            rss_bytes=rss_pages * _PAGE_SIZE,
            gpu_memory_bytes=gpu_users.get(pid),
            started_at=known.started_at,
        )

    def _learn(self, pid: int) -> _Known | None:
        try:
            process = psutil.Process(pid)
            with process.oneshot():
                known = _Known(process=process, started_at=process.create_time())
                known.name = process.name()
                try:
                    known.user = process.username()
                except (psutil.AccessDenied, KeyError):
                    known.user = None  # uid without a passwd entry, or hidden
                try:
                    known.command = " ".join(process.cmdline()) or f"[{known.name}]"
                except psutil.AccessDenied:
                    known.command = f"[{known.name}]"
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return None
        except psutil.AccessDenied:
            return None
        self._known[pid] = known
        return known

    def _read_maps(self, pid: int, known: _Known, state: _ScanState) -> None:
        try:
            with open(f"/proc/{pid}/maps", "rb") as maps:
                content = maps.read()
        except PermissionError:
            known.maps_denied = True
            return
        except OSError:
            return  # exited meanwhile
        state.maps_read += 1
        known.maps_denied = False
        # Libraries are rarely unloaded; keeping what was seen avoids flapping events.
        known.runtimes = known.runtimes | runtimes_in_maps(content)

    def _cpu_percent(self, known: _Known) -> float | None:
        """CPU use since the previous scan; on a process's first sighting, its average since
        it started (what ps(1) shows), so one look answers without waiting for a second."""
        try:
            percent = known.process.cpu_percent(interval=None)  # primes the next reading
            if known.cpu_primed:
                return percent
            known.cpu_primed = True
            times = known.process.cpu_times()
            alive = time.time() - known.process.create_time()
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return 100.0 * (times.user + times.system) / alive if alive > 0 else None

    # -- events ------------------------------------------------------------------

    def poll(self) -> list[ProcessEvent]:
        """Scan and report what changed since the previous poll.

        The first poll reports every current AI process as started, so a consumer that
        starts listening learns the whole state.
        """
        scan = self.scan()
        current = {(p.pid, p.started_at): p for p in scan.processes}
        previous = self._previous or {}
        events = [
            ProcessEvent(kind=ProcessEventKind.STARTED, timestamp=scan.timestamp, process=p)
            for key, p in current.items()
            if key not in previous
        ]
        events += [
            ProcessEvent(kind=ProcessEventKind.STOPPED, timestamp=scan.timestamp, process=p)
            for key, p in previous.items()
            if key not in current
        ]
        self._previous = current
        return events

    def watch(self, interval: float, stop: threading.Event) -> Iterator[ProcessEvent]:
        """Poll every ``interval`` seconds until ``stop`` is set, yielding events."""
        while True:
            yield from self.poll()
            if stop.wait(interval):
                return


def _same_process(known: _Known) -> bool:
    """Whether the pid still belongs to the process we knew (pids are reused)."""
    try:
        return bool(known.process.is_running())
    except psutil.Error:
        return False
