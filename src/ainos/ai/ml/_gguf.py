"""What a GGUF file (llama.cpp's format) holds, read from its header without loading the model.

The header is parsed by llama.cpp's own reader, ``gguf.GGUFReader``, which memory-maps the file.
That reader turns every element of every metadata array into a NumPy view: for a vocabulary
of 50,000-150,000 tokens (and as many merges) that takes seconds, and the catalog reads these
headers whenever models are listed. :class:`_HeaderReader` steps over long arrays instead,
keeping only their item type and length; the rest of the parsing and its checks are the
reader's. Tensors are described (names, shapes, types), their data never touched.
"""

from __future__ import annotations

import functools
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from gguf import GGUFReader, GGUFValueType, LlamaFileType

from ainos.errors import ModelNotFound, UnsupportedModel

__all__ = ["GgufInfo", "read_gguf_info"]

# Arrays longer than this are stepped over (vocabulary, merges, token types); shorter ones
# (per-layer head counts, languages) are parsed and stay readable.
_LONG_ARRAY = 1024
_KV_CACHE_ELEMENT_BYTES = 2  # llama.cpp's default KV cache type is f16
_CACHED_FILES = 128


@dataclass(frozen=True)
class GgufInfo:
    """A GGUF model's metadata. Values a file does not declare are None."""

    path: Path
    architecture: str
    name: str | None
    kind: str  # general.type: "model", or "adapter" for a LoRA
    size_label: str | None  # general.size_label, e.g. "135M"
    context_length: int | None  # the context the model was trained with, in tokens
    embedding_length: int | None
    layers: int | None
    head_count: int | None  # per-layer values: the largest
    head_count_kv: int | None
    quantization: str | None  # from general.file_type, e.g. "Q4_1", "F16"
    has_chat_template: bool
    vocab_size: int | None
    parameters: int  # elements of all tensors, from their shapes
    tensor_count: int
    kv_cache_bytes_per_token: int | None  # f16 keys and values over all layers

    @property
    def is_model(self) -> bool:
        return self.kind == "model"


class _HeaderReader(GGUFReader):
    """``GGUFReader`` that does not parse the elements of long arrays (see the module doc).

    A stepped-over array keeps its item type and length (``parts[4]`` of its field, as in the
    file) but no elements: ``contents()`` of it is empty. Reads past the end of the file are
    reported as such, rather than as whatever NumPy makes of an empty slice.
    """

    def _get(
        self,
        offset: int,
        dtype: npt.DTypeLike,
        count: int = 1,
        override_order: Literal["I", "S", "<"] | None = None,
    ) -> npt.NDArray[Any]:
        if offset + np.dtype(dtype).itemsize * int(count) > len(self.data):
            raise self._truncated()
        return super()._get(offset, dtype, count, override_order)

    def _truncated(self) -> ValueError:
        size = len(self.data)
        return ValueError(f"truncated: it ends at byte {size}, short of what its header describes")

    def _get_field_parts(
        self, orig_offs: int, raw_type: int
    ) -> tuple[int, list[npt.NDArray[Any]], list[int], list[GGUFValueType]]:
        if raw_type != GGUFValueType.ARRAY:
            return super()._get_field_parts(orig_offs, raw_type)
        item_type = self._get(orig_offs, np.uint32)
        length = self._get(orig_offs + 4, np.uint64)
        count = int(length[0])
        item = GGUFValueType(int(item_type[0]))
        scalar = self.gguf_scalar_to_np.get(item)
        if count <= _LONG_ARRAY or (scalar is None and item != GGUFValueType.STRING):
            return super()._get_field_parts(orig_offs, raw_type)
        start = orig_offs + 12
        if scalar is None:
            size = self._strings_size(start, count)
        else:
            size = count * np.dtype(scalar).itemsize
        if start + size > len(self.data):
            raise self._truncated()
        return 12 + size, [item_type, length], [], [GGUFValueType.ARRAY, item]

    def _strings_size(self, offset: int, count: int) -> int:
        """The bytes of ``count`` length-prefixed strings starting at ``offset``."""
        # "I": the file is in this machine's byte order; "S": the other one.
        swapped = ">" if sys.byteorder == "little" else "<"
        order = "=" if self.byte_order == "I" else swapped
        unpack = struct.Struct(order + "Q").unpack_from
        buffer = self.data.data  # a memoryview: struct reads it without copying
        end = offset
        try:
            for _ in range(count):
                (length,) = unpack(buffer, end)
                end += 8 + length
        except struct.error:
            raise self._truncated() from None
        return end - offset


