"""The plan's table, measured: one mixed workload under four configurations of ainos.

The workload (:mod:`ainos.app.bench._table_case`): N closed-loop clients, one in four
realtime and the rest batch, each sending single-text MiniLM embeddings with one short
greedy SmolLM2 chat in ``chat_every`` requests. The offered load is N, the clients. The
configurations:

1. ``conventional``: a shared ONNX Runtime session and the llama.cpp engine, called
   directly from the client threads: no scheduler, no pool;
2. ``kernel``: the kernel layer alone: embeddings staged in the daemon's pinned pool and
   run by the daemon's scheduler (the control plane's ``embed.pinned``, priorities and
   all, no batching); the kernel has no text generation, so chats go to a llama.cpp engine
   in the client's process as in (1);
3. ``platform``: the AI platform layer alone: ``ai.ml``'s ``EmbeddingService`` (batching)
   and ``LlmService`` (reserved sequences) in an in-process ``Runtime``, no daemon, no pool;
4. ``layers``: app → ai.ml → the daemon's scheduler: the daemon's HTTP API through
   ``DaemonApi``, served by ``ai.ml`` on the daemon's scheduler. That path takes JSON, so
   the pool is not on it; no path runs all of ai.ml's serving through the pool.

Each configuration runs in a process of its own, every offered load in that process; the
configurations take turns over ``repeats`` rounds, a different one first each round, so
drifts of the machine fall on all alike. The two daemon configurations have a daemon each,
started once by this process and kept across rounds (their models stay loaded, as a
daemon's do); their CPU time over a window counts with their client process's, their peak
RSS (``VmHWM``) is added to it. Figures are medians over the rounds with the least and
greatest. A window is cut into parts and stops once throughput and p50 latency vary less
than 10 % over its last three parts, or at its longest.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rich.table import Table

from ainos.ai.ml import (
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    ModelCatalog,
    choose_embedding_variant,
)
from ainos.app.bench._cpu import cpu_model
from ainos.app.bench._daemon import Daemon, running_daemon
from ainos.app.bench._process import case_order, run_process
from ainos.app.bench._table_case import CONFIGS, DAEMON_CONFIGS, Part, window_settled
from ainos.app.bench.agent import Spread
from ainos.errors import AinosError, InvalidArgument

__all__ = [
    "CONFIGS",
    "CONFIG_WHAT",
    "DEFAULT_CHART_NAME",
    "Part",
    "TableBenchResult",
    "TableCell",
    "TableRun",
    "TableSettings",
    "chart_path",
    "peak_rss_bytes",
    "rich_table",
    "run_table_bench",
    "settings_from_options",
    "window_settled",
]

Progress = Callable[[str, float], None]

CONFIG_WHAT = {
    "conventional": "direct: a shared ORT session and the llama.cpp engine",
    "kernel": "kernel only: embeddings via the daemon's scheduler and pinned pool",
    "platform": "AI platform only: ai.ml in-process (batching, reserved sequences)",
    "layers": "three layers: DaemonApi -> ai.ml -> the daemon's scheduler",
}
DEFAULT_CHART_NAME = "ainos-bench-table.png"
_RUNNER = "ainos.app.bench._table_case"


@dataclass(frozen=True)
class TableSettings:
    clients: tuple[int, ...] = (2, 4, 8)  # the offered loads
    repeats: int = 3
    chat_every: int = 5  # one request in this many is a chat, the rest embeddings
    max_tokens: int = 12  # per chat, greedy
    warmup_s: float = 1.0
    part_s: float = 1.0
    max_parts: int = 10  # the longest window, in parts
    tolerance: float = 0.10
    configs: tuple[str, ...] = CONFIGS
    timeout_s: float = 900.0  # per case process

    @classmethod
    def quick(cls) -> TableSettings:
        return cls(clients=(2, 4), warmup_s=0.2, part_s=0.4, max_parts=4)

    def check(self) -> None:
        problems = []
        if not self.clients or any(not 1 <= n <= 64 for n in self.clients):
            problems.append("clients must be counts from 1 to 64")
        if not 1 <= self.repeats <= 100:
            problems.append(f"repeats must be from 1 to 100, got {self.repeats}")
        if not self.configs or set(self.configs) - set(CONFIGS):
            problems.append(f"configurations must be some of {', '.join(CONFIGS)}")
        if not 3 <= self.max_parts <= 1000 or not 0.05 <= self.part_s <= 600:
            problems.append("a window needs 3 to 1000 parts of 0.05 to 600 s")
        if self.chat_every < 1 or not 1 <= self.max_tokens <= 256:
            problems.append("chat_every must be 1 or more and max_tokens from 1 to 256")
        if problems:
            raise InvalidArgument("; ".join(problems))

    @property
    def max_window_s(self) -> float:
        return self.part_s * self.max_parts

    def case_json(self) -> str:
        keys = ("clients", "chat_every", "max_tokens", "warmup_s", "part_s", "max_parts")
        return json.dumps({key: getattr(self, key) for key in (*keys, "tolerance")})


def settings_from_options(
    *,
    quick: bool,
    repeats: int | None = None,
    clients: str | None = None,
    max_window_s: float | None = None,
    max_tokens: int | None = None,
) -> TableSettings:
    """The command's options over the full or quick settings; bad values are one error."""
    settings = TableSettings.quick() if quick else TableSettings()
    changes: dict[str, Any] = {}
    if repeats is not None:
        changes["repeats"] = repeats
    if clients is not None:
        try:
            changes["clients"] = tuple(int(n) for n in clients.split(",") if n.strip())
        except ValueError:
            raise InvalidArgument(f"--clients must be counts like 2,4,8, got {clients!r}") from None
    if max_tokens is not None:
        changes["max_tokens"] = max_tokens
    if max_window_s is not None:
        if not max_window_s > 0:
            raise InvalidArgument(f"--max-window must be above 0 s, got {max_window_s:g}")
        # At least three parts, so the settling rule can be judged.
        parts = max(3, round(max_window_s / settings.part_s))
        changes["max_parts"] = parts
        changes["part_s"] = max_window_s / parts
        changes["warmup_s"] = min(settings.warmup_s, max_window_s / 2)
    chosen = dataclasses.replace(settings, **changes)
    chosen.check()
    return chosen


