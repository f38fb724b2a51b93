"""Realtime latency under load: a batch client saturates the CPU executor with batch-64 model
runs while a realtime client sends batch-1 requests at a fixed rate.

One call measures, each on a fresh scheduler: the batch client alone (its throughput), the
realtime client alone (the idle p99), then both under FIFO, under the priority policy on one
slot (chunks bounded in time and cut to end before the next request of a steady realtime
client, preemption by ``RunOptions.terminate``), and under the priority policy with the batch
client on ``SCHED_IDLE`` background threads. The full run adds the priority policy without
prediction, without preemption, and without chunks.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ainos.kernel.scheduler import (
    BackgroundPriority,
    CpuExecutor,
    Discipline,
    Feeds,
    JobHandle,
    Lane,
    OnnxRun,
    PolicyConfig,
    Scheduler,
    SessionLike,
    new_job_id,
    session_options,
)
from ainos.protocol.scheduler import ClientIdentity, JobSpec, Priority, SchedulerStats

__all__ = [
    "InputFactory",
    "ScenarioResult",
    "SchedulerBenchResult",
    "SessionFactory",
    "build_synthetic_model",
    "run_scheduler_bench",
]

SessionFactory = Callable[[int | None], SessionLike]
"""Makes a session; the argument is the intra-op thread count (None: the engine's default)."""
InputFactory = Callable[[int], Feeds]
"""Makes feeds with the given number of rows along axis 0."""

_TOKENS = 16
_HIDDEN = 384
_LAYERS = 11  # batch 1 ≈ 2 ms, batch 64 ≈ 80 ms on the 2-core reference machine


def build_synthetic_model(
    hidden: int = _HIDDEN, layers: int = _LAYERS, tokens: int = _TOKENS, seed: int = 0
) -> bytes:
    """An ONNX model of ``layers`` feed-forward blocks (MatMul, Relu, MatMul) on
    ``[batch, tokens, hidden]``: MiniLM-sized activations with a tunable cost."""
    from onnx import TensorProto, helper, numpy_helper  # dev dependency: only this model needs it

    rng = np.random.default_rng(seed)
    nodes, weights = [], []
    x = "x"
    for i in range(layers):
        up = rng.standard_normal((hidden, 4 * hidden)) / math.sqrt(hidden)
        down = rng.standard_normal((4 * hidden, hidden)) / math.sqrt(4 * hidden)
        weights += [
            numpy_helper.from_array(up.astype(np.float32), f"up{i}"),
            numpy_helper.from_array(down.astype(np.float32), f"down{i}"),
        ]
        nodes += [
            helper.make_node("MatMul", [x, f"up{i}"], [f"h{i}"]),
            helper.make_node("Relu", [f"h{i}"], [f"a{i}"]),
            helper.make_node("MatMul", [f"a{i}", f"down{i}"], [f"y{i}"]),
        ]
        x = f"y{i}"
    shape: list[str | int | None] = ["batch", tokens, hidden]
    graph = helper.make_graph(
        nodes,
        "synthetic",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape)],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    return bytes(model.SerializeToString())


def _synthetic_factory() -> tuple[SessionFactory, InputFactory]:
    import onnxruntime as ort

    model = build_synthetic_model()

    def make_session(threads: int | None) -> SessionLike:
        options = session_options(intra_op_threads=threads)
        session: SessionLike = ort.InferenceSession(
            model, options, providers=["CPUExecutionProvider"]
        )
        return session

    rng = np.random.default_rng(1)
    sample = rng.standard_normal((256, _TOKENS, _HIDDEN)).astype(np.float32)

    def make_inputs(rows: int) -> Feeds:
        return {"x": np.resize(sample, (rows, _TOKENS, _HIDDEN))}

    return make_session, make_inputs


