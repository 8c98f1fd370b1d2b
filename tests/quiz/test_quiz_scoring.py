"""Scaled scores, answer parsing, grading and drawing to the exam domain weights."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable

import pytest

from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.observe import Observation
from tutor.engine.quiz.scoring import allocate, draw, grade, parse_answer, scaled_score
from tutor.engine.quiz.taxonomy import exam_domains
from tutor.errors import TutorError

from .helpers import make_question


@pytest.mark.parametrize(("correct", "total", "score"), [
    (0, 65, 100), (65, 65, 1000), (72, 100, 720), (86, 100, 860), (50, 100, 531),
    (47, 65, 723),  # 72.3 % just passes
    (46, 65, 709),  # 70.8 % just fails: 100 + 620 * 0.7077 / 0.72
    (36, 50, 720), (35, 50, 703), (1, 3, 387), (0, 0, 100),
])
def test_scaled_score_exact_numbers(correct: int, total: int, score: int) -> None:
    assert scaled_score(correct, total) == score


def test_pass_mark_is_exactly_72_percent() -> None:
    assert [scaled_score(c, 25) >= 720 for c in (17, 18)] == [False, True]  # 68 %, 72 %


def test_parse_answer_accepts_common_spellings_and_rejects_wrong_counts() -> None:
    single = make_question("p-1")
    multi = make_question("p-2", kind="multiple")
    assert parse_answer(" B ", single) == {"b"}
    assert parse_answer("a,c", multi) == parse_answer("c a", multi) == parse_answer("ac", multi)
    for bad, q in (("e", single), ("a,b", single), ("a", multi), ("", single), ("x", multi)):
        with pytest.raises(TutorError):
            parse_answer(bad, q)


def test_grading_is_all_or_nothing() -> None:
    multi = make_question("g-1", kind="multiple")
    assert grade(multi, frozenset("ab")).correct
    assert not grade(multi, frozenset("ac")).correct


def _predict() -> object:
    from tutor.engine.quiz.model import Question

    return Question.model_validate({
        "id": "pr-1", "type": "predict", "prompt": "?", "tags": ["dlq"],
        "domain": "saa-resilient", "difficulty": 1, "docs": "d",
        "scenario": {"name": "dlq_after_receives"},
        "options": [{"text": "dlq", "outcome": "dlq", "correct": True, "why": "w"},
                    {"text": "src", "outcome": "source-visible", "correct": False, "why": "w"},
                    {"text": "gone", "outcome": "gone", "correct": False, "why": "w"}]})


def test_predict_is_graded_on_the_observed_outcome() -> None:
    q = _predict()
    seen = Observation("dlq_after_receives", "dlq", ["evidence"], 1.0)
    assert grade(q, frozenset("a"), seen).correct  # type: ignore[arg-type]
    odd = Observation("dlq_after_receives", "source-visible", ["evidence"], 1.0)
    graded = grade(q, frozenset("b"), odd)  # type: ignore[arg-type]
    assert graded.correct and graded.expected == {"b"} and graded.discrepancy
    unknown = Observation("dlq_after_receives", "elsewhere", [], 1.0)
    graded = grade(q, frozenset("a"), unknown)  # type: ignore[arg-type]
    assert graded.correct and "no option describes" in (graded.discrepancy or "")


def test_allocate_65_to_the_saa_c03_weights() -> None:
    weights = {d.id: d.weight for d in exam_domains("saa-c03")}
    plenty = dict.fromkeys(weights, 100)
    # quotas 19.5, 16.9, 15.6, 13.0: largest remainders go to resilient and performance
    assert allocate(65, weights, plenty) == {"saa-secure": 19, "saa-resilient": 17,
                                             "saa-performance": 16, "saa-cost": 13}


def test_allocate_65_to_the_dva_c02_weights() -> None:
    weights = {d.id: d.weight for d in exam_domains("dva-c02")}
    # quotas 20.8, 16.9, 15.6, 11.7
    assert allocate(65, weights, dict.fromkeys(weights, 100)) == {
        "dva-development": 21, "dva-security": 17, "dva-deployment": 15,
        "dva-troubleshooting": 12}


def test_a_short_domain_gives_its_share_to_the_others() -> None:
    weights = {d.id: d.weight for d in exam_domains("saa-c03")}
    got = allocate(65, weights, {"saa-secure": 5, "saa-resilient": 100,
                                 "saa-performance": 100, "saa-cost": 100})
    assert got["saa-secure"] == 5 and sum(got.values()) == 65
    assert got == {"saa-secure": 5, "saa-resilient": 22, "saa-performance": 21,
                   "saa-cost": 17}
    assert sum(allocate(65, weights, dict.fromkeys(weights, 3)).values()) == 12


def test_draw_65_for_saa_c03_matches_the_weights(bank_factory: Callable[..., Bank]) -> None:
    bank = bank_factory({"saa-secure": 40, "saa-resilient": 40, "saa-performance": 40,
                         "saa-cost": 40, "dva-development": 40})
    weights = {d.id: d.weight for d in exam_domains("saa-c03")}
    for seed in range(5):
        picked = draw(list(bank.questions), weights, 65, random.Random(seed))
        counts = Counter(q.domain for q in picked)
        assert sum(counts.values()) == 65 and len({q.id for q in picked}) == 65
        for domain, weight in weights.items():
            assert abs(counts[domain] - 65 * weight) < 1, (domain, counts)
        assert "dva-development" not in counts
