"""One configuration of ``ainos bench table``, run in a process of its own::

    python -m ainos.app.bench._table_case CONFIG --variant V --settings JSON
        [--socket PATH --daemon-pid PID]

prints one JSON object on stdout (:func:`run_case`'s) and, on stderr, a line
``ainos-bench-progress DONE TOTAL`` after each offered load. The workload is the same in
every configuration: N closed-loop clients, one in four realtime (the first always), the
others batch; each sends a mixed stream, one short greedy chat (SmolLM2) in ``chat_every``
requests, the rest single-text embeddings (MiniLM). How a request reaches the models is
what the configuration changes:

- ``conventional``: one shared ONNX Runtime session (the client tokenises, then ``run``)
  and one llama.cpp engine, called from the client threads; no scheduler, no pool;
- ``kernel``: embeddings through the kernel alone: the client tokenises, stages the ids in
  its block of the daemon's pinned pool and submits the control plane's ``embed.pinned``
  with its priority; the daemon's scheduler runs it on the session bound to the pool
  (IOBinding), one request a run: ``embed.pinned`` does not batch. The kernel has no
  operation that generates text, so chats go to a llama.cpp engine in this process as in
  ``conventional``;
- ``platform``: ``ai.ml`` in this process, no daemon: an in-process ``Runtime``'s
  ``EmbeddingService`` (dynamic batching) and ``LlmService`` (sequences reserved for
  realtime work), on the runtime's own scheduler; no pool;
- ``layers``: the daemon's API through ``DaemonApi`` (``POST /v1/embeddings``, streamed
  ``/v1/chat/completions``, the priority in ``x-ainos-priority``): the API serves them with
  ``ai.ml``'s services on the daemon's scheduler. The pinned pool is not on this path (the
  API takes JSON); the pool's only model path is ``embed.pinned``, measured in ``kernel``.

The daemons are the parent's (one per daemon configuration); their CPU time over the window
counts with this process's. A load's warm-up lasts ``warmup_s`` and until every client has
finished a request; then its window is cut into parts of ``part_s``, and it ends when
throughput and p50 latency vary less than ``tolerance`` over its last three parts
(:func:`window_settled`), or after ``max_parts``.
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Protocol

import numpy as np
import psutil

from ainos.ai.ml import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    EMBEDDING_VARIANTS,
    EmbeddingModel,
    EmbeddingTokenizer,
    convert_packaged_model,
    embed_through_pool,
    packaged_chat_model_file,
)
from ainos.ai.ml.llm import (
    EngineSettings,
    LlamaCppEngine,
    LlmLimits,
    Reply,
    chat_body,
    prepare_chat,
    streamed_body,
)
from ainos.app.bench._cpu import machine_busy_seconds, process_cpu_seconds
from ainos.app.bench._process import report_progress
from ainos.errors import AinosError
from ainos.protocol.scheduler import ClientIdentity, Priority

if TYPE_CHECKING:  # imported by the platform configuration alone
    from ainos.app.runtime import Runtime

__all__ = [
    "CONFIGS",
    "DAEMON_CONFIGS",
    "Part",
    "is_realtime",
    "main",
    "run_case",
    "window_settled",
]

CONFIGS = ("conventional", "kernel", "platform", "layers")
DAEMON_CONFIGS = ("kernel", "layers")
Body = dict[str, Any]

_OUTPUT = "sentence_embedding"
_TEXTS = 64
_PROSE = (  # one-token words: the texts are cut from them
    "the quick brown fox jumps over a lazy dog while people in the city watch from their "
    "windows and talk about work food music weather time money love family school water "
    "light house world game story market river mountain night morning car road book paper"
)
_TOPICS = (
    "a lighthouse keeper",
    "a clockmaker",
    "a mountain village",
    "a ship at sea",
    "a painting robot",
    "a quiet library",
    "two rival bakers",
    "a comet over a farm",
)


# -- the window rule ------------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One part of a measurement window: the requests that finished in it."""

    requests: int
    seconds: float
    p50_ms: float | None  # None when no request finished in it

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def _varies_less(values: Sequence[float], tolerance: float) -> bool:
    mean = sum(values) / len(values)
    return mean > 0 and (max(values) - min(values)) / mean < tolerance


