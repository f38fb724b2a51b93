"""A runtime serving its OpenAI-compatible API on a free loopback port, for the tests that
talk to it over real sockets."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ainos.app.api import HttpServer
from ainos.app.runtime import Runtime, RuntimeConfig

__all__ = ["serving_runtime"]


@contextmanager
def serving_runtime(home: Path, config: RuntimeConfig) -> Iterator[HttpServer]:
    """A runtime of ``config``, its state in ``home``, its HTTP API started (and stopped on
    leaving, before the runtime closes)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AINOS_HOME", str(home))
        with Runtime(config) as runtime:
            app = runtime.http_app()
            http = HttpServer(app, "127.0.0.1", 0).start()
            try:
                yield http
            finally:
                http.stop(on_stopping=app.state.stopping.begin)
