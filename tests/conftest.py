"""Suite-wide fixtures: every test runs with its own ``AINOS_HOME``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests run hypothesis's default 100 examples; --hypothesis-profile=long searches
# deeper (e.g. before a release, or after a change to a parser).
settings.register_profile("long", max_examples=2000)

# The shared LLM engine and served runtime (loaded once per run, by the tests that ask).
pytest_plugins = ["tests.llm_fixtures"]


@pytest.fixture(autouse=True)
def ainos_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty, private state directory for the test (and the processes it starts)."""
    home = tmp_path_factory.mktemp("ainos-home")
    monkeypatch.setenv("AINOS_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def prepared_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A state directory in which the embedded embedding model is converted (fp32, int8) and
    its variant chosen — done once per run, copied by :func:`seeded_home`."""
    from ainos.ai.ml import DEFAULT_EMBEDDING_MODEL, ModelCatalog, choose_embedding_variant

    home = tmp_path_factory.mktemp("prepared-models")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AINOS_HOME", str(home))
        catalog = ModelCatalog()
        choose_embedding_variant(catalog.entry(DEFAULT_EMBEDDING_MODEL))
    return home


@pytest.fixture
def seeded_home(ainos_home: Path, prepared_models: Path) -> Path:
    """This test's ``AINOS_HOME`` with the converted models already in its cache."""
    shutil.copytree(prepared_models / "cache", ainos_home / "cache", dirs_exist_ok=True)
    return ainos_home
