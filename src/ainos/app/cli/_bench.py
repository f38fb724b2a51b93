"""``ainos bench …``: benchmarks, each against a baseline run in the same invocation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import typer
from rich import box
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ainos.app.bench._models import minilm_workload
from ainos.app.bench.agent import (
    GOAL_OVERHEAD_MS,
    AgentBenchResult,
    AgentBenchSettings,
    AnalysisResult,
    OverheadResult,
    Spread,
    run_agent_bench,
)
from ainos.app.bench.control import run_control_bench
from ainos.app.bench.llm import (
    GOAL_PARALLEL_RATIO,
    GOAL_RATIO,
    MODES,
    LlmBenchResult,
    run_llm_bench,
)
from ainos.app.bench.mcp import GOAL_RATIO as MCP_GOAL_RATIO
from ainos.app.bench.mcp import TRANSPORTS, McpBenchResult, McpBenchSettings, run_mcp_bench
from ainos.app.bench.memory import run_memory_bench
from ainos.app.bench.scheduler import run_scheduler_bench
from ainos.app.bench.serving import (
    CASES,
    ServingBenchResult,
    run_serving_bench,
)
from ainos.app.bench.supervisor import (
    CASE_WHAT,
    EXEC_PROMPTS,
    REQUEST,
    SupervisorBenchResult,
    SupervisorBenchSettings,
    run_supervisor_bench,
)
from ainos.app.bench.table import chart_path, rich_table, run_table_bench, settings_from_options
from ainos.app.bench.telemetry import (
    FAKE_NVML,
    TARGET_PERCENT_OF_CORE,
    TARGET_TICK_MS_PER_GPU,
    TARGET_TICKS_PER_SECOND_AT_100HZ,
    run_telemetry_bench,
)
from ainos.app.cli._output import emit_json, gpus, human_bytes, stderr, stdout
from ainos.errors import InvalidArgument

bench_app = typer.Typer(
    help="Benchmarks: each reports ratios against a baseline run side by side.",
    no_args_is_help=True,
)


class _Bar:
    """A rich progress bar on stderr, one task per configuration."""

    def __init__(self) -> None:
        self._progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=stderr,
            transient=True,
        )
        self._tasks: dict[str, TaskID] = {}

    def __enter__(self) -> _Bar:
        self._progress.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._progress.stop()

    def __call__(self, label: str, fraction: float) -> None:
        if label not in self._tasks:
            self._tasks[label] = self._progress.add_task(label, total=1.0)
        self._progress.update(self._tasks[label], completed=fraction)


@bench_app.command("telemetry")
def telemetry(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Shorter runs, rougher figures."),
    seconds: float | None = typer.Option(
        None, "--seconds", help="Wall time of each run (default 20, or 3 with --quick)."
    ),
) -> None:
    """The telemetry sampler's CPU cost and tick rate, vs the plain loop reading every GPU
    field in every tick and an idle thread ticking at the same rate; the cost of each NVML
    call (the fake NVML's, with an H200's latencies, when no GPU is here)."""
    if seconds is None:
        seconds = 3.0 if quick else 20.0
    elif not 0 < seconds <= 3600:
        raise InvalidArgument(f"--seconds must be above 0 and at most 3600, got {seconds:g}")
    with gpus() as nvml, _Bar() as bar:
        result = run_telemetry_bench(seconds_per_run=seconds, nvml=nvml, quick=quick, progress=bar)
    document = result.to_dict()
    if as_json:
        emit_json(document)
        return
    source = "the fake NVML's figures" if result.nvml == FAKE_NVML else "NVML"
    calls = Table(
        title=f"NVML calls as the sampler makes them ({result.gpus} GPUs, {source})",
        title_justify="left",
        caption=f"a tick's GPU part: {result.tick_gpu_microseconds_per_gpu:.1f} µs CPU per GPU "
        f"(target: at most {TARGET_TICK_MS_PER_GPU * 1000:g} µs)",
        caption_justify="left",
    )
    for column in ("function", "read", "calls", "median µs"):
        calls.add_column(column, justify="left" if column in ("function", "read") else "right")
    for cost in result.calls:
        calls.add_row(
            cost.function,
            "slow-field thread" if cost.slow_field else "tick",
            str(cost.calls),
            f"{cost.median_microseconds:.1f}",
        )
    stdout.print(calls)
    table = Table(
        title=f"telemetry sampler cost ({result.gpus} GPUs, {source}, {seconds:g} s per run)",
        title_justify="left",
        caption="µs/tick: CPU per tick, the slow-field thread's included; cpu/plain and "
        "rate/plain: µs/tick and ticks/s over the plain loop's. "
        f"Targets: below {TARGET_PERCENT_OF_CORE:g} % of one core at 10 Hz, at least "
        f"{TARGET_TICKS_PER_SECOND_AT_100HZ:g} ticks/s at 100 Hz",
        caption_justify="left",
    )
    columns = ("configuration", "rate", "ticks/s", "% core", "µs/tick", "cpu/plain", "rate/plain")
    for column in columns:
        table.add_column(
            column, justify="left" if column == "configuration" else "right", no_wrap=True
        )
    rows = document["rows"]
    assert isinstance(rows, list)

    def ratio(value: float | None) -> str:
        return f"{value:.2f}" if value is not None else "-"

    for row in rows:
        table.add_row(
            row["configuration"],
            f"{row['rate_hz']:g} Hz",
            f"{row['ticks_per_second']:.1f}",
            f"{row['percent_of_core']:.2f}",
            f"{row['microseconds_per_tick']:.0f}",
            ratio(row["cpu_per_tick_ratio_to_plain_loop"]),
            ratio(row["tick_rate_ratio_to_plain_loop"]),
        )
    stdout.print(table)


def register(app: typer.Typer) -> None:
    app.add_typer(bench_app, name="bench")


@bench_app.command("memory")
def memory(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Shorter runs, rougher figures."),
) -> None:
    """The pinned pool: allocation round trips vs fresh buffers, and a 64 MiB hand-off to
    another process by handle vs pickled through a pipe."""
    with _Bar() as bar:
        result = run_memory_bench(quick=quick, progress=bar)
    if as_json:
        emit_json(result.to_dict())
        return
    locked = "page-locked" if result.locked else f"not page-locked: {result.lock_reason}"
    table = Table(
        title=f"pinned pool allocation ({human_bytes(result.arena_bytes)} arena, {locked})",
        title_justify="left",
    )
    for column in ("size", "pool /s", "bytearray /s", "mmap /s", "x bytearray", "x mmap"):
        table.add_column(column, justify="right")
    for row in result.alloc:
        table.add_row(
            human_bytes(row.size_bytes),
            f"{row.pool_per_second:,.0f}",
            f"{row.bytearray_per_second:,.0f}",
            f"{row.mmap_per_second:,.0f}",
            f"{row.speedup_vs_bytearray:.2f}",
            f"{row.speedup_vs_mmap:.2f}",
        )
    stdout.print(table)
    handoff = result.handoff
    if handoff is not None:
        hand = Table(
            title=f"hand-off of {human_bytes(handoff.tensor_bytes)} to another process "
            f"({handoff.rounds} rounds)",
            title_justify="left",
        )
        for column in ("by handle", "pickled through a pipe", "x faster", "bytes verified"):
            hand.add_column(column, justify="right")
        hand.add_row(
            f"{handoff.zero_copy_seconds * 1e6:,.0f} µs",
            f"{handoff.pickle_pipe_seconds * 1e3:,.1f} ms",
            f"{handoff.speedup:,.0f}",
            "yes" if handoff.bytes_verified else "NO",
        )
        stdout.print(hand)


@bench_app.command("control")
def control(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Fewer calls, rougher figures."),
) -> None:
    """Control-plane overhead: a no-op job through the daemon's socket vs in-process."""
    calls = 1000 if quick else 10000
    with _Bar() as bar:
        result = run_control_bench(calls=calls, progress=bar)
    document = result.to_dict()
    if as_json:
        emit_json(document)
        return
    table = Table(title=f"no-op round trips ({calls} calls each)", title_justify="left")
    for column in ("path", "p50 ms", "p99 ms", "mean ms", "p50 x baseline"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for row in result.rows:
        table.add_row(
            row.path,
            f"{row.p50_ms:.3f}",
            f"{row.p99_ms:.3f}",
            f"{row.mean_ms:.3f}",
            f"{row.p50_ms / result.rows[0].p50_ms:.2f}",
        )
    stdout.print(table)


@bench_app.command("scheduler")
def scheduler(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Fewer scenarios, shorter runs."),
    workload: str = typer.Option(
        "minilm", "--workload", help="minilm (the embedded model, 16 tokens) or synthetic."
    ),
    tokens: int = typer.Option(16, "--tokens", help="Sequence length of the minilm workload."),
) -> None:
    """Realtime latency while a batch client saturates the CPU: priority vs FIFO vs idle."""
    if workload not in ("minilm", "synthetic"):
        raise InvalidArgument(f"--workload must be minilm or synthetic, got {workload!r}")
    if not 4 <= tokens <= 256:
        raise InvalidArgument(f"--tokens must be between 4 and 256, got {tokens}")
    with _Bar() as bar:
        factories = minilm_workload(tokens, bar) if workload == "minilm" else (None, None)
        result = run_scheduler_bench(
            quick=quick, session_factory=factories[0], make_inputs=factories[1], progress=bar
        )
    if as_json:
        emit_json(result.to_dict())
        return
    rows = result.table()
    idle = (
        f"{result.idle_realtime_p99_ms:.1f} ms" if result.idle_realtime_p99_ms is not None else "-"
    )
    table = Table(
        title=(
            f"realtime client at {result.realtime_rate_hz:g}/s vs a batch-{result.batch_rows} "
            f"client ({result.seconds_per_scenario:g} s per scenario)"
        ),
        title_justify="left",
        caption=(
            f"idle realtime p99 {idle}; batch alone "
            f"{result.batch_alone_rows_per_second:.0f} rows/s; realtime takes "
            f"{result.realtime_busy_fraction:.0%} of the device; goal: p99 <= idle p99 "
            "with >= 85% of what is left"
        ),
        caption_justify="left",
    )
    columns = ("scenario", "rt p50 ms", "rt p99 ms", "batch rows/s", "kept", "of left", "preempt")
    for column in columns:
        table.add_column(column, justify="left" if column == "scenario" else "right")
    for row in rows:
        table.add_row(
            row["scenario"],
            row["realtime p50 ms"],
            row["realtime p99 ms"],
            row["batch rows/s"],
            row["batch kept"],
            row["of what is left"],
            row["preemptions"],
        )
    stdout.print(table)
    for row in rows:
        stdout.print(f"  {row['scenario']}: {row['what']}")


def _serving_table(result: ServingBenchResult) -> Table:
    verified = "equal" if result.vectors_verified else "DIFFERENT"
    compared = "/".join(f"({case})" for case in ("a", *result.vector_max_diff))
    settings = result.settings
    table = Table(
        title=(
            f"embeddings serving: {result.variant}, {result.intra_op_threads} intra-op threads, "
            f"{settings.cell_s:g} s per cell, {settings.repeats} rounds, "
            f"{result.wall_s:.0f} s in all; vectors {compared} {verified}"
        ),
        title_justify="left",
        caption="\n".join(
            [
                *(f"({key}) {what}" for key, what in CASES.items()),
                "each case in a process of its own, the cases interleaved; medians over the",
                "rounds, the least and greatest req/s beside them; p50/p99 and CPU in ms per",
                f"request. (b): raw at its best batch and layout, measured again over "
                f"{settings.limit_s:g} s",
                "(N 1: a run on every core; N > 1: N one-thread runs side by side), latency per",
                "run; rows: mean rows per session run (the batch); other: the rest of the",
                "machine's CPU use meanwhile (noise), of all cores, the worst round",
            ]
        ),
        caption_justify="left",
        box=box.MINIMAL_HEAVY_HEAD,
        pad_edge=False,
        show_edge=False,
    )
    columns = ("case", "tok", "N", "req/s", "range", "p50", "p99", "rows", "CPU", "x(b)")
    for column in (*columns, "other"):
        table.add_column(
            column,
            justify="left" if column == "case" else "right",
            no_wrap=column in ("req/s", "range"),
        )
    order = list(CASES)
    cells = sorted(
        result.rows, key=lambda r: (r.length, r.case != "b", r.concurrency, order.index(r.case))
    )
    for cell in cells:
        rate = cell.requests_per_second
        limit = result.row("b", cell.length).requests_per_second.median
        batch = cell.mean_batch
        table.add_row(
            cell.case,
            str(cell.length),
            str(cell.concurrency),
            f"{rate.median:.0f}",
            f"{rate.low:.0f}-{rate.high:.0f}",
            f"{cell.p50_ms.median:.1f}",
            f"{cell.p99_ms.median:.1f}",
            f"{batch.median:.1f}" if batch is not None else "-",
            f"{cell.cpu_ms_per_request.median:.2f}",
            f"{rate.median / limit:.2f}" if limit else "-",
            f"{cell.other_cpu_fraction:.0%}",
        )
    return table


@bench_app.command("serving")
def serving(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Fewer concurrency levels, shorter cells."),
) -> None:
    """Embeddings serving: a shared ONNX Runtime session from N threads, the plain dynamic
    batcher, raw ONNX Runtime at its best batch, ainos in-process and through its daemon's
    HTTP API; each case in a process of its own, interleaved over rounds."""
    with _Bar() as bar:
        result = run_serving_bench(quick=quick, progress=bar)
    if as_json:
        emit_json(result.to_dict())
        return
    stdout.print(_serving_table(result))
    for fault in result.limit_faults():
        stdout.print(fault.describe())
    for goal in result.goals():
        stdout.print(
            f"goal, {goal.length} tokens, {goal.concurrency} "
            f"client{'s' if goal.concurrency > 1 else ''}: {goal.what} "
            f"{goal.ratio:.3f} ({'>=' if goal.at_least else '<='} {goal.target:g}): "
            + ("met" if goal.met else "NOT met")
        )


@bench_app.command("llm")
def llm(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Shorter generations, fewer repetitions."),
) -> None:
    """LLM generation (SmolLM2, greedy): the llama.cpp engine called directly vs through ainos
    in-process and through its daemon's HTTP API; then realtime chats against a batch load."""
    with _Bar() as bar:
        result = run_llm_bench(quick=quick, progress=bar)
    if as_json:
        emit_json(result.to_dict())
        return
    stdout.print(_llm_table(result))
    stdout.print(_llm_priority_table(result))
    for goal in result.goals():
        stdout.print(
            f"goal, {goal.mode}: {goal.what} {goal.ratio:.3f}x raw (>= {goal.target:g}): "
            + ("met" if goal.met else "NOT met")
        )


def _llm_table(result: LlmBenchResult) -> Table:
    settings = result.settings
    replies = "equal" if result.replies_equal else "DIFFERENT"
    table = Table(
        title=(
            f"LLM generation: {result.model} on {result.device}, {settings.threads} threads "
            f"(daemon: {result.daemon_threads}), {settings.parallel} sequences, "
            f"{settings.max_tokens} tokens, median of {settings.repetitions}; greedy replies "
            f"{replies}"
        ),
        title_justify="left",
        caption="\n".join(
            [
                *(f"{mode}: {what}" for mode, what in MODES.items()),
                "N: requests at once; tok/s: all of theirs; x raw: tok/s as a share of raw's "
                "with as many requests; other: the rest of the machine's CPU use meanwhile, of "
                "all cores (noise)",
                f"goals: decode tok/s and speed to first token >= {GOAL_RATIO:g}x raw, one "
                f"at a time; total tok/s >= {GOAL_PARALLEL_RATIO:g}x raw, every sequence busy",
            ]
        ),
        caption_justify="left",
    )
    columns = ("mode", "N", "classes", "TTFT ms", "decode tok/s", "tok/s", "tok/req", "x raw")
    for column in (*columns, "other"):
        table.add_column(column, justify="left" if column in ("mode", "classes") else "right")
    for row in result.rows:
        ratio = result.ratio_to_raw(row)
        table.add_row(
            row.mode,
            str(row.clients),
            row.priorities.replace("interactive", "int"),
            f"{row.ttft_ms:.0f}",
            f"{row.decode_tokens_per_s:.1f}" if row.decode_tokens_per_s is not None else "-",
            f"{row.total_tokens_per_s:.1f}",
            f"{row.tokens_per_request:.0f}",
            f"{ratio:.2f}" if ratio is not None else "-",
            f"{row.other_cpu_fraction:.0%}",
        )
    return table


def _llm_priority_table(result: LlmBenchResult) -> Table:
    settings = result.settings
    table = Table(
        title=(
            f"realtime chats ({settings.realtime_max_tokens} tokens) vs a batch client keeping "
            f"{settings.parallel} generations of {settings.batch_max_tokens} tokens in flight"
        ),
        title_justify="left",
        caption=(
            "raw: every sequence alike, a chat waits for a free one; ainos: batch work never "
            "takes the reserved sequence(s), realtime chats get them"
        ),
        caption_justify="left",
    )
    columns = ("mode", "chats", "idle TTFT ms", "loaded TTFT ms", "loaded max ms", "x idle")
    for column in (*columns, "other"):
        table.add_column(column, justify="left" if column == "mode" else "right")
    for row in result.priority:
        table.add_row(
            row.mode,
            str(row.realtime_requests),
            f"{row.idle_ttft_ms:.0f}",
            f"{row.loaded_ttft_ms:.0f}",
            f"{row.loaded_max_ttft_ms:.0f}",
            f"{row.slowdown:.1f}",
            f"{row.other_cpu_fraction:.0%}",
        )
    return table


@bench_app.command("agent")
def agent(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Fewer runs and calls, rougher figures."),
    overhead_only: bool = typer.Option(
        False, "--overhead-only", help="Skip the end-to-end runs on the embedded model."
    ),
) -> None:
    """The coding agent: "Analyze this codebase" end to end on the embedded model (wall time,
    model share), and the agent loop's cost per tool call vs calling the tool's function."""
    settings = AgentBenchSettings.quick() if quick else AgentBenchSettings()
    if overhead_only:
        settings = AgentBenchSettings(
            analysis_runs=0, calls=settings.calls, repeats=settings.repeats, analysis=False
        )
    with _Bar() as bar:
        result = run_agent_bench(quick=quick, progress=bar, settings=settings)
    if as_json:
        emit_json(result.to_dict())
        return
    if result.analysis is not None:
        stdout.print(_analysis_table(result, result.analysis))
    stdout.print(_overhead_table(result, result.overhead))


def _analysis_table(result: AgentBenchResult, analysis: AnalysisResult) -> Table:
    spreads = analysis.spreads()
    table = Table(
        title=(
            f'"{analysis.prompt}": {analysis.model} in-process, {len(analysis.runs)} runs; '
            f"model load {analysis.load_s:.1f} s (once, apart)"
        ),
        title_justify="left",
        caption=(
            f"fixture: {analysis.fixture_files} files (Python, TypeScript, shell) in a git "
            "repository the bench builds; AINOS_HOME: a temporary directory; "
            f"{result.cpu_count} CPUs ({result.cpu_model})"
        ),
        caption_justify="left",
    )
    for column in ("figure", "median", "min", "max", "what"):
        table.add_column(column, justify="left" if column in ("figure", "what") else "right")
    shown: tuple[tuple[str, str, Callable[[float], str], str], ...] = (
        ("turn s", "wall_ms", lambda v: f"{v / 1000:.2f}", "run_turn, to its last event"),
        ("model s", "model_ms", lambda v: f"{v / 1000:.2f}", "inside the model's complete"),
        ("model share", "model_share", lambda v: f"{v:.1%}", "model / turn, per run"),
        ("tools ms", "tool_ms", lambda v: f"{v:.1f}", "item.started to item.completed"),
        ("rest ms", "other_ms", lambda v: f"{v:.1f}", "turn - model - tools: loop, store"),
        ("setup ms", "setup_ms", lambda v: f"{v:.1f}", "start_session, not in the turn"),
        ("model calls", "model_calls", lambda v: f"{v:g}", ""),
        ("tool calls", "tool_calls", lambda v: f"{v:g}", "the playbook's and the model's"),
        ("tokens in", "input_tokens", lambda v: f"{v:g}", "the turn's usage"),
        ("tokens out", "output_tokens", lambda v: f"{v:g}", ""),
        (
            "other CPU",
            "other_cpu_fraction",
            lambda v: f"{v:.0%}",
            "the rest of the machine (noise)",
        ),
    )
    for label, key, show, what in shown:
        spread = spreads[key]
        table.add_row(label, show(spread.median), show(spread.low), show(spread.high), what)
    return table


def _overhead_table(result: AgentBenchResult, overhead: OverheadResult) -> Table:
    table = Table(
        title=(
            f"agent loop overhead per tool call: {overhead.calls} calls a turn, median of "
            f"{overhead.repeats}, cases interleaved"
        ),
        title_justify="left",
        caption="\n".join(
            [
                "(a) loop: a turn of Session.run_turn driven by FakeScriptedModel (one tool call "
                "a reply, then an answer), / calls;",
                "fake: of which inside the fake's complete; (b) direct: the plain function "
                "(_files.read_file / _files.grep), same arguments;",
                f"a-b: the overhead; net: (a) - fake - (b), the goal is net <= "
                f"{GOAL_OVERHEAD_MS:g} ms; store: SQLite, every event and message written;",
                "other: the rest of the machine's CPU use meanwhile, of all cores (noise)",
            ]
        ),
        caption_justify="left",
    )
    columns = ("tool", "store", "(a) ms", "fake µs", "(b) ms", "a-b ms", "net ms", "a/b")
    for column in (*columns, "goal", "other"):
        table.add_column(column, justify="left" if column in ("tool", "store") else "right")
    for row in overhead.rows:
        table.add_row(
            row.tool,
            "SQLite" if row.store else "none",
            f"{row.loop_ms:.3f}",
            f"{1000 * row.fake_ms:.1f}",
            f"{row.direct_ms:.3f}",
            f"{row.overhead_ms:.3f}",
            f"{row.net_overhead_ms:.3f}",
            f"{row.ratio:.2f}",
            "PASS" if row.met else "FAIL",
            f"{row.other_cpu_fraction:.0%}",
        )
    return table


@bench_app.command("mcp")
def mcp(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="Fewer calls and rounds, rougher figures."),
    calls: int | None = typer.Option(
        None, "--calls", help="Timed calls per case and round (default 2000, or 500 with --quick)."
    ),
    repeats: int | None = typer.Option(
        None, "--repeats", help="Rounds, the cases taking turns (default 7, or 3 with --quick)."
    ),
) -> None:
    """The MCP server's tool-call round trip (a no-op tool) over stdio and Streamable HTTP,
    vs a bare SDK server serving the same tool, side by side."""
    settings = McpBenchSettings.quick() if quick else McpBenchSettings()
    if calls is not None:
        if not 1 <= calls <= 1_000_000:
            raise InvalidArgument(f"--calls must be between 1 and 1000000, got {calls}")
        settings = dataclasses.replace(settings, calls=calls, warmup=min(settings.warmup, calls))
    if repeats is not None:
        if not 1 <= repeats <= 1000:
            raise InvalidArgument(f"--repeats must be between 1 and 1000, got {repeats}")
        settings = dataclasses.replace(settings, repeats=repeats)
    with _Bar() as bar:
        result = run_mcp_bench(settings=settings, progress=bar)
    if as_json:
        emit_json(result.to_dict())
        return
    stdout.print(_mcp_table(result))
    starts = "; ".join(
        f"{t} " + ", ".join(f"{s} {result.case(s, t).startup_s:.2f} s" for s in ("bare", "ainos"))
        for t in TRANSPORTS
    )
    stdout.print(f"start, launch to an initialised client: {starts}")
    for goal in result.goals():
        stdout.print(
            f"goal, {goal.transport}: ainos p50 {goal.p50_ratio:.2f}x, p99 {goal.p99_ratio:.2f}x "
            f"the bare server's (<= {MCP_GOAL_RATIO:g}): " + ("met" if goal.met else "NOT met")
        )


