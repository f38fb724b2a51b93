"""Serving embeddings: ainos in-process and through its daemon vs plain ONNX Runtime.

Side by side in one run, per sequence length and closed-loop concurrency:

- (a) one shared ``InferenceSession`` called from N threads at batch 1 (what a user writes);
- (b) the same model at its best batch size and layout (the limit): one run at a time on
  every core, or one single-thread run per core side by side, fed from one thread each;
- (c) ``Runtime().embeddings.embed`` from N threads, one text per request;
- (d) the daemon's ``POST /v1/embeddings`` from N client threads over keep-alive HTTP.

(a)/(b) get pre-tokenised inputs of exactly the length; (c)/(d) texts that tokenise to it.
All four run the variant the runtime chooses on this machine, so they run the same graph.
CPU time is the process's (both processes' for the daemon); "other CPU" is what the rest of
the machine used meanwhile, the noise the figures carry.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import psutil

from ainos.ai.ml import (
    DEFAULT_EMBEDDING_MODEL,
    EmbeddingModel,
    EmbeddingTokenizer,
    ModelCatalog,
    choose_embedding_variant,
)
from ainos.ai.ml._catalog import EMBEDDING_VARIANTS
from ainos.app.bench._cpu import machine_busy_seconds, process_cpu_seconds
from ainos.app.bench._daemon import Daemon, running_daemon
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.errors import AinosError
from ainos.kernel.control import Client, ServicesConfig
from ainos.protocol.scheduler import ClientIdentity

__all__ = [
    "CASES",
    "ServingBenchResult",
    "ServingGoal",
    "ServingRow",
    "ServingSettings",
    "SweepPoint",
    "run_serving_bench",
]

Progress = Callable[[str, float], None]
Request = Callable[[int], None]  # one request; its argument picks the text
Worker = Callable[[int], tuple[Request, Callable[[], None]]]  # index -> (request, close)

CASES = {
    "a": "shared session, N threads",
    "b": "raw ORT, best batch and layout",
    "c": "ainos in-process",
    "d": "ainos daemon (HTTP)",
}
GOAL_CONCURRENCY = 16
GOAL_THROUGHPUT_RATIO = 0.85  # (d) at least this share of (b)'s throughput
GOAL_P99_RATIO = 0.5  # "well below": (d)'s p99 at most this share of (a)'s
_OUTPUT = "sentence_embedding"
_TEXTS_PER_LENGTH = 64  # distinct inputs per length; also the largest raw batch
_VECTOR_TOLERANCE = 1e-4
_PROSE = (  # common words, one token each: texts of any length are cut from it
    "the quick brown fox jumps over a lazy dog while people in the city watch "
    "from their windows and talk about work food music weather time money love "
    "family school water light house world game story market river mountain "
    "night morning car road book paper table chair door window garden tree"
)


@dataclass(frozen=True)
class ServingSettings:
    lengths: tuple[int, ...] = (16, 128)
    concurrencies: tuple[int, ...] = (1, 4, 16, 32)
    warmup_s: float = 1.0
    cell_s: float = 6.0
    sweep_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    sweep_s: float = 2.0

    @classmethod
    def quick(cls) -> ServingSettings:
        return cls(concurrencies=(1, 16), warmup_s=0.5, cell_s=2.0, sweep_s=0.6)


@dataclass(frozen=True)
class ServingRow:
    case: str  # a key of CASES
    length: int  # tokens per input, special tokens included
    concurrency: int  # client threads (1 for the single-threaded raw sweep)
    requests: int  # sequences for (b)
    seconds: float
    p50_ms: float  # per request; per run for (b)
    p99_ms: float
    mean_batch: float | None  # rows per session run
    cpu_seconds: float  # this process, plus the daemon's for (d)
    other_cpu_fraction: float  # the rest of the machine's CPU use meanwhile, of all cores

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0


@dataclass(frozen=True)
class SweepPoint:
    length: int
    batch: int
    sequences_per_second: float
    p50_ms: float  # per run
    side_by_side: int = 1  # runs at once: 1 on every core, or one per core on one thread each


@dataclass(frozen=True)
class ServingGoal:
    length: int
    throughput_ratio: float  # (d) / (b), req/s at GOAL_CONCURRENCY
    p99_ratio: float  # (d) / (a), p99 at GOAL_CONCURRENCY

    @property
    def met(self) -> bool:
        return self.throughput_ratio >= GOAL_THROUGHPUT_RATIO and self.p99_ratio <= GOAL_P99_RATIO


@dataclass(frozen=True)
class ServingBenchResult:
    settings: ServingSettings
    variant: str
    daemon_variant: str
    intra_op_threads: int
    vector_max_diff: dict[str, float]  # case -> largest |difference| to (a) for one text
    rows: list[ServingRow] = field(default_factory=list)
    sweep: list[SweepPoint] = field(default_factory=list)

    @property
    def vectors_verified(self) -> bool:
        return all(diff <= _VECTOR_TOLERANCE for diff in self.vector_max_diff.values())

    def row(self, case: str, length: int, concurrency: int | None = None) -> ServingRow:
        return next(
            r
            for r in self.rows
            if r.case == case
            and r.length == length
            and (concurrency is None or r.concurrency == concurrency)
        )

    def goals(self) -> list[ServingGoal]:
        if GOAL_CONCURRENCY not in self.settings.concurrencies:
            return []
        goals = []
        for length in self.settings.lengths:
            raw = self.row("b", length)
            shared = self.row("a", length, GOAL_CONCURRENCY)
            daemon = self.row("d", length, GOAL_CONCURRENCY)
            goals.append(
                ServingGoal(
                    length,
                    daemon.requests_per_second / raw.requests_per_second,
                    daemon.p99_ms / shared.p99_ms,
                )
            )
        return goals

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": "serving",
            "model": DEFAULT_EMBEDDING_MODEL,
            "variant": self.variant,
            "daemon_variant": self.daemon_variant,
            "intra_op_threads": self.intra_op_threads,
            "settings": asdict(self.settings),
            "cases": CASES,
            "vector_max_diff": self.vector_max_diff,
            "vectors_verified": self.vectors_verified,
            "rows": [
                {
                    **asdict(r),
                    "requests_per_second": r.requests_per_second,
                    "cpu_ms_per_request": r.cpu_ms_per_request,
                    "ratio_to_raw_limit": r.requests_per_second
                    / self.row("b", r.length).requests_per_second,
                }
                for r in self.rows
            ],
            "sweep": [asdict(point) for point in self.sweep],
            "goal": {
                "concurrency": GOAL_CONCURRENCY,
                "min_throughput_ratio_to_b": GOAL_THROUGHPUT_RATIO,
                "max_p99_ratio_to_a": GOAL_P99_RATIO,
                "per_length": [{**asdict(g), "met": g.met} for g in self.goals()],
            },
        }


# -- inputs ---------------------------------------------------------------------------------


def _texts_of_length(tokenizer: EmbeddingTokenizer, length: int, count: int) -> list[str]:
    """``count`` different texts of exactly ``length`` tokens ([CLS] and [SEP] included)."""
    vocabulary = _PROSE.split()
    texts = []
    for index in range(count):
        words = [vocabulary[(index * 7 + i) % len(vocabulary)] for i in range(max(0, length - 2))]
        while words and tokenizer.count_tokens([" ".join(words)])[0] > length:
            words.pop()
        text = " ".join(words)
        if tokenizer.count_tokens([text])[0] != length:
            raise AinosError(f"cannot make a text of exactly {length} tokens")
        texts.append(text)
    return texts


class _RawSession:
    """The model's ONNX Runtime session, fed the pre-tokenised rows of one length."""

    def __init__(self, model: EmbeddingModel, texts: Sequence[str]) -> None:
        self._session = model.session
        self._single_thread = model.single_thread_session()
        self.cores = model.intra_op_threads
        names = {i.name for i in self._session.get_inputs()}
        feeds = model.tokenizer.encode(texts)
        self._batch = {name: array for name, array in feeds.items() if name in names}
        self._rows = [
            {name: np.ascontiguousarray(array[i : i + 1]) for name, array in self._batch.items()}
            for i in range(len(texts))
        ]

    def run_row(self, index: int) -> np.ndarray[Any, Any]:
        result: np.ndarray[Any, Any] = self._session.run(
            [_OUTPUT], self._rows[index % len(self._rows)]
        )[0]
        return result

    def run_batch(self, size: int, *, single_thread: bool = False) -> None:
        session = self._single_thread if single_thread else self._session
        session.run([_OUTPUT], {name: a[:size] for name, a in self._batch.items()})


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Snapshot:
    cpu: float  # seconds of the measured processes
    busy: float  # seconds of the whole machine, idle and iowait left out
    batch_rows: float
    batch_runs: float


