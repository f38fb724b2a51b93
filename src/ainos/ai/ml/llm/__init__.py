"""Local LLM generation (the second half of on-device ML): engines, scheduling, OpenAI APIs.

A GGUF model from the catalog is loaded by an engine (llama.cpp through xllamacpp) and
served by :class:`LlmService` as scheduler jobs, one per generation, streamed as OpenAI
``chat.completion.chunk`` dicts.
"""

from ainos.ai.ml.llm._chat import (
    ChatCall,
    ChatStream,
    RequestError,
    collect_completion,
    openai_usage,
    prepare_chat,
)
from ainos.ai.ml.llm._engine import ChunkSink, EngineSettings, LlmEngine
from ainos.ai.ml.llm._generation import Generation
from ainos.ai.ml.llm._llamacpp import LlamaCppEngine, choose_gpu_layers
from ainos.ai.ml.llm._metrics import GenerationTiming, LlmMetrics
from ainos.ai.ml.llm._service import LlmLimits, LlmService

__all__ = [
    "ChatCall",
    "ChatStream",
    "ChunkSink",
    "EngineSettings",
    "Generation",
    "GenerationTiming",
    "LlamaCppEngine",
    "LlmEngine",
    "LlmLimits",
    "LlmMetrics",
    "LlmService",
    "RequestError",
    "choose_gpu_layers",
    "collect_completion",
    "openai_usage",
    "prepare_chat",
]