def _mcp_table(result: McpBenchResult) -> Table:
    settings = result.settings
    versions = sorted({case.protocol_version for case in result.cases})
    table = Table(
        title=(
            f"MCP tools/call round trip, a no-op tool: {settings.calls} calls a round, one at "
            f"a time; median of {settings.repeats} rounds, least-greatest under it; cases "
            "interleaved"
        ),
        title_justify="left",
        caption="\n".join(
            [
                "ainos: build_server (its own tools and noop), as `ainos mcp-server` serves it;",
                "bare: a lowlevel mcp.server.Server with only noop, on the SDK's stdio_server",
                "or streamable_http_app + uvicorn; each server in its own process;",
                f"client: the SDK's Client, one per case, mode legacy ({', '.join(versions)});",
                f"x bare: ainos / bare, same transport, p50/p99; goal: both <= {MCP_GOAL_RATIO:g};",
                "CPU µs: the server process's, per call; other: the rest of the machine's CPU",
                "use meanwhile, of all cores (noise); "
                f"{result.cpu_count} CPUs ({result.cpu_model})",
            ]
        ),
        caption_justify="left",
    )
    columns = ("transport", "server", "p50 ms", "p99 ms", "calls/s", "x bare", "goal")
    for column in (*columns, "CPU µs", "other"):
        table.add_column(column, justify="left" if column in ("transport", "server") else "right")
    for transport in TRANSPORTS:
        goal = result.goal(transport)
        for server in ("bare", "ainos"):
            case = result.case(server, transport)
            ours = server == "ainos"
            p50, p99, rate = case.p50_ms, case.p99_ms, case.calls_per_s
            table.add_row(
                transport,
                server,
                f"{p50.median:.3f}\n[dim]{p50.low:.2f}-{p50.high:.2f}[/dim]",
                f"{p99.median:.2f}\n[dim]{p99.low:.1f}-{p99.high:.1f}[/dim]",
                f"{rate.median:.0f}\n[dim]{rate.low:.0f}-{rate.high:.0f}[/dim]",
                f"{goal.p50_ratio:.2f}/{goal.p99_ratio:.2f}" if ours else "1/1",
                ("met" if goal.met else "NOT met") if ours else "-",
                f"{case.server_cpu_us_per_call.median:.0f}",
                f"{case.other_cpu_fraction:.0%}",
            )
    return table


