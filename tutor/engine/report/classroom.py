"""A class summary from a folder of learners' JSON exports: per learner, lab, step, pointer.

Files that are not tutor reports, or are broken, are named in one-line warnings and left
out; everything else still counts. Exports made from different course content are
flagged (a step may not mean the same thing in both).
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tutor.engine.report.model import FORMAT, FORMAT_VERSION, LearnerReport
from tutor.errors import TutorError

MAX_FILES = 2000  # a class is tens of learners; a bound against pointing at `/`
MAX_BYTES = 20 * 1024 * 1024
STRUGGLES = 5  # how many steps and pointers "where the class struggles" lists
_NOT_EXPORTS = {"node_modules", "__pycache__", ".venv", "venv"}
MIN_ANSWERS = 3  # a pointer ranks among the struggles on this much evidence (when any has)


@dataclass
class Export:
    path: Path
    report: LearnerReport

    @property
    def name(self) -> str:
        return self.report.learner or f"({self.path.stem})"


@dataclass
class Loaded:
    folder: Path
    exports: list[Export]
    warnings: list[str]


def read_export(path: Path) -> LearnerReport | str:
    """The report in a file, or why it is not one (one line)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return f"larger than {MAX_BYTES // 2**20} MiB, not a tutor report"
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        return f"unreadable ({exc})"
    except json.JSONDecodeError as exc:
        return f"not valid JSON (line {exc.lineno}: {exc.msg})"
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        return f'not a tutor report (no "format": "{FORMAT}")'
    version = data.get("format_version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        return (f"report format version {version!r}, this tutor reads up to "
                f"{FORMAT_VERSION} (upgrade the tutor)")
    try:
        return LearnerReport.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        return f"malformed report: {where}: {first['msg']}"


def load_exports(folder: Path) -> Loaded:
    """Every tutor report (`*.json`) under `folder`; the rest become warnings."""
    if not folder.is_dir():
        raise TutorError(f"{folder} is not a folder", "No such folder",
                         "give the folder where you collected the learners' "
                         "`tutor report` JSON files")
    warnings: list[str] = []
    # Hidden folders (.git) and installed packages of cloned repositories hold no exports.
    files = sorted(p for p in folder.rglob("*.json")
                   if p.is_file() and not p.name.startswith(".")
                   and not any(part.startswith(".") or part in _NOT_EXPORTS
                               for part in p.relative_to(folder).parts[:-1]))
    if len(files) > MAX_FILES:
        warnings.append(f"{folder}: {len(files)} JSON files, only the first {MAX_FILES} read")
        files = files[:MAX_FILES]
    by_learner: dict[str, Export] = {}
    exports: list[Export] = []
    for path in files:
        found = read_export(path)
        if isinstance(found, str):
            warnings.append(f"{path}: skipped, {found}")
            continue
        export = Export(path, found)
        key = found.learner
        if key is not None and key in by_learner:
            older, newer = sorted([by_learner[key], export],
                                  key=lambda e: e.report.generated_at)
            warnings.append(f"{older.path}: skipped, {key!r} has a newer export {newer.path}")
            exports.remove(by_learner[key])
            export = newer
        if key is not None:
            by_learner[key] = export
        exports.append(export)
    if not exports:
        raise TutorError(f"no tutor reports in {folder}", "No exports found",
                         "ask each learner for `tutor report -o NAME.json` and put the "
                         "files in that folder" + (f" ({len(warnings)} file(s) skipped: "
                                                   f"{warnings[0]})" if warnings else ""))
    return Loaded(folder, sorted(exports, key=lambda e: e.name), warnings)


def rate(good: int, total: int) -> float | None:
    return round(100 * good / total, 1) if total else None


@dataclass
class LearnerRow:
    name: str
    file: str
    content_version: str
    tutor_version: str
    other_content: bool
    labs_started: int
    labs_completed: int
    steps_passed: int
    steps_total: int
    score: float
    max_score: float
    attempts: int
    active_seconds: float
    quiz_answered: int
    quiz_correct: int
    quiz_seconds: float  # per-answer practice times plus submitted exams' durations
    best_exam: int | None
    due_cards: int
    labs: dict[str, tuple[str, float]] = field(default_factory=dict)  # id -> (status, %)

    @property
    def percent(self) -> float | None:
        return rate(int(1000 * self.score), int(1000 * self.max_score))


@dataclass
class StepRow:
    lab_id: str
    step_id: str
    title: str
    pointers: list[str]
    attempted: int = 0  # learners who checked the step at least once
    passed: int = 0  # learners whose latest check passed
    attempts: int = 0  # checks, all learners together

    @property
    def pass_rate(self) -> float | None:
        return rate(self.passed, self.attempted)

    @property
    def mean_attempts(self) -> float:
        return round(self.attempts / self.attempted, 1) if self.attempted else 0.0


