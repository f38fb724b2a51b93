"""``ainos chat`` and ``ainos generate``: local LLM generation from the command line.

``chat`` goes through the daemon's OpenAI-compatible API when a daemon runs, and runs the
model in-process otherwise. ``generate`` continues a raw prompt, which the daemon's API does
not serve (it has chat completions only), so it always runs in-process. The reply goes to
stdout as it is generated; messages for people go to stderr.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import typer

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.ai.ml.llm import (
    ChatCall,
    ChatStream,
    LlmLimits,
    Reply,
    chat_body,
    collect_completion,
    openai_usage,
    prepare_chat,
)
from ainos.app.api import daemon_api_url
from ainos.app.cli._daemon import SOCKET_OPTION, progress_reporter
from ainos.app.cli._inputs import read_json_schema
from ainos.app.cli._output import emit_json, stderr
from ainos.app.runtime import Runtime, RuntimeConfig
from ainos.errors import (
    AinosError,
    InvalidArgument,
)
from ainos.kernel.control import ServicesConfig
from ainos.protocol.scheduler import ClientIdentity, Priority

Chunk = dict[str, Any]
Message = dict[str, str]

_CLIENT_NAME = "ainos-cli"
_CLIENT = ClientIdentity(name=_CLIENT_NAME)
_MAX_STOP = 4  # OpenAI's limit, which the daemon's API enforces too
_EXIT_WORDS = frozenset({"/exit", "/quit"})

_MODEL = typer.Option(DEFAULT_CHAT_MODEL, "--model", "-m", help="Chat model alias.")
_MAX_TOKENS = typer.Option(512, "--max-tokens", help="Most tokens to generate.")
_TEMPERATURE = typer.Option(0.7, "--temperature", help="Sampling temperature, 0 to 2 (0: greedy).")
_TOP_P = typer.Option(None, "--top-p", help="Nucleus sampling: keep this probability mass.")
_SEED = typer.Option(None, "--seed", help="Sampling seed, for repeatable output.")
_STOP = typer.Option(None, "--stop", help="Stop at this text (repeatable, up to 4).")
_JSON_SCHEMA = typer.Option(
    None, "--json-schema", help="A file holding a JSON schema the output must follow."
)
_PRIORITY = typer.Option(Priority.INTERACTIVE, "--priority", help="Scheduling class.")


# -- options ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Sampling:
    max_tokens: int
    temperature: float
    top_p: float | None
    seed: int | None
    stop: list[str]
    schema: dict[str, Any] | None

    def check(self) -> None:
        """Refuse bad values here, named as the options are, before any model loads."""
        if self.max_tokens < 1:
            raise InvalidArgument(f"--max-tokens must be at least 1, got {self.max_tokens}")
        if not 0 <= self.temperature <= 2:
            raise InvalidArgument(
                f"--temperature must be between 0 and 2, got {self.temperature:g}"
            )
        if self.top_p is not None and not 0 <= self.top_p <= 1:
            raise InvalidArgument(f"--top-p must be between 0 and 1, got {self.top_p:g}")
        if len(self.stop) > _MAX_STOP or not all(self.stop):
            raise InvalidArgument(f"--stop takes up to {_MAX_STOP} non-empty texts")

    def _common(self) -> dict[str, Any]:
        fields: dict[str, Any] = {"max_tokens": self.max_tokens, "temperature": self.temperature}
        if self.top_p is not None:
            fields["top_p"] = self.top_p
        if self.seed is not None:
            fields["seed"] = self.seed
        if self.stop:
            fields["stop"] = self.stop
        return fields

    def chat_fields(self) -> dict[str, Any]:
        """The fields of an OpenAI chat-completions request."""
        fields = self._common()
        if self.schema is not None:
            spec = {"name": "output", "schema": self.schema, "strict": True}
            fields["response_format"] = {"type": "json_schema", "json_schema": spec}
        return fields

    def completion_fields(self) -> dict[str, Any]:
        """The fields of the engine's raw completion request."""
        fields = self._common()
        if self.schema is not None:
            fields["json_schema"] = self.schema
        return fields


def _sampling(
    max_tokens: int,
    temperature: float,
    top_p: float | None,
    seed: int | None,
    stop: list[str] | None,
    json_schema: Path | None,
) -> _Sampling:
    sampling = _Sampling(
        max_tokens,
        temperature,
        top_p,
        seed,
        list(stop or []),
        read_json_schema(json_schema, "--json-schema"),
    )
    sampling.check()
    return sampling


