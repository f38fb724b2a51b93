"""The llama.cpp engine, through xllamacpp's in-process server (prebuilt wheels, no compiler).

xllamacpp runs llama.cpp's own server loop in a thread of this process: continuous batching
of ``parallel`` sequences, prompt-prefix reuse of the KV cache, chat templates, and grammar-
constrained sampling. Its HTTP listener cannot be turned off; it is bound to a Unix socket in a
private directory (mode 0700) so nothing else on the machine can reach the model through it,
and ainos uses it only for tokenisation, which the Python API lacks.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ainos.ai.ml._embedding import physical_cores
from ainos.ai.ml._gguf import read_gguf_info
from ainos.ai.ml.llm._engine import ChunkSink, EngineSettings
from ainos.ai.ml.llm._fit import fit_kv_cache
from ainos.ai.ml.llm._reply import streamed_body
from ainos.errors import ContextLengthExceeded, InvalidArgument, ModelError, UnsupportedModel

__all__ = ["LlamaCppEngine", "choose_gpu_layers"]

_ALL_LAYERS = 999  # llama.cpp clamps it to the model's layer count


def _device_of_kind(devices: Sequence[Mapping[str, Any]], kind: str) -> Mapping[str, Any] | None:
    """The first ggml device of a kind ("CPU", "GPU"); its ``type`` names the kind."""
    for device in devices:
        if kind in str(device.get("type", "")).upper():
            return device
    return None


def choose_gpu_layers(devices: Sequence[Mapping[str, Any]], requested: int | None) -> int:
    """Layers to offload: what was asked, else all of them when ggml sees a GPU, else none."""
    if requested is not None:
        return max(0, requested)
    return _ALL_LAYERS if _device_of_kind(devices, "GPU") is not None else 0


def _device_name(devices: Sequence[Mapping[str, Any]], gpu_layers: int) -> str:
    gpu = _device_of_kind(devices, "GPU") if gpu_layers else None
    if gpu is None:
        return "cpu"
    return str(gpu.get("description") or gpu.get("name") or "gpu")


def engine_error(error: Mapping[str, Any]) -> Exception:
    """The ainos exception for an error object of llama.cpp's server."""
    message = str(error.get("message", "the engine failed"))
    kind = error.get("type")
    if kind == "exceed_context_size_error":
        return ContextLengthExceeded(
            message.replace(", try increasing it", ""),
            prompt_tokens=_int_or_none(error.get("n_prompt_tokens")),
            context_tokens=_int_or_none(error.get("n_ctx")),
        )
    if kind in ("invalid_request_error", "not_supported_error") or error.get("code") == 400:
        return InvalidArgument(message)
    return ModelError(message)


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) else None


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str) -> None:
        super().__init__("localhost", timeout=60)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


