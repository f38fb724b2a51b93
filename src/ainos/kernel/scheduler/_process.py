"""Worker processes for background work.

A background worker process runs at ``SCHED_IDLE`` (or nice 19) as a whole, engine threads
included, and holds no lock (the GIL among them) that the scheduler's own threads need. The
parent keeps one thread per process that ships it prepared work and waits for the outputs;
tripping the run's token sends an abort the child passes on to the work's token.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Sequence
from multiprocessing.connection import Connection
from typing import Any

from ainos.errors import SchedulerError

from ._executor import BatchRun, RunReport
from ._os import apply_priority
from ._token import AbortReason, CancelToken, RunAborted

__all__ = ["ProcessWorker"]


class ProcessWorker:
    """One child process, fed by one parent thread at a time."""

    def __init__(self, name: str, priority: str, affinity: Sequence[int] | None) -> None:
        self._name = name
        self._priority = priority
        self._affinity = None if affinity is None else list(affinity)
        self._process: multiprocessing.process.BaseProcess | None = None
        self._jobs: Connection | None = None
        self._control: Connection | None = None
        self._control_lock = threading.Lock()
        self.note: str | None = None  # what the child got from the OS, or why not
        self.granted = False

    def start(self) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded parent
        jobs, child_jobs = context.Pipe()
        control, child_control = context.Pipe()
        process = context.Process(
            target=_child_main,
            args=(child_jobs, child_control, self._priority, self._affinity),
            name=self._name,
            daemon=True,
        )
        process.start()
        child_jobs.close()
        child_control.close()
        self._process, self._jobs, self._control = process, jobs, control
        kind, status = jobs.recv()
        if kind != "ready":
            raise SchedulerError(f"worker process {self._name} did not start: {status}")
        self.note, self.granted = status

    def run(self, run: BatchRun) -> RunReport:
        """Ship one batch to the child and wait (on the calling thread) for the outcome."""
        batch_id = run.dispatch.batch_id
        if self._jobs is None or self._process is None or not self._process.is_alive():
            self.stop()
            self.start()
        assert self._jobs is not None
        start = time.monotonic()
        try:
            work, inputs = run.prepare()
            self._jobs.send(("run", batch_id, work, inputs))
        except Exception as error:  # unpicklable work or inputs: the job's fault, not ours
            return RunReport(batch_id, None, error, time.monotonic() - start)
        unregister = run.token.on_cancel(lambda: self._abort(batch_id))
        try:
            kind, _, payload, seconds = self._jobs.recv()
        except (EOFError, OSError):
            self._jobs = None
            died = SchedulerError(f"worker process {self._name} died during batch {batch_id}")
            return RunReport(batch_id, None, died, time.monotonic() - start)
        finally:
            unregister()
        if kind == "ok":
            try:
                return RunReport(batch_id, run.finish(payload), None, seconds)
            except Exception as error:
                return RunReport(batch_id, None, error, seconds)
        failure = RunAborted(str(run.token.reason)) if kind == "aborted" else payload
        return RunReport(batch_id, None, failure, seconds)

    def stop(self) -> None:
        if self._jobs is not None:
            with contextlib.suppress(OSError):  # already gone
                self._jobs.send(None)
        if self._process is not None:
            self._process.join(5)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        for conn in (self._jobs, self._control):
            if conn is not None:
                conn.close()
        self._process = self._jobs = self._control = None

    def _abort(self, batch_id: int) -> None:
        with self._control_lock:
            if self._control is not None:
                with contextlib.suppress(OSError):  # the child is gone: its run is over
                    self._control.send(("abort", batch_id))


def _child_main(
    jobs: Connection, control: Connection, priority: str, affinity: list[int] | None
) -> None:
    """The worker process: lower itself, then run what it is sent until told to stop."""
    notes = []
    ok = True
    if affinity is not None:
        try:
            os.sched_setaffinity(0, affinity)
        except OSError as error:
            notes.append(f"affinity {affinity} not applied: {error}")
            ok = False
    note, applied = apply_priority(priority, "background processes")
    notes.append(note)
    jobs.send(("ready", ("; ".join(notes), ok and applied)))
    lock = threading.Lock()
    current: list[tuple[int, CancelToken]] = []
    early: set[int] = set()  # aborts that came before their batch

    def listen() -> None:
        while True:
            try:
                _, batch_id = control.recv()
            except (EOFError, OSError):
                return
            with lock:
                if current and current[0][0] == batch_id:
                    current[0][1].cancel(AbortReason.PREEMPTED)
                else:
                    early.add(batch_id)

    threading.Thread(target=listen, daemon=True).start()
    while (message := jobs.recv()) is not None:
        _, batch_id, work, inputs = message
        token = CancelToken()
        with lock:
            current[:] = [(batch_id, token)]
            if batch_id in early:
                token.cancel(AbortReason.PREEMPTED)
            early.difference_update({i for i in early if i <= batch_id})
        start = time.monotonic()
        try:
            outputs = work(inputs, token)
        except Exception as error:
            kind = "aborted" if token.cancelled else "error"
            jobs.send((kind, batch_id, _picklable(error), time.monotonic() - start))
        else:
            seconds = time.monotonic() - start
            try:
                jobs.send(("ok", batch_id, outputs, seconds))
            except (pickle.PicklingError, TypeError, AttributeError) as error:
                jobs.send(("error", batch_id, _picklable(error), seconds))
        with lock:
            current.clear()


def _picklable(error: Exception) -> Any:
    try:
        pickle.dumps(error)
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error
