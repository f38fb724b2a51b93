"""LLM generation: the llama.cpp engine used directly vs the same engine through ainos.

Side by side in one run, on the packaged SmolLM2 GGUF, greedy, prompts of the same shape, the
same engine settings (``parallel`` sequences, ``threads`` threads, the model's trained window):

- (a) raw: a ``LlamaCppEngine`` called directly, no scheduler;
- (b) ainos: ``LlmService`` on the runtime's scheduler, in-process, on (a)'s very engine;
- (c) daemon: streamed ``POST /v1/chat/completions`` to a real daemon, timed by its client.

Each measures one request at a time (time to first token, decode tokens/s) and ``parallel``
requests at once (total tokens/s), the modes taking turns at every repetition. Then (d) sets
a realtime client's short chats against a batch client keeping ``parallel`` long generations
in flight: realtime TTFT idle and loaded, on the raw engine (no priorities: all sequences are
alike) and through ainos (batch work never takes the reserved sequences). Token counts come
from the engines' usage, never from chunks; each figure is the median of the repetitions.
"""

from __future__ import annotations

import itertools
import statistics
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar

import psutil

from ainos.ai.ml import DEFAULT_CHAT_MODEL, packaged_chat_model_file, physical_cores
from ainos.ai.ml._catalog import CatalogEntry
from ainos.ai.ml.llm import (
    EngineSettings,
    Generation,
    LlamaCppEngine,
    LlmEngine,
    LlmLimits,
    LlmService,
    Reply,
    chat_body,
    prepare_chat,
    streamed_body,
)
from ainos.ai.ml.llm._service import EngineFactory
from ainos.app.api import DaemonApi, daemon_api_url
from ainos.app.bench._cpu import machine_busy_seconds, process_cpu_seconds
from ainos.app.bench._daemon import running_daemon
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.errors import AinosError
from ainos.kernel.control import ServicesConfig
from ainos.protocol.scheduler import ClientIdentity, Priority

__all__ = [
    "GOAL_PARALLEL_RATIO",
    "GOAL_RATIO",
    "MODES",
    "LlmBenchResult",
    "LlmBenchSettings",
    "LlmGoal",
    "LlmRow",
    "PriorityRow",
    "run_llm_bench",
]

Progress = Callable[[str, float], None]
_T = TypeVar("_T")
Body = dict[str, Any]  # an OpenAI chat-completions request

MODES = {
    "raw": "(a) llama.cpp engine, called directly",
    "ainos": "(b) LlmService on the scheduler, in-process",
    "daemon": "(c) the daemon's HTTP API, streamed",
}
GOAL_RATIO = 0.95  # ainos at least this share of raw: decode tokens/s, and speed to first token
GOAL_PARALLEL_RATIO = 1.0  # ainos's concurrent tokens/s at least raw's parallel ones
_TOPICS = (
    "a lighthouse keeper",
    "a clockmaker's apprentice",
    "a village in the mountains",
    "a ship lost at sea",
    "a robot learning to paint",
    "a library that never closes",
    "two rival bakers",
    "a comet seen from a farm",
)
_WARMUP_TOKENS = 8
_REALTIME_GAP_S = 0.25  # between realtime chats, so they land at different points of the load
_NEVER = threading.Event()  # a stop signal nobody sets


@dataclass(frozen=True)
class LlmBenchSettings:
    max_tokens: int = 128  # per request of the single and parallel cases
    repetitions: int = 10
    parallel: int = 4  # the engine's sequences, and the requests sent at once
    threads: int = 2
    realtime_requests: int = 8  # short chats, idle and then under the batch load
    realtime_budget_s: float = 90.0  # no more chats under the load once it is spent
    realtime_max_tokens: int = 16
    batch_max_tokens: int = 512  # the batch client's long generations
    daemon: bool = True  # measure (c)

    @classmethod
    def quick(cls) -> LlmBenchSettings:
        return cls(
            max_tokens=48,
            repetitions=7,
            realtime_requests=4,
            realtime_budget_s=20.0,
            batch_max_tokens=128,
        )

    @property
    def limits(self) -> LlmLimits:
        """ainos's limits as the daemon's default: one sequence kept from batch work."""
        return LlmLimits(parallel=self.parallel, reserved=1, threads=self.threads)