def chart_path(chart: Path | None, chart_dir: Path | None) -> Path:
    """Where the chart goes: ``chart`` as given, else ``chart_dir`` (default: the current
    directory) / :data:`DEFAULT_CHART_NAME`."""
    if chart is not None and chart_dir is not None:
        raise InvalidArgument("give --chart or --chart-dir, not both")
    if chart is not None:
        if chart.suffix.lower() != ".png":
            raise InvalidArgument(f"--chart must name a .png file, got {str(chart)!r}")
        directory, path = chart.parent, chart
    else:
        directory = chart_dir if chart_dir is not None else Path.cwd()
        path = directory / DEFAULT_CHART_NAME
    # Checked now, not after minutes of measuring.
    if not directory.is_dir():
        raise InvalidArgument(f"the chart's directory {str(directory)!r} does not exist")
    if not os.access(directory, os.W_OK):
        raise InvalidArgument(f"the chart's directory {str(directory)!r} is not writable")
    return path


def peak_rss_bytes(pid: int) -> int:
    """A live process's peak resident set (``VmHWM``), 0 when it cannot be read."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


# -- results --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRun:
    """One configuration at one offered load, in one round."""

    config: str
    clients: int
    realtime_clients: int
    repeat: int
    seconds: float  # the measured window
    parts: int
    settled: bool  # it stopped by the rule, not at its longest
    requests: int
    embeddings: int
    chats: int
    realtime_requests: int
    completion_tokens: int
    p50_ms: float | None
    p99_ms: float | None
    realtime_p50_ms: float | None
    realtime_p99_ms: float | None
    batch_p50_ms: float | None
    batch_p99_ms: float | None
    embedding_p50_ms: float | None
    chat_p50_ms: float | None
    cpu_seconds: float  # the case process's, and its daemon's, over the window
    device: str  # "cpu" (busy share of all cores) or "gpu" (NVML utilisation)
    device_busy_fraction: float
    other_cpu_fraction: float  # the rest of the machine's CPU use meanwhile (noise)
    peak_rss_bytes: int  # the case process (wait4), plus its daemon's peak
    stalled_requests: int = 0  # sent before the window and still unanswered at its end

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def tokens_per_second(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.requests if self.requests else 0.0


def _spread(values: Sequence[float | None]) -> Spread | None:
    found = [v for v in values if v is not None]
    return Spread.of(found) if found else None


@dataclass(frozen=True)
class TableCell:
    """One configuration at one offered load over its rounds."""

    config: str
    clients: int
    runs: tuple[TableRun, ...]

    def spread(self, figure: str) -> Spread | None:
        """Median, least and greatest of a figure of :class:`TableRun` over the rounds."""
        return _spread([getattr(run, figure) for run in self.runs])

    @property
    def realtime_clients(self) -> int:
        return self.runs[0].realtime_clients

    @property
    def settled(self) -> int:
        return sum(1 for run in self.runs if run.settled)

    @property
    def other_cpu_fraction(self) -> float:
        return max(run.other_cpu_fraction for run in self.runs)

    def to_dict(self) -> dict[str, Any]:
        def shown(figure: str) -> dict[str, float] | None:
            spread = self.spread(figure)
            return None if spread is None else asdict(spread)

        return {
            "config": self.config,
            "clients": self.clients,
            "realtime_clients": self.realtime_clients,
            "repeats": len(self.runs),
            "windows_settled": self.settled,
            "stalled_requests_max": max(run.stalled_requests for run in self.runs),
            **{figure: shown(figure) for figure in CELL_FIGURES},
            "device": self.runs[0].device,
            "other_cpu_fraction_max": self.other_cpu_fraction,
        }


CELL_FIGURES = (
    "p50_ms",
    "p99_ms",
    "realtime_p50_ms",
    "realtime_p99_ms",
    "batch_p50_ms",
    "batch_p99_ms",
    "requests_per_second",
    "tokens_per_second",
    "device_busy_fraction",
    "cpu_ms_per_request",
    "peak_rss_bytes",
)


@dataclass(frozen=True)
class TableBenchResult:
    settings: TableSettings
    variant: str
    runs: list[TableRun] = field(default_factory=list)
    cpu_count: int = 1
    cpu_model: str = ""
    wall_s: float = 0.0

    @property
    def cells(self) -> list[TableCell]:
        """One per configuration and offered load, configurations in :data:`CONFIGS` order."""
        grouped: dict[tuple[str, int], list[TableRun]] = {}
        for run in self.runs:
            grouped.setdefault((run.config, run.clients), []).append(run)
        return [
            TableCell(config, clients, tuple(found))
            for (config, clients), found in sorted(
                grouped.items(), key=lambda item: (CONFIGS.index(item[0][0]), item[0][1])
            )
        ]

    def cell(self, config: str, clients: int) -> TableCell:
        return next(c for c in self.cells if c.config == config and c.clients == clients)

    @property
    def device(self) -> str:
        return self.runs[0].device if self.runs else "cpu"

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": "table",
            "models": {"embedding": DEFAULT_EMBEDDING_MODEL, "chat": DEFAULT_CHAT_MODEL},
            "variant": self.variant,
            "cpu_count": self.cpu_count,
            "cpu_model": self.cpu_model,
            "device": self.device,
            "wall_s": self.wall_s,
            "settings": asdict(self.settings),
            "configs": {config: CONFIG_WHAT[config] for config in self.settings.configs},
            "cells": [cell.to_dict() for cell in self.cells],
            "runs": [
                {
                    **asdict(run),
                    "requests_per_second": run.requests_per_second,
                    "tokens_per_second": run.tokens_per_second,
                    "cpu_ms_per_request": run.cpu_ms_per_request,
                }
                for run in self.runs
            ],
        }


# -- the run --------------------------------------------------------------------------------


def _case(
    config: str,
    command: Sequence[str],
    on_step: Callable[[int, int], None],
    timeout_s: float,
) -> tuple[Mapping[str, Any], int]:
    """The case's JSON document and its peak RSS (wait4: the process and what it reaped)."""
    try:
        exited = run_process(command, on_step, timeout_s)
    except AinosError as exc:
        raise AinosError(f"the {config} case {exc}") from None
    if exited.code != 0:
        tail = "; ".join(line for line in exited.stderr_tail[-5:] if line.strip())
        raise AinosError(f"the {config} case failed (exit {exited.code}): {tail}")
    try:
        document: Mapping[str, Any] = json.loads(exited.stdout)
    except json.JSONDecodeError as exc:
        raise AinosError(f"the {config} case printed no JSON document: {exc}") from None
    return document, exited.usage.ru_maxrss * 1024  # Linux gives KiB