class _Meter:
    """Snapshots of CPU time and, where there is one, the batch-size histogram's sum/count."""

    def __init__(
        self,
        processes: Sequence[psutil.Process],
        batches: Callable[[], tuple[float, float]] | None = None,
    ) -> None:
        self._processes = processes
        self._batches = batches

    def snapshot(self) -> _Snapshot:
        rows, runs = self._batches() if self._batches is not None else (0.0, 0.0)
        return _Snapshot(process_cpu_seconds(self._processes), machine_busy_seconds(), rows, runs)

    @property
    def counts_batches(self) -> bool:
        return self._batches is not None


@dataclass
class _Loop:
    window: tuple[float, float] = (0.0, 0.0)
    latencies: list[float] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _fail(loop: _Loop, ready: threading.Barrier, error: BaseException) -> None:
    """Hand a client's error to the coordinator and stop the cell."""
    loop.errors.append(error)
    loop.stop.set()
    ready.abort()


def _client_thread(
    loop: _Loop, worker: Worker, index: int, step: int, ready: threading.Barrier
) -> None:
    latencies: list[float] = []
    try:
        request, close = worker(index)
    except BaseException as error:  # e.g. no connection: fail the cell, not hang it
        _fail(loop, ready, error)
        return
    try:
        ready.wait()
        start, end = loop.window
        n = index
        while not loop.stop.is_set():
            began = time.perf_counter()
            request(n)
            finished = time.perf_counter()
            if start <= finished <= end:
                latencies.append(finished - began)
            n += step
    except BaseException as error:
        _fail(loop, ready, error)
    finally:
        close()
        with loop.lock:
            loop.latencies += latencies


