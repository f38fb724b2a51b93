"""The converted all-MiniLM-L6-v2 against the original PyTorch model's vectors."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from ainos.ai.ml import EmbeddingModel, physical_cores
from ainos.errors import InvalidArgument

if TYPE_CHECKING:
    from conftest import Converted

Array = np.ndarray[Any, Any]


def _cosines(a: Array, b: Array) -> Array:
    result: Array = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return result


def _reference_vectors(reference: dict[str, Any]) -> tuple[list[str], Array]:
    items = reference["items"]
    return [i["text"] for i in items], np.array([i["embedding"] for i in items])


def test_fp32_matches_the_reference(fp32_model: EmbeddingModel, reference: dict[str, Any]) -> None:
    texts, expected = _reference_vectors(reference)
    got = fp32_model.embed(texts)
    assert got.dtype == np.float32
    assert got.shape == (len(texts), 384)
    assert (_cosines(got, expected) >= 0.9999).all()
    np.testing.assert_allclose(got, expected, atol=1e-4)  # the fixture keeps 6 decimals
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_int8_stays_close_to_the_reference(
    int8_model: EmbeddingModel, reference: dict[str, Any]
) -> None:
    texts, expected = _reference_vectors(reference)
    batched = _cosines(int8_model.embed(texts), expected)
    alone = _cosines(np.concatenate([int8_model.embed([t]) for t in texts]), expected)
    assert (batched >= 0.98).all(), batched
    assert (alone >= 0.98).all(), alone


def test_batched_equals_unbatched(fp32_model: EmbeddingModel, reference: dict[str, Any]) -> None:
    """Padding must not leak into the pooled vector."""
    texts, _ = _reference_vectors(reference)
    together = fp32_model.embed(texts)
    alone = np.concatenate([fp32_model.embed([t]) for t in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)
    # Directly through run(): the short text padded to the long one's length.
    tokenizer = fp32_model.tokenizer
    padded = fp32_model.run(tokenizer.encode([texts[0], texts[-1]]))
    assert tokenizer.encode([texts[0], texts[-1]])["attention_mask"][0].sum() < 256
    np.testing.assert_allclose(
        padded[0], fp32_model.run(tokenizer.encode([texts[0]]))[0], atol=1e-5
    )


def test_embed_keeps_the_order_across_batches(fp32_model: EmbeddingModel) -> None:
    texts = [f"text number {i} " + "padding words " * (i % 7) for i in range(40)]
    many = fp32_model.embed(texts)  # two runs of sorted lengths
    assert len(texts) > fp32_model.batch_size
    for i in (0, 13, 39):
        np.testing.assert_allclose(many[i], fp32_model.embed([texts[i]])[0], atol=1e-5)


def test_long_text_equals_its_truncated_form(
    fp32_model: EmbeddingModel, reference: dict[str, Any]
) -> None:
    texts, expected = _reference_vectors(reference)
    long = max(texts, key=len)
    tokenizer = fp32_model.tokenizer
    (encoding,) = tokenizer.tokenize([long])
    assert len(encoding.ids) == tokenizer.max_length
    kept = long[: encoding.offsets[-2][1]]  # up to the last token before [SEP]
    assert len(kept) < len(long)
    assert tokenizer.count_tokens([kept]) == [tokenizer.max_length]
    vectors = fp32_model.embed([long, kept])
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-5)
    assert _cosines(vectors[:1], expected[texts.index(long)][None])[0] >= 0.9999


def test_run_accepts_feeds_without_token_types(fp32_model: EmbeddingModel) -> None:
    feeds = fp32_model.tokenizer.encode(["hello there"])
    del feeds["token_type_ids"]
    np.testing.assert_allclose(fp32_model.run(feeds), fp32_model.embed(["hello there"]), atol=1e-6)


def test_run_rejects_bad_feeds(fp32_model: EmbeddingModel) -> None:
    with pytest.raises(InvalidArgument, match="attention_mask"):
        fp32_model.run({"input_ids": np.array([[101, 102]])})
    with pytest.raises(InvalidArgument, match="shape"):
        fp32_model.run({"input_ids": np.array([101, 102]), "attention_mask": np.array([1, 1])})
    with pytest.raises(InvalidArgument, match="window"):
        fp32_model.run({"input_ids": np.ones((1, 300)), "attention_mask": np.ones((1, 300))})
    with pytest.raises(InvalidArgument, match="token ids"):
        fp32_model.run({"input_ids": np.array([[101, 40000]]), "attention_mask": np.ones((1, 2))})
    with pytest.raises(InvalidArgument, match="differ"):
        fp32_model.run(
            {"input_ids": np.array([[101, 102]]), "attention_mask": np.array([[1, 1, 1]])}
        )


def test_session_is_configured_for_a_shared_cpu(fp32_model: EmbeddingModel) -> None:
    session = fp32_model.session
    assert session.get_providers() == ["CPUExecutionProvider"]
    options = session.get_session_options()
    assert options.intra_op_num_threads == physical_cores()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    feeds = fp32_model.tokenizer.encode(["direct"])
    (direct,) = session.run(["sentence_embedding"], feeds)
    np.testing.assert_array_equal(direct, fp32_model.run(feeds))
    assert fp32_model.tokenizer.pad_id == 0


def test_empty_input(fp32_model: EmbeddingModel) -> None:
    assert fp32_model.embed([]).shape == (0, fp32_model.dimension)
    assert fp32_model.dimension == 384


def test_physical_cores_is_within_the_cpus_we_may_use() -> None:
    assert 1 <= physical_cores() <= len(os.sched_getaffinity(0))


def test_packaged_loads_from_the_cache(
    converted: Converted, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AINOS_HOME", str(converted.home))
    model = EmbeddingModel.packaged(intra_op_threads=1)
    np.testing.assert_allclose(
        model.embed(["a text"]), EmbeddingModel.from_converted(converted.fp32).embed(["a text"])
    )