@dataclass(frozen=True)
class ScenarioResult:
    """One scenario. ``batch_fraction``: batch throughput over its throughput alone;
    ``batch_fraction_of_left``: over what the realtime client leaves of that (alone times
    one minus the realtime client's share of the device)."""

    name: str
    description: str
    realtime_requests: int = 0
    realtime_p50_ms: float | None = None
    realtime_p99_ms: float | None = None
    realtime_failed: int = 0
    batch_rows_per_second: float | None = None
    batch_failed: int = 0
    batch_fraction: float | None = None
    batch_fraction_of_left: float | None = None
    preemptions: int = 0


@dataclass(frozen=True)
class SchedulerBenchResult:
    """All scenarios of one call, side by side. ``realtime_busy_fraction``: the share of the
    device the realtime client takes alone (its measured run time over the duration)."""

    quick: bool
    seconds_per_scenario: float
    realtime_rate_hz: float
    batch_rows: int
    batch_alone_rows_per_second: float
    idle_realtime_p99_ms: float | None
    realtime_busy_fraction: float
    scenarios: list[ScenarioResult]
    os_priority: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def table(self) -> list[dict[str, str]]:
        """One row per scenario, formatted for a table renderer."""

        def fmt(value: float | None, spec: str) -> str:
            return "-" if value is None else format(value, spec)

        return [
            {
                "scenario": s.name,
                "realtime p50 ms": fmt(s.realtime_p50_ms, ".1f"),
                "realtime p99 ms": fmt(s.realtime_p99_ms, ".1f"),
                "batch rows/s": fmt(s.batch_rows_per_second, ".0f"),
                "batch kept": fmt(s.batch_fraction, ".0%"),
                "of what is left": fmt(s.batch_fraction_of_left, ".0%"),
                "preemptions": str(s.preemptions),
                "what": s.description,
            }
            for s in self.scenarios
        ]


def _percentile(samples: Sequence[float], q: float) -> float | None:
    if not samples:
        return None
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


@dataclass
class _Clients:
    """The two clients of one scenario and what they measured."""

    scheduler: Scheduler
    batch_run: OnnxRun | None
    realtime_run: OnnxRun | None
    make_inputs: InputFactory
    batch_rows: int
    rate: float
    outstanding: int = 2
    latencies_ms: list[float] = field(default_factory=list)
    realtime_failed: int = 0
    batch_done_at: list[float] = field(default_factory=list)
    batch_failed: int = 0
    seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def batch_rate(self) -> float | None:
        """Batch rows per second. Measured between the first and the last job completed, so
        that a job cut by the run's start or end does not count as a whole job or as none:
        at 128 tokens a batch-64 job takes seconds, and counting whole jobs done in the run
        was off by up to one job (20 % of an 8 s run). Too few completions: done / run time."""
        if self.batch_run is None:
            return None
        done = sorted(self.batch_done_at)  # callbacks of side-by-side slots may interleave
        if len(done) >= 3 and done[-1] > done[0]:
            return (len(done) - 1) * self.batch_rows / (done[-1] - done[0])
        return len(done) * self.batch_rows / self.seconds if self.seconds else None

    def run(self, seconds: float) -> None:
        self.seconds = seconds
        stop = threading.Event()
        threads = []
        if self.batch_run is not None:
            threads.append(threading.Thread(target=self._batch, args=(stop,)))
        if self.realtime_run is not None:
            threads.append(threading.Thread(target=self._realtime, args=(stop, seconds)))
        for t in threads:
            t.start()
        time.sleep(seconds)
        stop.set()
        for t in threads:
            t.join()

    def _batch(self, stop: threading.Event) -> None:
        assert self.batch_run is not None
        feeds = self.make_inputs(self.batch_rows)
        client = ClientIdentity(name="bench-batch")
        outstanding: list[JobHandle[Any]] = []
        record = functools.partial(self._batch_finished, stop)
        while not stop.is_set():
            while len(outstanding) < self.outstanding:  # one queued behind each run
                spec = JobSpec(
                    job_id=new_job_id(), priority=Priority.BATCH, client=client, batch_key="batch"
                )
                handle = self.scheduler.submit(self.batch_run.job(spec, feeds))
                handle.future.add_done_callback(record)
                outstanding.append(handle)
            wait([h.future for h in outstanding], timeout=0.05, return_when=FIRST_COMPLETED)
            outstanding = [h for h in outstanding if not h.future.done()]
        for handle in outstanding:
            handle.cancel()

    def _batch_finished(self, stop: threading.Event, future: Future[Any]) -> None:
        finished = time.perf_counter()  # in the callback: the moment the job completed
        if stop.is_set() or future.cancelled():
            return
        with self.lock:
            if future.exception() is None:
                self.batch_done_at.append(finished)
            else:
                self.batch_failed += 1

    def _realtime(self, stop: threading.Event, seconds: float) -> None:
        assert self.realtime_run is not None
        feeds = self.make_inputs(1)
        client = ClientIdentity(name="bench-realtime")
        handles: list[JobHandle[Any]] = []
        start = time.monotonic()
        for i in range(int(seconds * self.rate)):
            delay = start + i / self.rate - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            spec = JobSpec(
                job_id=new_job_id(), priority=Priority.REALTIME, client=client, batch_key="rt"
            )
            sent = time.perf_counter()
            handle = self.scheduler.submit(self.realtime_run.job(spec, feeds))
            handle.future.add_done_callback(functools.partial(self._record, sent))
            handles.append(handle)
        for handle in handles:
            with contextlib.suppress(Exception):  # failures are counted by the callback
                handle.result(timeout=30)

    def _record(self, sent: float, future: Future[Any]) -> None:
        elapsed = (time.perf_counter() - sent) * 1000.0
        with self.lock:
            if future.exception() is None:
                self.latencies_ms.append(elapsed)
            else:
                self.realtime_failed += 1