def _wait_until(moment: float, loop: _Loop, label: str, progress: Progress, span: float) -> None:
    while (left := moment - time.perf_counter()) > 0 and not loop.stop.is_set():
        time.sleep(min(0.2, left))
        progress(label, min(1.0, 1 - (moment - time.perf_counter()) / span))


def _closed_loop(
    case: str,
    length: int,
    concurrency: int,
    worker: Worker,
    meter: _Meter,
    settings: ServingSettings,
    progress: Progress,
) -> ServingRow:
    """N threads, each sending its next request as soon as the last returns; measured over
    a window after a warm-up."""
    label = f"({case}) {length} tok x{concurrency}"
    loop = _Loop()

    def open_window() -> None:
        start = time.perf_counter() + settings.warmup_s
        loop.window = (start, start + settings.cell_s)

    ready = threading.Barrier(concurrency + 1, action=open_window)
    threads = [
        threading.Thread(target=_client_thread, args=(loop, worker, i, concurrency, ready))
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
        span = settings.warmup_s + settings.cell_s
        _wait_until(loop.window[0], loop, label, progress, span)
        before = meter.snapshot()
        _wait_until(loop.window[1], loop, label, progress, span)
        after = meter.snapshot()
    except threading.BrokenBarrierError:
        pass  # a client failed before the start; its error is raised below
    finally:
        loop.stop.set()
        for thread in threads:
            thread.join()
    if loop.errors:
        raise AinosError(f"{label}: {loop.errors[0]}") from loop.errors[0]
    progress(label, 1.0)
    ms = np.array(loop.latencies) * 1000
    return ServingRow(
        case=case,
        length=length,
        concurrency=concurrency,
        requests=len(ms),
        seconds=settings.cell_s,
        p50_ms=float(np.percentile(ms, 50)) if len(ms) else 0.0,
        p99_ms=float(np.percentile(ms, 99)) if len(ms) else 0.0,
        mean_batch=_mean_batch(meter, before, after),
        cpu_seconds=after.cpu - before.cpu,
        other_cpu_fraction=_other_fraction(before, after, settings.cell_s),
    )


def _mean_batch(meter: _Meter, before: _Snapshot, after: _Snapshot) -> float | None:
    """Rows per run from the histogram; a bare session runs one row per call."""
    if not meter.counts_batches:
        return 1.0
    runs = after.batch_runs - before.batch_runs
    return (after.batch_rows - before.batch_rows) / runs if runs else None


def _other_fraction(before: _Snapshot, after: _Snapshot, seconds: float) -> float:
    cores = psutil.cpu_count() or 1
    other = (after.busy - before.busy) - (after.cpu - before.cpu)
    return max(0.0, other / (seconds * cores))


def _timed_runs(raw: _RawSession, batch: int, runs_at_once: int, seconds: float) -> list[float]:
    """Seconds of each run of ``batch`` rows over ``seconds``: one run at a time on every core,
    or ``runs_at_once`` one-thread runs side by side (a thread each; the engine drops the GIL)."""
    single = runs_at_once > 1
    times: list[list[float]] = [[] for _ in range(runs_at_once)]
    stop = time.perf_counter() + seconds

    def loop(own: list[float]) -> None:
        raw.run_batch(batch, single_thread=single)  # warm up: the first run plans memory
        while time.perf_counter() < stop or len(own) < 3:
            started = time.perf_counter()
            raw.run_batch(batch, single_thread=single)
            own.append(time.perf_counter() - started)

    threads = [threading.Thread(target=loop, args=(own,)) for own in times[1:]]
    for thread in threads:
        thread.start()
    loop(times[0])
    for thread in threads:
        thread.join()
    return [t for own in times for t in own]


def _sweep(
    raw: _RawSession, length: int, settings: ServingSettings, progress: Progress
) -> tuple[list[SweepPoint], ServingRow]:
    """Raw throughput at each batch size, one run at a time on every core and (on a machine
    with several) one single-thread run per core side by side; the best becomes row (b)."""
    meter = _Meter([psutil.Process()])
    points: list[SweepPoint] = []
    best: ServingRow | None = None
    layouts = [1] if raw.cores == 1 else [1, raw.cores]
    for runs_at_once, batch in ((n, b) for n in layouts for b in settings.sweep_batches):
        label = f"(b) {length} tok b={batch}" + (f" x{runs_at_once}" if runs_at_once > 1 else "")
        progress(label, 0.0)
        before = meter.snapshot()
        began = time.perf_counter()
        times = _timed_runs(raw, batch, runs_at_once, settings.sweep_s)
        elapsed = time.perf_counter() - began
        after = meter.snapshot()
        ms = np.array(times) * 1000
        sequences = batch * len(times)
        point = SweepPoint(
            length, batch, sequences / elapsed, float(np.median(ms)), side_by_side=runs_at_once
        )
        points.append(point)
        progress(label, 1.0)
        if best is None or point.sequences_per_second > best.requests_per_second:
            best = ServingRow(
                case="b",
                length=length,
                concurrency=runs_at_once,
                requests=sequences,
                seconds=elapsed,
                p50_ms=float(np.percentile(ms, 50)),
                p99_ms=float(np.percentile(ms, 99)),
                mean_batch=float(batch),
                cpu_seconds=after.cpu - before.cpu,
                other_cpu_fraction=_other_fraction(before, after, elapsed),
            )
    assert best is not None
    return points, best


# -- the four cases -------------------------------------------------------------------------


def _shared_session_worker(raw: _RawSession) -> Worker:
    def worker(_index: int) -> tuple[Request, Callable[[], None]]:
        def request(n: int) -> None:
            raw.run_row(n)

        return request, lambda: None

    return worker


def _in_process_worker(runtime: Runtime, texts: Sequence[str]) -> Worker:
    def worker(index: int) -> tuple[Request, Callable[[], None]]:
        client = ClientIdentity(name=f"bench-{index}")

        def request(n: int) -> None:
            runtime.embeddings.embed(
                DEFAULT_EMBEDDING_MODEL, [texts[n % len(texts)]], client=client
            )

        return request, lambda: None

    return worker


class _Http:
    """The daemon's HTTP API over one keep-alive connection."""

    def __init__(self, url: str, client: str = "bench") -> None:
        parts = urlsplit(url)
        self._connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)
        self._connection.connect()
        # http.client writes the headers and the body separately: without TCP_NODELAY (which
        # httpx, under the openai client, sets) Nagle's algorithm and delayed ACKs add 40 ms.
        self._connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._headers = {"Content-Type": "application/json", "x-ainos-client": client}

    def call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        self._connection.request(method, path, body=body, headers=self._headers)
        response = self._connection.getresponse()
        data = response.read()
        if response.status != 200:
            raise AinosError(f"{method} {path}: HTTP {response.status}: {data[:300]!r}")
        return data

    def embed(self, body: bytes) -> np.ndarray[Any, Any]:
        document = json.loads(self.call("POST", "/v1/embeddings", body))
        raw = base64.b64decode(document["data"][0]["embedding"])
        return np.frombuffer(raw, dtype="<f4")

    def close(self) -> None:
        self._connection.close()


