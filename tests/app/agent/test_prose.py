"""Keeping a small model's explanation honest."""

from __future__ import annotations

from ainos.app.agent._prose import tidy_explanation

_GROUNDING = """Figures measured by Ainos.AnalyzeCodebase:
- Source files: 12
- Largest file: shop/inventory.py (51 lines)
From README.md: A tiny shop: a Python inventory and a JavaScript storefront."""


def test_keeps_grounded_sentences() -> None:
    text = "This is a tiny shop with a Python inventory. The largest file has 51 lines."
    assert tidy_explanation(text, _GROUNDING) == text


def test_drops_invented_figures() -> None:
    text = "The shop has 12 source files. It has 4000 users and 99 servers."
    assert tidy_explanation(text, _GROUNDING) == "The shop has 12 source files."


def test_drops_claims_made_of_words_the_tools_never_returned() -> None:
    text = (
        "The shop has a Python inventory. "
        "It is a multiplayer game engine with blockchain wallets and quantum dashboards."
    )
    assert tidy_explanation(text, _GROUNDING) == "The shop has a Python inventory."


def test_drops_repeats_cut_sentences_and_what_follows_the_first_paragraph() -> None:
    text = (
        "The shop has a Python inventory. The shop has a Python inventory too. "
        "The storefront is JavaScript\n\nThe inventory is Python. The inventory is Python."
    )
    assert tidy_explanation(text, _GROUNDING) == "The shop has a Python inventory."


def test_keeps_at_most_the_sentences_asked_for() -> None:
    text = "The shop is tiny. The inventory is Python. The storefront is JavaScript. Files: 12."
    assert tidy_explanation(text, _GROUNDING, max_sentences=2) == (
        "The shop is tiny. The inventory is Python."
    )


def test_nothing_left_is_an_empty_answer() -> None:
    assert tidy_explanation("Quantum blockchain wizardry abounds everywhere.", _GROUNDING) == ""
