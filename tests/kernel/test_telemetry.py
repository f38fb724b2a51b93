from __future__ import annotations

import json
import math
import threading
from collections.abc import Callable
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ainos.errors import InvalidArgument
from ainos.kernel.nvml import open_nvml
from ainos.kernel.telemetry import (
    MetricFamily,
    RingBuffer,
    Sampler,
    SlowFieldPoller,
    render,
    sampler_families,
    snapshot_families,
)
from ainos.protocol import StatsSnapshot


def _parse(text: str) -> dict[str, Any]:
    return {family.name: family for family in text_string_to_metric_families(text)}


def test_ring_buffer_keeps_the_newest_items_in_order() -> None:
    ring: RingBuffer[int] = RingBuffer(3)
    for item in range(5):
        ring.append(item)
    assert ring.items() == [2, 3, 4]
    assert ring.items(last=2) == [3, 4]
    assert ring.items(last=0) == []
    assert ring.latest() == 4
    assert ring.appended == 5
    assert len(ring) == 3


def test_ring_buffer_needs_room() -> None:
    with pytest.raises(ValueError, match="at least one"):
        RingBuffer[int](0)


@pytest.mark.parametrize("rate", [0.0, -1.0, math.nan, 10_000.0])
def test_sampler_rejects_bad_rates(rate: float) -> None:
    with pytest.raises(InvalidArgument, match="sampling rate"):
        Sampler(rate_hz=rate)


def test_sampler_fills_a_bounded_ring_and_accounts_its_cost() -> None:
    with Sampler(rate_hz=200.0, capacity=4) as sampler:
        seen = 0
        while seen < 6:
            sampler.wait_for_sample(after=seen)
            seen = sampler.samples_taken
    assert not sampler.running
    history = sampler.history()
    assert len(history) == 4
    timestamps = [s.timestamp for s in history]
    assert timestamps == sorted(timestamps)
    assert sampler.sample_cpu_seconds > 0
    assert sampler.errors == 0
    cpu = history[-1].cpu
    assert len(cpu.per_core_percent) >= 1
    assert all(0.0 <= p <= 100.0 for p in cpu.per_core_percent)
    assert cpu.memory_total_bytes >= cpu.memory_available_bytes > 0


def test_snapshot_without_gpus_omits_gpu_fields_from_json() -> None:
    snapshot = Sampler().sample_now()
    document = json.loads(snapshot.to_json())
    assert document["gpus"] == []
    assert StatsSnapshot.model_validate_json(snapshot.to_json()) == snapshot


def test_sampler_reads_fake_gpus(fake_pynvml: Any, fake_gpu_factory: Any) -> None:
    fake_pynvml.gpus.append(fake_gpu_factory(name="NVIDIA Fake L4", unsupported={"power"}))
    with Sampler(rate_hz=100.0, nvml=open_nvml(fake_pynvml)) as sampler:
        snapshot = sampler.wait_for_sample()
    assert [g.name for g in snapshot.gpus] == ["NVIDIA Fake A100", "NVIDIA Fake L4"]
    gpus = json.loads(snapshot.to_json())["gpus"]
    assert "power_watts" in gpus[0]
    assert "power_watts" not in gpus[1]