def run_table_bench(
    *, settings: TableSettings | None = None, progress: Progress | None = None
) -> TableBenchResult:
    """Every configuration of ``settings`` at every offered load, interleaved over rounds."""
    began = time.perf_counter()
    report = progress or (lambda _label, _fraction: None)
    chosen = settings or TableSettings()
    chosen.check()
    variant, _reason = choose_embedding_variant(ModelCatalog().entry(DEFAULT_EMBEDDING_MODEL))
    runs: list[TableRun] = []
    done = dict.fromkeys(chosen.configs, 0)
    for config in chosen.configs:
        report(config, 0.0)
    with ExitStack() as stack:
        daemons: dict[str, Daemon] = {}
        for config in chosen.configs:
            if config in DAEMON_CONFIGS:
                report(f"{config}: daemon", 0.0)
                daemons[config] = stack.enter_context(running_daemon(pool_mib=16))
                report(f"{config}: daemon", 1.0)
        for repeat, config in case_order(chosen.configs, chosen.repeats):
            command = [sys.executable, "-m", _RUNNER, config, "--variant", variant]
            command += ["--settings", chosen.case_json()]
            daemon = daemons.get(config)
            if daemon is not None:
                command += ["--socket", str(daemon.socket_path), "--daemon-pid", str(daemon.pid)]
            finished = done[config]

            def step(
                count: int, total: int, config: str = config, finished: int = finished
            ) -> None:
                report(config, (finished + count / max(1, total)) / chosen.repeats)

            document, rss = _case(config, command, step, chosen.timeout_s)
            if daemon is not None:
                rss += peak_rss_bytes(daemon.pid)
            done[config] += 1
            report(config, done[config] / chosen.repeats)
            runs += [
                TableRun(config=config, repeat=repeat, peak_rss_bytes=rss, **row)
                for row in document["rows"]
            ]
    return TableBenchResult(
        settings=chosen,
        variant=variant,
        runs=runs,
        cpu_count=os.cpu_count() or 1,
        cpu_model=cpu_model(),
        wall_s=time.perf_counter() - began,
    )


