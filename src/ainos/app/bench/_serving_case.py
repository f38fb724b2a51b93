"""One case of ``ainos bench serving``, run in a process of its own::

    python -m ainos.app.bench._serving_case {a|b|c|d|e} --variant V --settings JSON
        [--url URL --daemon-pid PID]

prints one JSON object on stdout (:func:`run_case`'s) and, on stderr, a line
``ainos-bench-progress DONE TOTAL`` after each measured cell. Every length and concurrency
of the settings is measured in the one process, after one load of the model:

- ``a``: one shared ``InferenceSession`` called from N threads at batch 1, pre-tokenised rows;
- ``b``: the limit: the same model at every batch size of the sweep, one run at a time on
  every core and (on a machine with several) one single-thread run per core side by side;
  each layout's best point is measured again over a longer window, the better one is the
  limit;
- ``c``: ``Runtime().embeddings.embed`` from N threads, one text per request;
- ``d``: the daemon's ``POST /v1/embeddings`` from N client threads over keep-alive HTTP
  (the daemon is the parent's; its CPU time is counted with this process's);
- ``e``: the plain no-wait dynamic batcher (:class:`PlainBatcher`) on the shared session,
  its N clients tokenising their own texts with the tokenizer ainos uses.

Only one session's thread pool lives in the process (``b`` adds its single-thread twin).
"""

from __future__ import annotations

import argparse
import base64
import json
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import IO, Any

import numpy as np
import psutil

from ainos.ai.ml import (
    DEFAULT_EMBEDDING_MODEL,
    EmbeddingModel,
    EmbeddingTokenizer,
    convert_packaged_model,
)
from ainos.ai.ml._catalog import EMBEDDING_VARIANTS
from ainos.app.api import DaemonApi
from ainos.app.bench._cpu import machine_busy_seconds, process_cpu_seconds
from ainos.app.bench._process import report_progress
from ainos.errors import AinosError

__all__ = ["CASES", "PlainBatcher", "main", "run_case", "texts_of_length"]

CASES = ("a", "b", "c", "d", "e")
Request = Callable[[int], Any]  # one request; its argument picks the text
Worker = Callable[[int], tuple[Request, Callable[[], None]]]  # index -> (request, close)

_OUTPUT = "sentence_embedding"
_TEXTS_PER_LENGTH = 64  # distinct inputs per length; also the largest raw batch
_PROSE = (  # common words, one token each: texts of any length are cut from it
    "the quick brown fox jumps over a lazy dog while people in the city watch "
    "from their windows and talk about work food music weather time money love "
    "family school water light house world game story market river mountain "
    "night morning car road book paper table chair door window garden tree"
)


# -- inputs ---------------------------------------------------------------------------------


def texts_of_length(tokenizer: EmbeddingTokenizer, length: int, count: int) -> list[str]:
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
        self._model = model
        self._session = model.session
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
        session = self._model.single_thread_session() if single_thread else self._session
        session.run([_OUTPUT], {name: a[:size] for name, a in self._batch.items()})


# -- the plain batcher ----------------------------------------------------------------------


class PlainBatcher:
    """The dynamic batcher a user writes in thirty lines: one queue, one worker thread that
    takes everything queued (up to ``largest``), runs it as one batch on the session and
    never waits for more. Clients tokenise their own texts; the worker pads them together."""

    def __init__(self, session: Any, tokenizer: EmbeddingTokenizer, largest: int = 32) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._largest = largest
        self._names = {i.name for i in session.get_inputs()}
        self._queue: queue.SimpleQueue[tuple[Any, Future[np.ndarray[Any, Any]]] | None]
        self._queue = queue.SimpleQueue()
        self.rows = 0
        self.runs = 0
        self._worker = threading.Thread(target=self._work, name="plain-batcher", daemon=True)
        self._worker.start()

    def embed(self, text: str) -> np.ndarray[Any, Any]:
        """One text's vector; called from any number of client threads."""
        encoding = self._tokenizer.tokenize([text])[0]  # in the client's thread
        done: Future[np.ndarray[Any, Any]] = Future()
        self._queue.put((encoding, done))
        return done.result()

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join()

    def _work(self) -> None:
        while (first := self._queue.get()) is not None:
            items = [first]
            while len(items) < self._largest:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                items.append(item)
            feeds = self._tokenizer.collate([encoding for encoding, _ in items])
            try:
                out = self._session.run(
                    [_OUTPUT], {k: v for k, v in feeds.items() if k in self._names}
                )[0]
            except Exception as error:  # the clients get it
                for _, done in items:
                    done.set_exception(error)
                continue
            self.rows += len(items)
            self.runs += 1
            for row, (_, done) in enumerate(items):
                done.set_result(out[row])


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

    def mean_batch(self, before: _Snapshot, after: _Snapshot) -> float | None:
        """Rows per run; a bare session runs one row per call."""
        if self._batches is None:
            return 1.0
        runs = after.batch_runs - before.batch_runs
        return (after.batch_rows - before.batch_rows) / runs if runs else None


