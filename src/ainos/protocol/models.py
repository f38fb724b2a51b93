"""The model catalog's records: models by alias, their variants, and what is loaded."""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from ainos.protocol._base import Record
from ainos.protocol.devices import DeviceKind

__all__ = ["LoadedModel", "ModelFormat", "ModelInfo", "ModelSource", "ModelTask", "ModelVariant"]


class ModelTask(StrEnum):
    EMBEDDING = "embedding"
    CHAT = "chat"


class ModelFormat(StrEnum):
    ONNX = "onnx"
    SENTENCE_TRANSFORMERS = "sentence-transformers"  # safetensors + config, converted to ONNX
    GGUF = "gguf"


class ModelSource(StrEnum):
    BUILTIN = "builtin"  # shipped by a package installed with ainos
    USER = "user"  # added with `ainos models add`


class ModelVariant(Record):
    """One build of a model for one kind of device (Foundry Local's variant)."""

    id: str = Field(description="alias:variant, e.g. all-minilm-l6-v2:cpu-int8")
    name: str
    device_type: DeviceKind
    execution_provider: str
    precision: str
    path: str | None = Field(default=None, description="The file, once it exists locally.")
    size_bytes: int | None = None
    ready: bool = Field(description="Built or present on disk (else made on first load).")


class ModelInfo(Record):
    alias: str
    task: ModelTask
    format: ModelFormat
    source: ModelSource
    description: str = ""
    source_path: str | None = None
    variants: list[ModelVariant]
    chosen_variant: str | None = Field(
        default=None, description="The variant this machine uses, with the reason."
    )
    choice_reason: str | None = None
    max_input_tokens: int | None = None
    dimensions: int | None = None
    loaded: bool = False
    architecture: str | None = Field(
        default=None, description="The model's architecture, e.g. llama (GGUF models)."
    )
    parameters: int | None = Field(
        default=None, description="Parameter count, from the tensors' shapes (GGUF models)."
    )
    context_length: int | None = Field(
        default=None, description="The context the model was trained with, in tokens."
    )
    quantization: str | None = Field(
        default=None, description="How the weights are stored, e.g. Q4_1 or F16 (GGUF models)."
    )


class LoadedModel(Record):
    alias: str
    variant: str
    task: ModelTask
    providers: list[str]
    load_seconds: float
    requests_in_flight: int = 0
    requests_waiting: int = 0
    context_tokens: int | None = Field(default=None, description="An LLM's window per sequence.")
    parallel: int | None = Field(default=None, description="Sequences an LLM decodes together.")
    note: str | None = Field(default=None, description="What the load gave up to fit memory.")
