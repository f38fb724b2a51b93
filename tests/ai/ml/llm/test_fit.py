"""Sizing the KV cache to memory: fewer sequences first, then a shorter window, reported."""

from __future__ import annotations

import pytest

from ainos.ai.ml.llm._fit import KV_MEMORY_SHARE, fit_kv_cache
from ainos.errors import ModelError

MIB = 1024**2
PER_TOKEN = 23_040  # SmolLM2-135M: 30 layers x 2 x 3 KV heads x 64 x f16


def _fit(free: int, *, parallel: int = 4, requested: int | None = None, trained: int = 8192):
    return fit_kv_cache(
        trained_context=trained,
        requested_context=requested,
        parallel=parallel,
        kv_bytes_per_token=PER_TOKEN,
        free_bytes=free,
    )


def test_everything_fits_on_a_roomy_machine() -> None:
    fit = _fit(24 * 1024 * MIB)
    assert (fit.context_tokens, fit.parallel, fit.note) == (8192, 4, None)
    assert fit.kv_bytes == PER_TOKEN * 8192 * 4


def test_fewer_sequences_before_a_shorter_window() -> None:
    one_window = PER_TOKEN * 8192
    fit = _fit(int(2.5 * one_window / KV_MEMORY_SHARE))
    assert (fit.context_tokens, fit.parallel) == (8192, 2)
    assert fit.note is not None
    assert "2 parallel sequences instead of 4" in fit.note


def test_a_window_too_big_for_memory_is_cut_and_said() -> None:
    fit = _fit(int(PER_TOKEN * 3000 / KV_MEMORY_SHARE))
    assert fit.parallel == 1
    assert fit.context_tokens == 2816  # whole steps of 256 below 3000
    assert fit.note is not None
    assert "instead of the trained 8192" in fit.note


def test_a_window_the_user_asked_for_is_never_cut() -> None:
    with pytest.raises(ModelError, match="shorter context"):
        _fit(int(PER_TOKEN * 3000 / KV_MEMORY_SHARE), requested=4096)


def test_hopeless_memory_is_an_error_not_a_tiny_window() -> None:
    with pytest.raises(ModelError):
        _fit(PER_TOKEN * 100)


def test_unknown_shapes_or_memory_leave_the_request_as_it_is() -> None:
    fit = fit_kv_cache(
        trained_context=8192,
        requested_context=None,
        parallel=4,
        kv_bytes_per_token=None,
        free_bytes=1,
    )
    assert (fit.context_tokens, fit.parallel, fit.note) == (8192, 4, None)
