"""Build a LearnerReport from the progress store and the course content (read-only)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from tutor import __version__
from tutor.engine.labs.loader import Lab
from tutor.engine.progress import ProgressStore, StepResult
from tutor.engine.quiz.model import Bank
from tutor.engine.quiz.taxonomy import DOMAINS
from tutor.engine.report.model import (
    CheckEntry,
    ExamEntry,
    LabEntry,
    LearnerReport,
    ProblemEntry,
    QuizEntry,
    StepEntry,
    Tally,
)
from tutor.engine.report.timing import IDLE_GAP, stamp, time_spent

LEARNER_SETTING = "learner.id"


def learner_id(store: ProgressStore) -> str | None:
    """The learner id (`tutor learner set`), read from this store.

    For the learner's own store, tutor.engine.learner decides (it also honours
    TUTOR_LEARNER); any other store (a copied progress.db) answers with its own setting.
    """
    from tutor import locations

    if store.path.resolve() == locations.progress_db().resolve():
        try:
            from tutor.engine.learner import current
        except ImportError:  # a tutor without classroom identities
            pass
        else:
            return current().id
    value = store.setting(LEARNER_SETTING)
    return value if isinstance(value, str) and value else None


def _checks(detail: dict[str, Any]) -> list[CheckEntry]:
    found = []
    for raw in detail.get("checks") or []:
        if isinstance(raw, dict):
            found.append(CheckEntry(
                id=str(raw.get("id", "")), title=str(raw.get("title", "")),
                passed=bool(raw.get("passed")), score=float(raw.get("score") or 0),
                weight=float(raw.get("weight") or 0), message=str(raw.get("message", "")),
                expected=str(raw.get("expected", "")), found=str(raw.get("found", ""))))
    return found


def _seconds(detail: dict[str, Any]) -> float:
    total = 0.0
    for raw in detail.get("checks") or []:
        if isinstance(raw, dict) and isinstance(raw.get("seconds"), int | float):
            total += float(raw["seconds"])
    return round(total, 3)


def lab_entry(lab: Lab, store: ProgressStore) -> LabEntry:
    history = store.step_history(lab.id)
    state = store.lab_state(lab.id)
    by_step: dict[str, list[StepResult]] = defaultdict(list)
    for result in history:
        by_step[result.step_id].append(result)
    steps = []
    for step in lab.spec.steps:
        tries = by_step.get(step.id, [])
        hints = int(state["hints_shown"].get(step.id, -1)) + 1
        if not tries:
            steps.append(StepEntry(id=step.id, title=step.title, pointers=lab.tags(step),
                                   status="not_attempted", max_score=step.max_score,
                                   hints_shown=hints, hints=len(step.hints)))
            continue
        last = tries[-1]
        status = str(last.detail.get("status", ""))
        if status not in ("passed", "failed", "skipped"):
            status = "passed" if last.passed else "failed"
        steps.append(StepEntry(
            id=step.id, title=step.title, pointers=lab.tags(step), status=status,  # type: ignore[arg-type]
            score=round(last.score, 4), best_score=round(max(t.score for t in tries), 4),
            max_score=step.max_score, attempts=len(tries),
            first_attempt_at=stamp(tries[0].at), last_attempt_at=stamp(last.at),
            hints_shown=hints, hints=len(step.hints), note=str(last.detail.get("note", "")),
            check_seconds=_seconds(last.detail), checks=_checks(last.detail)))
    attempted = any(s.attempts for s in steps)
    status = ("completed" if state["completed_at"] else
              "in_progress" if state["started_at"] or attempted else "not_started")
    events = [state["started_at"], state["completed_at"], *(r.at for r in history)]
    return LabEntry(
        id=lab.id, title=lab.title, status=status,  # type: ignore[arg-type]
        score=round(sum(s.score for s in steps), 4),
        max_score=sum(s.max_score for s in steps),
        steps_passed=sum(s.status in ("passed", "skipped") for s in steps),
        started_at=stamp(state["started_at"]), completed_at=stamp(state["completed_at"]),
        solution_shown=bool(state["solution_shown"]), estimated_minutes=lab.spec.minutes,
        time=time_spent(events), steps=steps)


def _tallies(counts: dict[str, list[int]], names: dict[str, str]) -> list[Tally]:
    return [Tally(id=k, name=names.get(k, k), correct=c, total=n)
            for k, (c, n) in sorted(counts.items())]


def _exam(row: dict[str, Any]) -> ExamEntry:
    detail = row["detail"] if isinstance(row["detail"], dict) else {}
    domains = [Tally(id=str(d.get("domain", "")), name=str(d.get("name", "")),
                     correct=int(d.get("correct", 0)), total=int(d.get("total", 0)))
               for d in detail.get("domains") or [] if isinstance(d, dict)]
    finished = row["finished_at"]
    return ExamEntry(
        id=row["id"], exam=row["bank"], started_at=stamp(row["started_at"]),  # type: ignore[arg-type]
        finished_at=stamp(finished),
        seconds=round(finished - row["started_at"], 1) if finished is not None else None,
        scaled_score=row["scaled_score"],
        passed=None if row["passed"] is None else bool(row["passed"]),
        correct=detail.get("correct") if finished is not None else None,
        total=detail.get("total") if finished is not None else None, domains=domains)


def quiz_entry(store: ProgressStore, banks: Sequence[Bank], now: datetime) -> QuizEntry:
    questions = {q.id: (b, q) for b in banks for q in b.questions}
    domains: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    pointers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    by_bank: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    answered = correct = unknown = 0
    seconds = 0.0
    for answer in store.answers():
        if answer["mode"] == "exam":  # reported per exam, with the exam's own scoring
            continue
        found = questions.get(answer["question_id"])
        if found is None:  # a question since removed from the banks
            unknown += 1
            continue
        bank, q = found
        right = int(bool(answer["correct"]))
        answered += 1
        correct += right
        seconds += min(float(answer["seconds"] or 0.0), IDLE_GAP)
        for tally in (domains[q.domain], by_bank[bank.id], *(pointers[t] for t in q.tags)):
            tally[0] += right
            tally[1] += 1
    cards = {qid: due for qid, (_card, due) in store.cards().items() if qid in questions}
    exams = [_exam(row) for row in store.exams()]
    return QuizEntry(
        answered=answered, correct=correct,
        by_domain=_tallies(domains, {d.id: f"{d.exam} {d.name}" for d in DOMAINS.values()}),
        by_pointer=_tallies(pointers, {}),
        by_bank=_tallies(by_bank, {b.id: b.title for b in banks}),
        exams=exams, cards=len(cards),
        due_cards=sum(1 for due in cards.values() if due <= now.timestamp()),
        practice_seconds=round(seconds, 1),
        exam_seconds=round(sum(e.seconds or 0.0 for e in exams), 1), unknown_answers=unknown)


def build_report(store: ProgressStore, labs: Sequence[Lab], banks: Sequence[Bank], *,
                 content_version: str, learner: str | None = None,
                 now: datetime | None = None, warnings: Sequence[str] = ()) -> LearnerReport:
    """The learner's results over the given content (labs in course order)."""
    from tutor.engine.progress_sync import dump

    moment = now or datetime.now(UTC)
    problems = [ProblemEntry(kind=p["kind"], item=p["item"], note=p["note"],
                             content_version=p["content_version"],
                             at=datetime.fromtimestamp(p["at"], UTC))
                for p in store.problems() if p["kind"] in ("question", "check")]
    return LearnerReport(
        tutor_version=__version__, content_version=content_version, generated_at=moment,
        learner=learner, labs=[lab_entry(lab, store) for lab in labs],
        quiz=quiz_entry(store, banks, moment), warnings=list(warnings),
        problems=problems, records=dump(store))


def learner_report(store: ProgressStore | None = None) -> LearnerReport:
    """The report of this machine's learner over the installed course (what the CLI writes)."""
    from tutor import locations
    from tutor.engine.labs.loader import load_valid_labs
    from tutor.engine.progress import open_store
    from tutor.engine.quiz.bank import read_banks
    from tutor.engine.report.content import content_version

    store = store or open_store()
    labs, lab_problems = load_valid_labs(locations.labs_dir())
    banks, bank_problems = read_banks(locations.quizzes_dir())
    version = content_version(locations.labs_dir(), locations.quizzes_dir())
    warnings = [*([store.warning] if store.warning else []), *lab_problems, *bank_problems]
    return build_report(store, labs, banks, content_version=version,
                        learner=learner_id(store), warnings=warnings)