class LlamaCppEngine:
    """A GGUF model loaded by llama.cpp; thread-safe, ``parallel`` generations at once."""

    def __init__(self, path: Path, settings: EngineSettings | None = None) -> None:
        # libgomp (llama.cpp's CPU threads) all but stops spin-waiting between tokens once its
        # threads outnumber the cores, as soon as a second model is loaded: measured here,
        # both then decode 2.7x slower. Active waiting with a bounded spin (a few ms) keeps
        # them at full speed and lets idle threads sleep (about 1 % of a core over 2 s idle,
        # where unbounded active waiting burns a core). Read once, when libgomp loads.
        os.environ.setdefault("OMP_WAIT_POLICY", "active")
        os.environ.setdefault("GOMP_SPINCOUNT", "1000000")
        import xllamacpp  # heavy native library: loaded only when an LLM is

        settings = settings or EngineSettings()
        if settings.parallel < 1:
            raise InvalidArgument("parallel must be at least 1")
        self._xllamacpp = xllamacpp
        devices = xllamacpp.get_device_info()
        gpu_layers = choose_gpu_layers(devices, settings.gpu_layers)
        self._device = _device_name(devices, gpu_layers)
        info = read_gguf_info(path)
        if info.context_length is None and settings.context_tokens is None:
            raise UnsupportedModel(f"{path.name} does not say its context length: give one")
        fit = fit_kv_cache(
            trained_context=info.context_length or 0,
            requested_context=settings.context_tokens,
            parallel=settings.parallel,
            kv_bytes_per_token=info.kv_cache_bytes_per_token,
            free_bytes=_free_memory(devices, gpu_layers),
        )
        self._parallel, self._context, self._note = fit.parallel, fit.context_tokens, fit.note
        self._socket_dir = Path(tempfile.mkdtemp(prefix="ainos-llm-"))  # 0700
        self._socket = str(self._socket_dir / "engine.sock")

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.hostnames = [self._socket]
        params.verbosity = -1  # llama.cpp logs to stderr by default
        # One full window per sequence: a KV cache of context x parallel, not shared, so a
        # request never finds its window taken by its neighbours'.
        params.n_parallel = self._parallel
        params.kv_unified = False
        params.n_ctx = self._context * self._parallel
        params.n_gpu_layers = gpu_layers
        threads = settings.threads or physical_cores()
        params.cpuparams.n_threads = threads
        params.cpuparams_batch.n_threads = threads
        params.cache_prompt = True
        params.ctx_shift = False  # a full window ends the reply ("length"), never drops input
        self._server: Any = None
        try:
            self._server = xllamacpp.Server(params)
        except (RuntimeError, ValueError) as exc:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            raise ModelError(f"llama.cpp could not load {path.name}: {exc}") from None

    @property
    def context_tokens(self) -> int:
        return self._context

    @property
    def parallel(self) -> int:
        return self._parallel

    @property
    def device(self) -> str:
        return self._device

    @property
    def load_note(self) -> str | None:
        return self._note

    def chat(self, request: Mapping[str, Any], sink: ChunkSink) -> None:
        self._stream("handle_chat_completions", request, sink)

    def complete(self, request: Mapping[str, Any], sink: ChunkSink) -> None:
        self._stream("handle_completions", request, sink)

    def _stream(self, handler_name: str, request: Mapping[str, Any], sink: ChunkSink) -> None:
        server = self._server
        if server is None:
            raise ModelError("the model was unloaded")
        handler = getattr(server, handler_name)
        body = streamed_body(request)
        failure: list[Exception] = []

        def on_chunk(chunk: Any) -> bool:
            if isinstance(chunk, dict) and "error" in chunk:
                error = chunk["error"]
                failure.append(engine_error(error if isinstance(error, dict) else {}))
                return True
            return bool(sink(chunk))

        try:
            handler(body, on_chunk)
        except ValueError as exc:  # the request's shape, checked before generating
            raise InvalidArgument(str(exc)) from None
        if failure:
            raise failure[0]

    def tokenize(self, text: str) -> list[int]:
        connection = _UnixConnection(self._socket)
        try:
            payload = json.dumps({"content": text, "add_special": False})
            connection.request("POST", "/tokenize", payload, {"Content-Type": "application/json"})
            response = connection.getresponse()
            document = json.loads(response.read())
        except (OSError, ValueError) as exc:
            raise ModelError(f"tokenising failed: {exc}") from None
        finally:
            connection.close()
        if response.status != 200 or not isinstance(document.get("tokens"), list):
            raise engine_error(document.get("error") or {"message": str(document)})
        return [int(token) for token in document["tokens"]]

    def schema_grammar(self, schema: Mapping[str, Any]) -> str:
        try:
            return str(self._xllamacpp.json_schema_to_grammar(dict(schema)))
        except (RuntimeError, ValueError) as exc:
            raise InvalidArgument(f"unusable JSON schema: {exc}") from None

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        del server  # the last reference: joins llama.cpp's loop thread, frees the model
        shutil.rmtree(self._socket_dir, ignore_errors=True)


def _free_memory(devices: Sequence[Mapping[str, Any]], gpu_layers: int) -> int | None:
    """Free memory where the KV cache will live: the GPU when layers go there, else the CPU's."""
    device = _device_of_kind(devices, "GPU" if gpu_layers else "CPU")
    free = device.get("memory_free") if device is not None else None
    return free if isinstance(free, int) and free > 0 else None
