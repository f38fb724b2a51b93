"""Sentence embeddings from a converted encoder: a tokenizer and one ONNX Runtime session.

The class runs work directly when called; the scheduler decides *when* it is called.
:meth:`EmbeddingModel.run` takes feeds that were tokenised (and batched) elsewhere, and
:meth:`EmbeddingModel.embed` does the whole job for a list of texts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ainos.errors import InvalidArgument, ModelError

from ._bert_graph import INPUT_NAMES, SENTENCE_EMBEDDING
from ._convert import ConvertedModel, ProgressCallback, Variant, convert_packaged_model
from ._packaged import DEFAULT_EMBEDDING_MODEL
from ._providers import ProviderPolicy, apply_provider_policy
from ._tokenize import EmbeddingTokenizer

_log = logging.getLogger(__name__)

__all__ = ["EmbeddingModel", "physical_cores"]

Embeddings = np.ndarray[Any, np.dtype[np.float32]]

_SYS_CPU = Path("/sys/devices/system/cpu")


def physical_cores() -> int:
    """Cores this process may run on, hyper-threads of one core counted once.

    Intra-op threads beyond the physical cores only contend for the same execution units.
    """
    if not hasattr(os, "sched_getaffinity"):  # not Linux: no cheap topology, count all
        return os.cpu_count() or 1
    allowed = os.sched_getaffinity(0)
    cores: set[tuple[str, str]] = set()
    for cpu in allowed:
        topology = _SYS_CPU / f"cpu{cpu}" / "topology"
        try:
            package = (topology / "physical_package_id").read_text().strip()
            core = (topology / "core_id").read_text().strip()
        except OSError:
            return len(allowed)  # no topology exposed: count what we may use
        cores.add((package, core))
    return max(1, len(cores))


def _session(path: Path, intra_op_threads: int, policy: ProviderPolicy) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = intra_op_threads
    # Spinning idle workers burn CPU that other AI work on this machine could use.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    selection = apply_provider_policy(options, policy)
    if selection.fallback:
        _log.info("%s: %s", path.name, selection.reason)
    try:
        return ort.InferenceSession(str(path), options, providers=selection.providers or None)
    except Exception as error:  # onnxruntime raises its own non-exported exception types
        raise ModelError(f"cannot load {path}: {error}") from error


class EmbeddingModel:
    """Texts to L2-normalised (where the model normalises) float32 vectors."""

    #: Texts per ``run`` in :meth:`embed`: bounds memory, and sorting by length before
    #: batching keeps padding (wasted compute) small.
    batch_size = 32

    def __init__(
        self,
        model_path: Path,
        tokenizer: EmbeddingTokenizer,
        *,
        intra_op_threads: int | None = None,
        policy: ProviderPolicy = ProviderPolicy.DEFAULT,
    ) -> None:
        self._tokenizer = tokenizer
        self._path = Path(model_path)
        self._policy = policy
        self._threads = intra_op_threads or physical_cores()
        self._session = _session(self._path, self._threads, policy)
        self._single_thread: Any = None
        self._inputs = tuple(i.name for i in self._session.get_inputs())
        outputs = {o.name: o for o in self._session.get_outputs()}
        if SENTENCE_EMBEDDING not in outputs or not set(self._inputs) <= set(INPUT_NAMES):
            raise ModelError(f"{model_path} is not a sentence encoder converted by ainos")
        dimension = outputs[SENTENCE_EMBEDDING].shape[-1]
        if not isinstance(dimension, int):
            raise ModelError(f"{model_path}: the embedding dimension is not fixed")
        self._dimension = dimension

    @classmethod
    def from_converted(
        cls, converted: ConvertedModel, *, intra_op_threads: int | None = None
    ) -> EmbeddingModel:
        tokenizer = EmbeddingTokenizer.for_encoder(converted.spec)
        return cls(converted.path, tokenizer, intra_op_threads=intra_op_threads)

    @classmethod
    def packaged(
        cls,
        alias: str = DEFAULT_EMBEDDING_MODEL,
        variant: Variant = "fp32",
        *,
        progress: ProgressCallback | None = None,
        intra_op_threads: int | None = None,
    ) -> EmbeddingModel:
        """A packaged model, converted on first use and loaded from the cache afterwards."""
        converted = convert_packaged_model(alias, variant, progress=progress)
        return cls.from_converted(converted, intra_op_threads=intra_op_threads)

    @property
    def tokenizer(self) -> EmbeddingTokenizer:
        return self._tokenizer

    @property
    def session(self) -> Any:
        """The ``onnxruntime.InferenceSession``, for callers that run it themselves (the
        scheduler); its output ``sentence_embedding`` is what :meth:`run` returns."""
        return self._session

    @property
    def intra_op_threads(self) -> int:
        return self._threads

    @property
    def providers(self) -> list[str]:
        return list(self._session.get_providers())

    def single_thread_session(self) -> Any:
        """A second session on the same file computing on the calling thread alone (one
        intra-op thread); made on first call. Several of its runs side by side use a CPU's
        cores better than one run spread over them (see ``ai.ml._embedding_runs``)."""
        if self._threads == 1:
            return self._session
        if self._single_thread is None:
            self._single_thread = _session(self._path, 1, self._policy)
        return self._single_thread

    @property
    def dimension(self) -> int:
        return self._dimension

    def run(self, feeds: Mapping[str, np.ndarray[Any, Any]]) -> Embeddings:
        """One session run on pre-tokenised feeds ([batch, sequence] integers); ``token_type_ids``
        may be left out (all zeros, a single segment)."""
        missing = {"input_ids", "attention_mask"} - feeds.keys()
        if missing:
            raise InvalidArgument(f"feeds lack {', '.join(sorted(missing))}")
        ids = np.asarray(feeds["input_ids"], dtype=np.int64)
        if ids.ndim != 2:
            raise InvalidArgument(f"input_ids must be [batch, sequence], got shape {ids.shape}")
        if ids.shape[0] == 0:
            return np.zeros((0, self._dimension), dtype=np.float32)
        if ids.shape[1] > self._tokenizer.max_length:
            raise InvalidArgument(
                f"{ids.shape[1]} tokens exceed the model's window of {self._tokenizer.max_length}"
            )
        if ids.min() < 0 or ids.max() >= self._tokenizer.vocab_size:
            raise InvalidArgument(f"token ids must lie in [0, {self._tokenizer.vocab_size})")
        prepared = {
            name: np.asarray(feeds[name], dtype=np.int64) if name in feeds else np.zeros_like(ids)
            for name in self._inputs
        }
        shapes = {array.shape for array in prepared.values()}
        if len(shapes) != 1:
            raise InvalidArgument(f"feeds differ in shape: {sorted(shapes)}")
        result: Embeddings = self._session.run([SENTENCE_EMBEDDING], prepared)[0]
        return result

    def embed(self, texts: Sequence[str]) -> Embeddings:
        """One vector per text, in order: [len(texts), dimension] float32."""
        encodings = self._tokenizer.tokenize(texts)
        out = np.empty((len(encodings), self._dimension), dtype=np.float32)
        order = sorted(range(len(encodings)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), self.batch_size):
            chosen = order[start : start + self.batch_size]
            out[chosen] = self.run(self._tokenizer.collate([encodings[i] for i in chosen]))
        return out
