from __future__ import annotations

from pathlib import Path

import numpy as np

from ainos.app.bench._models import minilm_workload


def test_the_minilm_workload_runs_rows_of_the_asked_length(seeded_home: Path) -> None:
    make_session, make_inputs = minilm_workload(tokens=16)
    feeds = make_inputs(3)
    assert feeds["input_ids"].shape == (3, 16)
    (vectors,) = make_session(1).run(["sentence_embedding"], feeds)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
