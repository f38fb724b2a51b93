"""LLM generation served through the system layer's scheduler.

Each loaded model is an executor of the scheduler (``llm:<alias>``) whose slots are the
engine's parallel sequences: every generation is a scheduler job holding one slot while it
decodes, so priority classes, fair sharing, deadlines, queue bounds and statistics apply to
generations as to any device work. Batch/idle generations never hold all the slots
(``LlmLimits.reserved`` stay free of them): a realtime chat never waits for a long batch
generation to end, and the engine interleaves its tokens with the batch ones step by step.

A chat generation of text gets the model's repetition defaults (``_repetition.chat_defaults``)
for the fields its request leaves out; every generation is watched by a ``RepetitionGuard``.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ainos.ai.ml._catalog import CatalogEntry, ModelCatalog
from ainos.ai.ml._outcome import request_outcome
from ainos.ai.ml.llm._chat import RequestError, repetition_fields
from ainos.ai.ml.llm._engine import EngineSettings, LlmEngine
from ainos.ai.ml.llm._generation import Generation
from ainos.ai.ml.llm._llamacpp import LlamaCppEngine
from ainos.ai.ml.llm._metrics import GenerationTiming, LlmMetrics
from ainos.ai.ml.llm._repetition import GUARD_FIELD, RepetitionGuard, chat_defaults
from ainos.ai.ml.llm._reply import STOPPED_FIELD, chunk_text
from ainos.errors import (
    AinosError,
    InvalidArgument,
    UnsupportedModel,
)
from ainos.kernel.scheduler import (
    CancelToken,
    CpuExecutor,
    Job,
    RunAborted,
    Scheduler,
    new_job_id,
)
from ainos.kernel.telemetry import MetricFamily
from ainos.protocol import LoadedModel, ModelFormat, ModelTask
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority

_log = logging.getLogger(__name__)

__all__ = ["EngineFactory", "GenerationKind", "LlmLimits", "LlmService"]

EngineFactory = Callable[[CatalogEntry, EngineSettings], LlmEngine]
GenerationKind = str  # "chat" (messages) or "completion" (a raw prompt)


@dataclass(frozen=True)
class LlmLimits:
    """``parallel`` sequences decoded together; batch/idle generations hold at most
    ``parallel - reserved`` of them, so ``reserved`` stay for realtime/interactive work."""

    parallel: int = 4
    reserved: int = 1
    context_tokens: int | None = None  # None: the model's trained window
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.parallel < 1 or not 0 <= self.reserved < max(2, self.parallel):
            raise InvalidArgument("an LLM needs parallel >= 1 and 0 <= reserved < parallel")

    @property
    def batch_slots(self) -> int:
        return self.parallel - self.reserved


def _open_llamacpp(entry: CatalogEntry, settings: EngineSettings) -> LlmEngine:
    if entry.format is not ModelFormat.GGUF:
        raise UnsupportedModel(f"model {entry.alias!r} is {entry.format}; LLMs run from GGUF")
    return LlamaCppEngine(entry.path, settings)


def _model_repetition(entry: CatalogEntry) -> dict[str, Any]:
    """The repetition defaults of a model's chat generations (its catalog entry's, checked)."""
    try:
        return chat_defaults(repetition_fields(entry.repetition or {}))
    except RequestError as exc:
        raise InvalidArgument(f"model {entry.alias!r}: its catalog entry's {exc}") from None


@dataclass
class _Loaded:
    entry: CatalogEntry
    engine: LlmEngine
    executor: str
    load_seconds: float
    chat_defaults: dict[str, Any]
    in_flight: int = 0


class _Run:
    """The work of one generation job: drive the engine, hand chunks to the consumer."""

    def __init__(
        self,
        loaded: _Loaded,
        kind: GenerationKind,
        generation: Generation,
        submitted: float,
    ) -> None:
        self._loaded, self._kind, self._generation = loaded, kind, generation
        self._submitted = submitted

    def __call__(self, request: Mapping[str, Any], token: CancelToken) -> GenerationTiming:
        started = time.perf_counter()
        first: float | None = None
        last = started
        usage: dict[str, Any] = {}
        # Constrained JSON stopped midway is unfinished: its ending says "length".
        constrained = bool(request.get("response_format") or request.get("grammar"))
        if self._kind == "chat" and not constrained:
            # Not for JSON: DRY penalises the repeats a call is made of (keys, indentation, an
            # argument copied from the prompt), and inside a string it pushes a small model
            # into \uXXXX escapes, several tokens a character, until the token limit.
            request = {**self._loaded.chat_defaults, **request}
        engine_request = {k: v for k, v in request.items() if k != GUARD_FIELD}
        guard = None if request.get(GUARD_FIELD) is False else RepetitionGuard()
        if guard is not None:
            engine_request["timings_per_token"] = True  # the counts, should it have to stop
        counts = _Counts()

        def sink(chunk: dict[str, Any]) -> bool:
            nonlocal first, last
            if token.cancelled or (guard is not None and guard.tripped):
                return True
            now = time.perf_counter()
            if first is None and _has_output(chunk):
                first = now
            last = now
            if isinstance(chunk.get("usage"), dict):
                usage.update(chunk["usage"])
            counts.see(chunk.pop("timings", None), chunk)  # llama.cpp's; usage has the counts
            self._generation.push(chunk)
            if guard is not None and not _finished(chunk) and guard.feed(chunk_text(chunk)):
                _log.info("stopped a generation repeating %r", guard.unit)
                usage.update(counts.usage())
                for end in _ending(chunk, self._kind, usage, constrained):
                    self._generation.push(end)
                return True
            return token.cancelled

        engine = self._loaded.engine
        (engine.chat if self._kind == "chat" else engine.complete)(engine_request, sink)
        if token.cancelled:
            raise RunAborted("the generation was stopped")
        return GenerationTiming(
            queue_s=started - self._submitted,
            first_token_s=None if first is None else first - self._submitted,
            decode_s=0.0 if first is None else last - first,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            completion_tokens=int(usage.get("completion_tokens", 0)),
        )


class _Counts:
    """Tokens so far, from llama.cpp's per-token timings (or the chunks with output)."""

    def __init__(self) -> None:
        self.prompt = 0
        self.cached = 0
        self.completion: int | None = None
        self.chunks = 0

    def see(self, timings: object, chunk: Mapping[str, Any]) -> None:
        if _has_output(chunk):
            self.chunks += 1  # about one token each
        if isinstance(timings, dict):
            self.cached = int(timings.get("cache_n") or 0)
            self.prompt = int(timings.get("prompt_n") or 0) + self.cached
            self.completion = int(timings.get("predicted_n") or 0)

    def usage(self) -> dict[str, Any]:
        completion = self.completion if self.completion is not None else self.chunks
        return {
            "prompt_tokens": self.prompt,
            "completion_tokens": completion,
            "total_tokens": self.prompt + completion,
            "prompt_tokens_details": {"cached_tokens": self.cached},
        }


