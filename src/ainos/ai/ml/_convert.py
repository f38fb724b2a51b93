"""Safetensors to optimised ONNX, once: the conversion pipeline and its on-disk cache.

``<cache>/models/<alias>/<variant>.onnx`` sits beside ``<variant>.json``, which records the key
it was built for (a hash of the source weights and configs, the converter version and the
variant's settings) and the hash of the ONNX file itself. A call whose key and file hash
match only loads; anything else (a changed source, a new converter, a truncated or altered
file) rebuilds. Files are written to a temporary name and renamed into place, and one
conversion per model directory runs at a time (an advisory lock), so a reader never sees a
half-written model.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import onnx

from ainos import paths
from ainos.errors import InvalidArgument, ModelError

from ._bert_graph import SENTENCE_EMBEDDING, build_sentence_encoder, load_bert_weights
from ._fuse import FUSIONS, fuse_bert
from ._packaged import DEFAULT_EMBEDDING_MODEL, packaged_model_dir
from ._quantize import QUANTIZATION, quantize_int8
from ._spec import SentenceEncoderSpec, read_sentence_encoder

__all__ = [
    "CONVERTER_VERSION",
    "VARIANTS",
    "ConvertedModel",
    "ProgressCallback",
    "Variant",
    "convert_packaged_model",
    "convert_sentence_encoder",
    "model_cache_dir",
]

# Bump when the graph, the fusion settings or the quantisation change: cached models rebuild.
CONVERTER_VERSION = "1"

Variant = Literal["fp32", "int8"]
VARIANTS: tuple[Variant, ...] = get_args(Variant)
ProgressCallback = Callable[[str, float], None]

_ALIAS = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_CHUNK = 1 << 20
# A fused graph must agree with the plain one to within float32 reordering noise.
_FUSION_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ConvertedModel:
    """A converted model file and how it came to be."""

    alias: str
    variant: Variant
    path: Path
    spec: SentenceEncoderSpec
    source_digest: str
    fusions: Mapping[str, int] = field(default_factory=dict)
    built: bool = False  # False: loaded from the cache
    seconds: float = 0.0  # time this call spent converting


def model_cache_dir(alias: str) -> Path:
    """Where the converted variants of ``alias`` are kept."""
    if not _ALIAS.fullmatch(alias):
        raise InvalidArgument(f"model alias {alias!r} must match {_ALIAS.pattern}")
    return paths.cache_dir() / "models" / alias


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _source_digest(spec: SentenceEncoderSpec) -> str:
    """Hash of everything the converted graph depends on."""
    digest = hashlib.sha256(f"ainos-sentence-encoder/{CONVERTER_VERSION}\n".encode())
    for path in (spec.weights, *spec.config_files):
        name = path.relative_to(spec.directory).as_posix()
        digest.update(f"{name}\n{_sha256_file(path)}\n".encode())
    return digest.hexdigest()


def _variant_key(source_digest: str, variant: Variant) -> str:
    settings = QUANTIZATION if variant == "int8" else "fused"
    return hashlib.sha256(f"{source_digest}/{variant}/{settings}".encode()).hexdigest()


class _Progress:
    """Maps a step's own 0..1 onto its share [start, end] of the whole conversion."""

    def __init__(self, callback: ProgressCallback | None, start: float = 0.0, end: float = 1.0):
        self._callback, self._start, self._end = callback, start, end

    def __call__(self, step: str, fraction: float) -> None:
        if self._callback is not None:
            self._callback(step, self._start + (self._end - self._start) * fraction)

    def part(self, start: float, end: float) -> _Progress:
        span = self._end - self._start
        return _Progress(self._callback, self._start + span * start, self._start + span * end)


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def _temporary(final: Path) -> Iterator[Path]:
    """A fresh path beside ``final``, removed if it was not renamed into place."""
    fd, name = tempfile.mkstemp(dir=final.parent, prefix=f".{final.name}.", suffix=".tmp")
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        with suppress(FileNotFoundError):
            path.unlink()


def _write_atomically(final: Path, data: bytes) -> None:
    with _temporary(final) as tmp:
        with tmp.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(tmp, final)


def _cached(model_path: Path, meta_path: Path, key: str) -> dict[str, Any] | None:
    """The record of a valid cached model, or None when it must be (re)built."""
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("key") != key:
        return None
    try:
        intact = _sha256_file(model_path) == meta.get("onnx_sha256")
    except OSError:
        return None
    return meta if intact else None


def _probe_feeds() -> dict[str, np.ndarray[Any, Any]]:
    """Two texts of different lengths, right-padded: exercises the mask as well."""
    ids = np.array(
        [[101, 2023, 2003, 1037, 3231, 1012, 2047, 102], [101, 7592, 102, 0, 0, 0, 0, 0]]
    )
    mask = (ids != 0).astype(np.int64)
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}


