"""Local LLM generation (the second half of on-device ML): engines, scheduling, OpenAI APIs.

A GGUF model from the catalog is loaded by an engine (llama.cpp through xllamacpp) and
served by :class:`LlmService` as scheduler jobs, one per generation, streamed as OpenAI
``chat.completion.chunk`` dicts. Chat requests get llama.cpp's DRY sampler unless they (or
the model's catalog entry) say otherwise, and every generation is stopped if it degenerates
into one phrase repeated (``_repetition``). Tool calls are constrained JSON whose strings and
arrays are bounded, and a call cut short is reported as cut, never as text (``_tools``).
"""

from ainos.ai.ml.llm._chat import (
    ChatCall,
    ChatStream,
    RequestError,
    collect_completion,
    openai_usage,
    prepare_chat,
    repetition_fields,
)
from ainos.ai.ml.llm._engine import ChunkSink, EngineSettings, LlmEngine
from ainos.ai.ml.llm._generation import Generation
from ainos.ai.ml.llm._llamacpp import LlamaCppEngine, choose_gpu_layers
from ainos.ai.ml.llm._metrics import GenerationTiming, LlmMetrics
from ainos.ai.ml.llm._repetition import (
    CHAT_REPETITION,
    GUARD_FIELD,
    GuardLimits,
    RepetitionDefaults,
    RepetitionGuard,
    chat_defaults,
)
from ainos.ai.ml.llm._reply import STOPPED_FIELD, Reply, chat_body, chunk_text, streamed_body
from ainos.ai.ml.llm._service import LlmLimits, LlmService
from ainos.ai.ml.llm._summarize import LlmSummarizer
from ainos.ai.ml.llm._tools import answer_prefix

__all__ = [
    "CHAT_REPETITION",
    "GUARD_FIELD",
    "STOPPED_FIELD",
    "ChatCall",
    "ChatStream",
    "ChunkSink",
    "EngineSettings",
    "Generation",
    "GenerationTiming",
    "GuardLimits",
    "LlamaCppEngine",
    "LlmEngine",
    "LlmLimits",
    "LlmMetrics",
    "LlmService",
    "LlmSummarizer",
    "RepetitionDefaults",
    "RepetitionGuard",
    "Reply",
    "RequestError",
    "answer_prefix",
    "chat_body",
    "chat_defaults",
    "choose_gpu_layers",
    "chunk_text",
    "collect_completion",
    "openai_usage",
    "prepare_chat",
    "repetition_fields",
    "streamed_body",
]
