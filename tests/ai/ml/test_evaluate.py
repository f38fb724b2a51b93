"""The variant report the catalog uses to decide whether int8 is worth it on this machine."""

from __future__ import annotations

import pytest

from ainos.ai.ml import EmbeddingModel, compare_models
from ainos.errors import InvalidArgument


def test_int8_report(fp32_model: EmbeddingModel, int8_model: EmbeddingModel) -> None:
    report = compare_models(
        fp32_model, int8_model, variant="int8", shapes=((1, 16), (2, 32)), repeats=1
    )
    assert report.variant == "int8"
    assert 0.98 <= report.min_cosine <= report.mean_cosine < 1.0
    assert [(s.batch, s.tokens) for s in report.speed] == [(1, 16), (2, 32)]
    for sample in report.speed:
        assert sample.fp32_ms > 0
        assert sample.variant_ms > 0
    assert report.speedup(2, 32) == report.speed[1].fp32_ms / report.speed[1].variant_ms
    with pytest.raises(InvalidArgument):
        report.speedup(16, 128)


def test_fp32_against_itself_agrees_fully(fp32_model: EmbeddingModel) -> None:
    report = compare_models(fp32_model, fp32_model, variant="fp32", shapes=((1, 8),), repeats=1)
    assert report.min_cosine == pytest.approx(1.0, abs=1e-6)


def test_shapes_outside_the_window_are_refused(fp32_model: EmbeddingModel) -> None:
    with pytest.raises(InvalidArgument, match="window"):
        compare_models(fp32_model, fp32_model, variant="fp32", shapes=((1, 512),), repeats=1)
