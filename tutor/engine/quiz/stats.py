"""The learner's quiz history: accuracy per domain and tag, due cards, past exams."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.srs import Clock, Schedule, utc_now
from tutor.engine.quiz.taxonomy import DOMAINS


def quiz_stats(store: ProgressStore, banks: list[Bank], clock: Clock = utc_now
               ) -> dict[str, Any]:
    questions = {q.id: q for b in banks for q in b.questions}
    answers = store.answers()
    by_domain: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_tag: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for a in answers:
        q = questions.get(a["question_id"])
        if q is None:  # a question since removed from the banks
            continue
        for tally in [by_domain[q.domain], *(by_tag[t] for t in q.tags)]:
            tally[0] += a["correct"]
            tally[1] += 1
    schedule = Schedule(store, clock)
    cards = store.cards()
    upcoming = sorted(due for qid, (_c, due) in cards.items() if qid in questions)
    now = clock().timestamp()
    exam = schedule.exam_date

    def rows(tallies: dict[str, list[int]], names: dict[str, str]) -> list[dict[str, Any]]:
        return [{"id": k, "name": names.get(k, k), "correct": c, "answered": n,
                 "accuracy": round(100 * c / n, 1)} for k, (c, n) in sorted(tallies.items())]

    return {
        "questions": len(questions),
        "answered": len(answers),
        "correct": sum(a["correct"] for a in answers),
        "accuracy": round(100 * sum(a["correct"] for a in answers) / len(answers), 1)
        if answers else None,
        "seen": len({a["question_id"] for a in answers}),
        "by_domain": rows(by_domain, {d.id: f"{d.exam} {d.name}" for d in DOMAINS.values()}),
        "by_tag": rows(by_tag, {}),
        "cards": len(upcoming),
        "due_now": sum(1 for due in upcoming if due <= now),
        "next_due": next((due for due in upcoming if due > now), None),
        "exam_date": exam.isoformat() if exam else None,
        "exams": [{"exam": e["bank"], "started_at": e["started_at"],
                   "scaled_score": e["scaled_score"], "passed": None if e["passed"] is None
                   else bool(e["passed"])} for e in store.exams()],
    }