def _read_prompt(prompt: str | None) -> str | None:
    """The prompt; ``-`` (or no prompt with piped input) reads stdin; None: ask interactively."""
    if prompt is None and sys.stdin.isatty():
        return None
    text = sys.stdin.read().rstrip("\n") if prompt in (None, "-") else prompt
    assert text is not None
    if not text.strip():
        raise InvalidArgument("the prompt is empty")
    return text


# -- reading a reply -------------------------------------------------------------------------


def _texts(chunks: Iterable[Chunk], reply: Reply) -> Iterator[str]:
    """The text pieces of chat or completion chunks, ``reply`` reading each chunk."""
    for chunk in chunks:
        if piece := reply.read(chunk):
            yield piece


def _usage(reply: Reply) -> dict[str, Any] | None:
    return openai_usage(reply.usage) if reply.usage is not None else None


def _print_stream(texts: Iterable[str]) -> str:
    """Write each piece to stdout as it comes; the whole text once done."""
    pieces: list[str] = []
    try:
        for text in texts:
            sys.stdout.write(text)
            sys.stdout.flush()
            pieces.append(text)
    except BaseException:
        if pieces:  # leave the terminal on a fresh line for the error
            sys.stdout.write("\n")
        raise
    sys.stdout.write("\n")
    sys.stdout.flush()
    return "".join(pieces)


def _note_end(reply: Reply, max_tokens: int) -> None:
    if reply.finish_reason == "length":
        stderr.print(f"(cut at --max-tokens {max_tokens})", style="dim")


# -- where chat runs -------------------------------------------------------------------------


class _Backend(Protocol):
    def chunks(
        self, call: ChatCall, body: Mapping[str, Any], priority: Priority
    ) -> Iterator[Chunk]:
        """The client's ``chat.completion.chunk`` dicts of one reply."""
        ...


class _InProcess:
    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime

    def chunks(
        self, call: ChatCall, body: Mapping[str, Any], priority: Priority
    ) -> Iterator[Chunk]:
        generation = self._runtime.llm.generate(
            call.model, call.engine_request, kind="chat", client=_CLIENT, priority=priority
        )
        stream = ChatStream(call)
        for chunk in generation:
            yield from stream.feed(chunk)
        yield from stream.finish()


class _ThroughDaemon:
    """The daemon's ``POST /v1/chat/completions``, streamed as server-sent events."""

    def __init__(self, url: str) -> None:
        from ainos.app.api import DaemonApi

        self._api = DaemonApi(url, client_name=_CLIENT_NAME)

    def load(self, model: str) -> None:
        self._api.load_model(model)

    def close(self) -> None:
        self._api.close()

    def chunks(
        self, call: ChatCall, body: Mapping[str, Any], priority: Priority
    ) -> Iterator[Chunk]:
        yield from self._api.stream("/v1/chat/completions", body, priority=priority)


@contextmanager
def _loading(label: str) -> Iterator[None]:
    """A progress bar on stderr while a model loads."""
    with progress_reporter() as report:
        report(label, 0.0)
        yield


@contextmanager
def _local_runtime(model: str) -> Iterator[Runtime]:
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        # A command runs one generation at a time: one sequence, so one context to allocate.
        llm_limits=LlmLimits(parallel=1, reserved=0),
    )
    with Runtime(config) as runtime:
        with _loading(f"loading {model}"):
            loaded = runtime.llm.load(model)
        engine = ", ".join(loaded.providers)
        stderr.print(
            f"{model}: in-process, {engine}, loaded in {loaded.load_seconds:.1f} s", style="dim"
        )
        yield runtime


@contextmanager
def _chat_backend(model: str, socket_path: Path | None) -> Iterator[_Backend]:
    url = daemon_api_url(socket_path)
    if url is None:
        with _local_runtime(model) as runtime:
            yield _InProcess(runtime)
        return
    daemon = _ThroughDaemon(url)
    try:
        with _loading(f"loading {model} in the daemon"):
            daemon.load(model)
        stderr.print(f"{model}: through the daemon at {url}", style="dim")
        yield daemon
    finally:
        daemon.close()


# -- the commands ----------------------------------------------------------------------------


def _reply_chunks(
    backend: _Backend,
    model: str,
    messages: list[Message],
    sampling: _Sampling,
    priority: Priority,
) -> tuple[ChatCall, Iterator[Chunk]]:
    body = chat_body(model, messages, stream=True, **sampling.chat_fields())
    call = prepare_chat(body, model)
    return call, backend.chunks(call, body, priority)


def _completion(call: ChatCall, reply: Reply) -> dict[str, Any]:
    """The ``chat.completion`` document, under the id the reply streamed with."""
    first = reply.chunks[0] if reply.chunks else {}
    call = dataclasses.replace(
        call,
        completion_id=str(first.get("id", call.completion_id)),
        created=int(first.get("created", call.created)),
    )
    return collect_completion(call, reply.chunks, _usage(reply))


