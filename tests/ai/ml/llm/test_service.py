"""LlmService on a real scheduler and the real packaged model."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

import pytest

from ainos.ai.ml import DEFAULT_CHAT_MODEL
from ainos.ai.ml.llm import Generation, LlmService
from ainos.errors import ContextLengthExceeded, JobCancelled
from ainos.kernel.telemetry import render
from ainos.protocol.scheduler import ClientIdentity, Priority

from .conftest import TEST_CONTEXT

GREEDY = {"temperature": 0.0, "seed": 1}


def _ask(text: str, max_tokens: int = 12) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}], "max_tokens": max_tokens, **GREEDY}


def _text(generation: Generation) -> tuple[str, str | None, dict[str, Any]]:
    parts, finish, usage = [], None, {}
    for chunk in generation:
        for choice in chunk.get("choices") or ():
            parts.append((choice.get("delta") or {}).get("content") or "")
            finish = choice.get("finish_reason") or finish
        usage = chunk.get("usage") or usage
    return "".join(parts), finish, usage


def test_greedy_generation_is_deterministic(llm_service: LlmService) -> None:
    first = _text(llm_service.generate(DEFAULT_CHAT_MODEL, _ask("Name a colour.")))
    second = _text(llm_service.generate(DEFAULT_CHAT_MODEL, _ask("Name a colour.")))
    assert first[0]
    assert first[0] == second[0]
    assert first[2]["completion_tokens"] <= 12
    assert first[2]["prompt_tokens"] > 0


def test_max_tokens_ends_with_length(llm_service: LlmService) -> None:
    _, finish, usage = _text(
        llm_service.generate(DEFAULT_CHAT_MODEL, _ask("Tell me a long story.", 5))
    )
    assert finish == "length"
    assert usage["completion_tokens"] == 5


def test_raw_completion(llm_service: LlmService) -> None:
    generation = llm_service.generate(
        DEFAULT_CHAT_MODEL,
        {"prompt": "One, two, three,", "max_tokens": 6, **GREEDY},
        kind="completion",
    )
    text = "".join(c["choices"][0].get("text", "") for c in generation if c.get("choices"))
    assert text.strip()


def test_oversize_prompt_is_context_length_exceeded(llm_service: LlmService) -> None:
    generation = llm_service.generate(DEFAULT_CHAT_MODEL, _ask("word " * (TEST_CONTEXT + 100)))
    with pytest.raises(ContextLengthExceeded) as caught:
        list(generation)
    assert caught.value.context_tokens == TEST_CONTEXT
    assert caught.value.prompt_tokens is not None
    assert caught.value.prompt_tokens > TEST_CONTEXT


def test_cancel_stops_between_tokens(llm_service: LlmService) -> None:
    generation = llm_service.generate(DEFAULT_CHAT_MODEL, _ask("Count to one thousand.", 1500))
    seen = 0

    def read() -> None:
        nonlocal seen
        for _chunk in generation:
            seen += 1
            if seen == 3:
                generation.cancel()

    with pytest.raises(JobCancelled):
        read()
    assert seen < 100  # stopped long before its 1500 tokens


def test_a_reader_that_stops_early_cancels_the_generation(llm_service: LlmService) -> None:
    cancelled = f'ainos_llm_requests_total{{model="{DEFAULT_CHAT_MODEL}",outcome="cancelled"}}'

    def cancelled_count() -> int:
        for line in render(llm_service.metrics.families()).splitlines():
            if line.startswith(cancelled):
                return int(float(line.split()[-1]))
        return 0

    before = cancelled_count()
    generation = llm_service.generate(DEFAULT_CHAT_MODEL, _ask("Count to one thousand.", 1500))
    for index, _chunk in enumerate(generation):
        if index == 2:
            break  # the loop drops its iterator: nobody reads the rest
    settled = threading.Event()
    for _ in range(600):  # the job settles once the engine sees the cancel at its next token
        if cancelled_count() > before:
            settled.set()
            break
        settled.wait(0.1)
    assert settled.is_set()


def test_async_reading(llm_service: LlmService) -> None:
    async def read() -> int:
        generation = llm_service.generate(
            DEFAULT_CHAT_MODEL, _ask("Hi", 4), loop=asyncio.get_running_loop()
        )
        return len([chunk async for chunk in generation])

    assert asyncio.run(read()) >= 2


def test_realtime_chat_is_not_stuck_behind_batch_generations(llm_service: LlmService) -> None:
    """The batch slots are busy with long generations and more batch work queues; a realtime
    chat still starts at once (place 0) and ends while the batch ones are still running."""
    batch = [
        llm_service.generate(
            DEFAULT_CHAT_MODEL,
            _ask("Write a very long essay about the sea.", 400),
            priority=Priority.BATCH,
            client=ClientIdentity(name="batch"),
        )
        for _ in range(3)
    ]
    started = threading.Event()
    finished_batch: list[int] = []

    def drain(index: int, generation: Generation) -> None:
        with contextlib.suppress(JobCancelled):  # cancelled at the end of the test
            for _chunk in generation:
                started.set()
            finished_batch.append(index)

    threads = [threading.Thread(target=drain, args=(i, g)) for i, g in enumerate(batch)]
    for thread in threads:
        thread.start()
    assert started.wait(60)
    assert batch[2].queue_position == 1  # the third waits for a batch slot
    realtime = llm_service.generate(
        DEFAULT_CHAT_MODEL, _ask("Say hello.", 8), priority=Priority.REALTIME
    )
    assert realtime.initial_position == 0
    text, _, _ = _text(realtime)
    assert text
    assert finished_batch == []  # no batch generation had to end first
    for generation in batch:
        generation.cancel()
    for thread in threads:
        thread.join(60)


def test_metrics_count_requests_and_tokens(llm_service: LlmService) -> None:
    _text(llm_service.generate(DEFAULT_CHAT_MODEL, _ask("Hi", 3)))
    text = render(llm_service.metrics.families())
    assert f'ainos_llm_requests_total{{model="{DEFAULT_CHAT_MODEL}",outcome="ok"}}' in text
    assert "ainos_llm_time_to_first_token_seconds_bucket" in text
    assert "ainos_llm_completion_tokens_total" in text


def test_loaded_model_is_described(llm_service: LlmService) -> None:
    (loaded,) = llm_service.loaded()
    assert loaded.alias == DEFAULT_CHAT_MODEL
    assert loaded.providers == ["llama.cpp (cpu)"]
    assert (loaded.context_tokens, loaded.parallel, loaded.note) == (TEST_CONTEXT, 3, None)