# -- one generation, seen by its client -----------------------------------------------------


@dataclass(frozen=True)
class _Timeline:
    """One generation: seconds since it was sent, the tokens the engine says it made."""

    sent: float  # perf_counter when sent
    first_token_s: float | None
    last_token_s: float | None
    end_s: float
    completion_tokens: int
    text: str

    @property
    def decode_tokens_per_s(self) -> float | None:
        """Tokens after the first over the time they took."""
        if self.first_token_s is None or self.last_token_s is None or self.completion_tokens < 2:
            return None
        span = self.last_token_s - self.first_token_s
        return (self.completion_tokens - 1) / span if span > 0 else None


class _Clock:
    """Stamps a stream's chunks as they arrive."""

    def __init__(self, first_token: threading.Event | None = None) -> None:
        self._sent = time.perf_counter()
        self._first: float | None = None
        self._last: float | None = None
        self._reply = Reply()
        self._first_token = first_token

    def see(self, chunk: Mapping[str, Any]) -> None:
        now = time.perf_counter()
        if not self._reply.read(chunk):
            return
        if self._first is None:
            self._first = now
            if self._first_token is not None:
                self._first_token.set()
        self._last = now

    def timeline(self) -> _Timeline:
        def since(moment: float | None) -> float | None:
            return None if moment is None else moment - self._sent

        return _Timeline(
            sent=self._sent,
            first_token_s=since(self._first),
            last_token_s=since(self._last),
            end_s=time.perf_counter() - self._sent,
            completion_tokens=self._reply.completion_tokens or 0,
            text=self._reply.text,
        )


# -- the three ways of generating -----------------------------------------------------------


class _Client(Protocol):
    def chat(
        self,
        body: Body,
        priority: Priority,
        stop: threading.Event,
        first_token: threading.Event | None = None,
    ) -> _Timeline:
        """One streamed chat; ``stop`` set ends it early (its tokens are then uncounted)."""
        ...

    def cancel_all(self) -> None:
        """Stop every generation in flight, queued ones included."""
        ...


class _RawClient:
    """The engine called directly: every request a sequence of its own, no priorities."""

    def __init__(self, engine: LlamaCppEngine) -> None:
        self._engine = engine

    def chat(
        self,
        body: Body,
        priority: Priority,
        stop: threading.Event,
        first_token: threading.Event | None = None,
    ) -> _Timeline:
        request = prepare_chat(body, None).engine_request
        clock = _Clock(first_token)

        def sink(chunk: dict[str, Any]) -> bool:
            clock.see(chunk)
            return stop.is_set()

        self._engine.chat(request, sink)
        return clock.timeline()

    def cancel_all(self) -> None:
        pass  # each sink returns True once its stop is set


class _ServiceClient:
    """``LlmService.generate``: a scheduler job per generation, read from this thread."""

    def __init__(self, llm: LlmService, model: str) -> None:
        self._llm = llm
        self._model = model
        self._in_flight: set[Generation] = set()
        self._lock = threading.Lock()

    def chat(
        self,
        body: Body,
        priority: Priority,
        stop: threading.Event,
        first_token: threading.Event | None = None,
    ) -> _Timeline:
        request = prepare_chat(body, self._model).engine_request
        clock = _Clock(first_token)
        generation = self._llm.generate(
            self._model, request, priority=priority, client=ClientIdentity(name=f"bench-{priority}")
        )
        with self._lock:
            self._in_flight.add(generation)
        try:
            for chunk in generation:
                clock.see(chunk)
                if stop.is_set():  # also catches one submitted just after cancel_all()
                    generation.cancel()
        except AinosError:
            if not stop.is_set():
                raise  # a failure, not the cancellation that ends the load
        finally:
            with self._lock:
                self._in_flight.discard(generation)
        return clock.timeline()

    def cancel_all(self) -> None:
        with self._lock:
            generations = list(self._in_flight)
        for generation in generations:
            generation.cancel()


