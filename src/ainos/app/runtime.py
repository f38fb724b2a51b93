"""The runtime: the layers composed in one process.

The daemon (``ainos serve``) runs one and serves it over the control socket and HTTP;
commands that find no daemon run one in-process (embedded mode).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from ainos.ai.actions.builtin import ExtractiveSummarizer, set_default_summarizer
from ainos.ai.ml import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    EmbeddingLimits,
    EmbeddingService,
    ModelCatalog,
    choose_embedding_variant,
    register_ml_operations,
    register_pinned_operations,
)
from ainos.ai.ml.llm import LlmLimits, LlmService, LlmSummarizer
from ainos.app.api import ApiConfig, create_app
from ainos.app.monitor import Monitor
from ainos.kernel.control import KernelServices, ServicesConfig, system_families
from ainos.kernel.control._session import Session
from ainos.kernel.scheduler import BatchingConfig
from ainos.kernel.telemetry import render
from ainos.protocol import ProcessScan
from ainos.protocol.control import Empty, PeerCredentials, SystemStats

__all__ = ["Runtime", "RuntimeConfig"]

_TOKENS_PER_BATCH = 1024  # rows x padded length per run: beyond it, bigger batches get slower
_BUCKET_KEY = re.compile(r":(\d+)$")


class _BucketBatching(Mapping[str, BatchingConfig]):
    """Batching limits for embedding jobs, read from their key's padded length: long
    sequences batch fewer rows, since past ~1k tokens a larger batch runs slower per row."""

    def __getitem__(self, key: str) -> BatchingConfig:
        match = _BUCKET_KEY.search(key)
        if match is None:
            raise KeyError(key)
        length = int(match.group(1))
        return BatchingConfig(max_batch_size=max(1, min(64, _TOKENS_PER_BATCH // length)))

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


@dataclass(frozen=True)
class RuntimeConfig:
    kernel: ServicesConfig = field(default_factory=ServicesConfig)
    embedding_limits: EmbeddingLimits = field(default_factory=EmbeddingLimits)
    llm_limits: LlmLimits = field(default_factory=LlmLimits)
    api: ApiConfig = field(
        default_factory=lambda: ApiConfig(
            default_embedding_model=DEFAULT_EMBEDDING_MODEL,
            default_chat_model=DEFAULT_CHAT_MODEL,
        )
    )


class Runtime:
    def __init__(self, config: RuntimeConfig | None = None) -> None:
        self.config = config or RuntimeConfig()
        policy = dataclasses.replace(self.config.kernel.policy, batching=_BucketBatching())
        self.kernel = KernelServices(dataclasses.replace(self.config.kernel, policy=policy))
        self.catalog = ModelCatalog()
        self.embeddings = EmbeddingService(
            self.kernel.scheduler,
            self.catalog,
            limits=self.config.embedding_limits,
            variant_chooser=choose_embedding_variant,
        )
        self.llm = LlmService(self.kernel.scheduler, self.catalog, limits=self.config.llm_limits)
        # Actions run in this process summarise with the chat model while it is loaded.
        set_default_summarizer(LlmSummarizer(self.llm, DEFAULT_CHAT_MODEL, ExtractiveSummarizer()))
        register_ml_operations(self.kernel.operations, self.embeddings, DEFAULT_EMBEDDING_MODEL)
        register_pinned_operations(self.kernel.operations, self.embeddings, DEFAULT_EMBEDDING_MODEL)
        self._session: Session | None = None
        self._monitor: Monitor | None = None

    def start(self) -> Runtime:
        self.kernel.start()
        return self

    def close(self) -> None:
        self.kernel.close()  # cancels what still runs, so the engines are idle when closed
        self.llm.close()
        if self._monitor is not None:
            self._monitor.close()
        set_default_summarizer(ExtractiveSummarizer())

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    def _own_session(self) -> Session:
        if self._session is None:
            self._session = self.kernel.open_session(
                PeerCredentials(pid=os.getpid(), uid=os.getuid(), gid=os.getgid())
            )
        return self._session

    def stats(self, scan: ProcessScan | None = None) -> SystemStats:
        """Everything the control plane's ``get_stats`` answers: devices, pool, scheduler;
        ``scan``: a process scan the caller took (and shows) — one scan per look."""
        if scan is None:
            return self.kernel.get_stats(Empty(), self._own_session())
        self._own_session()  # counted among the control clients, as get_stats counts it
        return self.kernel.system_stats(scan)

    def metrics_text(self) -> str:
        stats = self.stats()
        return render(
            [
                *system_families(stats),
                *self.embeddings.metrics.families(),
                *self.llm.metric_families(),
            ]
        )

    def queue_state(self) -> dict[str, Any]:
        """Which models are in use, by whom, and who waits: what /ainos/queue shows."""
        scheduler = self.kernel.scheduler.stats()
        return {
            "models": {
                alias: {
                    "max_concurrent": gate.max_concurrent,
                    "max_waiting": gate.max_waiting,
                    "in_flight": gate.in_flight,
                    "waiting": gate.waiting,
                    "rejected": gate.rejected,
                    "held_by": list(gate.holders),
                }
                for alias, gate in self.embeddings.gate_stats().items()
            }
            | {
                model.alias: {"in_flight": model.requests_in_flight, "engine": model.providers}
                for model in self.llm.loaded()
            },
            "scheduler": {
                "discipline": scheduler.discipline,
                "queued": scheduler.queued,
                "running": scheduler.running,
                "executors": [e.model_dump(mode="json") for e in scheduler.executors],
                "classes": {
                    str(p): {"queue_depth": q.queue_depth, "running": q.running}
                    for p, q in scheduler.classes.items()
                },
            },
        }

    def http_app(self) -> Starlette:
        if self._monitor is None:
            self._monitor = Monitor(self, source="daemon")
        return create_app(
            self.embeddings,
            self.catalog,
            self.config.api,
            metrics=self.metrics_text,
            queue=self.queue_state,
            llm=self.llm,
            view=self._monitor.look,
            device_history=self._monitor.device_history,
        )
