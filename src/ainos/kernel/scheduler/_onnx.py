"""ONNX Runtime as schedulable work: a run the scheduler can abort (``RunOptions.terminate``)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import onnxruntime as ort

from ainos.protocol.scheduler import JobSpec

from ._token import CancelToken, RunAborted
from ._work import ArrayBatching, Feeds, Job

__all__ = ["OnnxModelFile", "OnnxRun", "SessionLike", "session_options"]

Outputs = list[np.ndarray[Any, Any]]


class SessionLike(Protocol):
    """What :class:`OnnxRun` needs of an ``onnxruntime.InferenceSession``."""

    def run(
        self, output_names: Sequence[str] | None, input_feed: Feeds, run_options: Any = None
    ) -> Sequence[Any]: ...


def session_options(*, intra_op_threads: int | None = None, spinning: bool = False) -> Any:
    """Session options for a shared machine: no intra-op spin-waiting by default.

    An idle spinning pool burns about a third of a core, and a second spinning session slowed
    the batch client by 30 % in measurements; without spinning a run pays a thread wake-up.
    """
    options = ort.SessionOptions()
    flag = "1" if spinning else "0"
    options.add_session_config_entry("session.intra_op.allow_spinning", flag)
    options.add_session_config_entry("session.inter_op.allow_spinning", flag)
    if intra_op_threads is not None:
        options.intra_op_num_threads = intra_op_threads
    return options


@dataclass(frozen=True)
class OnnxModelFile:
    """A model on disk and how to open it: the picklable stand-in for a session, opened once
    per process on first use (so work on it can run in a worker process)."""

    path: str
    intra_op_threads: int | None = None
    spinning: bool = False
    providers: tuple[str, ...] = ("CPUExecutionProvider",)

    def open(self) -> SessionLike:
        with _OPEN_LOCK:
            session = _OPEN.get(self)
            if session is None:
                options = session_options(
                    intra_op_threads=self.intra_op_threads, spinning=self.spinning
                )
                session = ort.InferenceSession(self.path, options, providers=list(self.providers))
                _OPEN[self] = session
            return session


_OPEN: dict[OnnxModelFile, SessionLike] = {}
_OPEN_LOCK = threading.Lock()


class OnnxRun:
    """Runs a session on feeds; tripping the token sets ``terminate`` on the run in flight.

    ``model`` is a live session, or an :class:`OnnxModelFile` (opened on first use in the
    process that runs it; only then does the run pickle).
    """

    abortable = True

    def __init__(
        self,
        model: SessionLike | OnnxModelFile,
        output_names: Sequence[str] | None = None,
    ) -> None:
        self._model = model
        self._output_names = None if output_names is None else list(output_names)

    def __getstate__(self) -> dict[str, Any]:
        if not isinstance(self._model, OnnxModelFile):
            raise TypeError("a run on a live session stays in its process; use OnnxModelFile")
        return dict(self.__dict__)

    def __call__(self, feeds: Feeds, token: CancelToken) -> Outputs:
        model = self._model
        session = model.open() if isinstance(model, OnnxModelFile) else model
        options = ort.RunOptions()

        def terminate() -> None:
            options.terminate = True

        unregister = token.on_cancel(terminate)
        try:
            token.raise_if_cancelled()
            return list(session.run(self._output_names, feeds, options))
        except RunAborted:
            raise
        except Exception as error:
            if token.cancelled:  # ONNX Runtime's "Exiting due to terminate flag" error
                raise RunAborted(str(token.reason)) from error
            raise
        finally:
            unregister()

    def job(self, spec: JobSpec, feeds: Feeds) -> Job[Feeds, Outputs]:
        """A job of this run on ``feeds``, batchable and cuttable along axis 0."""
        return Job(spec=spec, work=self, inputs=feeds, batching=ArrayBatching(), abortable=True)
