"""Many clients at once on real threads: every job ends exactly once, with the right result."""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from concurrent.futures import Future
from typing import Any

import numpy as np

from ainos.errors import DeadlineExceeded, JobCancelled
from ainos.kernel.scheduler import (
    ArrayBatching,
    BatchingConfig,
    CancelToken,
    CpuExecutor,
    Job,
    PolicyConfig,
    Scheduler,
    new_job_id,
)
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority

Arrays = list[np.ndarray[Any, Any]]


def double(feeds: Any, token: CancelToken) -> Arrays:
    for _ in range(3):  # a little work, checking the token between steps
        token.raise_if_cancelled()
        time.sleep(0.0002)
    return [feeds["x"] * 2]


def test_concurrent_clients_cancels_and_deadlines() -> None:
    rng = random.Random(11)
    config = PolicyConfig(
        default_batching=BatchingConfig(max_batch_size=6, max_queue_delay=0.001),
        max_hold=0.002,
    )
    executor = CpuExecutor(slots=2, background_slots=1)
    deliveries: Counter[str] = Counter()
    expected: dict[str, np.ndarray[Any, Any]] = {}
    handles: dict[str, Future[Any]] = {}
    lock = threading.Lock()

    def delivered(job_id: str) -> None:
        with lock:
            deliveries[job_id] += 1

    with Scheduler([executor], config) as scheduler:

        def client(n: int) -> None:
            local = random.Random(n)
            for i in range(40):
                rows = local.randint(1, 5)
                x = np.full((rows, 3), n * 1000 + i, np.float32)
                spec = JobSpec(
                    job_id=new_job_id(),
                    priority=local.choice(list(Priority)),
                    client=ClientIdentity(name=f"client{n % 3}"),
                    batch_key=local.choice([None, "a", "b"]),
                    deadline_ms=local.choice([None, None, 1.0, 50.0]),
                )
                batching = ArrayBatching() if spec.batch_key or local.random() < 0.5 else None
                job = Job(
                    spec=spec,
                    work=double if batching else (lambda f, t: double(f, t)[0][:, :1] * 0 + 7),
                    inputs={"x": x},
                    batching=batching,
                    abortable=True,
                )
                handle = scheduler.submit(job)
                handle.future.add_done_callback(lambda _f, job_id=spec.job_id: delivered(job_id))
                with lock:
                    handles[spec.job_id] = handle.future
                    expected[spec.job_id] = x * 2 if batching else np.full((rows, 1), 7.0)
                if local.random() < 0.15:
                    scheduler.cancel(spec.job_id)

        def canceller() -> None:
            for _ in range(30):
                time.sleep(0.002)
                with lock:
                    victim = rng.choice(list(handles)) if handles else None
                if victim is not None:
                    scheduler.cancel(victim)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
        threads.append(threading.Thread(target=canceller))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        outcomes: Counter[str] = Counter()
        for job_id, future in handles.items():
            error = future.exception(timeout=30)
            if error is None:
                result = future.result()
                value = result[0] if isinstance(result, list) else result
                np.testing.assert_array_equal(value, expected[job_id])
                outcomes["completed"] += 1
            elif isinstance(error, DeadlineExceeded):
                outcomes["deadline"] += 1
            else:
                assert isinstance(error, JobCancelled), error
                outcomes["cancelled"] += 1
        stats = scheduler.stats()

    assert len(handles) == 240
    assert set(deliveries.values()) == {1}  # every job delivered, and only once
    assert len(deliveries) == 240
    classes = stats.classes.values()
    assert sum(c.submitted_total for c in classes) == 240
    assert sum(c.completed_total for c in classes) == outcomes["completed"]
    assert sum(c.cancelled_total for c in classes) == outcomes["cancelled"]
    assert sum(c.deadline_misses_total for c in classes) == outcomes["deadline"]
    assert stats.queued == stats.running == 0
    assert outcomes["completed"] > 0
