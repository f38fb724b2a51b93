"""The telemetry sampler: one thread reading every device at a fixed rate into a ring buffer.

GPU fields that are slow to read (PCIe throughput blocks ~21 ms a call) or rarely change are
read by a second thread on their own cadences (:class:`SlowFieldPoller`); each tick takes
their latest values with their age, so a tick costs only the quick reads.
"""

from __future__ import annotations

import logging
import threading
import time
from types import TracebackType

from ainos.errors import InvalidArgument, TelemetryError
from ainos.kernel.nvml import Nvml
from ainos.kernel.telemetry._cpu import CpuReader
from ainos.kernel.telemetry._ring import RingBuffer
from ainos.kernel.telemetry._slow_fields import SlowFieldPoller
from ainos.protocol import StatsSnapshot

_log = logging.getLogger(__name__)

DEFAULT_RATE_HZ = 10.0
DEFAULT_CAPACITY = 600  # one minute at the default rate
MAX_RATE_HZ = 1000.0


class Sampler:
    """Samples the CPU and every GPU ``rate_hz`` times a second.

    The sampler keeps its own cost: the CPU time its threads spent taking samples,
    so the cost of watching the machine is itself on record.
    """

    def __init__(
        self,
        *,
        rate_hz: float = DEFAULT_RATE_HZ,
        capacity: int = DEFAULT_CAPACITY,
        nvml: Nvml | None = None,
    ) -> None:
        if not (0 < rate_hz <= MAX_RATE_HZ):  # also rejects NaN
            raise InvalidArgument(
                f"sampling rate must be above 0 and at most {MAX_RATE_HZ:g} Hz, got {rate_hz}"
            )
        if capacity < 1:
            raise InvalidArgument(f"ring buffer capacity must be at least 1, got {capacity}")
        self.rate_hz = rate_hz
        self._period = 1.0 / rate_hz
        self._nvml = nvml
        self._slow = SlowFieldPoller(nvml) if nvml is not None and nvml.gpu_count else None
        self._cpu = CpuReader()
        self._ring: RingBuffer[StatsSnapshot] = RingBuffer(capacity)
        self._stop = threading.Event()
        self._new_sample = threading.Condition()
        self._thread: threading.Thread | None = None
        self._sample_cpu_seconds = 0.0
        self._errors = 0

    # -- reading ------------------------------------------------------------------

    def sample_now(self) -> StatsSnapshot:
        """Take one sample on the calling thread (not stored). While the sampler runs, the slow
        GPU fields are its poller's latest; otherwise they are read now (tens of ms a GPU)."""
        return self._sample(slow_fields_now=not self.running)

    def _sample(self, *, slow_fields_now: bool = False) -> StatsSnapshot:
        timestamp = time.time()
        gpus = []
        if self._nvml is not None:
            slow = None if slow_fields_now or self._slow is None else self._slow.latest()
            gpus = self._nvml.sample(slow, now=timestamp)
        return StatsSnapshot(timestamp=timestamp, cpu=self._cpu.read(), gpus=gpus)

    def latest(self) -> StatsSnapshot | None:
        return self._ring.latest()

    def history(self, last: int | None = None) -> list[StatsSnapshot]:
        return self._ring.items(last)

    @property
    def samples_taken(self) -> int:
        return self._ring.appended

    @property
    def sample_cpu_seconds(self) -> float:
        """CPU time the sampler's threads have used: ticks, wake-ups and slow-field reads."""
        return self._sample_cpu_seconds + self.slow_field_cpu_seconds

    @property
    def tick_cpu_seconds(self) -> float:
        """CPU time of the ticking thread alone (samples and wake-ups)."""
        return self._sample_cpu_seconds

    @property
    def slow_field_cpu_seconds(self) -> float:
        """CPU time of the slow-field thread (0 without GPUs)."""
        return self._slow.cpu_seconds if self._slow is not None else 0.0

    @property
    def errors(self) -> int:
        return self._errors

    @property
    def slow_field_errors(self) -> int:
        """Slow-field reads that failed other than by an NVML error (those are absent fields)."""
        return self._slow.errors if self._slow is not None else 0

    def wait_for_sample(self, after: int = 0, timeout: float = 5.0) -> StatsSnapshot:
        """Block until more than ``after`` samples were taken; return the newest."""
        deadline = time.monotonic() + timeout
        with self._new_sample:
            while self._ring.appended <= after:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.running:
                    raise TelemetryError("the sampler produced no sample in time")
                self._new_sample.wait(remaining)
        latest = self._ring.latest()
        assert latest is not None
        return latest

    # -- lifecycle ----------------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Sampler:
        if self.running:
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="ainos-telemetry", daemon=True)
        self._thread.start()
        if self._slow is not None:
            self._slow.start()
        return self

    def stop(self) -> None:
        # Both threads are told first, so the slow one finishes its call in flight (up to
        # ~21 ms) while the ticking one winds down, and neither waits for the other.
        self._stop.set()
        if self._slow is not None:
            self._slow.request_stop()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._slow is not None:
            self._slow.join()
        with self._new_sample:
            self._new_sample.notify_all()

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _run(self) -> None:
        # Deadlines advance from the start time, so the rate does not drift with the
        # sample's own cost; after a stall we skip ahead instead of bursting.
        thread_started = time.thread_time()
        next_due = time.monotonic() + self._period
        while not self._stop.wait(max(0.0, next_due - time.monotonic())):
            try:
                snapshot = self._sample()
            except Exception:  # a failing reading must not kill the sampler thread
                self._errors += 1
                _log.exception("telemetry sample failed")
            else:
                with self._new_sample:
                    self._ring.append(snapshot)
                    self._new_sample.notify_all()
            # The thread's whole CPU time, wake-ups included: what sampling really costs.
            self._sample_cpu_seconds = time.thread_time() - thread_started
            next_due += self._period
            now = time.monotonic()
            if next_due < now:
                next_due = now + self._period