@bench_app.command("supervisor")
def supervisor(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(
        False, "--quick", help="2 agents (code-reviewer, security-auditor), 2 rounds."
    ),
) -> None:
    """The multi-agent supervisor: N sub-agents on the embedded model in parallel through the
    scheduler, vs one after another, vs N `ainos exec` processes started at once (no daemon)."""
    settings = SupervisorBenchSettings.quick() if quick else SupervisorBenchSettings()
    with _Bar() as bar:
        result = run_supervisor_bench(settings=settings, progress=bar)
    if as_json:
        emit_json(result.to_dict())
        return
    stdout.print(_supervisor_table(result))
    for line in result.verdict():
        stdout.print(line)


def _spread_cell(spread: Spread | None, scale: float = 1.0, *, whole_from: float = 10) -> str:
    """The median, and under it the least-greatest: whole numbers from ``whole_from`` up."""
    if spread is None:
        return "-"
    median, low, high = (scale * v for v in (spread.median, spread.low, spread.high))

    def show(value: float) -> str:
        return f"{value:.0f}" if abs(value) >= whole_from else f"{value:.1f}"

    return f"{show(median)}\n[dim]{show(low)}-{show(high)}[/dim]"


def _supervisor_table(result: SupervisorBenchResult) -> Table:
    settings = result.settings
    agents = ", ".join(settings.agents)
    table = Table(
        title=(
            f"{len(settings.agents)} sub-agents ({agents}) on {result.model or 'the model'}: "
            f"median of {settings.repeats} rounds, least-greatest under it; cases interleaved, "
            "each in its own process"
        ),
        title_justify="left",
        caption="\n".join(
            [
                *(f"{case}: {what}" for case, what in CASE_WHAT.items() if case in settings.cases),
                f'supervisor request: "{REQUEST}" (each sub-agent is given its goal beside it)',
                *(f'exec prompt, {a}: "{EXEC_PROMPTS[a]}"' for a in settings.agents),
                "wall: the case's process, start to exit (model loads included); x par: wall / "
                "parallel's;",
                "CPU: the process tree's, user+system; RSS: median peak (exec: the sum of the "
                "processes' peaks);",
                "1st tok: per sub-agent, its start to the model's first token; max and median "
                "over the agents;",
                "last 1st tok: the request to the last sub-agent's first token; out: output "
                "tokens (sampled);",
                "tok/s: out / the work (run_supervisor, or the processes' start to the last "
                "exit); done: runs",
                "completed; other: the rest of the machine's CPU use meanwhile, of all cores "
                "(noise, worst run);",
                f"{result.cpu_count} CPUs ({result.cpu_model})",
            ]
        ),
        caption_justify="left",
    )
    columns = (
        "case",
        "wall s",
        "x par",
        "CPU s",
        "RSS\nMiB",
        "1st tok\nmax s",
        "1st tok\nmed s",
        "last 1st\ntok s",
        "out",
        "tok/s",
        "done",
        "other",
    )
    for column in columns:
        table.add_column(column, justify="left" if column == "case" else "right")
    for summary in result.summaries():
        ratio = summary.ratio_to_parallel
        table.add_row(
            summary.case,
            _spread_cell(summary.wall_s, whole_from=100),
            f"{ratio:.2f}" if ratio is not None else "-",
            _spread_cell(summary.cpu_s),
            f"{summary.peak_rss_bytes.median / 2**20:.0f}",
            _spread_cell(summary.first_token_max_s),
            _spread_cell(summary.first_token_median_s),
            _spread_cell(summary.first_token_since_request_max_s),
            _spread_cell(summary.output_tokens),
            _spread_cell(summary.tokens_per_s),
            f"{summary.completed}/{summary.attempted}",
            f"{summary.other_cpu_fraction:.0%}",
        )
    return table