def _finished(chunk: Mapping[str, Any]) -> bool:
    return any(choice.get("finish_reason") for choice in chunk.get("choices") or ())


def _ending(
    last: Mapping[str, Any], kind: GenerationKind, usage: Mapping[str, Any], constrained: bool
) -> list[dict[str, Any]]:
    """The chunks that end a stopped generation as the engine ends one: the finish, then
    the usage. The finish is "stop" for text, "length" for constrained output, which the
    stop leaves unfinished (as the token limit would)."""
    head = {
        k: last[k] for k in ("id", "object", "created", "model", "system_fingerprint") if k in last
    }
    choice: dict[str, Any] = {"index": 0, "finish_reason": "length" if constrained else "stop"}
    if kind == "chat":
        choice["delta"] = {}
    else:
        choice["text"] = ""
    return [
        {**head, "choices": [choice], STOPPED_FIELD: "repetition"},
        {**head, "choices": [], "usage": dict(usage)},
    ]


def _has_output(chunk: Mapping[str, Any]) -> bool:
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        if delta.get("content") or delta.get("tool_calls") or choice.get("text"):
            return True
    return False


class LlmService:
    def __init__(
        self,
        scheduler: Scheduler,
        catalog: ModelCatalog,
        *,
        limits: LlmLimits | None = None,
        engine_factory: EngineFactory = _open_llamacpp,
    ) -> None:
        self._scheduler = scheduler
        self._catalog = catalog
        self._limits = limits or LlmLimits()
        self._open = engine_factory
        self._loaded: dict[str, _Loaded] = {}
        self._lock = threading.Lock()
        self._loading = threading.Lock()
        self.metrics = LlmMetrics()

    # -- loading ----------------------------------------------------------------------------

    def load(self, alias: str) -> LoadedModel:
        with self._loading:
            with self._lock:
                if alias in self._loaded:
                    return self._describe(self._loaded[alias])
            entry = self._catalog.entry(alias)
            if entry.task is not ModelTask.CHAT:
                raise InvalidArgument(f"model {alias!r} is a {entry.task} model, not a chat model")
            repetition = _model_repetition(entry)
            started = time.perf_counter()
            limits = self._limits
            engine = self._open(
                entry,
                EngineSettings(
                    context_tokens=limits.context_tokens,
                    parallel=limits.parallel,
                    threads=limits.threads,
                ),
            )
            if engine.load_note:
                _log.warning("%s: %s", alias, engine.load_note)
            # The engine may run fewer sequences than asked (memory); with one, nothing can
            # be kept from batch work without stopping it altogether.
            parallel = engine.parallel
            executor = CpuExecutor(
                f"llm:{alias}",
                slots=parallel,
                # The slot threads only wait on the engine, whose own threads compute: slots
                # are held back from batch work, not run at a lower OS priority.
                background_limit=parallel - min(limits.reserved, parallel - 1),
            )
            try:
                self._scheduler.add_executor(executor)
            except AinosError:
                engine.close()
                raise
            loaded = _Loaded(
                entry, engine, executor.slots.name, time.perf_counter() - started, repetition
            )
            with self._lock:
                self._loaded[alias] = loaded
            return self._describe(loaded)

    def unload(self, alias: str) -> bool:
        """Unload a model with nothing in flight; False if it was not loaded."""
        with self._lock:
            loaded = self._loaded.get(alias)
            if loaded is None:
                return False
            if loaded.in_flight:
                raise InvalidArgument(
                    f"model {alias!r} has {loaded.in_flight} generations in flight"
                )
            del self._loaded[alias]
        self._scheduler.remove_executor(loaded.executor)
        loaded.engine.close()
        return True

    def close(self) -> None:
        with self._lock:
            loaded, self._loaded = list(self._loaded.values()), {}
        for model in loaded:
            model.engine.close()

    def is_loaded(self, alias: str) -> bool:
        with self._lock:
            return alias in self._loaded

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return [self._describe(m) for m in self._loaded.values()]

    def metric_families(self) -> list[MetricFamily]:
        in_flight = MetricFamily(
            "ainos_llm_requests_in_flight",
            "gauge",
            "Generations submitted and not yet ended (queued or generating).",
        )
        with self._lock:
            for alias, loaded in sorted(self._loaded.items()):
                in_flight.add(loaded.in_flight, model=alias)
        return [*self.metrics.families(), in_flight]

    def engine(self, alias: str) -> LlmEngine:
        return self._get(alias).engine

    def entry(self, alias: str) -> CatalogEntry:
        """The catalog's entry of a model (loaded or not): where its file is."""
        with self._lock:
            loaded = self._loaded.get(alias)
        return loaded.entry if loaded is not None else self._catalog.entry(alias)

    def _describe(self, loaded: _Loaded) -> LoadedModel:
        return LoadedModel(
            alias=loaded.entry.alias,
            variant=f"{loaded.entry.alias}:gguf",
            task=ModelTask.CHAT,
            providers=[f"llama.cpp ({loaded.engine.device})"],
            load_seconds=loaded.load_seconds,
            requests_in_flight=loaded.in_flight,
            context_tokens=loaded.engine.context_tokens,
            parallel=loaded.engine.parallel,
            note=loaded.engine.load_note,
        )

    def _get(self, alias: str) -> _Loaded:
        """The loaded model, loading it first if need be."""
        with self._lock:
            loaded = self._loaded.get(alias)
        if loaded is not None:
            return loaded
        self.load(alias)
        with self._lock:
            return self._loaded[alias]

    # -- generating -------------------------------------------------------------------------

    def generate(
        self,
        alias: str,
        request: Mapping[str, Any],
        *,
        kind: GenerationKind = "chat",
        client: ClientIdentity | None = None,
        priority: Priority = Priority.INTERACTIVE,
        deadline_ms: float | None = None,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> Generation:
        """Submit one generation; read its chunks from the returned :class:`Generation` (in
        ``loop`` with ``async for`` when given, else with ``for``). Raises ``QueueFull`` at
        once when the class's queue is full."""
        loaded = self._get(alias)
        generation = Generation(alias, loop=loop)
        submitted = time.perf_counter()
        spec = JobSpec(
            job_id=new_job_id(),
            priority=priority,
            client=client or ClientIdentity(),
            model=alias,
            device=loaded.executor,
            deadline_ms=deadline_ms,
        )
        job: Job[Mapping[str, Any], GenerationTiming] = Job(
            spec=spec,
            work=_Run(loaded, kind, generation, submitted),
            inputs=dict(request),
        )
        try:
            handle = self._scheduler.submit(job)
        except AinosError as exc:
            self.metrics.outcome(alias, request_outcome(exc))
            raise
        with self._lock:
            loaded.in_flight += 1
        generation.bind(handle.cancel, lambda: self._scheduler.queue_position(spec.job_id))
        generation.initial_position = self._scheduler.queue_position(spec.job_id) or 0

        def settle(future: Any) -> None:
            with self._lock:
                loaded.in_flight -= 1
            error = future.exception()
            if error is None:
                self.metrics.finished(alias, future.result())
                generation.end()
                return
            self.metrics.outcome(alias, request_outcome(error))
            generation.end(error)

        handle.future.add_done_callback(settle)
        return generation
