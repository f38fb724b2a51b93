"""Serving embeddings: ainos in-process and through its daemon vs plain ONNX Runtime and the
plain dynamic batcher a user would write.

Five cases, per sequence length and closed-loop concurrency:

- (a) one shared ``InferenceSession`` called from N threads at batch 1 (what a user writes);
- (e) the plain no-wait dynamic batcher on that session: one queue, one worker that runs
  everything queued (up to 32) as one batch, never waiting for more; its N clients tokenise
  their own texts with the tokenizer ainos uses;
- (b) the same model at its best batch size and layout (the limit): one run at a time on
  every core, or one single-thread run per core side by side, fed from one thread each;
  each layout's best point of the sweep is measured again over a longer window;
- (c) ``Runtime().embeddings.embed`` from N threads, one text per request;
- (d) the daemon's ``POST /v1/embeddings`` from N client threads over keep-alive HTTP.

Each case runs in a process of its own (:mod:`ainos.app.bench._serving_case`: no other
case's sessions or thread pools beside it), every length and concurrency in one process;
the cases take turns over ``repeats`` rounds, a different one first each round. Figures are
medians over the rounds with the least and greatest. The daemon is started once, by this
process; the (d) process is its HTTP client, and the daemon's CPU time counts with it.

(a)/(b) get pre-tokenised inputs of exactly the length; (c)/(d)/(e) texts that tokenise to
it. All run the variant the runtime chooses on this machine, so they run the same graph.
CPU time is the case process's (both processes' for the daemon) over the measured window;
"other CPU" is what the rest of the machine used meanwhile, the noise the figures carry.

(b) runs the same session as (a) and (e), at the best batch: it cannot truly be slower than
them. When its median comes out below theirs, the run says so as a measurement fault
(:meth:`ServingBenchResult.limit_faults`) instead of printing the ratios silently.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL, ModelCatalog, choose_embedding_variant
from ainos.app.bench._cpu import cpu_model
from ainos.app.bench._daemon import Daemon, running_daemon
from ainos.app.bench._process import case_order, run_process
from ainos.app.bench._serving_case import daemon_variant
from ainos.app.bench.agent import Spread
from ainos.errors import AinosError
from ainos.kernel.control import Client

__all__ = [
    "CASES",
    "SAME_SESSION",
    "LimitFault",
    "ServingBenchResult",
    "ServingCell",
    "ServingGoal",
    "ServingRow",
    "ServingSettings",
    "Spread",
    "SweepPoint",
    "run_serving_bench",
]

Progress = Callable[[str, float], None]

CASES = {
    "a": "shared session, N threads",
    "e": "plain batcher: 1 queue, 1 worker, no wait",
    "b": "raw ORT, best batch and layout",
    "c": "ainos in-process",
    "d": "ainos daemon (HTTP)",
}
SAME_SESSION = ("a", "e")  # cases on the very session the limit (b) runs
GOAL_CONCURRENCY = 16
GOAL_THROUGHPUT_RATIO = 0.85  # (d) at least this share of (b)'s throughput
GOAL_P99_RATIO = 0.5  # "well below": (d)'s p99 at most this share of (a)'s
GOAL_BATCHER_LENGTH = 16  # the plain batcher's goal is judged at this length
GOAL_OVER_BATCHER = 1.1  # (c) at least this many times (e)'s throughput, p99 at most (e)'s
GOAL_DAEMON_OVER_IN_PROCESS = 0.9  # (d) at least this share of (c)'s throughput
# A lone request (one client, batch 1) through ainos in-process against the bare session (a):
# p50 at most this much above (a)'s, CPU per request at most this many times (a)'s.
GOAL_LONE_P50_EXTRA_MS = 0.5
GOAL_LONE_CPU_RATIO = 1.15
GOAL_LONG_LENGTH = 128  # long texts: (c) at least (e) and (a), its p99 at most (a)'s
_RUNNER = "ainos.app.bench._serving_case"
_VECTOR_TOLERANCE = 1e-4


@dataclass(frozen=True)
class ServingSettings:
    lengths: tuple[int, ...] = (16, 128)
    concurrencies: tuple[int, ...] = (1, 4, 16, 32)
    warmup_s: float = 1.0
    cell_s: float = 6.0
    sweep_batches: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64)
    sweep_s: float = 1.0
    limit_s: float = 6.0  # each layout's best point of the sweep measured again this long
    repeats: int = 3
    cases: tuple[str, ...] = tuple(CASES)
    timeout_s: float = 1800.0  # per case process

    @classmethod
    def quick(cls) -> ServingSettings:
        return cls(
            concurrencies=(1, 16),
            warmup_s=0.5,
            cell_s=2.0,
            sweep_batches=(1, 4, 16, 32, 64),
            sweep_s=0.5,
            limit_s=2.0,
        )

    def check(self) -> None:
        if self.repeats < 1 or not self.cases or set(self.cases) - set(CASES):
            raise AinosError(
                f"repeats must be 1 or more and cases some of {', '.join(CASES)}, got "
                f"{self.repeats} and {', '.join(self.cases)}"
            )


@dataclass(frozen=True)
class ServingRow:
    """One cell measured in one case process."""

    case: str  # a key of CASES
    length: int  # tokens per input, special tokens included
    concurrency: int  # client threads (for (b): runs side by side)
    requests: int  # sequences for (b)
    seconds: float
    p50_ms: float  # per request; per run for (b)
    p99_ms: float
    mean_batch: float | None  # rows per session run
    cpu_seconds: float  # the case process, plus the daemon for (d)
    other_cpu_fraction: float  # the rest of the machine's CPU use meanwhile, of all cores
    repeat: int = 0

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
    repeat: int = 0


def _spread(values: Sequence[float | None]) -> Spread | None:
    found = [v for v in values if v is not None]
    return Spread.of(found) if found else None


@dataclass(frozen=True)
class ServingCell:
    """One case at one length and concurrency over its rounds: medians, least, greatest.
    (b) has one cell per length (its concurrency is the layout of its median run)."""

    case: str
    length: int
    runs: tuple[ServingRow, ...]

    @property
    def concurrency(self) -> int:
        ranked = sorted(self.runs, key=lambda r: r.requests_per_second)
        return ranked[(len(ranked) - 1) // 2].concurrency

    @property
    def requests_per_second(self) -> Spread:
        return Spread.of([r.requests_per_second for r in self.runs])

    @property
    def p50_ms(self) -> Spread:
        return Spread.of([r.p50_ms for r in self.runs])

    @property
    def p99_ms(self) -> Spread:
        return Spread.of([r.p99_ms for r in self.runs])

    @property
    def cpu_ms_per_request(self) -> Spread:
        return Spread.of([r.cpu_ms_per_request for r in self.runs])

    @property
    def mean_batch(self) -> Spread | None:
        return _spread([r.mean_batch for r in self.runs])

    @property
    def other_cpu_fraction(self) -> float:
        return max((r.other_cpu_fraction for r in self.runs), default=0.0)

    def to_dict(self) -> dict[str, Any]:
        batch = self.mean_batch
        return {
            "case": self.case,
            "length": self.length,
            "concurrency": self.concurrency,
            "repeats": len(self.runs),
            "requests_per_second": asdict(self.requests_per_second),
            "p50_ms": asdict(self.p50_ms),
            "p99_ms": asdict(self.p99_ms),
            "cpu_ms_per_request": asdict(self.cpu_ms_per_request),
            "mean_batch": None if batch is None else asdict(batch),
            "other_cpu_fraction_max": self.other_cpu_fraction,
        }


@dataclass(frozen=True)
class ServingGoal:
    length: int
    what: str  # e.g. "(c) req/s / (e) req/s"
    ratio: float
    target: float
    at_least: bool = True  # ratio >= target; else ratio <= target
    concurrency: int = GOAL_CONCURRENCY

    @property
    def met(self) -> bool:
        return self.ratio >= self.target if self.at_least else self.ratio <= self.target


@dataclass(frozen=True)
class LimitFault:
    """The limit (b) came out below a case on the same session: the measurement is wrong
    (too short a window, noise), not the model faster than its best."""

    length: int
    case: str
    concurrency: int
    requests_per_second: float  # the case's median
    limit_requests_per_second: float  # (b)'s median

    def describe(self) -> str:
        return (
            f"MEASUREMENT FAULT: the limit (b) at {self.length} tokens, "
            f"{self.limit_requests_per_second:,.0f} req/s, is below ({self.case}) "
            f"x{self.concurrency}'s {self.requests_per_second:,.0f} req/s"
        )


@dataclass(frozen=True)
class ServingBenchResult:
    settings: ServingSettings
    variant: str
    daemon_variant: str
    intra_op_threads: int
    vector_max_diff: dict[str, float]  # case -> largest |difference| to (a) for one text
    runs: list[ServingRow] = field(default_factory=list)  # every cell of every round
    sweep: list[SweepPoint] = field(default_factory=list)
    cpu_count: int = 1
    cpu_model: str = ""
    wall_s: float = 0.0

    @property
    def vectors_verified(self) -> bool:
        return all(diff <= _VECTOR_TOLERANCE for diff in self.vector_max_diff.values())

    @property
    def rows(self) -> list[ServingCell]:
        """One cell per case, length and concurrency ((b): per length), in the order of
        :data:`CASES`, then length, then concurrency."""
        keys: dict[tuple[str, int, int], list[ServingRow]] = {}
        for run in self.runs:
            keys.setdefault((run.case, run.length, 0 if run.case == "b" else run.concurrency), [])
            keys[(run.case, run.length, 0 if run.case == "b" else run.concurrency)].append(run)
        order = list(CASES)
        return [
            ServingCell(case, length, tuple(found))
            for (case, length, _), found in sorted(
                keys.items(), key=lambda item: (order.index(item[0][0]), *item[0][1:])
            )
        ]

    def row(self, case: str, length: int, concurrency: int | None = None) -> ServingCell:
        return next(
            cell
            for cell in self.rows
            if cell.case == case
            and cell.length == length
            and (concurrency is None or case == "b" or cell.concurrency == concurrency)
        )

    def limit_faults(self) -> list[LimitFault]:
        """Every same-session cell whose median throughput is above the limit's."""
        faults = []
        for cell in self.rows:
            if cell.case not in SAME_SESSION:
                continue
            try:
                limit = self.row("b", cell.length).requests_per_second.median
            except StopIteration:
                continue
            measured = cell.requests_per_second.median
            if measured > limit:
                faults.append(LimitFault(cell.length, cell.case, cell.concurrency, measured, limit))
        return faults

    def goals(self) -> list[ServingGoal]:
        """The goals the cases and concurrencies measured allow judging: at 16 clients,
        throughput and p99 against the limit, the plain batcher, the shared session and
        in-process; at one client, a lone request's overhead over the bare session."""
        cases = set(self.settings.cases)
        goals = []
        if GOAL_CONCURRENCY in self.settings.concurrencies:
            for length in self.settings.lengths:
                goals += self._loaded_goals(length, cases)
        if 1 in self.settings.concurrencies and {"a", "c"} <= cases:
            for length in self.settings.lengths:
                if length == GOAL_BATCHER_LENGTH:
                    goals += self._lone_goals(length)
        return goals

    def _loaded_goals(self, length: int, cases: set[str]) -> list[ServingGoal]:
        n = GOAL_CONCURRENCY

        def rate(case: str) -> float:
            return self.row(case, length, n).requests_per_second.median

        def p99(case: str) -> float:
            return self.row(case, length, n).p99_ms.median

        def ratio(what: str, value: float, target: float, at_least: bool = True) -> ServingGoal:
            return ServingGoal(length, what, value, target, at_least)

        goals = []
        if {"a", "b", "d"} <= cases:
            goals.append(
                ratio("(d) req/s / (b) req/s", rate("d") / rate("b"), GOAL_THROUGHPUT_RATIO)
            )
            goals.append(ratio("(d) p99 / (a) p99", p99("d") / p99("a"), GOAL_P99_RATIO, False))
        if length == GOAL_BATCHER_LENGTH and {"c", "e"} <= cases:
            goals.append(ratio("(c) req/s / (e) req/s", rate("c") / rate("e"), GOAL_OVER_BATCHER))
            goals.append(ratio("(c) p99 / (e) p99", p99("c") / p99("e"), 1.0, False))
        if length == GOAL_BATCHER_LENGTH and {"c", "d"} <= cases:
            goals.append(
                ratio("(d) req/s / (c) req/s", rate("d") / rate("c"), GOAL_DAEMON_OVER_IN_PROCESS)
            )
        if length == GOAL_LONG_LENGTH and {"a", "c", "e"} <= cases:
            goals.append(ratio("(c) req/s / (e) req/s", rate("c") / rate("e"), 1.0))
            goals.append(ratio("(c) req/s / (a) req/s", rate("c") / rate("a"), 1.0))
            goals.append(ratio("(c) p99 / (a) p99", p99("c") / p99("a"), 1.0, False))
        return goals

    def _lone_goals(self, length: int) -> list[ServingGoal]:
        bare, ours = self.row("a", length, 1), self.row("c", length, 1)
        allowed_p50 = bare.p50_ms.median + GOAL_LONE_P50_EXTRA_MS
        cpu = ours.cpu_ms_per_request.median / bare.cpu_ms_per_request.median
        return [
            ServingGoal(
                length,
                f"(c) p50 / ((a) p50 + {GOAL_LONE_P50_EXTRA_MS:g} ms)",
                ours.p50_ms.median / allowed_p50,
                1.0,
                at_least=False,
                concurrency=1,
            ),
            ServingGoal(
                length,
                "(c) CPU/req / (a) CPU/req",
                cpu,
                GOAL_LONE_CPU_RATIO,
                at_least=False,
                concurrency=1,
            ),
        ]

    def to_dict(self) -> dict[str, object]:
        def ratio_to_limit(cell: ServingCell) -> float | None:
            try:
                limit = self.row("b", cell.length).requests_per_second.median
            except StopIteration:
                return None
            return cell.requests_per_second.median / limit if limit else None

        return {
            "benchmark": "serving",
            "model": DEFAULT_EMBEDDING_MODEL,
            "variant": self.variant,
            "daemon_variant": self.daemon_variant,
            "intra_op_threads": self.intra_op_threads,
            "cpu_count": self.cpu_count,
            "cpu_model": self.cpu_model,
            "wall_s": self.wall_s,
            "settings": asdict(self.settings),
            "cases": CASES,
            "vector_max_diff": self.vector_max_diff,
            "vectors_verified": self.vectors_verified,
            "rows": [
                {**cell.to_dict(), "ratio_to_raw_limit": ratio_to_limit(cell)} for cell in self.rows
            ],
            "runs": [
                {
                    **asdict(r),
                    "requests_per_second": r.requests_per_second,
                    "cpu_ms_per_request": r.cpu_ms_per_request,
                }
                for r in self.runs
            ],
            "sweep": [asdict(point) for point in self.sweep],
            "limit_faults": [asdict(fault) for fault in self.limit_faults()],
            "goal": {
                "concurrency": GOAL_CONCURRENCY,
                "per_length": [{**asdict(g), "met": g.met} for g in self.goals()],
            },
        }