class _DaemonClient:
    """Streamed chat completions through the daemon's API client (a keep-alive connection
    per client thread)."""

    def __init__(self, url: str) -> None:
        self._apis = {
            priority: DaemonApi(url, client_name=f"bench-{priority}") for priority in Priority
        }

    def load(self, model: str) -> None:
        self._apis[Priority.BATCH].load_model(model)

    def chat(
        self,
        body: Body,
        priority: Priority,
        stop: threading.Event,
        first_token: threading.Event | None = None,
    ) -> _Timeline:
        streamed = streamed_body(body)
        clock = _Clock(first_token)
        for chunk in self._apis[priority].stream(
            "/v1/chat/completions", streamed, priority=priority
        ):
            clock.see(chunk)
        return clock.timeline()

    def cancel_all(self) -> None:
        pass  # (d) runs in-process only

    def close(self) -> None:
        for api in self._apis.values():
            api.close()


# -- prompts --------------------------------------------------------------------------------


def _story(number: int, max_tokens: int, topic: int) -> Body:
    """A request for a long reply. Every number makes a different prompt (a prompt seen before
    would find its tokens in the engine's cache, and its first token would come early); the
    numbers have a fixed width, so prompts of one topic have as many tokens."""
    about = _TOPICS[topic % len(_TOPICS)]
    prompt = f"Story {number:04d}: tell a long one about {about}."
    return chat_body(
        DEFAULT_CHAT_MODEL,
        [{"role": "user", "content": prompt}],
        max_tokens=max_tokens,
        temperature=0,
    )


def _short_chat(number: int, max_tokens: int) -> Body:
    topic = _TOPICS[number % len(_TOPICS)]
    question = f"Question {number:04d}: who is {topic}?"
    return chat_body(
        DEFAULT_CHAT_MODEL,
        [{"role": "user", "content": question}],
        max_tokens=max_tokens,
        temperature=0,
    )


_CHECK = _short_chat(9999, 16)  # one prompt through every mode: greedy, one reply


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmRow:
    mode: str  # a key of MODES
    case: str  # "single" or "parallel"
    clients: int
    priorities: str  # the classes the requests were sent in
    repetitions: int
    ttft_ms: float  # median time to first token
    decode_tokens_per_s: float | None  # median per request, single only
    total_tokens_per_s: float  # median over the repetitions of tokens made / wall time
    tokens_per_request: float  # median completion tokens of a request
    other_cpu_fraction: float  # the rest of the machine's CPU use meanwhile, of all cores


@dataclass(frozen=True)
class PriorityRow:
    mode: str  # "raw" or "ainos"
    batch_streams: int  # long generations the batch client keeps in flight
    realtime_requests: int  # chats under the load (fewer than asked if the budget ran out)
    idle_ttft_ms: float  # realtime median with nothing else running
    loaded_ttft_ms: float  # realtime median under the batch load
    loaded_max_ttft_ms: float
    other_cpu_fraction: float

    @property
    def slowdown(self) -> float:
        return self.loaded_ttft_ms / self.idle_ttft_ms if self.idle_ttft_ms else 0.0


@dataclass(frozen=True)
class LlmGoal:
    what: str
    mode: str
    ratio: float  # the mode's speed as a share of raw's (higher is better)
    target: float

    @property
    def met(self) -> bool:
        return self.ratio >= self.target


# -- measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _CpuSnapshot:
    at: float
    ours: float  # CPU seconds of the measured processes
    machine: float  # busy seconds of the whole machine


