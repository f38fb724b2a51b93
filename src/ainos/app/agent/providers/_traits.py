"""What the agent may expect of an on-device model: small or not, from its size."""

from __future__ import annotations

from pathlib import Path

from ainos.errors import AinosError

__all__ = ["SMALL_PARAMETERS", "is_small_model", "model_parameters"]

# Below this a model is not trusted to plan a coding task: the agent runs its deterministic
# tools first and asks the model to explain the results.
SMALL_PARAMETERS = 1_000_000_000


def model_parameters(path: Path) -> int | None:
    """The parameters of a GGUF model (from its tensors' shapes); None if unreadable."""
    from ainos.ai.ml import read_gguf_info

    try:
        return read_gguf_info(path).parameters or None
    except AinosError:
        return None


def is_small_model(alias: str, parameters: int | None) -> bool:
    """A packaged model (the 135M default) always; another when it has fewer than
    :data:`SMALL_PARAMETERS` parameters; unknown sizes are taken as not small."""
    from ainos.ai.ml import PACKAGED_CHAT_MODELS

    if alias in PACKAGED_CHAT_MODELS:
        return True
    return parameters is not None and parameters < SMALL_PARAMETERS
