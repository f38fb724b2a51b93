"""Which shared libraries betray which ML runtime.

Detection looks at the file names of the shared objects mapped into a process: an ML
runtime cannot run without its native library being mapped, whatever language or
launcher started the process.
"""

from __future__ import annotations

import re
from functools import lru_cache

# runtime → pattern on a mapped library's file name (matched from its start).
RUNTIME_LIBRARIES: dict[str, str] = {
    "cuda": r"libcuda\.so|libcudart|libcublas|libcufft|libcurand|libcusparse|libcusolver|libnvrtc",
    "cudnn": r"libcudnn",
    "tensorrt": r"libnvinfer",
    "nccl": r"libnccl",
    "rocm": r"libamdhip64|libhsa-runtime64|librocblas|libMIOpen",
    "onnxruntime": r"libonnxruntime|onnxruntime_pybind11_state",
    "torch": r"libtorch|libc10\.so|libc10_cuda",
    "tensorflow": r"libtensorflow|_pywrap_tensorflow",
    "openvino": r"libopenvino",
    "llama.cpp": r"libggml|libllama|llama_cpp|xllamacpp",
    "jax": r"xla_extension|_jax\.cpython|libjax",
    "ctranslate2": r"libctranslate2",
    "mxnet": r"libmxnet",
    "paddle": r"libpaddle",
    "ncnn": r"libncnn",
    "mlc": r"libtvm_runtime|libmlc_llm",
}

_PATTERN = re.compile(
    "|".join(f"(?P<g{i}>{pattern})" for i, pattern in enumerate(RUNTIME_LIBRARIES.values()))
)
_NAMES = list(RUNTIME_LIBRARIES)

# The file name of every mapped shared object: "/path/to/libfoo.so.1" → "libfoo.so.1".
_SHARED_OBJECT = re.compile(rb"/([^/\n]+\.so(?:\.[^/\n]*)?)$", re.MULTILINE)


@lru_cache(maxsize=8192)
def runtime_of_library(file_name: str) -> str | None:
    """The runtime a shared library belongs to, if any (cached: names repeat across processes)."""
    match = _PATTERN.match(file_name)
    if match is None or match.lastgroup is None:
        return None
    return _NAMES[int(match.lastgroup[1:])]


def runtimes_in_maps(maps: bytes) -> frozenset[str]:
    """The runtimes whose libraries appear in a ``/proc/<pid>/maps`` text."""
    names = {m.decode(errors="replace") for m in _SHARED_OBJECT.findall(maps)}
    return frozenset(r for r in map(runtime_of_library, names) if r is not None)