@dataclass
class _Noise:
    """CPU the rest of the machine used while a row was measured: the noise in its figures
    (llama.cpp's threads slow down many times when they share cores with other work)."""

    other_s: float = 0.0
    elapsed_s: float = 0.0

    def add(self, before: _CpuSnapshot, after: _CpuSnapshot) -> None:
        self.other_s += max(0.0, (after.machine - before.machine) - (after.ours - before.ours))
        self.elapsed_s += after.at - before.at

    @property
    def fraction(self) -> float:
        cores = psutil.cpu_count() or 1
        return self.other_s / (self.elapsed_s * cores) if self.elapsed_s > 0 else 0.0


@dataclass(frozen=True)
class _Mode:
    name: str  # a key of MODES
    client: _Client
    parallel_sets: tuple[tuple[Priority, ...], ...]  # the classes of each parallel case
    priority_case: bool  # measure (d) on it


@dataclass
class _Run:
    """What every measurement of a run shares."""

    settings: LlmBenchSettings
    progress: Progress
    processes: list[psutil.Process]  # ours, and the daemon's once it runs
    numbers: Iterator[int] = field(default_factory=itertools.count)

    def snapshot(self) -> _CpuSnapshot:
        return _CpuSnapshot(
            time.perf_counter(), process_cpu_seconds(self.processes), machine_busy_seconds()
        )

    def fresh(self) -> int:
        """A number no prompt of this run had yet."""
        return next(self.numbers)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else 0.0


def _ttfts_ms(timelines: Sequence[_Timeline]) -> list[float]:
    return [1000 * t.first_token_s for t in timelines if t.first_token_s is not None]


def _names(priorities: Sequence[Priority]) -> str:
    counts = {p.value: sum(1 for q in priorities if q is p) for p in dict.fromkeys(priorities)}
    return " + ".join(f"{n} {name}" for name, n in counts.items())


def _split(settings: LlmBenchSettings) -> tuple[Priority, ...]:
    """As many batch requests as batch work may run at once, interactive ones for the
    reserved rest: every sequence of the engine in use."""
    limits = settings.limits
    return (Priority.INTERACTIVE,) * limits.reserved + (Priority.BATCH,) * limits.batch_slots


def _rotated(items: Sequence[_T], repetition: int) -> list[_T]:
    """The items, a different one first at each repetition: none always runs on the heels of
    the same neighbour."""
    shift = repetition % len(items)
    return [*items[shift:], *items[:shift]]


def _at_once(
    client: _Client, bodies: Sequence[Body], priorities: Sequence[Priority]
) -> list[_Timeline]:
    """The requests sent together, one thread each."""
    ready = threading.Barrier(len(bodies))

    def send(index: int) -> _Timeline:
        ready.wait()
        return client.chat(bodies[index], priorities[index], _NEVER)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(send, range(len(bodies))))


def _single_rows(modes: Sequence[_Mode], run: _Run) -> list[LlmRow]:
    """One request at a time, the modes taking turns at each repetition."""
    settings = run.settings
    timelines: dict[str, list[_Timeline]] = {mode.name: [] for mode in modes}
    noise = {mode.name: _Noise() for mode in modes}
    for rep in range(settings.repetitions):
        for mode in _rotated(modes, rep):
            body = _story(run.fresh(), settings.max_tokens, topic=rep)  # one topic per turn
            before = run.snapshot()
            timelines[mode.name].append(mode.client.chat(body, Priority.INTERACTIVE, _NEVER))
            noise[mode.name].add(before, run.snapshot())
        run.progress("one request at a time", (rep + 1) / settings.repetitions)
    rows = []
    for mode in modes:
        measured = timelines[mode.name]
        rates = [t.decode_tokens_per_s for t in measured if t.decode_tokens_per_s is not None]
        rows.append(
            LlmRow(
                mode=mode.name,
                case="single",
                clients=1,
                priorities=_names([Priority.INTERACTIVE]),
                repetitions=settings.repetitions,
                ttft_ms=_median(_ttfts_ms(measured)),
                decode_tokens_per_s=_median(rates) if rates else None,
                total_tokens_per_s=_median([t.completion_tokens / t.end_s for t in measured]),
                tokens_per_request=_median([t.completion_tokens for t in measured]),
                other_cpu_fraction=noise[mode.name].fraction,
            )
        )
    return rows


