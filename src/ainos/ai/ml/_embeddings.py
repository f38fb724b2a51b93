"""Embeddings served through the system layer's scheduler.

A request is tokenised here, padded to a length bucket (a power of two), and submitted as one
scheduler job whose rows are its texts, to the model's own executor (``onnx:<alias>``, a
slot per core; see ``_embedding_runs``). Jobs of the same model and bucket share a batching
key, so the scheduler merges concurrent requests into one session run and splits the
result; a request never waits to fill a batch on an idle device. Runs can be aborted
(``RunOptions.terminate``) for a deadline or to make way for realtime work.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ainos.ai.ml._bert_graph import SENTENCE_EMBEDDING
from ainos.ai.ml._catalog import EMBEDDING_VARIANTS, CatalogEntry, ModelCatalog
from ainos.ai.ml._convert import convert_sentence_encoder
from ainos.ai.ml._embedding import EmbeddingModel
from ainos.ai.ml._embedding_runs import EmbeddingRun, run_layout
from ainos.ai.ml._gate import GateStats, ModelGate
from ainos.ai.ml._model_metrics import ModelMetrics
from ainos.ai.ml._outcome import request_outcome
from ainos.ai.ml._tokenize import EmbeddingTokenizer
from ainos.errors import (
    InvalidArgument,
    ModelNotFound,
)
from ainos.kernel.scheduler import (
    ArrayBatching,
    CpuExecutor,
    Feeds,
    Job,
    JobHandle,
    OnnxRun,
    Scheduler,
    caller_runs,
    new_job_id,
)
from ainos.protocol import LoadedModel, ModelFormat, ModelTask
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority

__all__ = [
    "EmbeddingLimits",
    "EmbeddingRequest",
    "EmbeddingResult",
    "EmbeddingService",
    "PreparedEmbedding",
    "bucket_length",
    "check_texts",
    "embedding_request",
]

Progress = Callable[[str, float], None]
_MIN_BUCKET = 8
EXECUTOR_PREFIX = "onnx:"  # + the model's alias: the executor running its batches
MAX_TEXTS_PER_REQUEST = 2048
MAX_TOKENS_PER_REQUEST = 300_000  # OpenAI's bound too: a request's cost stays bounded


def check_texts(texts: object) -> Sequence[str]:
    """What one request may hold, 1 to MAX_TEXTS_PER_REQUEST non-empty strings; returned as
    such. The one check of a request's texts, whichever door it came in by."""
    if isinstance(texts, str) or not isinstance(texts, Sequence) or not texts:
        raise InvalidArgument("input must be a non-empty list of texts")
    if len(texts) > MAX_TEXTS_PER_REQUEST:
        raise InvalidArgument(
            f"input has {len(texts)} texts; at most {MAX_TEXTS_PER_REQUEST} per request"
        )
    if any(not isinstance(text, str) for text in texts):
        raise InvalidArgument("input must be strings; token arrays are not accepted")
    if any(not text.strip() for text in texts):
        raise InvalidArgument("input must not contain empty strings")
    return texts


@dataclass(frozen=True)
class EmbeddingRequest:
    """One request, its texts checked (:func:`embedding_request`): what :meth:`EmbeddingService.run`
    and :meth:`~EmbeddingService.run_nowait` take."""

    alias: str
    texts: Sequence[str]
    client: ClientIdentity
    priority: Priority = Priority.INTERACTIVE
    deadline_ms: float | None = None


def embedding_request(
    alias: str,
    texts: object,
    *,
    client: ClientIdentity | None = None,
    priority: Priority = Priority.INTERACTIVE,
    deadline_ms: float | None = None,
) -> EmbeddingRequest:
    """A request for ``alias``'s embeddings of ``texts``, which are checked here, once."""
    return EmbeddingRequest(
        alias,
        check_texts(texts),
        client or ClientIdentity(name="anonymous"),
        priority,
        deadline_ms,
    )


def bucket_length(tokens: int, window: int) -> int:
    """The padded length for ``tokens``: the next power of two (at least 8), within the window."""
    length = _MIN_BUCKET
    while length < tokens:
        length *= 2
    return min(length, window)


@dataclass(frozen=True)
class EmbeddingLimits:
    max_concurrent: int = 64  # requests of one model in the scheduler at once
    max_waiting: int = 256  # more requests waiting their turn; beyond: QueueFull


@dataclass(frozen=True)
class EmbeddingResult:
    vectors: np.ndarray[Any, Any]  # [texts, dimension] float32
    token_counts: list[int]
    model: str
    queue_position: int  # place in line the request waited at (0: admitted at once)