def _embedding_body(text: str) -> bytes:
    # base64 is what the openai client asks for by default.
    request = {"model": DEFAULT_EMBEDDING_MODEL, "input": [text], "encoding_format": "base64"}
    return json.dumps(request).encode()


def _daemon_worker(url: str, texts: Sequence[str]) -> Worker:
    bodies = [_embedding_body(text) for text in texts]

    def worker(index: int) -> tuple[Request, Callable[[], None]]:
        connection = _Http(url, f"bench-{index}")

        def request(n: int) -> None:
            connection.embed(bodies[n % len(bodies)])

        return request, connection.close

    return worker


_BATCH_LINE = re.compile(r'^ainos_model_batch_size_(sum|count)\{[^}]*model="([^"]+)"[^}]*\} (\S+)$')


def _daemon_batches(url: str) -> Callable[[], tuple[float, float]]:
    def read() -> tuple[float, float]:
        connection = _Http(url)
        try:
            text = connection.call("GET", "/metrics").decode()
        finally:
            connection.close()
        found = {"sum": 0.0, "count": 0.0}
        for line in text.splitlines():
            match = _BATCH_LINE.match(line)
            if match and match.group(2) == DEFAULT_EMBEDDING_MODEL:
                found[match.group(1)] = float(match.group(3))
        return found["sum"], found["count"]

    return read