def _parallel_rows(modes: Sequence[_Mode], run: _Run) -> list[LlmRow]:
    """Requests sent together, each mode's cases taking turns at each repetition."""
    settings = run.settings
    cases = [(mode, priorities) for mode in modes for priorities in mode.parallel_sets]
    throughputs: dict[int, list[float]] = {i: [] for i in range(len(cases))}
    timelines: dict[int, list[_Timeline]] = {i: [] for i in range(len(cases))}
    noise = {i: _Noise() for i in range(len(cases))}
    for rep in range(settings.repetitions):
        for index in _rotated(range(len(cases)), rep):
            mode, priorities = cases[index]
            bodies = [_story(run.fresh(), settings.max_tokens, topic=rep) for _ in priorities]
            before = run.snapshot()
            round_ = _at_once(mode.client, bodies, priorities)
            noise[index].add(before, run.snapshot())
            began = min(t.sent for t in round_)
            ended = max(t.sent + t.end_s for t in round_)
            throughputs[index].append(sum(t.completion_tokens for t in round_) / (ended - began))
            timelines[index] += round_
        run.progress("requests at once", (rep + 1) / settings.repetitions)
    return [
        LlmRow(
            mode=mode.name,
            case="parallel",
            clients=len(priorities),
            priorities=_names(priorities),
            repetitions=settings.repetitions,
            ttft_ms=_median(_ttfts_ms(timelines[index])),
            decode_tokens_per_s=None,
            total_tokens_per_s=_median(throughputs[index]),
            tokens_per_request=_median([t.completion_tokens for t in timelines[index]]),
            other_cpu_fraction=noise[index].fraction,
        )
        for index, (mode, priorities) in enumerate(cases)
    ]


@contextmanager
def _batch_load(client: _Client, run: _Run) -> Iterator[None]:
    """``parallel`` long batch generations kept in flight until the block ends."""
    settings = run.settings
    stop = threading.Event()
    started = threading.Event()
    errors: list[BaseException] = []

    def stream() -> None:
        try:
            while not stop.is_set():
                body = _story(run.fresh(), settings.batch_max_tokens, topic=run.fresh())
                client.chat(body, Priority.BATCH, stop, started)
        except BaseException as error:
            errors.append(error)
            started.set()

    threads = [
        threading.Thread(target=stream, name=f"bench-batch-{i}") for i in range(settings.parallel)
    ]
    for thread in threads:
        thread.start()
    try:
        started.wait(timeout=120)
        yield
    finally:
        stop.set()
        client.cancel_all()
        for thread in threads:
            thread.join()
    if errors:
        raise AinosError(f"the batch client failed: {errors[0]}") from errors[0]


def _realtime_ttfts(client: _Client, run: _Run) -> list[float]:
    """Short realtime chats one after the other, until done or (after the first) until the
    time budget is spent: on the raw engine, under load, each may wait for a whole batch
    generation to end."""
    ttfts: list[float] = []
    began = time.perf_counter()
    for _ in range(run.settings.realtime_requests):
        if ttfts and time.perf_counter() - began > run.settings.realtime_budget_s:
            break
        time.sleep(_REALTIME_GAP_S)
        body = _short_chat(run.fresh(), run.settings.realtime_max_tokens)
        ttfts += _ttfts_ms([client.chat(body, Priority.REALTIME, _NEVER)])
    return ttfts


