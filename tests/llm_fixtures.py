"""The LLM fixtures every tree of the suite may use (a pytest plugin, loaded by the root
``conftest.py``): one llama.cpp engine (the packaged SmolLM2) and one served runtime, each
loaded once per run and only by a run that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from tests.api_server import serving_runtime

from ainos.ai.ml import DEFAULT_CHAT_MODEL, ModelCatalog
from ainos.ai.ml.llm import LlmLimits, LlmService
from ainos.app.runtime import RuntimeConfig
from ainos.kernel.control import ServicesConfig
from ainos.kernel.scheduler import CpuExecutor, Scheduler

# A short window keeps the shared engine's KV cache small; tests of the default (trained)
# window load their own engine.
TEST_CONTEXT = 2048


@pytest.fixture(scope="session")
def llm_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlmService]:
    registry = tmp_path_factory.mktemp("llm-catalog") / "registry.json"
    scheduler = Scheduler([CpuExecutor()]).start()
    service = LlmService(
        scheduler,
        ModelCatalog(registry),
        limits=LlmLimits(parallel=3, reserved=1, context_tokens=TEST_CONTEXT),
    )
    service.load(DEFAULT_CHAT_MODEL)
    yield service
    scheduler.close()
    service.close()


@pytest.fixture(scope="session")
def llm_http_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A runtime serving the OpenAI-compatible API on a free port, shared by the HTTP tests."""
    config = RuntimeConfig(
        kernel=ServicesConfig(pool_bytes=4 * 1024 * 1024, lock_pool=False),
        llm_limits=LlmLimits(parallel=3, reserved=1, context_tokens=TEST_CONTEXT),
    )
    with serving_runtime(tmp_path_factory.mktemp("llm-http-home"), config) as http:
        yield http.url


@pytest.fixture
def openai_client(llm_http_url: str) -> Iterator[openai.OpenAI]:
    # Closed after the test: a pooled connection left to the garbage collector is an
    # unraisable ResourceWarning in whichever test happens to collect it.
    with openai.OpenAI(base_url=f"{llm_http_url}/v1", api_key="unused", max_retries=0) as client:
        yield client


@pytest.fixture(scope="session")
def chat_model_path() -> Path:
    from ainos.ai.ml._packaged import packaged_chat_model_file

    return packaged_chat_model_file()
