"""Embeddings through the scheduler: the service against the model run directly."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ainos.ai.ml import (
    EmbeddingLimits,
    EmbeddingModel,
    EmbeddingService,
    ModelCatalog,
    bucket_length,
    physical_cores,
)
from ainos.ai.ml._embedding_runs import run_layout
from ainos.ai.ml._embeddings import MAX_TEXTS_PER_REQUEST
from ainos.errors import DeadlineExceeded, InvalidArgument, ModelNotFound, QueueFull
from ainos.kernel.scheduler import CancelToken, CpuExecutor, Job, Scheduler, new_job_id
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority

MODEL = "all-minilm-l6-v2"
TEXTS = [
    "The scheduler runs realtime work first.",
    "Pinned memory crosses process boundaries without copies.",
    "short",
    "Embeddings of the same text must not depend on what else is in the batch.",
]


@pytest.fixture
def scheduler() -> Iterator[Scheduler]:
    with Scheduler([CpuExecutor("cpu:0")]) as running:
        yield running


@pytest.fixture
def service(scheduler: Scheduler, cache_copy: Path) -> EmbeddingService:
    return EmbeddingService(scheduler, ModelCatalog())


def test_buckets_are_powers_of_two_within_the_window() -> None:
    assert [bucket_length(n, 256) for n in (1, 8, 9, 16, 100, 256, 300)] == [
        8,
        8,
        16,
        16,
        128,
        256,
        256,
    ]


def test_vectors_match_the_model_run_directly(
    service: EmbeddingService, fp32_model: EmbeddingModel
) -> None:
    result = service.embed(MODEL, TEXTS)
    expected = fp32_model.embed(TEXTS)
    np.testing.assert_allclose(result.vectors, expected, atol=1e-5)
    assert result.token_counts == fp32_model.tokenizer.count_tokens(TEXTS)
    assert result.queue_position == 0


def test_concurrent_requests_are_merged_and_answered_alike(
    service: EmbeddingService, fp32_model: EmbeddingModel
) -> None:
    service.load(MODEL)
    expected = fp32_model.embed(TEXTS)
    results: dict[int, np.ndarray] = {}
    start = threading.Barrier(len(TEXTS) * 4)

    def client(index: int) -> None:
        start.wait(30)
        text = TEXTS[index % len(TEXTS)]
        identity = ClientIdentity(name=f"client-{index}")
        results[index] = service.embed(MODEL, [text], client=identity).vectors[0]

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(TEXTS) * 4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    for index, vector in results.items():
        np.testing.assert_allclose(vector, expected[index % len(TEXTS)], atol=1e-5)
    assert len(results) == len(threads)
    families = {f.name: f for f in service.metrics.families()}
    batches = families["ainos_model_batch_size"].samples
    count = next(s.value for s in batches if s.suffix == "_count")
    rows = next(s.value for s in batches if s.suffix == "_sum")
    assert rows >= len(threads)  # every request's rows ran (some merged, if the device was busy)
    assert count <= rows


def test_a_long_text_is_truncated_like_the_reference(
    service: EmbeddingService, fp32_model: EmbeddingModel
) -> None:
    long_text = "word " * 600
    result = service.embed(MODEL, [long_text])
    assert result.token_counts == [256]
    truncated = fp32_model.tokenizer.tokenize([long_text])[0]
    np.testing.assert_allclose(
        result.vectors[0], fp32_model.run(fp32_model.tokenizer.collate([truncated]))[0], atol=1e-5
    )


def test_a_past_deadline_fails_and_the_model_stays_usable(service: EmbeddingService) -> None:
    service.load(MODEL)
    many = ["a sentence that takes the model some time to encode, " * 20] * 256
    with pytest.raises(DeadlineExceeded):
        service.embed(MODEL, many, deadline_ms=1, priority=Priority.BATCH)
    assert service.embed(MODEL, ["still works"]).vectors.shape == (1, 384)


def test_a_full_queue_is_refused(scheduler: Scheduler, cache_copy: Path) -> None:
    service = EmbeddingService(
        scheduler, ModelCatalog(), limits=EmbeddingLimits(max_concurrent=1, max_waiting=0)
    )
    service.load(MODEL)
    gate_held = threading.Event()
    release = threading.Event()
    loaded = service._get(MODEL, autoload=False)

    def hold() -> None:
        with loaded.gate.admitted("holder"):
            gate_held.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    assert gate_held.wait(30)
    try:
        with pytest.raises(QueueFull):
            service.embed(MODEL, ["refused"])
    finally:
        release.set()
        holder.join(30)
    assert service.embed(MODEL, ["admitted"]).vectors.shape == (1, 384)
    families = {f.name: f for f in service.metrics.families()}
    outcomes = {
        s.labels["outcome"]: s.value for s in families["ainos_model_requests_total"].samples
    }
    assert outcomes == {"ok": 1, "rejected": 1}


def test_bad_requests(service: EmbeddingService) -> None:
    with pytest.raises(InvalidArgument):
        service.embed(MODEL, [])
    with pytest.raises(InvalidArgument):
        service.embed(MODEL, "a bare string")  # type: ignore[arg-type]
    with pytest.raises(ModelNotFound):
        service.embed("no-such-model", ["x"])
    with pytest.raises(ModelNotFound):
        service.embed(MODEL, ["x"], autoload=False)
    assert not service.unload(MODEL)


def test_load_and_unload(service: EmbeddingService) -> None:
    loaded = service.load(MODEL)
    assert loaded.variant == "cpu-fp32"
    assert loaded.providers == ["CPUExecutionProvider"]
    assert [m.alias for m in service.loaded()] == [MODEL]
    assert service.unload(MODEL)
    assert service.loaded() == []


def _runs_by_cores(service: EmbeddingService) -> dict[str, float]:
    families = {f.name: f for f in service.metrics.families()}
    return {s.labels["cores"]: s.value for s in families["ainos_model_runs_total"].samples}


def test_a_loaded_model_runs_on_its_own_executor_with_a_slot_per_core(
    service: EmbeddingService, scheduler: Scheduler
) -> None:
    service.load(MODEL)
    name = service.executor(MODEL)
    assert name == f"onnx:{MODEL}"
    executors = {e.name: e for e in scheduler.stats().executors}
    layout = run_layout(["CPUExecutionProvider"], physical_cores())
    assert executors[name].slots == layout.slots
    assert service.unload(MODEL)
    assert name not in {e.name for e in scheduler.stats().executors}
    service.load(MODEL)  # and back: the executor's name is free again
    assert service.executor(MODEL) == name


def test_batch_class_requests_compute_on_one_low_priority_thread(
    service: EmbeddingService, fp32_model: EmbeddingModel
) -> None:
    text = TEXTS[:1]  # one length bucket: one job, one run
    result = service.embed(MODEL, text, priority=Priority.BATCH)
    np.testing.assert_allclose(result.vectors, fp32_model.embed(text), atol=1e-5)
    side_by_side = run_layout(["CPUExecutionProvider"], physical_cores()).side_by_side
    assert _runs_by_cores(service) == ({"one": 1.0} if side_by_side else {"all": 1.0})
    service.embed(MODEL, text)  # interactive and alone: on every core
    assert _runs_by_cores(service)["all"] == (1.0 if side_by_side else 2.0)


def test_a_model_with_requests_in_flight_is_not_unloaded(service: EmbeddingService) -> None:
    service.load(MODEL)
    texts = [f"{TEXTS[0]} {i}" for i in range(MAX_TEXTS_PER_REQUEST)]  # a few seconds of work
    worker = threading.Thread(target=service.embed, args=(MODEL, texts))
    worker.start()
    try:
        deadline = time.monotonic() + 30
        while service.loaded()[0].requests_in_flight == 0:
            assert time.monotonic() < deadline, "the request never started"
            time.sleep(0.001)
        with pytest.raises(InvalidArgument, match="requests in flight"):
            service.unload(MODEL)
    finally:
        worker.join(60)
    assert service.unload(MODEL)


def test_jobs_submitted_past_the_gate_also_keep_a_model_loaded(
    service: EmbeddingService, scheduler: Scheduler
) -> None:
    """The control plane submits prepared work itself; unloading waits for that too."""
    prepared = service.prepare(MODEL, TEXTS[:1])
    started, release = threading.Event(), threading.Event()

    def held_run(feeds: Any, token: CancelToken) -> Any:
        started.set()
        assert release.wait(30)
        return prepared.work(feeds, token)

    spec = JobSpec(
        job_id=new_job_id(),
        priority=Priority.INTERACTIVE,
        client=ClientIdentity(name="control-plane"),
        device=prepared.device,
        batch_key=prepared.key,
    )
    handle = scheduler.submit(
        Job(spec=spec, work=held_run, inputs=prepared.feeds, batching=prepared.batching)
    )
    assert started.wait(30)
    with pytest.raises(InvalidArgument, match="still has jobs"):
        service.unload(MODEL)
    assert service.is_loaded(MODEL)
    release.set()
    handle.result(30)
    assert service.unload(MODEL)