def _other_fraction(before: _Snapshot, after: _Snapshot, seconds: float) -> float:
    cores = psutil.cpu_count() or 1
    other = (after.busy - before.busy) - (after.cpu - before.cpu)
    return max(0.0, other / (seconds * cores)) if seconds > 0 else 0.0


@dataclass
class _Loop:
    window: tuple[float, float] = (0.0, 0.0)
    latencies: list[float] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _fail(loop: _Loop, ready: threading.Barrier, error: BaseException) -> None:
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


def _sleep_until(moment: float, loop: _Loop) -> None:
    while (left := moment - time.perf_counter()) > 0 and not loop.stop.is_set():
        time.sleep(min(0.2, left))


def _closed_loop(
    case: str,
    length: int,
    concurrency: int,
    worker: Worker,
    meter: _Meter,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """N threads, each sending its next request as soon as the last returns; measured over
    a window after a warm-up."""
    loop = _Loop()
    warmup, cell = float(settings["warmup_s"]), float(settings["cell_s"])

    def open_window() -> None:
        start = time.perf_counter() + warmup
        loop.window = (start, start + cell)

    ready = threading.Barrier(concurrency + 1, action=open_window)
    threads = [
        threading.Thread(target=_client_thread, args=(loop, worker, i, concurrency, ready))
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
        _sleep_until(loop.window[0], loop)
        before = meter.snapshot()
        _sleep_until(loop.window[1], loop)
        after = meter.snapshot()
    except threading.BrokenBarrierError:
        pass  # a client failed before the start; its error is raised below
    finally:
        loop.stop.set()
        for thread in threads:
            thread.join()
    if loop.errors:
        raise AinosError(f"({case}) {length} tok x{concurrency}: {loop.errors[0]}")
    ms = np.array(loop.latencies) * 1000
    return {
        "case": case,
        "length": length,
        "concurrency": concurrency,
        "requests": len(ms),
        "seconds": cell,
        "p50_ms": float(np.percentile(ms, 50)) if len(ms) else 0.0,
        "p99_ms": float(np.percentile(ms, 99)) if len(ms) else 0.0,
        "mean_batch": meter.mean_batch(before, after),
        "cpu_seconds": after.cpu - before.cpu,
        "other_cpu_fraction": _other_fraction(before, after, cell),
    }


def _timed_runs(raw: _RawSession, batch: int, runs_at_once: int, seconds: float) -> list[float]:
    """Seconds of each run of ``batch`` rows over ``seconds``: one run at a time on every core,
    or ``runs_at_once`` one-thread runs side by side (a thread each; the engine drops the GIL)."""
    single = runs_at_once > 1
    times: list[list[float]] = [[] for _ in range(runs_at_once)]
    raw.run_batch(batch, single_thread=single)  # warm up: the first run plans memory
    stop = time.perf_counter() + seconds

    def loop(own: list[float]) -> None:
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


def _raw_window(
    raw: _RawSession, length: int, batch: int, runs_at_once: int, seconds: float
) -> dict[str, Any]:
    meter = _Meter([psutil.Process()])
    before = meter.snapshot()
    began = time.perf_counter()
    times = _timed_runs(raw, batch, runs_at_once, seconds)
    elapsed = time.perf_counter() - began
    after = meter.snapshot()
    ms = np.array(times) * 1000
    return {
        "case": "b",
        "length": length,
        "concurrency": runs_at_once,
        "requests": batch * len(times),
        "seconds": elapsed,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_batch": float(batch),
        "cpu_seconds": after.cpu - before.cpu,
        "other_cpu_fraction": _other_fraction(before, after, elapsed),
    }


def _rate(row: Mapping[str, Any]) -> float:
    return float(row["requests"]) / float(row["seconds"]) if row["seconds"] else 0.0


def _limit(
    raw: _RawSession, length: int, settings: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The sweep's points, then its best ones again over ``limit_s``: the better is (b)."""
    layouts = [1] if raw.cores == 1 else [1, raw.cores]
    points = []
    for runs_at_once in layouts:
        for batch in settings["sweep_batches"]:
            window = _raw_window(raw, length, batch, runs_at_once, float(settings["sweep_s"]))
            points.append(
                {
                    "length": length,
                    "batch": batch,
                    "sequences_per_second": _rate(window),
                    "p50_ms": window["p50_ms"],
                    "side_by_side": runs_at_once,
                }
            )
    best: dict[int, dict[str, Any]] = {}  # layout -> its best point
    for point in points:
        kept = best.get(point["side_by_side"])
        if kept is None or point["sequences_per_second"] > kept["sequences_per_second"]:
            best[point["side_by_side"]] = point
    confirmed = [
        _raw_window(raw, length, p["batch"], p["side_by_side"], float(settings["limit_s"]))
        for p in best.values()
    ]
    return points, max(confirmed, key=_rate)


# -- HTTP -----------------------------------------------------------------------------------


def _embed_through(api: DaemonApi, body: Mapping[str, Any]) -> np.ndarray[Any, Any]:
    document = api.json("POST", "/v1/embeddings", body)
    raw = base64.b64decode(document["data"][0]["embedding"])
    return np.frombuffer(raw, dtype="<f4")


def embedding_body(text: str) -> dict[str, Any]:
    # base64 is what the openai client asks for by default.
    return {"model": DEFAULT_EMBEDDING_MODEL, "input": [text], "encoding_format": "base64"}


def daemon_variant(url: str) -> str:
    """The variant the daemon loads the model in (it loads it now if it had not)."""
    with DaemonApi(url, client_name="bench") as api:
        return str(api.load_model(DEFAULT_EMBEDDING_MODEL)["variant"])


_BATCH_LINE = re.compile(r'^ainos_model_batch_size_(sum|count)\{[^}]*model="([^"]+)"[^}]*\} (\S+)$')


def _daemon_batches(url: str) -> Callable[[], tuple[float, float]]:
    def read() -> tuple[float, float]:
        with DaemonApi(url, client_name="bench") as api:
            text = api.text("/metrics")
        found = {"sum": 0.0, "count": 0.0}
        for line in text.splitlines():
            match = _BATCH_LINE.match(line)
            if match and match.group(2) == DEFAULT_EMBEDDING_MODEL:
                found[match.group(1)] = float(match.group(3))
        return found["sum"], found["count"]

    return read


# -- the cases ------------------------------------------------------------------------------


@dataclass
class _Case:
    """What one case needs: a worker per length's texts, a meter, one text's vector."""

    worker: Callable[[Sequence[str]], Worker]
    meter: _Meter
    vector: Callable[[str], np.ndarray[Any, Any]]
    close: Callable[[], None] = lambda: None
    intra_op_threads: int | None = None  # of the session it runs, where it is in this process


def _no_close() -> None:
    return None


def _packaged(variant: str) -> EmbeddingModel:
    converter_variant = dict(EMBEDDING_VARIANTS)[variant]
    return EmbeddingModel.packaged(DEFAULT_EMBEDDING_MODEL, converter_variant)  # type: ignore[arg-type]


def _tokenizer(variant: str) -> EmbeddingTokenizer:
    """The model's tokenizer without a session (for the cases whose session is elsewhere)."""
    converted = convert_packaged_model(DEFAULT_EMBEDDING_MODEL, dict(EMBEDDING_VARIANTS)[variant])  # type: ignore[arg-type]
    return EmbeddingTokenizer.for_encoder(converted.spec)


def _threads(session: Any) -> int:
    return int(session.get_session_options().intra_op_num_threads)


def _shared_session_case(model: EmbeddingModel) -> _Case:
    def worker(texts: Sequence[str]) -> Worker:
        raw = _RawSession(model, texts)

        def make(_index: int) -> tuple[Request, Callable[[], None]]:
            return raw.run_row, _no_close

        return make

    return _Case(
        worker,
        _Meter([psutil.Process()]),
        lambda text: _RawSession(model, [text]).run_row(0)[0],
        intra_op_threads=_threads(model.session),
    )


def _batcher_case(model: EmbeddingModel) -> _Case:
    batcher = PlainBatcher(model.session, model.tokenizer, largest=32)

    def worker(texts: Sequence[str]) -> Worker:
        def make(_index: int) -> tuple[Request, Callable[[], None]]:
            return (lambda n: batcher.embed(texts[n % len(texts)])), _no_close

        return make

    meter = _Meter([psutil.Process()], lambda: (float(batcher.rows), float(batcher.runs)))
    return _Case(worker, meter, batcher.embed, batcher.close, _threads(model.session))


def _in_process_case(variant: str) -> _Case:
    from ainos.app.runtime import Runtime, RuntimeConfig
    from ainos.kernel.control import ServicesConfig
    from ainos.protocol.scheduler import ClientIdentity

    runtime = Runtime(RuntimeConfig(kernel=ServicesConfig(pool_bytes=8 * 1024 * 1024))).start()
    runtime.embeddings.load(DEFAULT_EMBEDDING_MODEL, variant=variant)

    def worker(texts: Sequence[str]) -> Worker:
        def make(index: int) -> tuple[Request, Callable[[], None]]:
            client = ClientIdentity(name=f"bench-{index}")

            def request(n: int) -> None:
                runtime.embeddings.embed(
                    DEFAULT_EMBEDDING_MODEL, [texts[n % len(texts)]], client=client
                )

            return request, _no_close

        return make

    def batches() -> tuple[float, float]:
        found = {"_sum": 0.0, "_count": 0.0}
        for family in runtime.embeddings.metrics.families():
            if family.name != "ainos_model_batch_size":
                continue
            for sample in family.samples:
                model = sample.labels.get("model")
                if sample.suffix in found and model == DEFAULT_EMBEDDING_MODEL:
                    found[sample.suffix] = sample.value
        return found["_sum"], found["_count"]

    def vector(text: str) -> np.ndarray[Any, Any]:
        result: np.ndarray[Any, Any] = runtime.embeddings.embed(
            DEFAULT_EMBEDDING_MODEL, [text]
        ).vectors[0]
        return result

    threads = _threads(runtime.embeddings.session(DEFAULT_EMBEDDING_MODEL))
    return _Case(worker, _Meter([psutil.Process()], batches), vector, runtime.close, threads)


def _daemon_case(url: str, daemon_pid: int) -> _Case:
    def worker(texts: Sequence[str]) -> Worker:
        bodies = [embedding_body(text) for text in texts]

        def make(index: int) -> tuple[Request, Callable[[], None]]:
            api = DaemonApi(url, client_name=f"bench-{index}")
            return (lambda n: _embed_through(api, bodies[n % len(bodies)])), api.close

        return make

    def vector(text: str) -> np.ndarray[Any, Any]:
        with DaemonApi(url, client_name="bench") as api:
            return _embed_through(api, embedding_body(text))

    processes = [psutil.Process(daemon_pid), psutil.Process()]
    return _Case(worker, _Meter(processes, _daemon_batches(url)), vector)


def run_case(
    case: str,
    variant: str,
    settings: Mapping[str, Any],
    *,
    url: str | None = None,
    daemon_pid: int | None = None,
    progress: IO[str] | None = None,
) -> dict[str, Any]:
    """Every length and concurrency of ``settings`` for ``case``, in this process. Only the
    session the case measures is opened here ((c) and (d) take the tokenizer alone)."""
    lengths = [int(n) for n in settings["lengths"]]
    concurrencies = [int(n) for n in settings["concurrencies"]]
    total = len(lengths) * (1 if case == "b" else len(concurrencies))
    rows: list[dict[str, Any]] = []
    sweep: list[dict[str, Any]] = []
    vector: list[float] | None = None
    if case == "b":
        model = _packaged(variant)
        threads: int | None = _threads(model.session)
        for length in lengths:
            raw = _RawSession(model, texts_of_length(model.tokenizer, length, _TEXTS_PER_LENGTH))
            points, best = _limit(raw, length, settings)
            sweep += points
            rows.append(best)
            if progress is not None:
                report_progress(progress, len(rows), total)
    else:
        if case == "a":
            chosen = _shared_session_case(_packaged(variant))
        elif case == "e":
            chosen = _batcher_case(_packaged(variant))
        elif case == "c":
            chosen = _in_process_case(variant)
        elif case == "d":
            if url is None or daemon_pid is None:
                raise AinosError("the daemon case needs --url and --daemon-pid")
            chosen = _daemon_case(url, daemon_pid)
        else:
            raise AinosError(f"no case {case!r}: one of {', '.join(CASES)}")
        threads = chosen.intra_op_threads
        tokenizer = _tokenizer(variant)
        try:
            reference = texts_of_length(tokenizer, lengths[0], 1)[0]
            vector = [float(x) for x in chosen.vector(reference)]
            for length in lengths:
                worker = chosen.worker(texts_of_length(tokenizer, length, _TEXTS_PER_LENGTH))
                for concurrency in concurrencies:
                    rows.append(
                        _closed_loop(case, length, concurrency, worker, chosen.meter, settings)
                    )
                    if progress is not None:
                        report_progress(progress, len(rows), total)
        finally:
            chosen.close()
    return {
        "case": case,
        "variant": variant,
        "intra_op_threads": threads,
        "rows": rows,
        "sweep": sweep,
        "vector": vector,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ainos.app.bench._serving_case")
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--variant", required=True, help="the runtime's variant of the model")
    parser.add_argument("--settings", required=True, help="ServingSettings as a JSON object")
    parser.add_argument("--url", help="the daemon's HTTP API (case d)")
    parser.add_argument("--daemon-pid", type=int, help="the daemon's process (case d)")
    args = parser.parse_args(argv)
    document = run_case(
        args.case,
        args.variant,
        json.loads(args.settings),
        url=args.url,
        daemon_pid=args.daemon_pid,
        progress=sys.stderr,
    )
    sys.stdout.write(json.dumps(document) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
