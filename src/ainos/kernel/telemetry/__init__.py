"""Real-time device statistics: a sampler into a ring buffer; JSON and Prometheus export."""

from ainos.kernel.telemetry._cpu import CpuReader
from ainos.kernel.telemetry._exposition import (
    CONTENT_TYPE,
    MetricFamily,
    MetricType,
    Sample,
    render,
)
from ainos.kernel.telemetry._prometheus import sampler_families, snapshot_families
from ainos.kernel.telemetry._ring import RingBuffer
from ainos.kernel.telemetry._sampler import DEFAULT_RATE_HZ, Sampler
from ainos.kernel.telemetry._slow_fields import CADENCE_SECONDS, SlowFieldPoller

__all__ = [
    "CADENCE_SECONDS",
    "CONTENT_TYPE",
    "DEFAULT_RATE_HZ",
    "CpuReader",
    "MetricFamily",
    "MetricType",
    "RingBuffer",
    "Sample",
    "Sampler",
    "SlowFieldPoller",
    "render",
    "sampler_families",
    "snapshot_families",
]