# -- the run --------------------------------------------------------------------------------


def _daemon_url(daemon: Daemon) -> str:
    with Client(daemon.socket_path) as client:
        url = client.version().endpoints.get("http")
    if not url:
        raise AinosError("the daemon serves no HTTP API")
    return url


def _settings_json(settings: ServingSettings) -> str:
    keys = ("lengths", "concurrencies", "warmup_s", "cell_s", "sweep_batches", "sweep_s")
    return json.dumps({key: getattr(settings, key) for key in (*keys, "limit_s")})


def _measure(
    case: str,
    repeat: int,
    command: Sequence[str],
    on_step: Callable[[int, int], None],
    timeout_s: float,
) -> Mapping[str, Any]:
    try:
        exited = run_process(command, on_step, timeout_s)
    except AinosError as exc:
        raise AinosError(f"the serving case ({case}) {exc}") from None
    if exited.code != 0:
        tail = "; ".join(line for line in exited.stderr_tail[-5:] if line.strip())
        raise AinosError(f"the serving case ({case}) failed (exit {exited.code}): {tail}")
    try:
        document: Mapping[str, Any] = json.loads(exited.stdout)
    except json.JSONDecodeError as exc:
        raise AinosError(f"the serving case ({case}) printed no JSON document: {exc}") from None
    return document