def _embed_probe(model: onnx.ModelProto, vocab_size: int) -> np.ndarray[Any, Any]:
    import onnxruntime as ort

    feeds = _probe_feeds()
    feeds["input_ids"] = feeds["input_ids"] % vocab_size
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    result: np.ndarray[Any, Any] = session.run([SENTENCE_EMBEDDING], feeds)[0]
    return result


def _build_fp32(spec: SentenceEncoderSpec, progress: _Progress) -> tuple[bytes, dict[str, int]]:
    progress("reading weights", 0.0)
    weights = load_bert_weights(spec)
    building = progress.part(0.1, 0.6)
    plain = build_sentence_encoder(spec, weights, on_layer=lambda f: building("building graph", f))
    del weights
    progress("fusing operators", 0.6)
    vocab = spec.bert.vocab_size
    expected = _embed_probe(plain, vocab)
    # All fusions first; should the result drift, without each fusion in turn. A fusion that
    # changes the result is worse than none: with every one off, the plain graph is kept
    # (ONNX Runtime still optimises it when it loads it).
    for disabled in ((), *((name,) for name in FUSIONS)):
        fused = fuse_bert(plain, spec.bert, disabled=disabled)
        progress("verifying fused graph", 0.75)
        gap = float(np.abs(_embed_probe(fused.model, vocab) - expected).max())
        if gap <= _FUSION_TOLERANCE:
            fused.model.producer_name = "ainos"
            fused.model.producer_version = CONVERTER_VERSION
            return fused.model.SerializeToString(), fused.fusions
    return plain.SerializeToString(), {}


def _convert(
    spec: SentenceEncoderSpec,
    alias: str,
    variant: Variant,
    digest: str,
    progress: _Progress,
) -> ConvertedModel:
    directory = model_cache_dir(alias)
    model_path, meta_path = directory / f"{variant}.onnx", directory / f"{variant}.json"
    key = _variant_key(digest, variant)
    meta = _cached(model_path, meta_path, key)
    if meta is not None:
        progress("loaded from cache", 1.0)
        return ConvertedModel(
            alias, variant, model_path, spec, digest, fusions=dict(meta.get("fusions", {}))
        )

    started = time.perf_counter()
    if variant == "fp32":
        data, fusions = _build_fp32(spec, progress.part(0.0, 0.9))
        progress("writing model", 0.9)
        _write_atomically(model_path, data)
        onnx_sha256 = hashlib.sha256(data).hexdigest()
    else:
        fp32 = _convert(spec, alias, "fp32", digest, progress.part(0.0, 0.6))
        fusions = dict(fp32.fusions)
        progress("quantizing to int8", 0.6)
        with _temporary(model_path) as tmp:
            quantize_int8(fp32.path, tmp, spec.bert)
            progress("writing model", 0.95)
            onnx_sha256 = _sha256_file(tmp)
            os.replace(tmp, model_path)
    seconds = time.perf_counter() - started
    record = {
        "key": key,
        "alias": alias,
        "variant": variant,
        "converter_version": CONVERTER_VERSION,
        "source": str(spec.directory),
        "source_digest": digest,
        "onnx_sha256": onnx_sha256,
        "fusions": fusions,
        "seconds": round(seconds, 3),
    }
    # The record goes last: until it names the new file's hash, the model counts as absent.
    _write_atomically(meta_path, (json.dumps(record, indent=1) + "\n").encode())
    progress("done", 1.0)
    return ConvertedModel(
        alias, variant, model_path, spec, digest, fusions=fusions, built=True, seconds=seconds
    )


def convert_sentence_encoder(
    directory: Path,
    *,
    alias: str,
    variant: Variant = "fp32",
    progress: ProgressCallback | None = None,
) -> ConvertedModel:
    """Convert a sentence-transformers BERT directory to ONNX under the cache (or load it).

    ``progress`` is called with a step name and the overall fraction done (0..1)."""
    if variant not in VARIANTS:
        raise InvalidArgument(f"unknown variant {variant!r} (choose from {', '.join(VARIANTS)})")
    spec = read_sentence_encoder(directory)
    report = _Progress(progress)
    report("hashing source files", 0.0)
    try:
        digest = _source_digest(spec)
    except OSError as error:
        raise ModelError(f"cannot read {spec.directory}: {error}") from error
    try:
        with _locked(model_cache_dir(alias)):
            return _convert(spec, alias, variant, digest, report.part(0.05, 1.0))
    except OSError as error:
        raise ModelError(f"cannot write the converted model under the cache: {error}") from error


def convert_packaged_model(
    alias: str = DEFAULT_EMBEDDING_MODEL,
    variant: Variant = "fp32",
    *,
    progress: ProgressCallback | None = None,
) -> ConvertedModel:
    """Convert (or load) a model shipped as a PyPI package, by its alias."""
    return convert_sentence_encoder(
        packaged_model_dir(alias), alias=alias, variant=variant, progress=progress
    )