def _priority_row(mode: _Mode, run: _Run) -> PriorityRow:
    label = f"{mode.name}: realtime vs batch"
    noise = _Noise()
    before = run.snapshot()
    idle = _realtime_ttfts(mode.client, run)
    run.progress(label, 0.3)
    with _batch_load(mode.client, run):
        loaded = _realtime_ttfts(mode.client, run)
    noise.add(before, run.snapshot())
    run.progress(label, 1.0)
    return PriorityRow(
        mode=mode.name,
        batch_streams=run.settings.parallel,
        realtime_requests=len(loaded),
        idle_ttft_ms=_median(idle),
        loaded_ttft_ms=_median(loaded),
        loaded_max_ttft_ms=max(loaded, default=0.0),
        other_cpu_fraction=noise.fraction,
    )


def _warm_up(modes: Sequence[_Mode], run: _Run) -> dict[str, str]:
    """A first request each (it pays for buffers, and is not measured); then the same prompt
    through every mode, to compare their greedy replies."""
    for mode in modes:
        mode.client.chat(_short_chat(run.fresh(), _WARMUP_TOKENS), Priority.INTERACTIVE, _NEVER)
    return {
        mode.name: mode.client.chat(_CHECK, Priority.INTERACTIVE, _NEVER).text for mode in modes
    }


# -- the run --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmBenchResult:
    settings: LlmBenchSettings
    model: str
    device: str  # where the engine computes
    daemon_threads: int  # the daemon's engine uses one thread per physical core
    rows: list[LlmRow]
    priority: list[PriorityRow]
    replies: dict[str, str]  # mode -> its greedy reply to the same prompt

    @property
    def replies_equal(self) -> bool:
        return len(set(self.replies.values())) <= 1

    def row(self, mode: str, case: str, priorities: str | None = None) -> LlmRow | None:
        return next(
            (
                r
                for r in self.rows
                if r.mode == mode
                and r.case == case
                and (priorities is None or r.priorities == priorities)
            ),
            None,
        )

    def goals(self) -> list[LlmGoal]:
        raw_single = self.row("raw", "single")
        raw_parallel = self.row("raw", "parallel")
        goals: list[LlmGoal] = []
        split = _names(_split(self.settings))
        for mode in ("ainos", "daemon"):
            single = self.row(mode, "single")
            if raw_single is not None and single is not None:
                if single.ttft_ms:
                    ratio = raw_single.ttft_ms / single.ttft_ms
                    goals.append(LlmGoal("speed to first token", mode, ratio, GOAL_RATIO))
                if single.decode_tokens_per_s and raw_single.decode_tokens_per_s:
                    ratio = single.decode_tokens_per_s / raw_single.decode_tokens_per_s
                    goals.append(LlmGoal("decode tokens/s", mode, ratio, GOAL_RATIO))
            parallel = self.row(mode, "parallel", split)
            if raw_parallel is not None and parallel is not None:
                ratio = parallel.total_tokens_per_s / raw_parallel.total_tokens_per_s
                goals.append(LlmGoal("concurrent tokens/s", mode, ratio, GOAL_PARALLEL_RATIO))
        return goals

    def ratio_to_raw(self, row: LlmRow) -> float | None:
        """A row's total tokens/s as a share of raw's in the same case."""
        raw = self.row("raw", row.case)
        if raw is None or not raw.total_tokens_per_s:
            return None
        return row.total_tokens_per_s / raw.total_tokens_per_s

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": "llm",
            "model": self.model,
            "device": self.device,
            "daemon_threads": self.daemon_threads,
            "settings": asdict(self.settings),
            "modes": MODES,
            "rows": [{**asdict(r), "ratio_to_raw": self.ratio_to_raw(r)} for r in self.rows],
            "priority": [{**asdict(p), "slowdown": p.slowdown} for p in self.priority],
            "replies_equal": self.replies_equal,
            "goals": [{**asdict(g), "met": g.met} for g in self.goals()],
        }