def _converse(
    backend: _Backend,
    model: str,
    system: list[Message],
    sampling: _Sampling,
    priority: Priority,
) -> None:
    """A conversation on a terminal, the history kept; Ctrl-D or /exit ends it."""
    stderr.print("Ctrl-D or /exit ends the conversation.", style="dim")
    history = list(system)
    while True:
        try:
            line = input("> ").strip()
        except EOFError:
            sys.stdout.write("\n")
            return
        if line in _EXIT_WORDS:
            return
        if not line:
            continue
        history.append({"role": "user", "content": line})
        reply = Reply()
        try:
            _call, chunks = _reply_chunks(backend, model, history, sampling, priority)
            text = _print_stream(_texts(chunks, reply))
        except AinosError as exc:
            history.pop()  # the turn never happened
            stderr.print(f"ainos: error: {' '.join(str(exc).split())}")
            continue
        _note_end(reply, sampling.max_tokens)
        history.append({"role": "assistant", "content": text})


def chat(
    prompt: str | None = typer.Argument(
        None, help="What to say ('-': read it from stdin; none on a terminal: a conversation)."
    ),
    model: str = _MODEL,
    system: str | None = typer.Option(None, "--system", help="A system message."),
    max_tokens: int = _MAX_TOKENS,
    temperature: float = _TEMPERATURE,
    top_p: float | None = _TOP_P,
    seed: int | None = _SEED,
    stop: list[str] | None = _STOP,
    json_schema: Path | None = _JSON_SCHEMA,
    priority: Priority = _PRIORITY,
    as_json: bool = typer.Option(
        False, "--json", help="Print the whole chat.completion as JSON instead of streaming."
    ),
    socket_path: Path | None = SOCKET_OPTION,
) -> None:
    """Chat with a local model, the reply streamed as it comes (through the daemon when one
    runs, in-process otherwise). Without PROMPT on a terminal: a conversation, its history
    kept (Ctrl-D or /exit ends it)."""
    sampling = _sampling(max_tokens, temperature, top_p, seed, stop, json_schema)
    text = _read_prompt(prompt)
    if text is None and as_json:
        raise InvalidArgument("--json needs a prompt")
    system_messages: list[Message] = [{"role": "system", "content": system}] if system else []
    with _chat_backend(model, socket_path) as backend:
        if text is None:
            _converse(backend, model, system_messages, sampling, priority)
            return
        messages = [*system_messages, {"role": "user", "content": text}]
        call, chunks = _reply_chunks(backend, model, messages, sampling, priority)
        reply = Reply(keep_chunks=as_json)
        if as_json:
            list(_texts(chunks, reply))  # read it all: the reply keeps the chunks
            emit_json(_completion(call, reply))
            return
        _print_stream(_texts(chunks, reply))
        _note_end(reply, sampling.max_tokens)


def generate(
    prompt: str | None = typer.Argument(
        None, help="The text to continue ('-' or none with piped input: read it from stdin)."
    ),
    model: str = _MODEL,
    max_tokens: int = _MAX_TOKENS,
    temperature: float = _TEMPERATURE,
    top_p: float | None = _TOP_P,
    seed: int | None = _SEED,
    stop: list[str] | None = _STOP,
    json_schema: Path | None = _JSON_SCHEMA,
    priority: Priority = _PRIORITY,
    as_json: bool = typer.Option(
        False, "--json", help='Print {"text", "finish_reason", "usage"} as JSON.'
    ),
) -> None:
    """Continue PROMPT as raw text, no chat template. Always runs in-process, even when a
    daemon runs: the daemon's API serves chat completions only."""
    sampling = _sampling(max_tokens, temperature, top_p, seed, stop, json_schema)
    text = _read_prompt(prompt)
    if text is None:
        raise InvalidArgument("give a prompt to continue (or '-' to read it from stdin)")
    request = {"prompt": text, **sampling.completion_fields()}
    with _local_runtime(model) as runtime:
        generation = runtime.llm.generate(
            model, request, kind="completion", client=_CLIENT, priority=priority
        )
        reply = Reply()
        texts = _texts(generation, reply)
        if as_json:
            document = {
                "text": "".join(texts),
                "finish_reason": reply.finish_reason,
                "usage": _usage(reply),
            }
            emit_json(document)
            return
        _print_stream(texts)
        _note_end(reply, sampling.max_tokens)


def register(app: typer.Typer) -> None:
    app.command("chat")(chat)
    app.command("generate")(generate)