@dataclass
class LabRow:
    lab_id: str
    title: str
    started: int = 0
    completed: int = 0
    percents: list[float] = field(default_factory=list)  # of learners who started it
    active: list[float] = field(default_factory=list)

    @property
    def mean_percent(self) -> float | None:
        return round(sum(self.percents) / len(self.percents), 1) if self.percents else None

    @property
    def median_active_seconds(self) -> float | None:
        values = sorted(self.active)
        return values[len(values) // 2] if values else None


@dataclass
class TallyRow:
    id: str
    name: str
    correct: int = 0
    total: int = 0
    learners: int = 0
    lab_passed: int = 0  # pointers: learner x step pairs passed / attempted on this pointer
    lab_attempted: int = 0

    @property
    def percent(self) -> float | None:
        return rate(self.correct, self.total)

    @property
    def lab_rate(self) -> float | None:
        return rate(self.lab_passed, self.lab_attempted)


@dataclass
class DisputeRow:
    """One question or check that learners reported a problem with."""

    kind: str
    item: str
    learners: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # "learner: note (content version)"


@dataclass
class ClassSummary:
    folder: str
    generated_at: datetime
    learners: list[LearnerRow]
    labs: list[LabRow]
    steps: list[StepRow]
    pointers: list[TallyRow]
    domains: list[TallyRow]
    exam_domains: list[TallyRow]
    hardest_steps: list[StepRow]
    hardest_pointers: list[TallyRow]
    versions: dict[str, list[str]]  # content version -> learners
    main_version: str
    warnings: list[str]
    disputes: list[DisputeRow] = field(default_factory=list)  # most learners first

    @property
    def mixed_versions(self) -> bool:
        return len(self.versions) > 1


def _learner_row(export: Export, main_version: str) -> LearnerRow:
    r = export.report
    exams = [e.scaled_score for e in r.quiz.exams if e.scaled_score is not None]
    steps = [s for lab in r.labs for s in lab.steps]
    return LearnerRow(
        name=export.name, file=export.path.name, content_version=r.content_version,
        tutor_version=r.tutor_version, other_content=r.content_version != main_version,
        labs_started=sum(lab.status != "not_started" for lab in r.labs),
        labs_completed=sum(lab.status == "completed" for lab in r.labs),
        steps_passed=sum(s.status in ("passed", "skipped") for s in steps),
        steps_total=len(steps), score=sum(lab.score for lab in r.labs),
        max_score=sum(lab.max_score for lab in r.labs),
        attempts=sum(s.attempts for s in steps),
        active_seconds=sum(lab.time.active_seconds for lab in r.labs),
        quiz_answered=r.quiz.answered, quiz_correct=r.quiz.correct,
        quiz_seconds=r.quiz.practice_seconds + r.quiz.exam_seconds,
        best_exam=max(exams) if exams else None, due_cards=r.quiz.due_cards,
        labs={lab.id: (lab.status, lab.percent) for lab in r.labs})


def summarize(loaded: Loaded, now: datetime | None = None) -> ClassSummary:
    """Aggregate the exports: labs and steps in course order, pointers and domains by id."""
    exports = loaded.exports
    versions: dict[str, list[str]] = defaultdict(list)
    for e in exports:
        versions[e.report.content_version].append(e.name)
    counts = Counter({v: len(names) for v, names in versions.items()})
    main_version = counts.most_common(1)[0][0] if counts else ""
    warnings = list(loaded.warnings)
    if len(versions) > 1:
        others = [f"{', '.join(n)} ({v})" for v, n in versions.items() if v != main_version]
        warnings.append(f"mixed content versions: most learners ran {main_version}; "
                        f"other content: {'; '.join(others)}")
    labs: dict[str, LabRow] = {}
    steps: dict[tuple[str, str], StepRow] = {}
    pointers: dict[str, TallyRow] = {}
    domains: dict[str, TallyRow] = {}
    exam_domains: dict[str, TallyRow] = {}
    for export in exports:
        seen_pointers: set[str] = set()
        for lab in export.report.labs:
            row = labs.setdefault(lab.id, LabRow(lab.id, lab.title))
            if lab.status != "not_started":
                row.started += 1
                row.percents.append(lab.percent)
                row.active.append(lab.time.active_seconds)
            row.completed += lab.status == "completed"
            for step in lab.steps:
                srow = steps.setdefault((lab.id, step.id),
                                        StepRow(lab.id, step.id, step.title, step.pointers))
                if step.attempts == 0:
                    continue
                ok = step.status in ("passed", "skipped")
                srow.attempted += 1
                srow.passed += ok
                srow.attempts += step.attempts
                for pointer in step.pointers:
                    prow = pointers.setdefault(pointer, TallyRow(pointer, pointer))
                    prow.lab_attempted += 1
                    prow.lab_passed += ok
        for tally in export.report.quiz.by_pointer:
            prow = pointers.setdefault(tally.id, TallyRow(tally.id, tally.name or tally.id))
            prow.correct += tally.correct
            prow.total += tally.total
            if tally.total and tally.id not in seen_pointers:
                prow.learners += 1
                seen_pointers.add(tally.id)
        for tally in export.report.quiz.by_domain:
            drow = domains.setdefault(tally.id, TallyRow(tally.id, tally.name or tally.id))
            drow.correct += tally.correct
            drow.total += tally.total
            drow.learners += bool(tally.total)
        for exam in export.report.quiz.exams:
            for tally in exam.domains:
                erow = exam_domains.setdefault(tally.id, TallyRow(tally.id, tally.name))
                erow.correct += tally.correct
                erow.total += tally.total
    disputes: dict[tuple[str, str], DisputeRow] = {}
    for export in exports:
        for problem in export.report.problems:
            dispute = disputes.setdefault((problem.kind, problem.item),
                                          DisputeRow(problem.kind, problem.item))
            if export.name not in dispute.learners:
                dispute.learners.append(export.name)
            dispute.notes.append(f"{export.name}: {problem.note} ({problem.content_version})")
    step_rows = list(steps.values())
    hardest_steps = sorted((s for s in step_rows if s.attempted),
                           key=lambda s: (s.pass_rate or 0.0, -s.mean_attempts, -s.attempted,
                                          s.lab_id, s.step_id))[:STRUGGLES]
    pointer_rows = sorted(pointers.values(), key=lambda p: p.id)
    # One wrong answer is not a pattern: rank the pointers with enough answers, if any.
    candidates = [p for p in pointer_rows if p.total >= MIN_ANSWERS] or \
        [p for p in pointer_rows if p.total]
    hardest_pointers = sorted(candidates,
                              key=lambda p: (p.percent or 0.0, -p.total, p.id))[:STRUGGLES]
    return ClassSummary(
        folder=str(loaded.folder), generated_at=now or datetime.now(UTC),
        learners=[_learner_row(e, main_version) for e in exports],
        labs=sorted(labs.values(), key=lambda lab: lab.lab_id), steps=step_rows,
        pointers=pointer_rows, domains=sorted(domains.values(), key=lambda d: d.id),
        exam_domains=sorted(exam_domains.values(), key=lambda d: d.id),
        hardest_steps=hardest_steps, hardest_pointers=hardest_pointers,
        versions=dict(versions), main_version=main_version, warnings=warnings,
        disputes=sorted(disputes.values(), key=lambda d: (-len(d.learners), d.item)))


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"


def percent(value: float | None) -> str:
    return "-" if value is None else f"{value:g}%"


def to_dict(summary: ClassSummary) -> dict[str, Any]:
    """Plain data (for tests and scripts): the rows with their computed rates."""
    def step(s: StepRow) -> dict[str, Any]:
        return {"lab": s.lab_id, "step": s.step_id, "title": s.title, "attempted": s.attempted,
                "passed": s.passed, "pass_rate": s.pass_rate, "attempts": s.attempts,
                "mean_attempts": s.mean_attempts}

    def tally(t: TallyRow) -> dict[str, Any]:
        return {"id": t.id, "name": t.name, "correct": t.correct, "total": t.total,
                "percent": t.percent, "learners": t.learners, "lab_passed": t.lab_passed,
                "lab_attempted": t.lab_attempted}

    return {
        "learners": [vars(r) | {"percent": r.percent} for r in summary.learners],
        "labs": [{"lab": lab.lab_id, "started": lab.started, "completed": lab.completed,
                  "mean_percent": lab.mean_percent,
                  "median_active_seconds": lab.median_active_seconds} for lab in summary.labs],
        "steps": [step(s) for s in summary.steps],
        "hardest_steps": [step(s) for s in summary.hardest_steps],
        "pointers": [tally(p) for p in summary.pointers],
        "hardest_pointers": [tally(p) for p in summary.hardest_pointers],
        "domains": [tally(d) for d in summary.domains],
        "exam_domains": [tally(d) for d in summary.exam_domains],
        "disputes": [vars(d) for d in summary.disputes],
        "versions": summary.versions, "main_version": summary.main_version,
        "warnings": summary.warnings,
    }
