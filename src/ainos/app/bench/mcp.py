"""The MCP server's tool-call round trip: ainos's server vs a bare SDK server.

Side by side in one run, four cases: {ainos, bare} x {stdio, Streamable HTTP}, each server
in a process of its own (:mod:`ainos.app.bench._mcp_servers`), all serving the same no-op tool.
``ainos`` is ``build_server`` with every tool of its own and ``noop`` beside them, served
as ``ainos mcp-server`` serves it; ``bare`` is a lowlevel ``mcp.server.Server`` with only
that tool, on the SDK's own stdio and HTTP transports. The servers' ``AINOS_HOME`` and
working directory are a temporary directory.

The client is the SDK's ``Client``, one per case, all open for the whole run in this
process: stdio launches the server (``StdioServerParameters``), HTTP connects to its URL.
Both connect with ``mode="legacy"`` (the ``initialize`` handshake): with ``"auto"`` the
client probes ``server/discover`` and each server's answer would pick its own protocol era
(today both go to 2026-07-28, whose HTTP is a sessionless single exchange per request), so
a difference in era support would show up as a difference in cost. Pinned, both speak the
same handshake-era version over the same wire path (a stateful HTTP session answering in
SSE) — the one ``codex mcp-server``'s clients, which ainos's server is compatible with, use.

After a warm-up of each, the cases take turns (``repeats`` rounds, a different one first
each time); a turn is a few untimed calls, then ``calls`` sequential
``call_tool("noop", {})``, each timed. Per case the figures are medians over the rounds of
each round's p50, p99 and calls/s (and their least and greatest); the server process's CPU
time per call (the kernel counts it in 10 ms ticks: rough on short rounds); and the rest of
the machine's CPU use meanwhile (noise). The goal: ainos's p50 and p99 at most
:data:`GOAL_RATIO` times the bare server's, per transport.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path

import anyio
import numpy as np
import psutil
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client

from ainos.app.bench._cpu import cpu_model, machine_busy_seconds
from ainos.app.bench._mcp_servers import HOST, NOOP, SERVERS, TRANSPORTS
from ainos.app.bench.agent import Spread
from ainos.errors import AinosError

__all__ = [
    "GOAL_RATIO",
    "SERVERS",
    "TRANSPORTS",
    "McpBenchResult",
    "McpBenchSettings",
    "McpCase",
    "McpGoal",
    "McpRound",
    "Spread",
    "run_mcp_bench",
]

Progress = Callable[[str, float], None]

GOAL_RATIO = 1.1  # ainos's p50 and p99 at most this many times the bare server's
_RUNNER = "ainos.app.bench._mcp_servers"
_ROUND_WARMUP_CALLS = 10  # untimed, at the start of every round
_START_TIMEOUT_S = 60.0
_CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class McpBenchSettings:
    calls: int = 2000  # timed calls per round
    repeats: int = 7  # rounds
    warmup: int = 300  # untimed calls per case before the first round

    @classmethod
    def quick(cls) -> McpBenchSettings:
        return cls(calls=500, repeats=3, warmup=100)


@dataclass(frozen=True)
class McpRound:
    """One case's turn: ``calls`` timed round trips."""

    p50_ms: float
    p99_ms: float
    mean_ms: float
    seconds: float  # wall time of the timed calls
    server_cpu_s: float  # the server process's CPU time meanwhile

    def calls_per_s(self, calls: int) -> float:
        return calls / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class McpCase:
    server: str  # "ainos" or "bare"
    transport: str  # "stdio" or "http"
    calls: int
    protocol_version: str  # as negotiated
    startup_s: float  # from launching the server to an initialised client
    rounds: tuple[McpRound, ...]
    other_cpu_fraction: float  # the rest of the machine's CPU use meanwhile, of all cores

    @property
    def p50_ms(self) -> Spread:
        return Spread.of([r.p50_ms for r in self.rounds])

    @property
    def p99_ms(self) -> Spread:
        return Spread.of([r.p99_ms for r in self.rounds])

    @property
    def calls_per_s(self) -> Spread:
        return Spread.of([r.calls_per_s(self.calls) for r in self.rounds])

    @property
    def server_cpu_us_per_call(self) -> Spread:
        return Spread.of([1e6 * r.server_cpu_s / self.calls for r in self.rounds])

    def to_dict(self) -> dict[str, object]:
        return {
            "server": self.server,
            "transport": self.transport,
            "calls": self.calls,
            "repeats": len(self.rounds),
            "protocol_version": self.protocol_version,
            "startup_s": self.startup_s,
            "p50_ms": asdict(self.p50_ms),
            "p99_ms": asdict(self.p99_ms),
            "calls_per_s": asdict(self.calls_per_s),
            "server_cpu_us_per_call": asdict(self.server_cpu_us_per_call),
            "other_cpu_fraction": self.other_cpu_fraction,
            "rounds": [asdict(r) for r in self.rounds],
        }


