"""One llama.cpp engine (the packaged SmolLM2) for the LLM tests, loaded once per run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ainos.ai.ml import DEFAULT_CHAT_MODEL, ModelCatalog
from ainos.ai.ml.llm import LlmLimits, LlmService
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
        limits=LlmLimits(foreground_slots=1, background_slots=2, context_tokens=TEST_CONTEXT),
    )
    service.load(DEFAULT_CHAT_MODEL)
    yield service
    scheduler.close()
    service.close()


@pytest.fixture(scope="session")
def chat_model_path() -> Path:
    from ainos.ai.ml._packaged import packaged_chat_model_file

    return packaged_chat_model_file()