def _warm(session: SessionLike, make_inputs: InputFactory, rows: Sequence[int]) -> None:
    for n in rows:
        session.run(None, make_inputs(n))


def run_scheduler_bench(
    *,
    quick: bool = True,
    session_factory: SessionFactory | None = None,
    make_inputs: InputFactory | None = None,
    realtime_rate: float = 20.0,
    batch_rows: int = 64,
    seconds: float | None = None,
    config: PolicyConfig | None = None,
    progress: Callable[[str, float], None] | None = None,
) -> SchedulerBenchResult:
    """Run every scenario (baselines twice); ``quick`` takes about a minute, full about five.

    ``session_factory``/``make_inputs`` plug in a real model (both or neither); the default
    is the synthetic model of :func:`build_synthetic_model`. ``config`` is the priority
    policy's (default: ``PolicyConfig()``).
    """
    if (session_factory is None) != (make_inputs is None):
        raise ValueError("give both session_factory and make_inputs, or neither")
    if session_factory is None or make_inputs is None:
        session_factory, make_inputs = _synthetic_factory()
    seconds = seconds if seconds is not None else (8.0 if quick else 30.0)
    realtime_session = session_factory(None)
    _warm(realtime_session, make_inputs, [1, 1, 1])
    realtime_run = OnnxRun(realtime_session)
    batch_session = session_factory(None)
    _warm(batch_session, make_inputs, [batch_rows, 1])
    batch_run = OnnxRun(batch_session)
    priority = config or PolicyConfig()
    scenario_count = 7 if quick else 10
    measured_count = 0

    def measure(
        config: PolicyConfig | None,
        *,
        batch: bool = True,
        realtime: bool = True,
        background: bool = False,
    ) -> tuple[_Clients, SchedulerStats, str | None]:
        """One scenario on a fresh scheduler: what the clients saw, preemptions, OS note."""
        executor = (
            CpuExecutor(background_slots=2, background_priority=BackgroundPriority.IDLE)
            if background
            else CpuExecutor()
        )
        with Scheduler([executor], config or priority) as scheduler:
            batch_run_here = batch_run if batch else None
            if background:
                # Two single-threaded runs side by side, each on a SCHED_IDLE worker: the OS
                # preempts them for realtime work, and one stalled thread holds no other
                # back. The session is created on a worker so engine threads inherit it.
                low = executor.call_in_lane(Lane.BACKGROUND, lambda: session_factory(1)).result()
                _warm(low, make_inputs, [batch_rows, 1])
                batch_run_here = OnnxRun(low)
            clients = _Clients(
                scheduler,
                batch_run_here,
                realtime_run if realtime else None,
                make_inputs,
                batch_rows,
                realtime_rate,
                3 if background else 2,
            )
            clients.run(seconds)
            nonlocal measured_count
            measured_count += 1
            if progress is not None:
                progress("scheduler scenarios", measured_count / scenario_count)
            return clients, scheduler.stats(), executor.os_priority

    Measured = tuple[_Clients, SchedulerStats, str | None]
    # The baselines are measured before and after the rest and the better of each kept, so
    # that a burst of unrelated load on the machine does not flatter the contended runs.
    alone_runs = [measure(None, realtime=False)]
    idle_runs = [measure(None, batch=False)]
    contended: list[tuple[str, str, Measured]] = [
        ("fifo", "both, arrival order (AIOS)", measure(PolicyConfig(discipline=Discipline.FIFO))),
        ("priority", "both: priority policy, one slot", measure(None)),
    ]
    if not quick:
        for name, what, changes in (
            ("no prediction", "priority, chunks and aborts only", {"predict_realtime": False}),
            (
                "no preemption",
                "priority, bounded chunks only",
                {"predict_realtime": False, "preempt": False},
            ),
            (
                "no chunks",
                "priority, whole jobs, no preemption",
                {"predict_realtime": False, "preempt": False, "max_hold": None},
            ),
        ):
            contended.append((name, what, measure(dataclasses.replace(priority, **changes))))
    os_measured = measure(None, background=True)
    contended.append(("priority+os", "both, batch on SCHED_IDLE threads", os_measured))
    idle_runs.append(measure(None, batch=False))
    alone_runs.append(measure(None, realtime=False))

    alone = max(alone_runs, key=lambda m: m[0].batch_rate() or 0.0)
    idle = min(idle_runs, key=lambda m: _percentile(m[0].latencies_ms, 0.99) or math.inf)
    alone_rate = alone[0].batch_rate() or 0.0
    # Device time the realtime client takes alone, as the executor measured its runs.
    realtime_busy = min(1.0, idle[1].classes[Priority.REALTIME].run.sum_ms / 1000.0 / seconds)
    left = alone_rate * (1.0 - realtime_busy)

    def result(name: str, what: str, measured: Measured) -> ScenarioResult:
        clients, stats, _ = measured
        rate = clients.batch_rate()
        return ScenarioResult(
            name=name,
            description=what,
            realtime_requests=len(clients.latencies_ms) + clients.realtime_failed,
            realtime_p50_ms=_percentile(clients.latencies_ms, 0.50),
            realtime_p99_ms=_percentile(clients.latencies_ms, 0.99),
            realtime_failed=clients.realtime_failed,
            batch_rows_per_second=rate,
            batch_failed=clients.batch_failed,
            batch_fraction=None if rate is None or not alone_rate else rate / alone_rate,
            batch_fraction_of_left=None if rate is None or not left else rate / left,
            preemptions=stats.preemptions_total,
        )

    results = [
        result("batch alone", "the batch client alone (better of two)", alone),
        result("idle", "the realtime client alone (better of two)", idle),
    ]
    results += [result(name, what, measured) for name, what, measured in contended]
    return SchedulerBenchResult(
        quick=quick,
        seconds_per_scenario=seconds,
        realtime_rate_hz=realtime_rate,
        batch_rows=batch_rows,
        batch_alone_rows_per_second=alone_rate,
        idle_realtime_p99_ms=_percentile(idle[0].latencies_ms, 0.99),
        realtime_busy_fraction=realtime_busy,
        scenarios=results,
        os_priority=os_measured[2],
    )
