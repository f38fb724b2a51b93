"""The statistics snapshot and its Prometheus rendering."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ainos.errors import QueueFull
from ainos.kernel.scheduler import ExecutorSlots, PolicyConfig, SchedulingPolicy, render_prometheus
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority, SchedulerStats


def _busy_policy() -> SchedulingPolicy:
    p = SchedulingPolicy([ExecutorSlots("cpu:0")], PolicyConfig(max_queued={Priority.IDLE: 0}))
    now = 0.0
    for i in range(5):
        p.submit(
            JobSpec(
                job_id=f"b{i}",
                priority=Priority.BATCH,
                client=ClientIdentity(name='odd "client"\n'),
                batch_key="k",
                rows=2,
            ),
            now,
        )
    p.submit(JobSpec(job_id="r", priority=Priority.REALTIME, deadline_ms=1), now)
    for _ in range(2):
        [d] = p.schedule(now).dispatches
        now += 0.01
        p.on_complete(d.batch_id, now)
    p.submit(JobSpec(job_id="late", priority=Priority.REALTIME, deadline_ms=1), now)
    p.schedule(now + 1)
    with pytest.raises(QueueFull):
        p.submit(JobSpec(job_id="i", priority=Priority.IDLE), now)
    return p


def test_snapshot_counts_per_class_and_client() -> None:
    stats = _busy_policy().stats(2.0)
    batch = stats.classes[Priority.BATCH]
    assert batch.completed_total == 5
    assert batch.batch_sizes == {10: 1}
    assert batch.wait.count == 5
    assert batch.wait.p99_ms is not None
    assert stats.classes[Priority.REALTIME].deadline_misses_total == 1
    assert stats.classes[Priority.IDLE].rejected_total == 1
    assert stats.clients['odd "client"\n'].completed_total == 5
    assert stats.scheduled_tasks == 6
    assert stats.average_latency_ms is not None
    assert SchedulerStats.model_validate_json(stats.to_json()) == stats


def test_prometheus_text_parses_and_is_well_formed() -> None:
    text = render_prometheus(_busy_policy().stats(2.0))
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert all(name.startswith("ainos_scheduler_") for name in families)
    for family in families.values():
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples)
    completed = families["ainos_scheduler_class_jobs_completed"]
    assert {s.labels["class"]: s.value for s in completed.samples}["batch"] == 5
    histogram = families["ainos_scheduler_class_batch_size"]
    buckets = [s for s in histogram.samples if s.name.endswith("_bucket")]
    batch = [s.value for s in buckets if s.labels["class"] == "batch"]
    assert batch == sorted(batch)
    assert batch[-1] == 1
    summary = families["ainos_scheduler_class_wait_seconds"]
    assert {s.labels.get("quantile") for s in summary.samples} >= {"0.5", "0.95", "0.99"}
    assert any(s.name.endswith("_count") for s in summary.samples)
    clients = families["ainos_scheduler_client_jobs_completed"]
    assert sorted(s.labels["client"] for s in clients.samples) == ["anonymous", 'odd "client"\n']
    assert families["ainos_scheduler_scheduled_tasks"].samples[0].value == 6


def test_statistics_keep_a_bounded_number_of_clients() -> None:
    from ainos.kernel.scheduler._stats import MAX_CLIENTS

    policy = SchedulingPolicy([ExecutorSlots("cpu:0")])
    for index in range(MAX_CLIENTS + 10):
        spec = JobSpec(job_id=f"j{index}", client=ClientIdentity(name=f"client{index}"))
        policy.submit(spec, 0.0)
        policy.cancel(spec.job_id, 0.0)
    clients = policy.stats(0.0).clients
    assert len(clients) == MAX_CLIENTS
    assert "client0" not in clients
    assert f"client{MAX_CLIENTS + 9}" in clients
