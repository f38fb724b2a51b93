"""Machine-learning operations for the control plane's ``submit``: what a daemon client
(``ainos embed``, another process) can run by name."""

from __future__ import annotations

from typing import Any

from ainos.ai.ml._embeddings import EmbeddingService
from ainos.errors import InvalidArgument
from ainos.kernel.control import OperationContext, OperationRegistry, PreparedWork

__all__ = ["register_ml_operations"]


def register_ml_operations(
    registry: OperationRegistry, embeddings: EmbeddingService, default_model: str
) -> None:
    def embed(args: dict[str, Any], _context: OperationContext) -> PreparedWork:
        model = args.get("model", default_model)
        if not isinstance(model, str) or not model:
            raise InvalidArgument("argument 'model' must be a model alias")
        prepared = embeddings.prepare(model, args.get("texts"))  # which checks the texts
        return PreparedWork(
            work=prepared.work,
            inputs=prepared.feeds,
            batching=prepared.batching,
            batch_key=prepared.key,
            model=prepared.key,
            device=prepared.device,
            abortable=True,
        )

    registry.register(
        "embed", embed, "sentence embeddings of args.texts with args.model (one bucket, batched)"
    )