def window_settled(parts: Sequence[Part], *, last: int = 3, tolerance: float = 0.10) -> bool:
    """Whether a window may stop: over its ``last`` parts, throughput and p50 latency each
    vary by less than ``tolerance`` of their mean ((greatest - least) / mean). A part where
    nothing finished never counts as settled."""
    if last < 1 or len(parts) < last:
        return False
    tail = parts[-last:]
    latencies = [part.p50_ms for part in tail]
    if any(latency is None for latency in latencies) or any(p.requests == 0 for p in tail):
        return False
    rates = [part.requests_per_second for part in tail]
    return _varies_less(rates, tolerance) and _varies_less(
        [float(latency) for latency in latencies if latency is not None], tolerance
    )


def is_realtime(client: int) -> bool:
    """One client in four is realtime, the first always; the others are batch."""
    return client % 4 == 0


# -- the ways a request reaches the models --------------------------------------------------


class Port(Protocol):
    """One client's way to the models."""

    def embed(self, text: str, priority: Priority) -> None: ...

    def chat(self, body: Body, priority: Priority) -> int:
        """One chat; the completion tokens the engine made."""
        ...

    def close(self) -> None: ...


def _read_reply(chunks: Any) -> int:
    reply = Reply()
    for chunk in chunks:
        reply.read(chunk)
    return reply.completion_tokens or 0


class _Engine:
    """A llama.cpp engine called directly: what a user writes, no priorities."""

    def __init__(self) -> None:
        limits = LlmLimits()  # the daemon's defaults, so every configuration decodes alike
        settings = EngineSettings(
            context_tokens=limits.context_tokens, parallel=limits.parallel, threads=limits.threads
        )
        self.engine = LlamaCppEngine(packaged_chat_model_file(DEFAULT_CHAT_MODEL), settings)

    def chat(self, body: Body) -> int:
        reply = Reply()

        def sink(chunk: dict[str, Any]) -> bool:
            reply.read(chunk)
            return False

        self.engine.chat(prepare_chat(body, None).engine_request, sink)
        return reply.completion_tokens or 0


class _DirectPort:
    """``conventional``: the shared session and the engine, from the client's thread."""

    def __init__(self, model: EmbeddingModel, engine: _Engine) -> None:
        self._model, self._engine = model, engine
        self._names = {i.name for i in model.session.get_inputs()}

    def embed(self, text: str, priority: Priority) -> None:
        feeds = self._model.tokenizer.encode([text])
        self._model.session.run([_OUTPUT], {k: v for k, v in feeds.items() if k in self._names})

    def chat(self, body: Body, priority: Priority) -> int:
        return self._engine.chat(body)

    def close(self) -> None:
        return None


class _PinnedPort:
    """``kernel``: a control connection of its own with the pool mapped; chats direct."""

    def __init__(
        self, socket_path: Path, tokenizer: EmbeddingTokenizer, dimension: int, engine: _Engine
    ) -> None:
        from ainos.kernel.control import Client

        self._client = Client(socket_path)
        self._mapping = self._client.attach_pool()
        self._tokenizer, self._dimension, self._engine = tokenizer, dimension, engine

    def embed(self, text: str, priority: Priority) -> None:
        feeds = self._tokenizer.encode([text])
        embed_through_pool(
            self._client,
            self._mapping,
            feeds,
            model=DEFAULT_EMBEDDING_MODEL,
            dimension=self._dimension,
            priority=priority,
        )

    def chat(self, body: Body, priority: Priority) -> int:
        return self._engine.chat(body)

    def close(self) -> None:
        self._mapping.close()
        self._client.close()


class _ServicePort:
    """``platform``: the in-process runtime's services, as this client."""

    def __init__(self, runtime: Runtime, index: int) -> None:
        self._runtime = runtime
        self._client = ClientIdentity(name=f"bench-{index}")

    def embed(self, text: str, priority: Priority) -> None:
        self._runtime.embeddings.embed(
            DEFAULT_EMBEDDING_MODEL, [text], client=self._client, priority=priority
        )

    def chat(self, body: Body, priority: Priority) -> int:
        request = prepare_chat(body, DEFAULT_CHAT_MODEL).engine_request
        generation = self._runtime.llm.generate(
            DEFAULT_CHAT_MODEL, request, client=self._client, priority=priority
        )
        return _read_reply(generation)

    def close(self) -> None:
        return None


