"""Build learners' progress through the engine's own APIs (labs, practice, exams)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutor import locations
from tutor.engine import learner
from tutor.engine.labs import api
from tutor.engine.labs.loader import Lab
from tutor.engine.labs.runner import CheckResult, LabReport, StepReport, record
from tutor.engine.progress import ProgressStore, open_store
from tutor.engine.quiz.bank import load_banks
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.sessions import ExamSession, PracticeSession

RETRY_LAB = "04-retry-dlq"


def use_home(monkeypatch: pytest.MonkeyPatch, home: Path, learner_id: str | None) -> ProgressStore:
    """Make `home` this process's TUTOR_HOME (one learner's machine) and open its store."""
    monkeypatch.setenv("TUTOR_HOME", str(home))
    monkeypatch.delenv("TUTOR_LEARNER", raising=False)
    learner.forget()
    if learner_id is not None:
        learner.set_id(learner_id)
    return open_store()


def banks() -> list[Bank]:
    return load_banks(locations.quizzes_dir())


def check(lab: Lab, store: ProgressStore, step_id: str, fractions: list[float]) -> StepReport:
    """Record one check run of a step whose checks scored `fractions` of their weights.

    The reports are what the runner builds; `record` is the runner's own function (it
    also feeds failed steps' pointers to the quiz scheduler, as a real check does).
    """
    step = lab.step(step_id)
    results = []
    for ref, fraction in zip(step.checks, fractions, strict=True):
        ok = fraction >= 1.0
        expected, found = f"{ref.id} to be right", "it is right" if ok else "it is wrong"
        message = f"Found {found}." if ok else f"Expected {expected}, found {found}."
        results.append(CheckResult(ref.id, ref.title or ref.id, ref.weight,
                                   round(ref.weight * fraction, 4), ok, message, expected,
                                   found, seconds=0.25))
    passed = all(r.passed for r in results)
    report = StepReport(step.id, step.title, "passed" if passed else "failed",
                        round(sum(r.score for r in results), 4), step.max_score, results)
    record(lab, LabReport(lab.id, [report], 1.0), store)
    return report


def practice(store: ProgressStore, bank: str, right: int, wrong: int, seed: int = 3) -> None:
    """Answer `right` questions of a bank correctly, then `wrong` wrongly, 30 s each."""
    session = PracticeSession.select(banks(), store, bank=bank, count=right + wrong, seed=seed)
    for i in range(right + wrong):
        shown = session.current
        assert shown is not None
        q = shown.question
        letters = sorted(q.correct_letters) if i < right else \
            [x for x in q.letters if x not in q.correct_letters][:q.picks]
        session.answer(",".join(letters), seconds=30.0)
        session.next()


def exam(store: ProgressStore, right: bool, count: int = 8, seed: int = 5) -> None:
    session = ExamSession.start(banks(), store, exam="saa-c03", count=count, seed=seed)
    for i in range(session.total):
        session.goto(i)
        q = session.current.question
        letters = sorted(q.correct_letters) if right else \
            [x for x in q.letters if x not in q.correct_letters][:q.picks]
        session.answer(",".join(letters))
    session.submit()


def lab(lab_id: str = RETRY_LAB) -> Lab:
    return api.get_lab(lab_id)


def copy_course(target: Path, lab_ids: list[str]) -> tuple[Path, Path]:
    """A copy of some labs and all banks, as an older or newer checkout would hold."""
    labs, quizzes = target / "labs", target / "quizzes"
    for lab_id in lab_ids:
        shutil.copytree(locations.labs_dir() / lab_id, labs / lab_id,
                        ignore=shutil.ignore_patterns("node_modules", "__pycache__"))
    shutil.copytree(locations.quizzes_dir(), quizzes)
    return labs, quizzes