# -- the table people read ------------------------------------------------------------------


def _cell_text(spread: Spread | None, scale: float = 1.0, digits: int = 0) -> str:
    """The median, and under it the least-greatest (dimmed)."""
    if spread is None:
        return "-"
    median, low, high = (scale * v for v in (spread.median, spread.low, spread.high))
    return f"{median:.{digits}f}\n[dim]{low:.{digits}f}-{high:.{digits}f}[/dim]"


def rich_table(result: TableBenchResult) -> Table:
    """The plan's columns, one row per configuration and offered load."""
    settings = result.settings
    device = "GPU" if result.device == "gpu" else "CPU"
    table = Table(
        title=(
            f"The plan's table, measured: median of {settings.repeats} rounds (least-greatest "
            f"under it), configurations interleaved, each in its own process; "
            f"{result.wall_s:.0f} s in all"
        ),
        title_justify="left",
        caption="\n".join(
            [
                *(f"{config}: {CONFIG_WHAT[config]}" for config in settings.configs),
                f"workload: N closed-loop clients (rt: the realtime ones, the rest batch), "
                f"single-text {DEFAULT_EMBEDDING_MODEL} embeddings",
                f"and one greedy {settings.max_tokens}-token {DEFAULT_CHAT_MODEL} chat in "
                f"{settings.chat_every} requests; latency in ms per request;",
                f"tok/s: chat tokens made; {device} %: the device's busy share over the window"
                + (" (all cores, /proc/stat)" if device == "CPU" else " (NVML)")
                + "; CPU: CPU ms per request,",
                "the case process's and its daemon's; RSS: peak MiB, the same processes; "
                "settled: windows that stopped by",
                f"the 10 % rule, not at their longest ({settings.max_window_s:g} s); other: "
                "the rest of the machine's CPU use (noise, worst round);",
                f"{result.cpu_count} CPUs ({result.cpu_model}), MiniLM variant {result.variant}",
            ]
        ),
        caption_justify="left",
    )
    columns = ("config", "N\n(rt)", "p50", "p99", "rt p50", "rt p99", "req/s", "tok/s")
    for column in (*columns, f"{device} %", "CPU\nms/req", "RSS\nMiB", "settled", "other"):
        table.add_column(column, justify="left" if column == "config" else "right")
    for cell in result.cells:
        table.add_row(
            cell.config,
            f"{cell.clients}\n({cell.realtime_clients})",
            _cell_text(cell.spread("p50_ms"), digits=1),
            _cell_text(cell.spread("p99_ms")),
            _cell_text(cell.spread("realtime_p50_ms"), digits=1),
            _cell_text(cell.spread("realtime_p99_ms")),
            _cell_text(cell.spread("requests_per_second"), digits=1),
            _cell_text(cell.spread("tokens_per_second")),
            _cell_text(cell.spread("device_busy_fraction"), scale=100),
            _cell_text(cell.spread("cpu_ms_per_request")),
            _cell_text(cell.spread("peak_rss_bytes"), scale=1 / 2**20),
            f"{cell.settled}/{len(cell.runs)}",
            f"{cell.other_cpu_fraction:.0%}",
        )
    return table
