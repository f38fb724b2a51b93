"""The LLM tests' shared engine and served runtime are in ``tests/llm_fixtures.py`` (a plugin
of the root conftest, so the agent's provider tests share them: one load per run)."""

from __future__ import annotations

from tests.llm_fixtures import TEST_CONTEXT

__all__ = ["TEST_CONTEXT"]