def test_prometheus_export_parses_with_dcgm_names(fake_pynvml: Any, fake_gpu_factory: Any) -> None:
    fake_pynvml.gpus.append(fake_gpu_factory(name='Odd "GPU"\\name', unsupported={"ecc"}))
    sampler = Sampler(nvml=open_nvml(fake_pynvml))
    snapshot = sampler.sample_now()
    text = render(snapshot_families(snapshot, hostname="host-1") + sampler_families(7, 0.5, 1))
    families = _parse(text)

    util = families["DCGM_FI_DEV_GPU_UTIL"]
    assert util.type == "gauge"
    assert [s.value for s in util.samples] == [35.0, 35.0]
    labels = util.samples[1].labels
    assert labels["gpu"] == "1"
    assert labels["modelName"] == 'Odd "GPU"\\name'
    assert labels["Hostname"] == "host-1"
    assert families["DCGM_FI_DEV_FB_USED"].samples[0].value == 10 * 1024  # MiB
    assert families["DCGM_FI_DEV_FB_FREE"].samples[0].value == 30 * 1024
    assert families["DCGM_FI_DEV_PCIE_RX_THROUGHPUT"].samples[0].value == 2048  # KB/s
    # the second GPU has no ECC readings: it is absent, not zero
    assert len(families["DCGM_FI_DEV_ECC_SBE_VOL_TOTAL"].samples) == 1

    cores = families["ainos_cpu_core_utilization_percent"].samples
    assert [s.labels["core"] for s in cores] == [str(i) for i in range(len(cores))]
    assert families["ainos_memory_total_bytes"].samples[0].value == snapshot.cpu.memory_total_bytes
    assert families["ainos_gpus"].samples[0].value == 2
    assert families["ainos_telemetry_samples"].type == "counter"
    assert families["ainos_telemetry_samples"].samples[0].value == 7


def test_prometheus_export_without_gpus_has_no_dcgm_metrics() -> None:
    text = render(snapshot_families(Sampler().sample_now()))
    names = set(_parse(text))
    assert "ainos_cpu_utilization_percent" in names
    assert not any(name.startswith("DCGM_") for name in names)


def test_exposition_escapes_and_formats_values() -> None:
    family = MetricFamily("x_ratio", "gauge", "line one\nline two \\ end")
    family.add(math.inf, path='a"b\nc')
    family.add(0.25, path="plain")
    text = render([family])
    assert "# HELP x_ratio line one\\nline two \\\\ end" in text
    (parsed,) = text_string_to_metric_families(text)
    assert parsed.samples[0].labels["path"] == 'a"b\nc'
    assert parsed.samples[0].value == math.inf
    assert parsed.samples[1].value == 0.25
    assert render([MetricFamily("empty", "gauge", "nothing")]) == ""


def _samples_until(
    sampler: Sampler, done: Callable[[StatsSnapshot], bool], most: int = 1000
) -> StatsSnapshot:
    """The first sample (of at most ``most`` more) for which ``done`` holds."""
    seen = sampler.samples_taken
    for _ in range(most):
        snapshot = sampler.wait_for_sample(after=seen)
        seen = sampler.samples_taken
        if done(snapshot):
            return snapshot
    raise AssertionError(f"no sample of {most} met the condition")


def test_ticks_go_on_while_a_pcie_read_is_in_flight(fake_pynvml: Any) -> None:
    pcie = fake_pynvml.hold("nvmlDeviceGetPcieThroughput")
    with Sampler(rate_hz=200.0, nvml=open_nvml(fake_pynvml)) as sampler:
        assert pcie.entered.wait(5.0)
        before = sampler.samples_taken
        try:
            blocked = sampler.wait_for_sample(after=before + 10)
        finally:  # a tick stuck behind the read must fail the test, not hang it
            pcie.release()
        # Ten ticks later the one PCIe read is still held: the ticks did not wait for it.
        assert fake_pynvml.calls["nvmlDeviceGetPcieThroughput"] == 1
        (gpu,) = blocked.gpus
        assert gpu.pcie_rx_bytes_per_second is None
        assert gpu.utilization_percent == 35
        # The quick slow fields were read before the blocking ones, and say how old they are.
        assert gpu.ecc_errors_corrected == 3
        assert gpu.power_limit_watts == 400.0
        ages = gpu.slow_field_ages_seconds
        assert ages is not None
        assert set(ages) == {"ecc_errors_corrected", "ecc_errors_uncorrected", "power_limit_watts"}
        assert all(age >= 0 for age in ages.values())
        done = _samples_until(sampler, lambda s: s.gpus[0].pcie_tx_bytes_per_second is not None)
    (gpu,) = done.gpus
    assert (gpu.pcie_rx_bytes_per_second, gpu.pcie_tx_bytes_per_second) == (2048 * 1024, 1024**2)
    assert gpu.slow_field_ages_seconds is not None
    assert "pcie_tx_bytes_per_second" in gpu.slow_field_ages_seconds
    assert sampler.errors == sampler.slow_field_errors == 0
    assert sampler.sample_cpu_seconds == sampler.tick_cpu_seconds + sampler.slow_field_cpu_seconds