def _shared(engine: LlamaCppEngine, expected: EngineSettings) -> EngineFactory:
    """An engine factory handing ``LlmService`` the engine (a) uses: (a) and (b) then differ
    in nothing but the path a request takes. (A second engine in this process would also
    slow both: their OpenMP thread teams would outnumber the cores.)"""

    def factory(_entry: CatalogEntry, settings: EngineSettings) -> LlmEngine:
        if settings != expected:
            raise AinosError(f"the service asks for {settings}, the raw engine has {expected}")
        return engine

    return factory


@contextmanager
def _daemon_client(run: _Run) -> Iterator[_DaemonClient]:
    run.progress("daemon: starting, loading", 0.0)
    with running_daemon() as daemon:
        url = daemon_api_url(daemon.socket_path)
        if not url:
            raise AinosError("the daemon serves no HTTP API")
        run.processes.append(psutil.Process(daemon.pid))
        client = _DaemonClient(url)
        try:
            client.load(DEFAULT_CHAT_MODEL)
            run.progress("daemon: starting, loading", 1.0)
            yield client
        finally:
            client.close()


def _measure(
    modes: Sequence[_Mode], run: _Run
) -> tuple[list[LlmRow], list[PriorityRow], dict[str, str]]:
    replies = _warm_up(modes, run)
    rows = _single_rows(modes, run) + _parallel_rows(modes, run)
    priority = [_priority_row(mode, run) for mode in modes if mode.priority_case]
    return rows, priority, replies


def _in_process_modes(
    engine: LlamaCppEngine, llm: LlmService, settings: LlmBenchSettings
) -> list[_Mode]:
    every_sequence = (Priority.INTERACTIVE,) * settings.parallel
    return [
        _Mode("raw", _RawClient(engine), (every_sequence,), priority_case=True),
        # The split fills every sequence; all-interactive is what N interactive users get.
        _Mode(
            "ainos",
            _ServiceClient(llm, DEFAULT_CHAT_MODEL),
            (_split(settings), every_sequence),
            priority_case=True,
        ),
    ]


def run_llm_bench(
    *,
    quick: bool,
    progress: Progress | None = None,
    settings: LlmBenchSettings | None = None,
) -> LlmBenchResult:
    """Measure (a), (b), (c) and (d) with ``settings`` (by default the full or ``quick`` set).

    (a) and (b) share one engine; the daemon loads its own, in its process. The modes take
    turns at every repetition, so slow drifts of the machine fall on all of them alike."""
    chosen = settings or (LlmBenchSettings.quick() if quick else LlmBenchSettings())
    run = _Run(chosen, progress or (lambda _label, _fraction: None), [psutil.Process()])
    engine_settings = EngineSettings(parallel=chosen.parallel, threads=chosen.threads)
    run.progress("loading the model", 0.0)
    engine = LlamaCppEngine(packaged_chat_model_file(DEFAULT_CHAT_MODEL), engine_settings)
    config = RuntimeConfig(kernel=ServicesConfig(pool_bytes=8 * 1024 * 1024, lock_pool=False))
    try:
        with Runtime(config) as runtime, ExitStack() as stack:
            llm = LlmService(
                runtime.kernel.scheduler,
                runtime.catalog,
                limits=chosen.limits,
                engine_factory=_shared(engine, engine_settings),
            )
            stack.callback(llm.close)
            llm.load(DEFAULT_CHAT_MODEL)
            run.progress("loading the model", 1.0)
            modes = _in_process_modes(engine, llm, chosen)
            if chosen.daemon:
                daemon = stack.enter_context(_daemon_client(run))
                modes.append(_Mode("daemon", daemon, (_split(chosen),), priority_case=False))
            rows, priority, replies = _measure(modes, run)
    finally:
        engine.close()
    return LlmBenchResult(
        settings=chosen,
        model=DEFAULT_CHAT_MODEL,
        device=engine.device,
        daemon_threads=physical_cores(),
        rows=rows,
        priority=priority,
        replies=replies,
    )
