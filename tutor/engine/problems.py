"""Problems learners report with a question or a check: what, their note, and which
content they had, so a teacher sees which items the class disputes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tutor.engine.progress import ProgressStore
from tutor.engine.suggest import did_you_mean
from tutor.errors import TutorError

MAX_NOTE = 2000  # characters kept of a note: a report is a remark, not an essay


@dataclass(frozen=True)
class Item:
    kind: str  # "question" or "check"
    id: str  # a question id, or lab/step[/check]
    title: str


def resolve(item: str, labs_dir: Path, quizzes_dir: Path) -> Item:
    """`sec-001` (a question) or `04-retry-dlq/redrive` (a lab step, optionally
    `/check-id`; the lab may be given by its number, `04/redrive`)."""
    from tutor.engine.labs.loader import load_valid_labs
    from tutor.engine.quiz.bank import read_banks

    text = item.strip().strip("/")
    if "/" not in text:
        banks, _problems = read_banks(quizzes_dir)
        questions = {q.id: q for b in banks for q in b.questions}
        if text in questions:
            return Item("question", text, questions[text].prompt.strip().splitlines()[0])
        hint = did_you_mean(text, questions)
        raise TutorError(f"no question `{text}`" + (f" — {hint}" if hint else ""),
                         "Unknown item", "name a question id (shown above each question) "
                         "or a lab step as LAB/STEP, e.g. 04-retry-dlq/redrive")
    lab_part, step_part, *rest = text.split("/")
    labs, _problems = load_valid_labs(labs_dir)
    lab = next((lab for lab in labs if lab.id == lab_part
                or lab.id.split("-", 1)[0] == lab_part), None)
    if lab is None:
        hint = did_you_mean(lab_part, [lab.id for lab in labs])
        raise TutorError(f"no lab `{lab_part}`" + (f" — {hint}" if hint else ""),
                         "Unknown item", "`tutor lab list` shows the labs")
    steps = {s.id: s for s in lab.spec.steps}
    step = steps.get(step_part)
    if step is None:
        hint = did_you_mean(step_part, steps)
        raise TutorError(f"lab {lab.id} has no step `{step_part}`"
                         + (f" — {hint}" if hint else ""), "Unknown item",
                         "its steps: " + ", ".join(steps))
    checks = [c.id for c in step.checks]
    if rest and rest[0] not in checks:
        hint = did_you_mean(rest[0], checks)
        raise TutorError(f"step {step.id} has no check `{rest[0]}`"
                         + (f" — {hint}" if hint else ""), "Unknown item",
                         "its checks: " + ", ".join(checks))
    ident = "/".join([lab.id, step.id, *rest[:1]])
    return Item("check", ident, step.title)


def report_problem(store: ProgressStore, item: str, note: str, labs_dir: Path,
                   quizzes_dir: Path) -> Item:
    """Record a learner's report about `item` (see `resolve`) with the content version."""
    from tutor.engine.report.content import content_version

    found = resolve(item, labs_dir, quizzes_dir)
    text = " ".join(note.split())[:MAX_NOTE]
    if not text:
        raise TutorError("the report has no note", "Empty report",
                         "say what looks wrong, e.g. \"option b is also right because ...\"")
    store.record_problem(found.kind, found.id, text, content_version(labs_dir, quizzes_dir))
    return found