def run_serving_bench(
    *,
    quick: bool,
    progress: Progress | None = None,
    settings: ServingSettings | None = None,
) -> ServingBenchResult:
    """The cases of ``settings`` (by default the full or the ``quick`` set), each round every
    case in a process of its own, at every length and concurrency."""
    began = time.perf_counter()
    report = progress or (lambda _label, _fraction: None)
    chosen = settings or (ServingSettings.quick() if quick else ServingSettings())
    chosen.check()
    report("loading the model", 0.0)
    variant, _reason = choose_embedding_variant(ModelCatalog().entry(DEFAULT_EMBEDDING_MODEL))
    runs: list[ServingRow] = []
    sweep: list[SweepPoint] = []
    vectors: dict[str, list[np.ndarray[Any, Any]]] = {}
    threads: set[int] = set()
    variants: set[str] = set()
    done = dict.fromkeys(chosen.cases, 0)
    for case in chosen.cases:
        report(f"({case}) {CASES[case]}"[:24], 0.0)
    with contextlib.ExitStack() as stack:
        daemon = stack.enter_context(running_daemon()) if "d" in chosen.cases else None
        url = _daemon_url(daemon) if daemon is not None else ""
        served = daemon_variant(url) if daemon is not None else variant
        report("loading the model", 1.0)
        for repeat, case in case_order(chosen.cases, chosen.repeats):
            label = f"({case}) {CASES[case]}"[:24]
            command = [sys.executable, "-m", _RUNNER, case, "--variant", variant]
            command += ["--settings", _settings_json(chosen)]
            if daemon is not None and case == "d":
                command += ["--url", url, "--daemon-pid", str(daemon.pid)]
            finished = done[case]

            def step(count: int, total: int, label: str = label, finished: int = finished) -> None:
                report(label, (finished + count / max(1, total)) / chosen.repeats)

            document = _measure(case, repeat, command, step, chosen.timeout_s)
            done[case] += 1
            report(label, done[case] / chosen.repeats)
            variants.add(str(document["variant"]))
            if document.get("intra_op_threads") is not None:
                threads.add(int(document["intra_op_threads"]))
            runs += [ServingRow(**row, repeat=repeat) for row in document["rows"]]
            sweep += [SweepPoint(**point, repeat=repeat) for point in document["sweep"]]
            if document.get("vector") is not None:
                vectors.setdefault(case, []).append(np.asarray(document["vector"]))
    if len(variants) > 1:
        raise AinosError(f"the cases ran different variants: {', '.join(sorted(variants))}")
    return ServingBenchResult(
        settings=chosen,
        variant=variant,
        daemon_variant=served,
        intra_op_threads=max(threads, default=0),
        vector_max_diff=_vector_diffs(vectors),
        runs=runs,
        sweep=sweep,
        cpu_count=os.cpu_count() or 1,
        cpu_model=cpu_model(),
        wall_s=time.perf_counter() - began,
    )


def _vector_diffs(vectors: Mapping[str, Sequence[np.ndarray[Any, Any]]]) -> dict[str, float]:
    """The largest difference of each case's vectors for the reference text to (a)'s."""
    if not vectors.get("a"):
        return {}
    reference = vectors["a"][0]
    return {
        case: max(float(np.abs(v - reference).max()) for v in found)
        for case, found in vectors.items()
        if case != "a"
    }