class _ApiPort:
    """``layers``: the daemon's HTTP API, a keep-alive connection per client."""

    def __init__(self, url: str, index: int) -> None:
        from ainos.app.api import DaemonApi

        self._api = DaemonApi(url, client_name=f"bench-{index}")

    def embed(self, text: str, priority: Priority) -> None:
        body = {"model": DEFAULT_EMBEDDING_MODEL, "input": [text], "encoding_format": "base64"}
        document = self._api.json("POST", "/v1/embeddings", body, priority=priority)
        base64.b64decode(document["data"][0]["embedding"])

    def chat(self, body: Body, priority: Priority) -> int:
        stream = self._api.stream("/v1/chat/completions", streamed_body(body), priority=priority)
        return _read_reply(stream)

    def close(self) -> None:
        self._api.close()


@dataclass
class _Backend:
    """What a configuration measures with: a port per client, the processes whose CPU time
    counts, and what closes it."""

    port: Callable[[int], Port]
    processes: list[psutil.Process]
    stack: ExitStack


def _tokenizer(variant: str) -> tuple[EmbeddingTokenizer, int]:
    """The model's tokenizer (no session) and its vectors' dimension."""
    converted = convert_packaged_model(DEFAULT_EMBEDDING_MODEL, dict(EMBEDDING_VARIANTS)[variant])  # type: ignore[arg-type]
    return EmbeddingTokenizer.for_encoder(converted.spec), converted.spec.bert.hidden_size


def _backend(
    config: str, variant: str, socket_path: Path | None, daemon_pid: int | None
) -> _Backend:
    stack = ExitStack()
    processes = [psutil.Process()]
    if config in DAEMON_CONFIGS:
        if socket_path is None or daemon_pid is None:
            raise AinosError(f"the {config} configuration needs --socket and --daemon-pid")
        processes.append(psutil.Process(daemon_pid))
    if config == "conventional":
        model = EmbeddingModel.packaged(DEFAULT_EMBEDDING_MODEL, dict(EMBEDDING_VARIANTS)[variant])  # type: ignore[arg-type]
        engine = _Engine()
        stack.callback(engine.engine.close)
        direct = _DirectPort(model, engine)
        return _Backend(lambda _index: direct, processes, stack)
    if config == "kernel":
        assert socket_path is not None
        tokenizer, dimension = _tokenizer(variant)
        engine = _Engine()
        stack.callback(engine.engine.close)
        path = socket_path
        return _Backend(
            lambda _index: _PinnedPort(path, tokenizer, dimension, engine), processes, stack
        )
    if config == "platform":
        from ainos.app.runtime import Runtime, RuntimeConfig
        from ainos.kernel.control import ServicesConfig

        config_ = RuntimeConfig(kernel=ServicesConfig(pool_bytes=8 * 2**20, lock_pool=False))
        runtime = stack.enter_context(Runtime(config_))
        runtime.embeddings.load(DEFAULT_EMBEDDING_MODEL, variant=variant)
        runtime.llm.load(DEFAULT_CHAT_MODEL)
        return _Backend(lambda index: _ServicePort(runtime, index), processes, stack)
    if config == "layers":
        from ainos.app.api import DaemonApi, daemon_api_url

        url = daemon_api_url(socket_path)
        if not url:
            raise AinosError("the daemon serves no HTTP API")
        with DaemonApi(url, client_name="bench") as api:
            api.load_model(DEFAULT_EMBEDDING_MODEL)
            api.load_model(DEFAULT_CHAT_MODEL)
        return _Backend(lambda index: _ApiPort(url, index), processes, stack)
    raise AinosError(f"no configuration {config!r}: one of {', '.join(CONFIGS)}")


# -- the workload ---------------------------------------------------------------------------


def _texts() -> list[str]:
    """Different short sentences (12 to 20 words): one text per embedding request."""
    words = _PROSE.split()
    return [
        " ".join(words[(index * 7 + i) % len(words)] for i in range(12 + index % 9))
        for index in range(_TEXTS)
    ]


def _chat(number: int, max_tokens: int) -> Body:
    question = f"Question {number:05d}: who is {_TOPICS[number % len(_TOPICS)]}?"
    return chat_body(
        DEFAULT_CHAT_MODEL,
        [{"role": "user", "content": question}],
        max_tokens=max_tokens,
        temperature=0,
    )


@dataclass(frozen=True)
class _Done:
    client: int
    finished: float  # perf_counter
    latency_s: float
    chat: bool
    realtime: bool
    tokens: int  # completion tokens of a chat


@dataclass
class _Load:
    """What the clients of one offered load share."""

    done: list[_Done] = field(default_factory=list)
    in_flight: dict[int, float] = field(default_factory=dict)  # client -> when it sent
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def finished_between(self, start: float, end: float) -> list[_Done]:
        with self.lock:
            return [d for d in self.done if start <= d.finished < end]


