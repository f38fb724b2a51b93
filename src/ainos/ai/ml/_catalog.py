"""The model catalog (Foundry Local's): models by alias, their variants, and the variant
this machine uses.

Built-in models come from packages installed with ainos; a user adds their own with
``ainos models add`` (a sentence-transformers directory, an ONNX sentence encoder with its
``tokenizer.json``, or a GGUF file for the LLM engine). The user's registry is one JSON
file under the data directory, written atomically; files are referenced where they are.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ainos.ai.ml._convert import model_cache_dir
from ainos.ai.ml._gguf import GgufInfo, read_gguf_info
from ainos.ai.ml._packaged import (
    PACKAGED_CHAT_MODELS,
    PACKAGED_MODELS,
    packaged_chat_model_file,
    packaged_model_dir,
)
from ainos.ai.ml._spec import read_sentence_encoder
from ainos.errors import InvalidArgument, ModelError, ModelNotFound, UnsupportedModel
from ainos.paths import data_dir
from ainos.protocol import (
    DeviceKind,
    ModelFormat,
    ModelInfo,
    ModelSource,
    ModelTask,
    ModelVariant,
)

__all__ = ["CatalogEntry", "ModelCatalog"]

_REGISTRY_VERSION = 1
_ALIAS = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_CPU = "CPUExecutionProvider"
# The precisions a converted sentence encoder comes in, as (variant name, converter variant).
EMBEDDING_VARIANTS = (("cpu-fp32", "fp32"), ("cpu-int8", "int8"))


@dataclass(frozen=True)
class CatalogEntry:
    """Where a model comes from and how to run it."""

    alias: str
    task: ModelTask
    format: ModelFormat
    source: ModelSource
    path: Path  # the directory or file the model is made from
    description: str = ""
    tokenizer: Path | None = None  # ONNX sentence encoders: their tokenizer.json
    max_tokens: int | None = None
    # Chat models: llama.cpp repetition fields (dry_multiplier …) in place of the LLM layer's
    # defaults, for requests that leave them out; {"dry_multiplier": 0}: no DRY for this model.
    repetition: Mapping[str, Any] | None = field(default=None, hash=False)


def _repetition(value: object) -> Mapping[str, Any] | None:
    """A registry entry's repetition fields (checked when the model loads)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ValueError("repetition must be an object")
    return dict(value)


def _registry_path() -> Path:
    return data_dir() / "models" / "registry.json"


def _check_alias(alias: str) -> str:
    if not _ALIAS.match(alias):
        raise InvalidArgument(
            f"alias {alias!r} must be 1-64 characters: lowercase letters, digits, '.', '_', '-'"
        )
    return alias


def _gguf_precision(path: Path) -> str:
    """The quantization written in a GGUF's file name (for files that do not declare it)."""
    match = re.search(r"(?i)(q\d+_[a-z0-9_]+|f16|f32|bf16|q8_0)", path.stem)
    return match.group(1).upper() if match else "gguf"


def _gguf_metadata(entry: CatalogEntry) -> GgufInfo | None:
    """A catalogued GGUF's metadata, or None when the file has since gone or gone bad: the
    catalog still lists it (as not ready, or with what its name says)."""
    if entry.format is not ModelFormat.GGUF:
        return None
    try:
        return read_gguf_info(entry.path)
    except ModelError:
        return None


def _is_gguf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"GGUF"
    except OSError:
        return False


