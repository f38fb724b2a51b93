"""Background work in worker processes: results, aborts, and what cannot be shipped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ainos.errors import DeadlineExceeded, JobFailed
from ainos.kernel.scheduler import (
    CpuExecutor,
    OnnxModelFile,
    OnnxRun,
    PolicyConfig,
    Scheduler,
    new_job_id,
)
from ainos.protocol.scheduler import JobSpec, Priority

pytestmark = pytest.mark.slow  # starts a worker process


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory, heavy_model: bytes) -> Path:
    path = tmp_path_factory.mktemp("models") / "mlp.onnx"
    path.write_bytes(heavy_model)
    return path


@pytest.fixture(scope="module")
def lane() -> Iterator[tuple[Scheduler, CpuExecutor]]:
    executor = CpuExecutor(background_slots=1, background_processes=True)
    with Scheduler([executor], PolicyConfig()) as scheduler:
        yield scheduler, executor


def _feeds(rows: int, seed: int) -> dict[str, np.ndarray[Any, Any]]:
    rng = np.random.default_rng(seed)
    return {"x": rng.standard_normal((rows, 16, 512)).astype(np.float32)}


def _spec(**fields: Any) -> JobSpec:
    return JobSpec(job_id=new_job_id(), priority=Priority.BATCH, **fields)


def test_batch_work_runs_in_a_lowered_worker_process(
    lane: tuple[Scheduler, CpuExecutor], model_file: Path
) -> None:
    scheduler, executor = lane
    x = _feeds(3, seed=1)
    run = OnnxRun(OnnxModelFile(str(model_file)))
    [out] = scheduler.submit(run.job(_spec(), x)).result(60)
    [expected] = OnnxModelFile(str(model_file)).open().run(None, x)
    np.testing.assert_allclose(out, expected, rtol=1e-4, atol=1e-4)
    note = executor.os_priority or ""
    assert note == "background processes: idle" or "not permitted" in note


def test_a_deadline_aborts_the_run_in_the_worker_which_stays_usable(
    lane: tuple[Scheduler, CpuExecutor], model_file: Path
) -> None:
    scheduler, _ = lane
    run = OnnxRun(OnnxModelFile(str(model_file)))
    scheduler.submit(run.job(_spec(), _feeds(1, seed=2))).result(60)  # session open
    late = scheduler.submit(run.job(_spec(deadline_ms=60), _feeds(256, seed=2)))
    with pytest.raises(DeadlineExceeded):
        late.result(60)
    x = _feeds(2, seed=4)
    [out] = scheduler.submit(run.job(_spec(), x)).result(60)
    np.testing.assert_allclose(
        out, OnnxModelFile(str(model_file)).open().run(None, x)[0], rtol=1e-4, atol=1e-4
    )
    batch = scheduler.stats().classes[Priority.BATCH]
    assert batch.deadline_misses_total == 1
    assert batch.failed_total == 0  # the aborted run was not a failure


def test_work_on_a_live_session_cannot_be_shipped(
    lane: tuple[Scheduler, CpuExecutor], model_file: Path
) -> None:
    scheduler, _ = lane
    live = OnnxModelFile(str(model_file), intra_op_threads=1).open()
    handle = scheduler.submit(OnnxRun(live).job(_spec(), _feeds(1, seed=5)))
    with pytest.raises(JobFailed, match="OnnxModelFile"):
        handle.result(60)


def test_tripping_the_token_aborts_the_run_in_the_child(model_file: Path) -> None:
    from ainos.kernel.scheduler import (
        AbortReason,
        BatchRun,
        CancelToken,
        Dispatch,
        Lane,
        RunAborted,
        Slice,
    )
    from ainos.kernel.scheduler._process import ProcessWorker

    worker = ProcessWorker("test-worker", "normal", None)
    worker.start()
    try:
        work = OnnxRun(OnnxModelFile(str(model_file)))
        dispatch = Dispatch(
            batch_id=7,
            executor="cpu:0",
            lane=Lane.BACKGROUND,
            priority=Priority.BATCH,
            batch_key=None,
            slices=(Slice("j", 0, 1, 1),),
            preemptible=True,
        )

        def batch(token: CancelToken, rows: int) -> BatchRun:
            return BatchRun(dispatch, token, lambda: (work, _feeds(rows, 6)), lambda out: [out])

        warm = worker.run(batch(CancelToken(), 1))  # opens the session in the child
        assert warm.error is None
        token = CancelToken()
        token.cancel(AbortReason.PREEMPTED)  # the abort reaches the child with the batch
        report = worker.run(batch(token, 256))
        assert isinstance(report.error, RunAborted)
        again = worker.run(batch(CancelToken(), 1))
        assert again.error is None
        assert again.outputs is not None
    finally:
        worker.stop()
