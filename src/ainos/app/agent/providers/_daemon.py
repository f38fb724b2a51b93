"""The ainos daemon's own OpenAI-compatible API as the agent's model, and starting the daemon.

Generations then run on the daemon's scheduler, shared with every other client of the
machine: the requests carry the agent's priority class (``X-Ainos-Priority``), its name
(``x-ainos-client``, what fair sharing and ``/ainos/queue`` go by) and, when set, a deadline.
The daemon serves its on-device models with constrained tool calls, so the API answers with
real ``tool_calls``; the model behind them is still the small one (see :class:`DaemonModel`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from ainos.app.agent._model import ModelTraits
from ainos.app.agent.providers._openai import OpenAIModel
from ainos.app.agent.providers._traits import is_small_model, model_parameters
from ainos.app.api import API_TOKEN_ENV
from ainos.errors import AgentError, AinosError, ModelError, ModelNotFound, PermissionDenied
from ainos.paths import runtime_dir
from ainos.protocol.scheduler import Priority

__all__ = ["API_TOKEN_ENV", "DaemonModel", "ensure_daemon"]

_LOG_NAME = "daemon.log"
_POLL_S = 0.1
# Daemons this process started: kept so that no Popen is collected while its (detached)
# daemon runs on, which would warn about a child still running.
_STARTED: list[subprocess.Popen[bytes]] = []


def _answering_url(socket_path: Path | None) -> str | None:
    """The HTTP API of the daemon answering on ``socket_path``; None when none answers."""
    from ainos.kernel.control import Client, DaemonUnavailable

    try:
        with Client(socket_path, timeout=10.0) as client:
            info = client.version()
    except DaemonUnavailable:
        return None
    url = info.endpoints.get("http")
    if not url:
        where = info.socket_path or socket_path or "its socket"
        raise AgentError(
            f"the daemon on {where} serves no HTTP API (started with --no-http): "
            "restart it without that option"
        )
    return url


def _last_line(log: Path) -> str:
    try:
        lines = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return lines[-1].strip() if lines else "(it wrote nothing)"


def ensure_daemon(socket_path: Path | None, *, start: bool, timeout_s: float = 60.0) -> str | None:
    """The HTTP URL of the daemon on ``socket_path`` (None: the default socket).

    When none answers: None, or with ``start`` a daemon started detached
    (``python -m ainos serve --port 0``, its own session, its output in ``daemon.log`` of the
    runtime directory) and waited for; ``AgentError`` with the log's last line if it exits or
    does not answer within ``timeout_s`` (it is then stopped).
    """
    url = _answering_url(socket_path)
    if url is not None or not start:
        return url
    directory = runtime_dir()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    log = directory / _LOG_NAME
    command = [sys.executable, "-m", "ainos", "serve", "--port", "0"]
    if socket_path is not None:
        command += ["--socket", str(socket_path)]
    with log.open("wb") as output:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _STARTED.append(process)
    deadline = time.monotonic() + timeout_s
    pause = threading.Event()
    while True:
        exited = process.poll() is not None
        url = _answering_url(socket_path)  # another may have won a race to start one
        if url is not None:
            return url
        if exited:
            raise AgentError(
                f"the daemon exited as it started (code {process.returncode}): "
                f"{_last_line(log)} (log: {log})"
            )
        if time.monotonic() >= deadline:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            raise AgentError(
                f"the daemon did not answer within {timeout_s:g} s: {_last_line(log)} (log: {log})"
            )
        pause.wait(_POLL_S)


class DaemonModel(OpenAIModel):
    """``model`` served by the daemon at ``url``, generating in ``priority``'s class as
    ``client_name``; ``token`` (default ``$AINOS_API_TOKEN``) when the API wants one.

    Traits: the daemon's on-device models have no native tool format — their calls come from
    constrained output, as :class:`LocalModel`'s do, only parsed by the server — so
    ``native_tools`` is False, ``small`` as for a local model (the packaged one, or under a
    billion parameters when this machine's catalog knows the file), and ``context_tokens`` the
    daemon's window for the model (reading the traits loads it in the daemon).
    """

    def __init__(
        self,
        model: str,
        url: str,
        *,
        priority: Priority = Priority.INTERACTIVE,
        client_name: str = "ainos-agent",
        deadline_ms: float | None = None,
        token: str | None = None,
        traits: ModelTraits | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        token = token if token is not None else os.environ.get(API_TOKEN_ENV) or None
        headers = {"X-Ainos-Priority": priority.value, "x-ainos-client": client_name}
        if deadline_ms is not None:
            headers["x-ainos-deadline-ms"] = f"{deadline_ms:g}"
        super().__init__(
            model,
            base_url=f"{url.rstrip('/')}/v1",
            api_key=token,
            wire_api="chat",
            headers=headers,
            api_key_env=API_TOKEN_ENV,
            timeout_s=timeout_s,
        )
        self._url = url.rstrip("/")
        self._token = token
        self._daemon_traits = traits

    @property
    def url(self) -> str:
        return self._url

    @property
    def traits(self) -> ModelTraits:
        if self._daemon_traits is None:
            loaded = self._load()
            context = loaded.get("context_tokens")
            self._daemon_traits = ModelTraits(
                native_tools=False,
                small=is_small_model(self.name, self._local_parameters()),
                context_tokens=context if isinstance(context, int) else None,
            )
        return self._daemon_traits

    def _local_parameters(self) -> int | None:
        """The model's size from this machine's catalog, where the daemon finds it too."""
        from ainos.ai.ml import ModelCatalog

        try:
            return model_parameters(ModelCatalog().entry(self.name).path)
        except AinosError:
            return None

    def _load(self) -> dict[str, Any]:
        """``POST /ainos/models/<model>/load``: the loaded model's description."""
        from ainos.app.api import DaemonApi

        try:
            with DaemonApi(self._url, token=self._token or "") as api:
                return api.load_model(self.name)
        except (ModelNotFound, PermissionDenied):
            raise
        except AinosError as exc:
            raise ModelError(f"the daemon could not load {self.name!r}: {exc}") from None