class ModelCatalog:
    """Built-in models plus the user's registry. Thread-safe; the file is re-read on change."""

    def __init__(self, registry: Path | None = None) -> None:
        self._registry = registry
        self._lock = threading.Lock()
        self._extra_builtins: dict[str, CatalogEntry] = {}

    @property
    def registry_path(self) -> Path:
        return self._registry or _registry_path()

    # -- entries ----------------------------------------------------------------------------

    def add_builtin(self, entry: CatalogEntry) -> None:
        """A model shipped with ainos by another module (the LLM layer adds its default)."""
        self._extra_builtins[entry.alias] = entry

    def _builtins(self) -> dict[str, CatalogEntry]:
        entries: dict[str, CatalogEntry] = {}
        for alias, packaged in PACKAGED_MODELS.items():
            try:
                directory = packaged_model_dir(alias)
            except ModelNotFound:
                continue  # the package is not installed: the model is not offered
            entries[alias] = CatalogEntry(
                alias,
                ModelTask.EMBEDDING,
                ModelFormat.SENTENCE_TRANSFORMERS,
                ModelSource.BUILTIN,
                directory,
                f"sentence embeddings (from the {packaged.distribution} package)",
            )
        for alias, chat in PACKAGED_CHAT_MODELS.items():
            try:
                path = packaged_chat_model_file(alias)
            except ModelNotFound:
                continue
            entries[alias] = CatalogEntry(
                alias, ModelTask.CHAT, ModelFormat.GGUF, ModelSource.BUILTIN, path, chat.description
            )
        entries.update(self._extra_builtins)
        return entries

    def _read_registry(self) -> dict[str, Any]:
        try:
            document = json.loads(self.registry_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, json.JSONDecodeError) as exc:
            raise ModelError(
                f"the model registry {self.registry_path} is unreadable: {exc}"
            ) from exc
        models = document.get("models") if isinstance(document, dict) else None
        return models if isinstance(models, dict) else {}

    def _write_registry(self, models: dict[str, Any]) -> None:
        path = self.registry_path
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".registry-", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump({"version": _REGISTRY_VERSION, "models": models}, handle, indent=2)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def _user(self) -> dict[str, CatalogEntry]:
        entries = {}
        for alias, raw in self._read_registry().items():
            try:
                entries[alias] = CatalogEntry(
                    alias,
                    ModelTask(raw["task"]),
                    ModelFormat(raw["format"]),
                    ModelSource.USER,
                    Path(raw["path"]),
                    str(raw.get("description", "")),
                    Path(raw["tokenizer"]) if raw.get("tokenizer") else None,
                    int(raw["max_tokens"]) if raw.get("max_tokens") else None,
                    _repetition(raw.get("repetition")),
                )
            except (KeyError, ValueError, TypeError):
                continue  # an entry written by a newer ainos, or edited by hand: skipped
        return entries

    def entries(self) -> dict[str, CatalogEntry]:
        with self._lock:
            return {**self._user(), **self._builtins()}

    def entry(self, alias: str) -> CatalogEntry:
        entries = self.entries()
        if alias not in entries:
            known = ", ".join(sorted(entries)) or "none"
            raise ModelNotFound(f"no model {alias!r} in the catalog (known: {known})")
        return entries[alias]

    # -- user models ------------------------------------------------------------------------

    def add(
        self,
        path: Path,
        *,
        alias: str,
        tokenizer: Path | None = None,
        max_tokens: int | None = None,
        description: str = "",
        repetition: Mapping[str, Any] | None = None,
    ) -> CatalogEntry:
        """Register a model file or directory under ``alias`` (checked, not copied).
        ``repetition``: a chat model's own repetition defaults (see :class:`CatalogEntry`)."""
        _check_alias(alias)
        path = Path(path).expanduser().resolve()
        if not path.exists():
            raise ModelNotFound(f"{path} does not exist")
        entry = self._recognise(path, alias, tokenizer, max_tokens, description)
        if repetition is not None:
            if entry.task is not ModelTask.CHAT:
                raise InvalidArgument("repetition settings are for chat models")
            entry = dataclasses.replace(entry, repetition=dict(repetition))
        with self._lock:
            if alias in self._builtins():
                raise InvalidArgument(f"{alias!r} is a built-in model; choose another alias")
            models = self._read_registry()
            if alias in models:
                raise InvalidArgument(f"a model {alias!r} is already registered; remove it first")
            models[alias] = {
                "task": entry.task.value,
                "format": entry.format.value,
                "path": str(entry.path),
                "description": entry.description,
                "tokenizer": str(entry.tokenizer) if entry.tokenizer else None,
                "max_tokens": entry.max_tokens,
                "repetition": dict(entry.repetition) if entry.repetition else None,
                "added_at": time.time(),
            }
            self._write_registry(models)
        return entry

    def _recognise(
        self,
        path: Path,
        alias: str,
        tokenizer: Path | None,
        max_tokens: int | None,
        description: str,
    ) -> CatalogEntry:
        if path.is_dir():
            read_sentence_encoder(path)  # raises UnsupportedModel with the reason
            return CatalogEntry(
                alias,
                ModelTask.EMBEDDING,
                ModelFormat.SENTENCE_TRANSFORMERS,
                ModelSource.USER,
                path,
                description or "sentence embeddings (converted to ONNX on first load)",
            )
        if path.suffix.lower() == ".gguf" or _is_gguf(path):
            if not _is_gguf(path):
                raise UnsupportedModel(f"{path} does not start with the GGUF magic bytes")
            metadata = read_gguf_info(path)  # raises UnsupportedModel with the reason
            if not metadata.is_model:
                raise UnsupportedModel(
                    f"{path} is a GGUF {metadata.kind}, not a model ainos can run on its own"
                )
            return CatalogEntry(
                alias,
                ModelTask.CHAT,
                ModelFormat.GGUF,
                ModelSource.USER,
                path,
                description or "chat model (GGUF, run by llama.cpp)",
            )
        if path.suffix.lower() == ".onnx":
            return self._recognise_onnx(path, alias, tokenizer, max_tokens, description)
        raise UnsupportedModel(
            f"{path}: not a model ainos can run (a sentence-transformers directory, an .onnx "
            "sentence encoder or a .gguf file)"
        )

    def _recognise_onnx(
        self,
        path: Path,
        alias: str,
        tokenizer: Path | None,
        max_tokens: int | None,
        description: str,
    ) -> CatalogEntry:
        import onnx

        try:
            model = onnx.load(str(path), load_external_data=False)
        except Exception as exc:  # onnx raises DecodeError and friends
            raise UnsupportedModel(f"{path} is not a readable ONNX model: {exc}") from exc
        inputs = {i.name for i in model.graph.input}
        outputs = {o.name for o in model.graph.output}
        if not ({"input_ids", "attention_mask"} <= inputs and "sentence_embedding" in outputs):
            raise UnsupportedModel(
                f"{path}: only sentence encoders are served (inputs input_ids and "
                f"attention_mask, output sentence_embedding); it has inputs {sorted(inputs)} "
                f"and outputs {sorted(outputs)}"
            )
        tokenizer = (tokenizer or path.with_name("tokenizer.json")).expanduser().resolve()
        if not tokenizer.is_file():
            raise ModelNotFound(f"no tokenizer for {path}: pass --tokenizer tokenizer.json")
        return CatalogEntry(
            alias,
            ModelTask.EMBEDDING,
            ModelFormat.ONNX,
            ModelSource.USER,
            path,
            description or "sentence embeddings (ONNX)",
            tokenizer,
            max_tokens or 512,
        )

    def remove(self, alias: str) -> CatalogEntry:
        with self._lock:
            if alias in self._builtins():
                raise InvalidArgument(f"{alias!r} is a built-in model and cannot be removed")
            entry = self._user().get(alias)
            models = self._read_registry()
            if entry is None or alias not in models:
                raise ModelNotFound(f"no user model {alias!r}")
            del models[alias]
            self._write_registry(models)
        return entry

    # -- descriptions -----------------------------------------------------------------------

    def variants(self, entry: CatalogEntry) -> list[ModelVariant]:
        if entry.format is ModelFormat.SENTENCE_TRANSFORMERS:
            cache = model_cache_dir(entry.alias)
            variants = []
            for name, converter_variant in EMBEDDING_VARIANTS:
                built = cache / f"{converter_variant}.onnx"
                path = built if built.is_file() else None
                variants.append(
                    ModelVariant(
                        id=f"{entry.alias}:{name}",
                        name=name,
                        device_type=DeviceKind.CPU,
                        execution_provider=_CPU,
                        precision=converter_variant,
                        path=str(path) if path else None,
                        size_bytes=path.stat().st_size if path else None,
                        ready=path is not None,
                    )
                )
            return variants
        size = entry.path.stat().st_size if entry.path.is_file() else None
        precision = "fp32"
        if entry.format is ModelFormat.GGUF:
            metadata = _gguf_metadata(entry)
            declared = metadata.quantization if metadata else None
            precision = declared or _gguf_precision(entry.path)
        return [
            ModelVariant(
                id=f"{entry.alias}:cpu-{precision.lower()}",
                name=f"cpu-{precision.lower()}",
                device_type=DeviceKind.CPU,
                execution_provider="llama.cpp" if entry.format is ModelFormat.GGUF else _CPU,
                precision=precision,
                path=str(entry.path),
                size_bytes=size,
                ready=entry.path.exists(),
            )
        ]

    def info(
        self,
        entry: CatalogEntry,
        *,
        loaded: bool = False,
        chosen: str | None = None,
        reason: str | None = None,
    ) -> ModelInfo:
        metadata = _gguf_metadata(entry)
        return ModelInfo(
            alias=entry.alias,
            task=entry.task,
            format=entry.format,
            source=entry.source,
            description=entry.description,
            source_path=str(entry.path),
            variants=self.variants(entry),
            chosen_variant=chosen,
            choice_reason=reason,
            max_input_tokens=(metadata.context_length if metadata else None) or entry.max_tokens,
            loaded=loaded,
            architecture=metadata.architecture if metadata else None,
            parameters=metadata.parameters if metadata else None,
            context_length=metadata.context_length if metadata else None,
            quantization=metadata.quantization if metadata else None,
        )