def _runtime_batches(runtime: Runtime) -> Callable[[], tuple[float, float]]:
    def read() -> tuple[float, float]:
        found = {"_sum": 0.0, "_count": 0.0}
        for family in runtime.embeddings.metrics.families():
            if family.name != "ainos_model_batch_size":
                continue
            for sample in family.samples:
                model = sample.labels.get("model")
                if sample.suffix in found and model == DEFAULT_EMBEDDING_MODEL:
                    found[sample.suffix] = sample.value
        return found["_sum"], found["_count"]

    return read


# -- the run --------------------------------------------------------------------------------


@dataclass
class _Fixtures:
    model: EmbeddingModel
    runtime: Runtime
    daemon: Daemon
    url: str


def _daemon_url(daemon: Daemon) -> str:
    with Client(daemon.socket_path) as client:
        url = client.version().endpoints.get("http")
    if not url:
        raise AinosError("the daemon serves no HTTP API")
    return url


def _daemon_variant(url: str) -> str:
    connection = _Http(url)
    try:
        connection.call("POST", f"/ainos/models/{DEFAULT_EMBEDDING_MODEL}/load")
        loaded = json.loads(connection.call("GET", "/ainos/models"))["data"]
    finally:
        connection.close()
    return str(next(m["variant"] for m in loaded if m["alias"] == DEFAULT_EMBEDDING_MODEL))


