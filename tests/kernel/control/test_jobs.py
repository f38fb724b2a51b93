"""The control plane's table of jobs: outcomes recorded once, waiters woken."""

from __future__ import annotations

from concurrent.futures import Future
from typing import Any

import numpy as np

from ainos.kernel.control._jobs import JobTable
from ainos.kernel.control._session import Session
from ainos.protocol.control import JobInfo, PeerCredentials
from ainos.protocol.scheduler import JobState, Priority


def _job(table: JobTable, job_id: str) -> tuple[Session, Any]:
    session = Session(1, PeerCredentials(pid=1, uid=0, gid=0))
    info = JobInfo(job_id=job_id, op="x", priority=Priority.BATCH, state=JobState.QUEUED,
                   submitted_at=0.0)  # fmt: skip
    return session, table.add(info, session, notify=False)


def _resolved(value: object) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_result(value)
    return future


def test_a_result_is_recorded_as_json() -> None:
    table = JobTable()
    session, record = _job(table, "a")
    table.finish("a", _resolved({"v": np.arange(3, dtype=np.float32)}))
    assert record.done.is_set()
    assert record.info.state is JobState.COMPLETED
    assert record.info.result == {"v": [0.0, 1.0, 2.0]}
    assert session.jobs == set()


def test_a_result_too_deep_to_send_fails_the_job_instead_of_leaving_it_running() -> None:
    table = JobTable()
    _, record = _job(table, "deep")
    nested: list[Any] = []
    for _ in range(100_000):
        nested = [nested]
    table.finish("deep", _resolved(nested))
    assert record.done.is_set()  # its waiters wake
    assert record.info.state is JobState.FAILED
    assert record.info.error_type == "JobFailed"
    assert "nested too deeply" in (record.info.error or "")
