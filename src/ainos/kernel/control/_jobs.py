"""Jobs submitted through the control plane: their records, outcomes and notifications.

The scheduler resolves a future per job; this table turns that into what a client can ask
for later (``job_status``, ``job_result``) or be told (``job_event``), and remembers a
bounded number of finished jobs.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ainos.errors import DeadlineExceeded, JobCancelled, JobFailed, NotFound
from ainos.kernel.control._session import Session
from ainos.protocol.control import JobInfo
from ainos.protocol.scheduler import JobState

FINISHED_JOBS_KEPT = 4096


@dataclass(eq=False)
class JobRecord:
    info: JobInfo
    session: Session
    notify: bool
    done: threading.Event = field(default_factory=threading.Event)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def _state_for(error: BaseException) -> JobState:
    if isinstance(error, DeadlineExceeded):
        return JobState.DEADLINE_EXCEEDED
    if isinstance(error, JobCancelled):
        return JobState.CANCELLED
    return JobState.FAILED


class JobTable:
    def __init__(self, keep_finished: int = FINISHED_JOBS_KEPT) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, JobRecord] = {}
        self._finished: deque[str] = deque()
        self._keep = keep_finished

    def add(self, info: JobInfo, session: Session, notify: bool) -> JobRecord:
        record = JobRecord(info, session, notify)
        with self._lock:
            self._records[info.job_id] = record
            session.jobs.add(info.job_id)
        return record

    def discard(self, record: JobRecord) -> None:
        """Forget a job the scheduler refused."""
        with self._lock:
            self._records.pop(record.info.job_id, None)
            record.session.jobs.discard(record.info.job_id)

    def get(self, job_id: str) -> JobRecord:
        with self._lock:
            record = self._records.get(job_id)
        if record is None:
            raise NotFound(f"no job {job_id}")
        return record

    def unfinished(self) -> list[JobRecord]:
        with self._lock:
            return [r for r in self._records.values() if not r.done.is_set()]

    def finish(self, job_id: str, future: Future[Any]) -> None:
        """Record the outcome the scheduler resolved, wake waiters, tell the submitter."""
        error = future.exception()
        update: dict[str, Any]
        if error is None:
            try:
                update = {"state": JobState.COMPLETED, "result": _jsonable(future.result())}
            except RecursionError:
                # Still an outcome: a record never finished would leave its waiters hanging.
                error = JobFailed("the job's result is nested too deeply to be sent")
        if error is not None:
            update = {
                "state": _state_for(error),
                "error": str(error),
                "error_type": type(error).__name__,
            }
        with self._lock:
            record = self._records.get(job_id)
            if record is None:
                return
            record.info = record.info.model_copy(update={**update, "finished_at": time.time()})
            record.session.jobs.discard(job_id)
            self._finished.append(job_id)
            while len(self._finished) > self._keep:
                self._records.pop(self._finished.popleft(), None)
        record.done.set()
        notify = record.session.notify
        if record.notify and notify is not None:
            # A client that went away cannot be told; its session closes on its own.
            with contextlib.suppress(OSError):
                notify("job_event", record.info.model_dump(mode="json"))