def _vector_diffs(
    fixtures: _Fixtures, tokenizer: EmbeddingTokenizer, length: int
) -> dict[str, float]:
    """One text through (a), (c) and (d): the largest difference of (c) and (d) to (a)."""
    text = _texts_of_length(tokenizer, length, 1)[0]
    reference = _RawSession(fixtures.model, [text]).run_row(0)[0]
    in_process = fixtures.runtime.embeddings.embed(DEFAULT_EMBEDDING_MODEL, [text]).vectors[0]
    connection = _Http(fixtures.url)
    try:
        through_daemon = connection.embed(_embedding_body(text))
    finally:
        connection.close()
    return {
        "c": float(np.abs(in_process - reference).max()),
        "d": float(np.abs(through_daemon - reference).max()),
    }


def _measure_length(
    fixtures: _Fixtures, length: int, settings: ServingSettings, progress: Progress
) -> tuple[list[SweepPoint], list[ServingRow]]:
    texts = _texts_of_length(fixtures.model.tokenizer, length, _TEXTS_PER_LENGTH)
    raw = _RawSession(fixtures.model, texts)
    points, best = _sweep(raw, length, settings, progress)
    rows = [best]
    own = psutil.Process()
    daemon_and_client = [psutil.Process(fixtures.daemon.pid), own]
    for concurrency in settings.concurrencies:
        cases: list[tuple[str, Worker, _Meter]] = [
            ("a", _shared_session_worker(raw), _Meter([own])),
            (
                "c",
                _in_process_worker(fixtures.runtime, texts),
                _Meter([own], _runtime_batches(fixtures.runtime)),
            ),
            (
                "d",
                _daemon_worker(fixtures.url, texts),
                _Meter(daemon_and_client, _daemon_batches(fixtures.url)),
            ),
        ]
        for case, worker, meter in cases:
            rows.append(_closed_loop(case, length, concurrency, worker, meter, settings, progress))
    return points, rows


def run_serving_bench(
    *,
    quick: bool,
    progress: Progress | None = None,
    settings: ServingSettings | None = None,
) -> ServingBenchResult:
    """Measure the four cases at every length and concurrency of ``settings`` (by default
    the full or the ``quick`` set)."""
    report = progress or (lambda _label, _fraction: None)
    chosen = settings or (ServingSettings.quick() if quick else ServingSettings())
    report("loading the model", 0.0)
    variant, _reason = choose_embedding_variant(ModelCatalog().entry(DEFAULT_EMBEDDING_MODEL))
    converter_variant = dict(EMBEDDING_VARIANTS)[variant]
    model = EmbeddingModel.packaged(DEFAULT_EMBEDDING_MODEL, converter_variant)  # type: ignore[arg-type]
    config = RuntimeConfig(kernel=ServicesConfig(pool_bytes=8 * 1024 * 1024))
    with Runtime(config) as runtime, running_daemon() as daemon:
        runtime.embeddings.load(DEFAULT_EMBEDDING_MODEL, variant=variant)
        url = _daemon_url(daemon)
        daemon_variant = _daemon_variant(url)
        report("loading the model", 1.0)
        fixtures = _Fixtures(model, runtime, daemon, url)
        diffs = _vector_diffs(fixtures, model.tokenizer, chosen.lengths[0])
        rows: list[ServingRow] = []
        sweep: list[SweepPoint] = []
        for length in chosen.lengths:
            points, measured = _measure_length(fixtures, length, chosen, report)
            sweep += points
            rows += measured
    return ServingBenchResult(
        settings=chosen,
        variant=variant,
        daemon_variant=daemon_variant,
        intra_op_threads=int(model.session.get_session_options().intra_op_num_threads),
        vector_max_diff=diffs,
        rows=rows,
        sweep=sweep,
    )