def test_stopping_waits_for_the_one_slow_call_in_flight_only(
    fake_pynvml_factory: Any, fake_gpu_factory: Any
) -> None:
    fake = fake_pynvml_factory([fake_gpu_factory() for _ in range(4)])
    pcie = fake.hold("nvmlDeviceGetPcieThroughput")
    poller = SlowFieldPoller(open_nvml(fake))
    poller.start()
    assert pcie.entered.wait(5.0)
    poller.request_stop()
    pcie.release()
    poller.join()
    assert not poller.running
    # The quick fields of all four GPUs came first, then the one PCIe read in flight; none
    # of the seven other PCIe reads was started after the stop.
    assert fake.calls["nvmlDeviceGetPcieThroughput"] == 1
    assert poller.reads == 3 * 4 + 1


def test_stopping_the_sampler_stops_its_slow_field_thread(fake_pynvml: Any) -> None:
    sampler = Sampler(rate_hz=100.0, nvml=open_nvml(fake_pynvml)).start()
    _samples_until(sampler, lambda s: s.gpus[0].pcie_rx_bytes_per_second is not None)
    sampler.stop()
    assert "ainos-telemetry-slow" not in {t.name for t in threading.enumerate()}
    calls = sum(fake_pynvml.calls.values())
    sampler.start()  # and it starts again
    sampler.wait_for_sample(after=sampler.samples_taken)
    sampler.stop()
    assert sum(fake_pynvml.calls.values()) > calls


def test_a_lost_gpu_or_a_broken_read_does_not_stop_sampling(
    fake_pynvml_factory: Any, fake_gpu_factory: Any, caplog: pytest.LogCaptureFixture
) -> None:
    healthy, broken = fake_gpu_factory(), fake_gpu_factory(name="NVIDIA Fake L4")
    broken.failures["pcie"] = RuntimeError("the driver returned garbage")
    fake = fake_pynvml_factory([healthy, broken])
    with Sampler(rate_hz=100.0, nvml=open_nvml(fake)) as sampler:
        _samples_until(sampler, lambda _: sampler.slow_field_errors >= 2)
        assert "the driver returned garbage" in caplog.text
        healthy.lost = True  # gpu:0 falls off the bus
        snapshot = _samples_until(sampler, lambda s: s.gpus[0].pcie_rx_bytes_per_second is None)
        assert sampler.running
    lost, other = snapshot.gpus
    assert lost.utilization_percent is None
    assert lost.slow_field_ages_seconds is not None  # read again: absent now, not stale
    assert "pcie_rx_bytes_per_second" in lost.slow_field_ages_seconds
    assert other.utilization_percent == 35
    assert other.pcie_rx_bytes_per_second is None  # its reads fail: no value, and no age
    assert "pcie_rx_bytes_per_second" not in (other.slow_field_ages_seconds or {})
    assert other.ecc_errors_corrected == 3
    assert sampler.errors == 0


def test_prometheus_export_has_slow_field_ages_and_the_power_limit(fake_pynvml: Any) -> None:
    with Sampler(rate_hz=100.0, nvml=open_nvml(fake_pynvml)) as sampler:
        snapshot = _samples_until(sampler, lambda s: s.gpus[0].power_limit_watts is not None)
    families = _parse(render(snapshot_families(snapshot, hostname="h")))
    assert families["DCGM_FI_DEV_ENFORCED_POWER_LIMIT"].samples[0].value == 400.0
    ages = families["ainos_gpu_slow_field_age_seconds"].samples
    assert "power_limit_watts" in {s.labels["field"] for s in ages}
    assert all(s.labels["gpu"] == "0" and s.value >= 0 for s in ages)
