"""Judging success criteria by the evidence a run produced (a heuristic of "addressed")."""

from __future__ import annotations

import pytest

from ainos.app.supervisor._criteria import assess, score
from ainos.app.supervisor._records import CriterionResult, Finding

SECRET = Finding("secrets", "critical", "app/config.py", 3, "hard-coded API key 'sk-****'")
EVAL = Finding("dangerous-calls", "high", "app/run.py", 10, "eval() of user input")
UNTESTED = Finding("untested", "low", "app/config.py", 0, "public function load has no test")


def test_a_criterion_whose_words_the_run_produced_is_met() -> None:
    [result] = assess(
        ["Report every hard-coded secret with its file and line"],
        "The configuration holds one key.",
        [SECRET],
        ["secrets"],
    )
    assert result == CriterionResult(
        "Report every hard-coded secret with its file and line",
        True,
        "5/5 words; found: hard, coded, secret, file, line",
    )


def test_words_are_matched_by_stem_synonym_and_split_check_names() -> None:
    results = assess(
        [
            "List dangerous calls such as eval",  # from the check's name and the message
            "Name untested public functions",  # untested ~ test, functions ~ function
            "Mention TODOs and FIXMEs",  # todos ~ todo, fixme ~ todo
            "Report hard-coded passwords",  # password ~ secret, coded ~ code
        ],
        "Two todo comments remain; the code is fine otherwise.",
        [EVAL, UNTESTED, SECRET],
        ["dangerous-calls", "untested", "todo", "secrets"],
    )
    assert [r.met for r in results] == [True, True, True, True]
    assert results[1].evidence == "3/3 words; found: untested, public, functions"
    assert results[2].evidence == "1/1 words; found: todos"  # fixme is a todo: one word
    assert results[3].evidence == "3/3 words; found: hard, coded, passwords"


def test_a_criterion_mostly_absent_from_the_output_is_unmet_with_the_missing_words() -> None:
    [result] = assess(
        ["Suggest a rotation schedule for leaked secrets"],
        "One secret found.",
        [SECRET],
        ["secrets"],
    )
    assert not result.met
    assert (
        result.evidence == "1/5 words; found: secrets; missing: suggest, rotation, schedule, leaked"
    )


def test_sixty_percent_of_the_words_is_enough() -> None:
    text = "alpha beta gamma"
    three_of_five, two_of_five = assess(
        ["alpha beta gamma delta epsilon", "alpha beta zeta delta epsilon"], text, [], ["todo"]
    )
    assert three_of_five.met
    assert not two_of_five.met
    assert two_of_five.evidence == "2/5 words; found: alpha, beta; missing: zeta, delta, epsilon"


def test_nothing_is_met_when_no_check_ran() -> None:
    [result] = assess(["List dangerous calls"], "dangerous calls: none", [], [])
    assert not result.met
    assert result.evidence.startswith("no check ran to completion; 2/2 words")


def test_location_words_need_a_finding() -> None:
    criterion = "Give the file and line of each secret"
    [without] = assess([criterion], "no secret", [], ["secrets"])
    [with_one] = assess([criterion], "", [SECRET], ["secrets"])
    assert (without.met, with_one.met) == (False, True)
    assert without.evidence == "1/3 words; found: secret; missing: file, line"


def test_a_criterion_of_only_generic_words_is_met_by_any_completed_check() -> None:
    [result] = assess(["Report all of it"], "", [], ["todo"])
    assert result == CriterionResult("Report all of it", True, "no content words to look for")


def test_score_is_the_share_met_for_a_completed_run() -> None:
    met = CriterionResult("a", True)
    unmet = CriterionResult("b", False)
    assert score([met, unmet, met, met], "completed") == 0.75
    assert score([unmet], "completed") == 0.0
    assert score([], "completed") == 1.0


@pytest.mark.parametrize("status", ["failed", "stopped"])
def test_score_of_a_failed_or_stopped_run_is_zero(status: str) -> None:
    assert score([CriterionResult("a", True)], status) == 0.0  # type: ignore[arg-type]
    assert score([], status) == 0.0  # type: ignore[arg-type]