def _ratio(ours: float, theirs: float) -> float | None:
    return ours / theirs if theirs > 0 else None


@dataclass(frozen=True)
class McpGoal:
    """ainos / bare on one transport, from the medians over the rounds."""

    transport: str
    p50_ratio: float
    p99_ratio: float
    calls_per_s_ratio: float
    server_cpu_ratio: float | None  # None: the bare server's CPU time rounded to nothing

    @property
    def met(self) -> bool:
        return self.p50_ratio <= GOAL_RATIO and self.p99_ratio <= GOAL_RATIO

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "goal_ratio": GOAL_RATIO, "met": self.met}


@dataclass(frozen=True)
class McpBenchResult:
    settings: McpBenchSettings
    cpu_count: int
    cpu_model: str
    cases: list[McpCase] = field(default_factory=list)

    def case(self, server: str, transport: str) -> McpCase:
        return next(c for c in self.cases if c.server == server and c.transport == transport)

    def goal(self, transport: str) -> McpGoal:
        ours, bare = self.case("ainos", transport), self.case("bare", transport)
        return McpGoal(
            transport=transport,
            p50_ratio=ours.p50_ms.median / bare.p50_ms.median,
            p99_ratio=ours.p99_ms.median / bare.p99_ms.median,
            calls_per_s_ratio=ours.calls_per_s.median / bare.calls_per_s.median,
            server_cpu_ratio=_ratio(
                ours.server_cpu_us_per_call.median, bare.server_cpu_us_per_call.median
            ),
        )

    def goals(self) -> list[McpGoal]:
        return [self.goal(t) for t in TRANSPORTS]

    def to_dict(self) -> dict[str, object]:
        return {
            "benchmark": "mcp",
            "machine": {"cpu_count": self.cpu_count, "cpu_model": self.cpu_model},
            "settings": asdict(self.settings),
            "tool": NOOP,
            "client_mode": "legacy",
            "goal_ratio": GOAL_RATIO,
            "cases": [c.to_dict() for c in self.cases],
            "goals": [g.to_dict() for g in self.goals()],
        }


# -- the servers ----------------------------------------------------------------------------


def _own_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def _cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _tail(log: Path) -> str:
    try:
        text = log.read_text(errors="replace").strip()
    except OSError:
        return ""
    return text[-800:] if text else "(nothing on its stderr)"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return int(probe.getsockname()[1])