def read_gguf_info(path: Path) -> GgufInfo:
    """The metadata of the GGUF file at ``path``; :class:`UnsupportedModel` if it is not one.

    Results are kept per (path, modification time, size): listing models reads each once.
    """
    path = Path(path).expanduser().resolve()
    try:
        status = path.stat()
    except FileNotFoundError:
        raise ModelNotFound(f"{path} does not exist") from None
    except OSError as error:
        raise UnsupportedModel(f"cannot read {path}: {error.strerror}") from None
    return _read_cached(path, status.st_mtime_ns, status.st_size)


@functools.lru_cache(maxsize=_CACHED_FILES)
def _read_cached(path: Path, mtime_ns: int, size: int) -> GgufInfo:
    del mtime_ns  # the cache key only: a rewritten file is read again
    if size == 0:
        raise UnsupportedModel(f"{path} is empty, not a GGUF file")
    try:
        reader = _HeaderReader(path)
    except OSError as error:
        raise UnsupportedModel(f"cannot read {path}: {error.strerror or error}") from None
    except Exception as error:  # the reader raises ValueError, IndexError, KeyError, ...
        raise UnsupportedModel(f"{path} is not a valid GGUF file ({_why(error)})") from None
    return _describe(path, reader)


def _why(error: Exception) -> str:
    # The reader's ValueErrors say what is wrong (bad magic, version, type, truncation).
    message = str(error) if isinstance(error, ValueError) else ""
    return message.splitlines()[0] if message else "truncated or corrupt"


def _describe(path: Path, reader: GGUFReader) -> GgufInfo:
    architecture = _text(reader, "general.architecture")
    if not architecture:
        raise UnsupportedModel(f"{path} is a GGUF file without general.architecture")
    layers = _integer(reader, f"{architecture}.block_count")
    embedding = _integer(reader, f"{architecture}.embedding_length")
    heads = _integer(reader, f"{architecture}.attention.head_count")
    # Without head_count_kv, every head has its own keys and values (no grouped queries).
    kv_heads = _integer(reader, f"{architecture}.attention.head_count_kv") or heads
    return GgufInfo(
        path=path,
        architecture=architecture,
        name=_text(reader, "general.name"),
        kind=_text(reader, "general.type") or "model",
        size_label=_text(reader, "general.size_label"),
        context_length=_integer(reader, f"{architecture}.context_length"),
        embedding_length=embedding,
        layers=layers,
        head_count=heads,
        head_count_kv=kv_heads,
        quantization=_quantization(_integer(reader, "general.file_type")),
        has_chat_template=bool(_text(reader, "tokenizer.chat_template")),
        vocab_size=_integer(reader, f"{architecture}.vocab_size")
        or _array_length(reader, "tokenizer.ggml.tokens"),
        parameters=sum(int(tensor.n_elements) for tensor in reader.tensors),
        tensor_count=len(reader.tensors),
        kv_cache_bytes_per_token=_kv_cache_bytes_per_token(
            layers,
            kv_heads,
            key_length=_integer(reader, f"{architecture}.attention.key_length"),
            value_length=_integer(reader, f"{architecture}.attention.value_length"),
            default_head_size=embedding // heads if embedding and heads else None,
        ),
    )


def _kv_cache_bytes_per_token(
    layers: int | None,
    kv_heads: int | None,
    *,
    key_length: int | None,
    value_length: int | None,
    default_head_size: int | None,
) -> int | None:
    """Bytes one token adds to an f16 KV cache: a key and a value per KV head and layer.

    The head size is embedding / heads unless the file gives key and value lengths.
    """
    key = key_length or default_head_size
    value = value_length or default_head_size
    if not (layers and kv_heads and key and value):
        return None
    return layers * kv_heads * (key + value) * _KV_CACHE_ELEMENT_BYTES


def _quantization(file_type: int | None) -> str | None:
    """``general.file_type`` as a name: MOSTLY_Q4_1 -> Q4_1, ALL_F32 -> F32."""
    if file_type is None:
        return None
    try:
        member = LlamaFileType(file_type)
    except ValueError:
        return None  # a type newer than the installed gguf package
    if member is LlamaFileType.GUESSED:
        return None
    return member.name.removeprefix("MOSTLY_").removeprefix("ALL_")


def _text(reader: GGUFReader, key: str) -> str | None:
    field = reader.get_field(key)
    if field is None or field.types != [GGUFValueType.STRING]:
        return None
    value = field.contents()
    return value if isinstance(value, str) else None


def _integer(reader: GGUFReader, key: str) -> int | None:
    """An integer value; of a per-layer array, the largest (sizes the KV cache from above)."""
    field = reader.get_field(key)
    if field is None or not field.types:
        return None
    value = field.contents()
    if isinstance(value, list):
        numbers = [item for item in value if isinstance(item, int)]
        return max(numbers) if numbers else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _array_length(reader: GGUFReader, key: str) -> int | None:
    field = reader.get_field(key)
    if field is None or not field.types or field.types[0] != GGUFValueType.ARRAY:
        return None
    return int(field.parts[4][0])  # key length, key, value type, item type, item count
