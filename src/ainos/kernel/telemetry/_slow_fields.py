"""The slow GPU fields, kept fresh by a thread of their own so that no sample waits for them.

Each field of each GPU is one NVML call, due on its field's cadence; the thread sleeps until
the next one is due. The sampler's ticks take the latest readings (:meth:`latest`) with
their age, never the NVML call itself.
"""

from __future__ import annotations

import heapq
import logging
import threading
import time
from collections.abc import Mapping, Sequence

from ainos.kernel.nvml import SLOW_FIELDS, Nvml, SlowField, SlowReading

__all__ = ["CADENCE_SECONDS", "SlowFieldPoller"]

_log = logging.getLogger(__name__)

# How often each slow field is read, in seconds.
# - PCIe throughput: every read blocks ~21 ms (NVML measures over a 20 ms window), two per
#   GPU. Once a second keeps that under 5 % of this thread's time per GPU (asleep, not on a
#   CPU) and is still finer than any Prometheus scrape or dashboard refresh.
# - ECC counters: they move only when memory fails; 10 s is soon enough to raise an alarm.
# - Enforced power limit: a firmware round trip (~164 µs: 1.6 % of a core per GPU if read at
#   100 Hz) for a value that changes only when an administrator or the driver sets it.
CADENCE_SECONDS: Mapping[SlowField, float] = {
    "ecc_errors_corrected": 10.0,
    "ecc_errors_uncorrected": 10.0,
    "power_limit_watts": 10.0,
    "pcie_rx_bytes_per_second": 1.0,
    "pcie_tx_bytes_per_second": 1.0,
}


class SlowFieldPoller:
    """Reads every GPU's slow fields on their cadences, on its own thread.

    A failing read never ends the thread: NVML errors (a field not supported, a GPU that fell
    off the bus) make the field absent, anything else is logged, counted in :attr:`errors` and
    the field dropped until its next read. Stopping waits for at most the one call in flight.
    """

    def __init__(self, nvml: Nvml, cadences: Mapping[SlowField, float] = CADENCE_SECONDS) -> None:
        self._nvml = nvml
        self._cadences = dict(cadences)
        # The first round reads the rarely-read fields first: they are the quick ones, so
        # they appear at once rather than after every GPU's blocking PCIe reads.
        self._first_round = sorted(SLOW_FIELDS, key=lambda name: -self._cadences[name])
        # One dict per GPU, replaced whole on every update: readers never see one changing.
        self._latest: list[Mapping[SlowField, SlowReading]] = [{} for _ in range(nvml.gpu_count)]
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._errors = 0
        self._reads = 0
        self._cpu_seconds = 0.0

    def latest(self) -> Sequence[Mapping[SlowField, SlowReading]]:
        """Per GPU, the newest reading of each slow field read so far."""
        return list(self._latest)

    @property
    def errors(self) -> int:
        return self._errors

    @property
    def reads(self) -> int:
        """NVML calls made (or attempted) so far."""
        return self._reads

    @property
    def cpu_seconds(self) -> float:
        """CPU time this poller's thread has used (a blocked NVML call uses none)."""
        return self._cpu_seconds

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ainos-telemetry-slow", daemon=True)
        self._thread.start()

    def request_stop(self) -> None:
        """Ask the thread to stop before its next NVML call; :meth:`join` waits for it."""
        self._stop.set()

    def join(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def stop(self) -> None:
        self.request_stop()
        self.join()

    def _run(self) -> None:
        thread_started = time.thread_time()
        now = time.monotonic()
        # (due, order, gpu, field): the order keeps the first round's order among equals.
        due: list[tuple[float, int, int, SlowField]] = [
            (now, order, index, name)
            for index in range(len(self._latest))
            for order, name in enumerate(self._first_round)
        ]
        heapq.heapify(due)
        while due and not self._stop.wait(max(0.0, due[0][0] - time.monotonic())):
            when, order, index, name = heapq.heappop(due)
            self._read(index, name)
            self._cpu_seconds = time.thread_time() - thread_started
            cadence = self._cadences[name]
            next_due, now = when + cadence, time.monotonic()
            if next_due < now:  # after a stall, skip ahead rather than catch up in a burst
                next_due = now + cadence
            heapq.heappush(due, (next_due, order, index, name))

    def _read(self, index: int, name: SlowField) -> None:
        self._reads += 1
        readings = dict(self._latest[index])
        try:
            readings[name] = SlowReading(self._nvml.read_slow_field(index, name), time.time())
        except Exception:  # a broken reading must not end the thread
            self._errors += 1
            _log.exception("reading %s of gpu:%d failed", name, index)
            readings.pop(name, None)
        self._latest[index] = readings