@dataclass(frozen=True)
class PreparedEmbedding:
    work: EmbeddingRun
    device: str  # the model's executor
    feeds: Feeds
    batching: ArrayBatching
    key: str
    token_counts: list[int]


@dataclass
class _Loaded:
    entry: CatalogEntry
    variant: str
    model: EmbeddingModel
    run: EmbeddingRun
    executor: str
    input_names: tuple[str, ...]
    gate: ModelGate
    load_seconds: float


class EmbeddingService:
    def __init__(
        self,
        scheduler: Scheduler,
        catalog: ModelCatalog,
        *,
        limits: EmbeddingLimits | None = None,
        variant_chooser: Callable[[CatalogEntry, Progress | None], tuple[str, str]] | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._catalog = catalog
        self._limits = limits or EmbeddingLimits()
        self._choose = variant_chooser or (lambda _entry, _progress: ("cpu-fp32", "default"))
        self._loaded: dict[str, _Loaded] = {}
        self.metrics = ModelMetrics()
        self._lock = threading.Lock()
        self._loading = threading.Lock()  # one conversion or load at a time

    # -- loading ----------------------------------------------------------------------------

    def load(
        self, alias: str, *, variant: str | None = None, progress: Progress | None = None
    ) -> LoadedModel:
        with self._loading:
            with self._lock:
                if alias in self._loaded and variant in (None, self._loaded[alias].variant):
                    return self._describe(self._loaded[alias])
            entry = self._catalog.entry(alias)
            if entry.task is not ModelTask.EMBEDDING:
                raise InvalidArgument(f"model {alias!r} is a {entry.task} model, not embeddings")
            started = time.perf_counter()
            chosen = variant or self._choose(entry, progress)[0]
            model = self._open(entry, chosen, progress)
            self.unload(alias)  # another variant of it, loaded before
            run, executor = self._executor(alias, model)
            self._scheduler.add_executor(executor)
            input_names = tuple(i.name for i in model.session.get_inputs())
            loaded = _Loaded(
                entry,
                chosen,
                model,
                run,
                executor.slots.name,
                input_names,
                ModelGate(
                    alias,
                    max_concurrent=self._limits.max_concurrent,
                    max_waiting=self._limits.max_waiting,
                ),
                time.perf_counter() - started,
            )
            with self._lock:
                self._loaded[alias] = loaded
            return self._describe(loaded)

    def _executor(self, alias: str, model: EmbeddingModel) -> tuple[EmbeddingRun, CpuExecutor]:
        """The model's own executor, a slot per core, and the work that runs its batches."""
        layout = run_layout(model.providers, model.intra_op_threads)
        wide = OnnxRun(model.session, [SENTENCE_EMBEDDING])
        narrow = None
        if layout.side_by_side:
            narrow = OnnxRun(model.single_thread_session(), [SENTENCE_EMBEDDING])
        run = EmbeddingRun(
            wide, narrow, lambda rows, side_by_side: self.metrics.batch(alias, rows, side_by_side)
        )
        executor = CpuExecutor(
            f"{EXECUTOR_PREFIX}{alias}",
            slots=layout.slots,
            background_slots=layout.background_slots,
        )
        return run, executor

    def _open(self, entry: CatalogEntry, variant: str, progress: Progress | None) -> EmbeddingModel:
        if entry.format is ModelFormat.ONNX:
            assert entry.tokenizer is not None
            tokenizer = EmbeddingTokenizer(entry.tokenizer, entry.max_tokens or 512)
            return EmbeddingModel(entry.path, tokenizer)
        converter_variant = dict(EMBEDDING_VARIANTS).get(variant)
        if converter_variant is None:
            names = ", ".join(name for name, _ in EMBEDDING_VARIANTS)
            raise InvalidArgument(f"model {entry.alias!r} has no variant {variant!r} ({names})")
        converted = convert_sentence_encoder(
            entry.path,
            alias=entry.alias,
            variant=converter_variant,  # type: ignore[arg-type]
            progress=progress,
        )
        return EmbeddingModel.from_converted(converted)

    def unload(self, alias: str) -> bool:
        """Unload a model with no request in flight; False if it was not loaded."""
        with self._lock:
            loaded = self._loaded.get(alias)
            if loaded is None:
                return False
            busy = loaded.gate.stats()
            if busy.in_flight or busy.waiting:
                raise InvalidArgument(
                    f"model {alias!r} has {busy.in_flight + busy.waiting} requests in flight"
                )
            # Refused while jobs submitted past the gate (the control plane's) still run.
            self._scheduler.remove_executor(loaded.executor)
            del self._loaded[alias]
        return True

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return [self._describe(loaded) for loaded in self._loaded.values()]

    def is_loaded(self, alias: str) -> bool:
        with self._lock:
            return alias in self._loaded

    def gate_stats(self) -> dict[str, GateStats]:
        with self._lock:
            return {alias: loaded.gate.stats() for alias, loaded in self._loaded.items()}

    def queue_position(self, alias: str, client: str) -> int | None:
        with self._lock:
            loaded = self._loaded.get(alias)
        return loaded.gate.position(client) if loaded is not None else None

    def _describe(self, loaded: _Loaded) -> LoadedModel:
        gate = loaded.gate.stats()
        return LoadedModel(
            alias=loaded.entry.alias,
            variant=loaded.variant,
            task=ModelTask.EMBEDDING,
            providers=loaded.model.providers,
            load_seconds=loaded.load_seconds,
            requests_in_flight=gate.in_flight,
            requests_waiting=gate.waiting,
        )

    def _get(self, alias: str, autoload: bool) -> _Loaded:
        with self._lock:
            loaded = self._loaded.get(alias)
        if loaded is not None:
            return loaded
        if not autoload:
            raise ModelNotFound(f"model {alias!r} is not loaded")
        self.load(alias)
        with self._lock:
            return self._loaded[alias]

    # -- serving ----------------------------------------------------------------------------

    def tokenizer(self, alias: str) -> EmbeddingTokenizer:
        return self._get(alias, autoload=True).model.tokenizer

    def session(self, alias: str) -> Any:
        """The loaded model's ONNX Runtime session (for callers binding their own memory)."""
        return self._get(alias, autoload=True).model.session

    def executor(self, alias: str) -> str:
        """The name of the executor running the model's batches."""
        return self._get(alias, autoload=True).executor

    def dimension(self, alias: str) -> int:
        return self._get(alias, autoload=True).model.dimension

    def embed(
        self,
        alias: str,
        texts: Sequence[str],
        *,
        client: ClientIdentity | None = None,
        priority: Priority = Priority.INTERACTIVE,
        deadline_ms: float | None = None,
        autoload: bool = True,
    ) -> EmbeddingResult:
        request = embedding_request(
            alias, texts, client=client, priority=priority, deadline_ms=deadline_ms
        )
        return self.run(request, autoload=autoload)

    def run(
        self,
        request: EmbeddingRequest,
        *,
        autoload: bool = True,
        on_submitted: Callable[[Callable[[], object]], None] | None = None,
    ) -> EmbeddingResult:
        """``request``'s vectors, waiting its turn at the model's gate (and its load).
        ``on_submitted`` is given, once the jobs are in, what cancels them (from any thread:
        the request then raises ``JobCancelled``)."""
        loaded = self._get(request.alias, autoload)
        started = time.monotonic()
        deadline = request.deadline_ms
        timeout = deadline / 1000 if deadline is not None else None
        try:
            with loaded.gate.admitted(request.client.key, timeout) as position:
                admitted = time.monotonic()
                if deadline is not None:
                    deadline = max(1.0, deadline - (admitted - started) * 1000)
                # This thread would only wait: a batch its submit dispatches is run here.
                with caller_runs() as held:
                    handles, counts = self._submit(loaded, request, deadline)
                    if on_submitted is not None:
                        on_submitted(lambda: [handle.cancel() for _, handle in handles])
                    try:
                        held.run()
                        outputs = [handle.result() for _, handle in handles]
                    except BaseException:
                        for _, handle in handles:
                            handle.cancel()
                        raise
                vectors = self._gather(loaded, request, handles, outputs)
        except BaseException as error:
            self.metrics.request(request.alias, request_outcome(error))
            raise
        return self._result(loaded, request, vectors, counts, position, started, admitted)

    async def run_nowait(self, request: EmbeddingRequest) -> EmbeddingResult | None:
        """:meth:`run` from an event loop, without a thread: when the model is loaded and has
        room now, the request's jobs are submitted here and awaited. None when it would have
        to wait its turn (or load): the caller then runs :meth:`run` in a thread."""
        with self._lock:
            loaded = self._loaded.get(request.alias)
        if loaded is None or not loaded.gate.try_enter(request.client.key):
            return None
        started = time.monotonic()
        try:
            handles, counts = self._submit(loaded, request, request.deadline_ms)
            outputs = []
            for _, handle in handles:
                try:
                    outputs.append(await handle)
                except BaseException:
                    for _, other in handles:
                        other.cancel()
                    raise
            vectors = self._gather(loaded, request, handles, outputs)
        except BaseException as error:
            self.metrics.request(request.alias, request_outcome(error))
            raise
        finally:
            loaded.gate.leave(request.client.key)
        return self._result(loaded, request, vectors, counts, 0, started, started)

    @staticmethod
    def _gather(
        loaded: _Loaded,
        request: EmbeddingRequest,
        handles: Sequence[tuple[list[int], Any]],
        outputs: Sequence[list[np.ndarray[Any, Any]]],
    ) -> np.ndarray[Any, Any]:
        """The request's vectors in its texts' order, from its jobs' outputs."""
        vectors = np.empty((len(request.texts), loaded.model.dimension), dtype=np.float32)
        for (indices, _), output in zip(handles, outputs, strict=True):
            vectors[indices] = output[0]
        return vectors

    def _result(
        self,
        loaded: _Loaded,
        request: EmbeddingRequest,
        vectors: np.ndarray[Any, Any],
        counts: list[int],
        position: int,
        started: float,
        admitted: float,
    ) -> EmbeddingResult:
        finished = time.monotonic()
        self.metrics.request(
            request.alias, "ok", admitted - started, finished - admitted, sum(counts)
        )
        return EmbeddingResult(vectors, counts, request.alias, position)

    def prepare(self, alias: str, texts: object) -> PreparedEmbedding:
        """One job's worth of a request (checked here), padded to a single bucket: for callers
        that submit to the scheduler themselves (the control plane's ``embed`` operation)."""
        texts = check_texts(texts)
        loaded = self._get(alias, autoload=True)
        tokenizer = loaded.model.tokenizer
        encodings = tokenizer.tokenize(texts)
        counts = [len(encoding.ids) for encoding in encodings]
        length = bucket_length(max(counts), tokenizer.max_length)
        return PreparedEmbedding(
            loaded.run,
            loaded.executor,
            self._feeds(loaded, tokenizer, encodings, length),
            ArrayBatching(),
            self._key(loaded, length),
            counts,
        )

    @staticmethod
    def _key(loaded: _Loaded, length: int) -> str:
        """Jobs with equal keys are merged into one run: same model, variant and bucket."""
        return f"{loaded.entry.alias}:{loaded.variant}:{length}"

    def _submit(
        self, loaded: _Loaded, request: EmbeddingRequest, deadline_ms: float | None
    ) -> tuple[list[tuple[list[int], JobHandle[list[np.ndarray[Any, Any]]]]], list[int]]:
        """Tokenise and submit one job per length bucket; the handles with their rows. A
        failure cancels the jobs already submitted."""
        client, priority = request.client, request.priority
        tokenizer = loaded.model.tokenizer
        encodings = tokenizer.tokenize(request.texts)
        counts = [len(encoding.ids) for encoding in encodings]
        if sum(counts) > MAX_TOKENS_PER_REQUEST:
            raise InvalidArgument(
                f"input has {sum(counts)} tokens; at most {MAX_TOKENS_PER_REQUEST} per request"
            )
        # Texts are grouped by length bucket so one long text does not pad the whole
        # request; each bucket becomes one job (usually a request is a single bucket).
        by_bucket: dict[int, list[int]] = {}
        for index, count in enumerate(counts):
            by_bucket.setdefault(bucket_length(count, tokenizer.max_length), []).append(index)
        handles: list[tuple[list[int], JobHandle[list[np.ndarray[Any, Any]]]]] = []
        try:
            for length, indices in sorted(by_bucket.items()):
                key = self._key(loaded, length)
                spec = JobSpec(
                    job_id=new_job_id(),
                    priority=priority,
                    client=client,
                    model=key,
                    device=loaded.executor,
                    deadline_ms=deadline_ms,
                    batch_key=key,
                    rows=len(indices),
                )
                feeds = self._feeds(loaded, tokenizer, [encodings[i] for i in indices], length)
                job: Job[Any, list[np.ndarray[Any, Any]]] = Job(
                    spec=spec,
                    work=loaded.run,
                    inputs=feeds,
                    batching=ArrayBatching(),
                    abortable=True,
                )
                handles.append((indices, self._scheduler.submit(job)))
        except BaseException:
            for _, handle in handles:
                handle.cancel()
            raise
        return handles, counts

    @staticmethod
    def _feeds(
        loaded: _Loaded, tokenizer: EmbeddingTokenizer, encodings: list[Any], length: int
    ) -> dict[str, np.ndarray[Any, Any]]:
        """The encodings laid out at the bucket's width (padding is masked out of attention
        and pooling), written in place: collating then ``np.pad`` cost more than tokenising."""
        feeds = tokenizer.collate(encodings, width=length)
        return {name: feeds[name] for name in loaded.input_names}
