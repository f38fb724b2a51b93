"""Embeddings with tensors in the pinned pool (IOBinding over pool memory)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ainos.ai.ml import EmbeddingModel, embed_through_pool
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.errors import InvalidArgument, NotFound
from ainos.kernel.control import EmbeddedClient, ServicesConfig

MODEL = "all-minilm-l6-v2"


def test_pinned_embeddings_match_the_plain_path(
    cache_copy: Path, fp32_model: EmbeddingModel
) -> None:
    texts = ["zero-copy in", "and zero-copy out, through the pool"]
    feeds = fp32_model.tokenizer.encode(texts)
    config = RuntimeConfig(kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False))
    with Runtime(config) as runtime, EmbeddedClient(runtime.kernel) as client:
        runtime.embeddings.load(MODEL, variant="cpu-fp32")
        with client.attach_pool() as mapping:
            vectors = embed_through_pool(client, mapping, feeds, model=MODEL, dimension=384)
        assert client.get_memory_pool().block_count == 0  # staged blocks were freed
        with pytest.raises(NotFound, match="no pinned block"):
            client.submit(
                "embed.pinned",
                {"rows": 1, "length": 4, "input_handle_id": 999, "output_handle_id": 998},
            )
        small = client.alloc_pinned(16)
        with pytest.raises(InvalidArgument, match="too small"):
            client.submit(
                "embed.pinned",
                {
                    "rows": 2,
                    "length": 64,
                    "input_handle_id": small.handle_id,
                    "output_handle_id": small.handle_id,
                },
            )
    np.testing.assert_allclose(vectors, fp32_model.embed(texts), atol=1e-5)