def _client(load: _Load, port: Port, index: int, clients: int, settings: Mapping[str, Any]) -> None:
    realtime = is_realtime(index)
    priority = Priority.REALTIME if realtime else Priority.BATCH
    texts = _texts()
    chat_every, max_tokens = int(settings["chat_every"]), int(settings["max_tokens"])
    number = index
    try:
        while not load.stop.is_set():
            chat = (number // clients + index) % chat_every == 0
            began = time.perf_counter()
            with load.lock:
                load.in_flight[index] = began
            if chat:
                tokens = port.chat(_chat(number, max_tokens), priority)
            else:
                port.embed(texts[number % len(texts)], priority)
                tokens = 0
            finished = time.perf_counter()
            with load.lock:
                load.done.append(_Done(index, finished, finished - began, chat, realtime, tokens))
                del load.in_flight[index]
            number += clients
    except BaseException as error:
        load.errors.append(error)
        load.stop.set()
    finally:
        port.close()


def _percentiles(latencies: Sequence[float]) -> tuple[float | None, float | None]:
    if not latencies:
        return None, None
    ms = np.asarray(latencies) * 1000
    return float(np.percentile(ms, 50)), float(np.percentile(ms, 99))


def _part(done: Sequence[_Done], seconds: float) -> Part:
    return Part(len(done), seconds, _percentiles([d.latency_s for d in done])[0])


class _Device:
    """The device's busy share over a window: the GPUs' utilisation from NVML where there are
    any (sampled at each part's end), else the CPU's busy share of all cores (/proc/stat)."""

    def __init__(self) -> None:
        from ainos.kernel.nvml import open_nvml

        self._nvml = open_nvml()
        if self._nvml is not None and self._nvml.gpu_count == 0:
            self._nvml.close()
            self._nvml = None
        self.kind = "gpu" if self._nvml is not None else "cpu"
        self._samples: list[float] = []

    def sample(self) -> None:
        if self._nvml is None:
            return
        for index in range(self._nvml.gpu_count):
            found = self._nvml.utilization(index)
            if found is not None:
                self._samples.append(found / 100)

    def busy(self, busy_s: float, seconds: float) -> float:
        """The window's busy share; ``busy_s``: the machine's busy CPU seconds over it."""
        if self._nvml is not None:
            found, self._samples = self._samples, []
            return sum(found) / len(found) if found else 0.0
        cores = psutil.cpu_count() or 1
        # /proc/stat counts in clock ticks (10 ms): a window's count can pass its length.
        return min(1.0, busy_s / (seconds * cores)) if seconds > 0 else 0.0

    def close(self) -> None:
        if self._nvml is not None:
            self._nvml.close()


def _sleep_until(moment: float, load: _Load) -> None:
    while (left := moment - time.perf_counter()) > 0 and not load.stop.is_set():
        time.sleep(min(0.1, left))


def _warm(load: _Load, clients: int, seconds: float, longest: float) -> None:
    """The warm-up: ``seconds``, and until every client has finished a request (its first
    runs pay for buffers, a slot, a connection), but never longer than ``longest``."""
    began = time.perf_counter()
    _sleep_until(began + seconds, load)
    while time.perf_counter() - began < longest and not load.stop.is_set():
        with load.lock:
            if len({d.client for d in load.done}) >= clients:
                return
        time.sleep(0.02)


def _measure_load(
    backend: _Backend, device: _Device, clients: int, settings: Mapping[str, Any]
) -> dict[str, Any]:
    """``clients`` closed-loop clients; after the warm-up, parts of the window until it
    settles or reaches its longest."""
    load = _Load()
    ports = [backend.port(index) for index in range(clients)]
    threads = [
        threading.Thread(
            target=_client, args=(load, ports[i], i, clients, settings), name=f"bench-client-{i}"
        )
        for i in range(clients)
    ]
    part_s, max_parts = float(settings["part_s"]), int(settings["max_parts"])
    tolerance = float(settings["tolerance"])
    for thread in threads:
        thread.start()
    try:
        _warm(load, clients, float(settings["warmup_s"]), part_s * max_parts)
        start = time.perf_counter()
        cpu_before = process_cpu_seconds(backend.processes)
        busy_before = machine_busy_seconds()
        parts: list[Part] = []
        while not load.stop.is_set():
            end = start + (len(parts) + 1) * part_s
            _sleep_until(end, load)
            device.sample()
            parts.append(_part(load.finished_between(end - part_s, end), part_s))
            if len(parts) >= max_parts or window_settled(parts, tolerance=tolerance):
                break
        end = time.perf_counter()
        # Requests still waiting that were sent before the window opened: slower than the
        # whole window, and in none of its figures.
        with load.lock:
            stalled = sum(1 for sent in load.in_flight.values() if sent < start)
        cpu = process_cpu_seconds(backend.processes) - cpu_before
        busy = machine_busy_seconds() - busy_before
    finally:
        load.stop.set()
        for thread in threads:
            thread.join()
    if load.errors:
        raise AinosError(f"{clients} clients: {load.errors[0]}")
    row = _row(load.finished_between(start, end), clients, end - start, parts, cpu, busy, device)
    return {**row, "stalled_requests": stalled}


def _row(
    done: Sequence[_Done],
    clients: int,
    seconds: float,
    parts: Sequence[Part],
    cpu: float,
    busy: float,
    device: _Device,
) -> dict[str, Any]:
    every = _percentiles([d.latency_s for d in done])
    realtime = _percentiles([d.latency_s for d in done if d.realtime])
    batch = _percentiles([d.latency_s for d in done if not d.realtime])
    embeds = _percentiles([d.latency_s for d in done if not d.chat])
    chats = _percentiles([d.latency_s for d in done if d.chat])
    cores = psutil.cpu_count() or 1
    return {
        "clients": clients,
        "realtime_clients": sum(1 for i in range(clients) if is_realtime(i)),
        "seconds": seconds,
        "parts": len(parts),
        "settled": window_settled(parts),
        "requests": len(done),
        "embeddings": sum(1 for d in done if not d.chat),
        "chats": sum(1 for d in done if d.chat),
        "realtime_requests": sum(1 for d in done if d.realtime),
        "completion_tokens": sum(d.tokens for d in done),
        "p50_ms": every[0],
        "p99_ms": every[1],
        "realtime_p50_ms": realtime[0],
        "realtime_p99_ms": realtime[1],
        "batch_p50_ms": batch[0],
        "batch_p99_ms": batch[1],
        "embedding_p50_ms": embeds[0],
        "chat_p50_ms": chats[0],
        "cpu_seconds": cpu,
        "device": device.kind,
        "device_busy_fraction": device.busy(busy, seconds),
        "other_cpu_fraction": max(0.0, busy - cpu) / (seconds * cores) if seconds > 0 else 0.0,
    }


def _warm_up(backend: _Backend, settings: Mapping[str, Any]) -> None:
    """One request of each kind (first runs plan memory; a daemon loads the model)."""
    port = backend.port(0)
    try:
        port.embed(_texts()[0], Priority.INTERACTIVE)
        port.chat(_chat(99999, int(settings["max_tokens"])), Priority.INTERACTIVE)
    finally:
        port.close()


def run_case(
    config: str,
    variant: str,
    settings: Mapping[str, Any],
    *,
    socket_path: Path | None = None,
    daemon_pid: int | None = None,
    progress: IO[str] | None = None,
) -> dict[str, Any]:
    """Every offered load of ``settings`` in ``config``, in this process."""
    loads = [int(n) for n in settings["clients"]]
    backend = _backend(config, variant, socket_path, daemon_pid)
    device = _Device()
    rows = []
    with backend.stack:
        try:
            _warm_up(backend, settings)
            for clients in loads:
                rows.append(_measure_load(backend, device, clients, settings))
                if progress is not None:
                    report_progress(progress, len(rows), len(loads))
        finally:
            device.close()
    return {"config": config, "variant": variant, "rows": rows}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ainos.app.bench._table_case")
    parser.add_argument("config", choices=CONFIGS)
    parser.add_argument("--variant", required=True, help="the runtime's variant of MiniLM")
    parser.add_argument("--settings", required=True, help="TableSettings as a JSON object")
    parser.add_argument("--socket", type=Path, help="the daemon's control socket")
    parser.add_argument("--daemon-pid", type=int, help="the daemon's process")
    args = parser.parse_args(argv)
    try:
        document = run_case(
            args.config,
            args.variant,
            json.loads(args.settings),
            socket_path=args.socket,
            daemon_pid=args.daemon_pid,
            progress=sys.stderr,
        )
    except AinosError as error:  # one line, which the parent passes on
        sys.stderr.write(f"{error}\n")
        raise SystemExit(1) from None
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