def _command(server: str, transport: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", _RUNNER, server, transport, *extra]


def _stdio_child(server: str) -> psutil.Process:
    """The stdio server the SDK's client launched: a child of this process."""
    wanted = _command(server, "stdio")[1:]
    for child in psutil.Process().children():
        with contextlib.suppress(psutil.Error):
            if child.cmdline()[1:] == wanted:
                return child
    raise AinosError(f"cannot find the {server} stdio server among this process's children")


@dataclass
class _Live:
    """One case: its connected client and its server's process."""

    server: str
    transport: str
    client: Client
    process: psutil.Process
    startup_s: float
    rounds: list[McpRound] = field(default_factory=list)
    other_s: float = 0.0
    elapsed_s: float = 0.0

    @property
    def label(self) -> str:
        return f"{self.server}, {self.transport}"


@contextlib.asynccontextmanager
async def _stdio_case(server: str, env: Mapping[str, str], scratch: Path) -> AsyncIterator[_Live]:
    log = scratch / f"{server}-stdio.log"
    parameters = StdioServerParameters(
        command=sys.executable, args=_command(server, "stdio")[1:], env=dict(env), cwd=scratch
    )
    began = time.perf_counter()
    with log.open("w") as errlog:
        client = Client(
            stdio_client(parameters, errlog=errlog),
            mode="legacy",
            read_timeout_seconds=_CALL_TIMEOUT_S,
        )
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(client)
            except Exception as exc:
                raise AinosError(
                    f"the {server} stdio server did not start ({type(exc).__name__}: {exc}): "
                    f"{_tail(log)}"
                ) from None
            startup = time.perf_counter() - began
            yield _Live(server, "stdio", client, _stdio_child(server), startup)


@contextlib.contextmanager
def _http_process(
    server: str, env: Mapping[str, str], scratch: Path
) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port = _free_port()
    log = scratch / f"{server}-http.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            _command(server, "http", "--port", str(port)),
            env=dict(env),
            cwd=scratch,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
    try:
        yield process, f"http://{HOST}:{port}/mcp", log
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _wait_listening(process: subprocess.Popen[bytes], url: str, log: Path) -> None:
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AinosError(f"the HTTP server at {url} exited: {_tail(log)}")
        try:
            socket.create_connection((HOST, port), timeout=1.0).close()
            return
        except OSError:
            await anyio.sleep(0.05)
    raise AinosError(f"the HTTP server at {url} did not listen within {_START_TIMEOUT_S:g} s")


@contextlib.asynccontextmanager
async def _http_case(server: str, env: Mapping[str, str], scratch: Path) -> AsyncIterator[_Live]:
    began = time.perf_counter()
    with _http_process(server, env, scratch) as (process, url, log):
        await _wait_listening(process, url, log)
        client = Client(url, mode="legacy", read_timeout_seconds=_CALL_TIMEOUT_S)
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(client)
            except Exception as exc:
                raise AinosError(
                    f"cannot connect to the {server} server at {url} "
                    f"({type(exc).__name__}: {exc}): {_tail(log)}"
                ) from None
            startup = time.perf_counter() - began
            yield _Live(server, "http", client, psutil.Process(process.pid), startup)


# -- measuring ------------------------------------------------------------------------------


async def _call(live: _Live) -> None:
    result = await live.client.call_tool(NOOP, {})
    if result.is_error:
        raise AinosError(f"{live.label}: the {NOOP} tool failed: {result.content}")


async def _prepare(live: _Live, warmup: int) -> None:
    """The tool is listed (the client reads its output schema from the listing: once, here,
    not on the first timed call), then ``warmup`` calls."""
    listing = await live.client.list_tools()
    if NOOP not in {tool.name for tool in listing.tools}:
        raise AinosError(f"{live.label}: the server's first page of tools has no {NOOP!r}")
    for _ in range(warmup):
        await _call(live)


async def _round(live: _Live, calls: int) -> None:
    for _ in range(min(_ROUND_WARMUP_CALLS, calls)):
        await _call(live)
    samples = np.empty(calls)
    server_cpu, own_cpu = _cpu_seconds(live.process), _own_cpu_seconds()
    machine = machine_busy_seconds()
    began = time.perf_counter()
    for index in range(calls):
        started = time.perf_counter()
        await _call(live)
        samples[index] = time.perf_counter() - started
    seconds = time.perf_counter() - began
    busy = machine_busy_seconds() - machine
    server_s = _cpu_seconds(live.process) - server_cpu
    live.other_s += max(0.0, busy - server_s - (_own_cpu_seconds() - own_cpu))
    live.elapsed_s += seconds
    ms = samples * 1000
    live.rounds.append(
        McpRound(
            p50_ms=float(np.percentile(ms, 50)),
            p99_ms=float(np.percentile(ms, 99)),
            mean_ms=float(ms.mean()),
            seconds=seconds,
            server_cpu_s=server_s,
        )
    )


def _case(live: _Live, calls: int) -> McpCase:
    cores = psutil.cpu_count() or 1
    noise = live.other_s / (live.elapsed_s * cores) if live.elapsed_s > 0 else 0.0
    return McpCase(
        server=live.server,
        transport=live.transport,
        calls=calls,
        protocol_version=live.client.protocol_version,
        startup_s=live.startup_s,
        rounds=tuple(live.rounds),
        other_cpu_fraction=min(1.0, noise),
    )


async def _run(settings: McpBenchSettings, progress: Progress, scratch: Path) -> list[McpCase]:
    env = {**os.environ, "AINOS_HOME": str(scratch / "home")}
    order = [(transport, server) for transport in TRANSPORTS for server in ("bare", "ainos")]
    starting = "starting the servers"
    progress(starting, 0.0)
    async with contextlib.AsyncExitStack() as stack:
        cases: list[_Live] = []
        for number, (transport, server) in enumerate(order, 1):
            opened = _stdio_case if transport == "stdio" else _http_case
            live = await stack.enter_async_context(opened(server, env, scratch))
            await _prepare(live, settings.warmup)
            cases.append(live)
            progress(starting, number / len(order))
        for rep in range(settings.repeats):
            shift = rep % len(cases)
            for live in [*cases[shift:], *cases[:shift]]:
                await _round(live, settings.calls)
                progress(live.label, (rep + 1) / settings.repeats)
        return [_case(live, settings.calls) for live in cases]


def run_mcp_bench(
    *,
    quick: bool = False,
    settings: McpBenchSettings | None = None,
    progress: Progress | None = None,
) -> McpBenchResult:
    """The four cases with ``settings`` (by default the full or ``quick`` set)."""
    chosen = settings or (McpBenchSettings.quick() if quick else McpBenchSettings())
    if chosen.calls < 1 or chosen.repeats < 1 or chosen.warmup < 0:
        raise AinosError(
            "calls and repeats must be 1 or more and warmup 0 or more, got "
            f"{chosen.calls}, {chosen.repeats} and {chosen.warmup}"
        )
    report = progress or (lambda _label, _fraction: None)
    with tempfile.TemporaryDirectory(prefix="ainos-bench-mcp-") as scratch:
        cases = anyio.run(_run, chosen, report, Path(scratch))
    return McpBenchResult(
        settings=chosen,
        cpu_count=os.cpu_count() or 1,
        cpu_model=cpu_model(),
        cases=cases,
    )
