"""Per-model generation metrics: requests, time to first token, decode speed, tokens, queue."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field

from ainos.kernel.telemetry import MetricFamily

__all__ = ["GenerationTiming", "LlmMetrics"]

_TTFT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(frozen=True)
class GenerationTiming:
    queue_s: float  # submission to the engine starting it
    first_token_s: float | None  # submission to the first generated text
    decode_s: float  # first token to the last
    prompt_tokens: int
    completion_tokens: int

    @property
    def tokens_per_second(self) -> float | None:
        if self.completion_tokens < 2 or self.decode_s <= 0:
            return None
        return (self.completion_tokens - 1) / self.decode_s


@dataclass
class _Model:
    requests: Counter[str] = field(default_factory=Counter)
    ttft: Counter[float] = field(default_factory=Counter)  # bucket bound -> count within
    ttft_sum: float = 0.0
    ttft_count: int = 0
    queue_sum: float = 0.0
    decode_sum: float = 0.0
    decoded: int = 0  # tokens after the first, over decode_sum seconds
    prompt_tokens: int = 0
    completion_tokens: int = 0


class LlmMetrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: dict[str, _Model] = {}

    def outcome(self, alias: str, outcome: str) -> None:
        with self._lock:
            self._models.setdefault(alias, _Model()).requests[outcome] += 1

    def finished(self, alias: str, timing: GenerationTiming) -> None:
        with self._lock:
            model = self._models.setdefault(alias, _Model())
            model.requests["ok"] += 1
            model.queue_sum += timing.queue_s
            model.prompt_tokens += timing.prompt_tokens
            model.completion_tokens += timing.completion_tokens
            if timing.first_token_s is not None:
                model.ttft_sum += timing.first_token_s
                model.ttft_count += 1
                for bound in _TTFT_BUCKETS:
                    if timing.first_token_s <= bound:
                        model.ttft[bound] += 1
            if timing.completion_tokens > 1:
                model.decode_sum += timing.decode_s
                model.decoded += timing.completion_tokens - 1

    def families(self) -> list[MetricFamily]:
        requests = MetricFamily(
            "ainos_llm_requests_total", "counter", "Generation requests by outcome."
        )
        ttft = MetricFamily(
            "ainos_llm_time_to_first_token_seconds",
            "histogram",
            "Submission to the first generated token, queueing included.",
        )
        queue = MetricFamily(
            "ainos_llm_queue_seconds_total", "counter", "Time generations waited for a slot."
        )
        decode = MetricFamily(
            "ainos_llm_decode_seconds_total",
            "counter",
            "Decoding time after the first token.",
        )
        decoded = MetricFamily(
            "ainos_llm_decoded_tokens_total",
            "counter",
            "Tokens decoded after the first (divide by decode seconds for tokens/s).",
        )
        prompt = MetricFamily("ainos_llm_prompt_tokens_total", "counter", "Prompt tokens.")
        completion = MetricFamily(
            "ainos_llm_completion_tokens_total", "counter", "Generated tokens."
        )
        with self._lock:
            for alias, model in sorted(self._models.items()):
                for outcome, count in sorted(model.requests.items()):
                    requests.add(count, model=alias, outcome=outcome)
                for bound in _TTFT_BUCKETS:
                    ttft.add(model.ttft[bound], "_bucket", model=alias, le=str(bound))
                ttft.add(model.ttft_count, "_bucket", model=alias, le="+Inf")
                ttft.add(model.ttft_sum, "_sum", model=alias)
                ttft.add(model.ttft_count, "_count", model=alias)
                queue.add(model.queue_sum, model=alias)
                decode.add(model.decode_sum, model=alias)
                decoded.add(model.decoded, model=alias)
                prompt.add(model.prompt_tokens, model=alias)
                completion.add(model.completion_tokens, model=alias)
        return [requests, ttft, queue, decode, decoded, prompt, completion]
