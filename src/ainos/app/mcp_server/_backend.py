"""Where the server's model and statistics tools run: the daemon when one answers (its
scheduler, its loaded models), else a runtime in this process, started on first use.

Mounted in ``ainos serve``, the server is given the daemon's own runtime. Every method
blocks; the tools call them from worker threads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ainos.errors import AinosError

if TYPE_CHECKING:
    from ainos.app.runtime import Runtime
    from ainos.kernel.control import ControlClient

__all__ = ["Backend", "DaemonBackend", "Generated", "LocalBackend", "choose_backend"]

_CLIENT = "ainos-mcp"


@dataclass(frozen=True)
class Generated:
    text: str
    finish_reason: str | None
    usage: dict[str, Any] | None


class Backend(Protocol):
    where: str  # "daemon" or "in-process", for the tools' results

    def stats(self) -> dict[str, Any]: ...
    def processes(self) -> dict[str, Any]: ...
    def scheduler(self) -> dict[str, Any]: ...
    def devices(self) -> dict[str, Any]: ...
    def embed(self, model: str, texts: list[str]) -> list[list[float]]: ...
    def generate(
        self,
        model: str,
        messages: list[dict[str, str]],
        sampling: Mapping[str, Any],
        on_text: Callable[[str], None],
    ) -> Generated: ...
    def close(self) -> None: ...


def _collect(
    chunks: Iterable[Mapping[str, Any]],
    on_text: Callable[[str], None],
    usage_of: Callable[[Mapping[str, Any]], dict[str, Any]],
) -> Generated:
    """A reply from its ``chat.completion.chunk`` dicts, ``on_text`` told the text so far."""
    from ainos.ai.ml.llm import Reply

    reply = Reply()
    for chunk in chunks:
        if reply.read(chunk):
            on_text(reply.text)
    usage = usage_of(reply.usage) if reply.usage is not None else None
    return Generated(reply.text, reply.finish_reason, usage)


def _devices() -> dict[str, Any]:
    from ainos.kernel.devices import DeviceInventory
    from ainos.kernel.nvml import open_nvml

    nvml = open_nvml()
    try:
        inventory = DeviceInventory(nvml)
        return {
            "devices": [d.to_dict() for d in inventory.devices],
            "execution_providers": inventory.execution_providers(),
        }
    finally:
        if nvml is not None:
            nvml.close()


class _ControlReads:
    """The statistics every backend reads through a control-plane client."""

    @contextmanager
    def _client(self) -> Iterator[ControlClient]:
        raise NotImplementedError
        yield

    def stats(self) -> dict[str, Any]:
        with self._client() as client:
            return client.get_stats().model_dump(mode="json")

    def processes(self) -> dict[str, Any]:
        with self._client() as client:
            return client.list_ai_processes().model_dump(mode="json")

    def scheduler(self) -> dict[str, Any]:
        with self._client() as client:
            return client.get_scheduler_stats().model_dump(mode="json")

    def devices(self) -> dict[str, Any]:
        return _devices()


class LocalBackend(_ControlReads):
    """A runtime in this process (``runtime`` given, or started on first use and closed
    with the backend)."""

    where = "in-process"

    def __init__(self, runtime: Runtime | None = None) -> None:
        self._runtime = runtime
        self._owned = runtime is None
        self._lock = threading.Lock()

    def runtime(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                from ainos.ai.ml.llm import LlmLimits
                from ainos.app.runtime import Runtime, RuntimeConfig
                from ainos.kernel.control import ServicesConfig

                config = RuntimeConfig(
                    kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
                    llm_limits=LlmLimits(parallel=1, reserved=0),
                )
                self._runtime = Runtime(config).start()
            return self._runtime

    @contextmanager
    def _client(self) -> Iterator[ControlClient]:
        from ainos.kernel.control import EmbeddedClient

        client = EmbeddedClient(self.runtime().kernel)
        try:
            yield client
        finally:
            client.close()

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        result = self.runtime().embeddings.embed(model, texts)
        return [list(map(float, row)) for row in result.vectors]

    def generate(
        self,
        model: str,
        messages: list[dict[str, str]],
        sampling: Mapping[str, Any],
        on_text: Callable[[str], None],
    ) -> Generated:
        from ainos.ai.ml.llm import ChatStream, chat_body, openai_usage, prepare_chat
        from ainos.protocol.scheduler import ClientIdentity

        call = prepare_chat(chat_body(model, messages, stream=True, **sampling), model)
        generation = self.runtime().llm.generate(
            call.model, call.engine_request, kind="chat", client=ClientIdentity(name=_CLIENT)
        )
        stream = ChatStream(call)

        def chunks() -> Iterator[Mapping[str, Any]]:
            for raw in generation:
                yield from stream.feed(raw)
            yield from stream.finish()

        return _collect(chunks(), on_text, openai_usage)

    def close(self) -> None:
        with self._lock:
            runtime, self._runtime = self._runtime, None
        if runtime is not None and self._owned:
            runtime.close()


class DaemonBackend(_ControlReads):
    """The daemon: statistics over its control socket, models through its scheduler."""

    where = "daemon"

    def __init__(self, socket_path: Path | None, http_url: str | None) -> None:
        self._socket = socket_path
        self._url = http_url

    @contextmanager
    def _client(self) -> Iterator[ControlClient]:
        from ainos.kernel.control import Client

        with Client(self._socket, timeout=600.0) as client:
            yield client

    def embed(self, model: str, texts: list[str]) -> list[list[float]]:
        from ainos.protocol.scheduler import JobState

        with self._client() as client:
            job = client.run("embed", {"model": model, "texts": texts}, timeout_s=600)
        if job.state is not JobState.COMPLETED:
            raise AinosError(f"embedding {job.state.value}: {job.error}")
        return [list(map(float, row)) for row in job.result[0]]

    def generate(
        self,
        model: str,
        messages: list[dict[str, str]],
        sampling: Mapping[str, Any],
        on_text: Callable[[str], None],
    ) -> Generated:
        from ainos.ai.ml.llm import chat_body
        from ainos.app.api import DaemonApi

        if self._url is None:
            raise AinosError("the daemon serves no HTTP API: start it with its API on")
        body = chat_body(model, messages, stream=True, **sampling)
        with DaemonApi(self._url, client_name=_CLIENT) as api:
            return _collect(api.stream("/v1/chat/completions", body), on_text, dict)

    def close(self) -> None:
        return None


def choose_backend(socket_path: Path | None) -> Backend:
    """The daemon's when one answers, else an in-process runtime."""
    from ainos.kernel.control import Client, DaemonUnavailable

    try:
        with Client(socket_path, timeout=10.0) as client:
            url = client.version().endpoints.get("http")
    except DaemonUnavailable:
        return LocalBackend()
    return DaemonBackend(socket_path, url)