@bench_app.command("table")
def table(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    quick: bool = typer.Option(False, "--quick", help="2 and 4 clients, short windows."),
    repeats: int | None = typer.Option(None, "--repeats", help="Rounds (default 3)."),
    clients: str | None = typer.Option(
        None, "--clients", help="Offered loads: client counts, e.g. 2,4,8 (quick: 2,4)."
    ),
    max_window: float | None = typer.Option(
        None,
        "--max-window",
        help="Longest measurement window per load, in s (default 10; quick 1.6).",
    ),
    max_tokens: int | None = typer.Option(
        None, "--max-tokens", help="Tokens per chat, greedy (default 12)."
    ),
    chart: Path | None = typer.Option(None, "--chart", help="The latency chart's PNG file."),
    chart_dir: Path | None = typer.Option(
        None, "--chart-dir", help="Directory for ainos-bench-table.png (default: here)."
    ),
) -> None:
    """The plan's table, measured: latency, throughput, device use, CPU per request and RSS
    of a mixed embeddings + chat workload, conventional vs kernel only vs AI platform only
    vs all three layers; each in its own process, interleaved; and a chart of latency
    against offered load."""
    settings = settings_from_options(
        quick=quick,
        repeats=repeats,
        clients=clients,
        max_window_s=max_window,
        max_tokens=max_tokens,
    )
    target = chart_path(chart, chart_dir)
    with _Bar() as bar:
        result = run_table_bench(settings=settings, progress=bar)
    from ainos.app.bench._chart import write_latency_chart  # matplotlib: only here

    write_latency_chart(result, target)
    stderr.print(f"chart: {target}")
    if as_json:
        emit_json(result.to_dict())
        return
    stdout.print(rich_table(result))
