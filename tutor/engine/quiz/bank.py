"""Loading and validating question banks: every problem names its file, question and field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tutor.engine.content_yaml import parse_yaml
from tutor.engine.quiz.model import Bank, Question
from tutor.errors import TutorError

# Fields of a bank other than `questions`; validated on their own so that one bad question
# does not hide the others.
_BANK_FIELDS = ("format", "id", "title", "description")
_FIELD_TAG = re.compile(r"^\[([\w.]+)\] ")
_FRIENDLY = {"missing": "required field is missing", "string_too_short": "must not be empty",
             "extra_forbidden": "unknown field (quizzes/SCHEMA.md lists the fields)"}


def bank_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir()
                  if p.is_file() and p.suffix in {".yaml", ".yml"}) if directory.is_dir() else []


def validate_banks(directory: Path) -> list[str]:
    """Every problem in every bank of `directory`, one line each; [] when all is well."""
    _banks, problems = _load(directory)
    return problems


def load_banks(directory: Path) -> list[Bank]:
    """The banks of `directory`; a TutorError naming file, question and field if any is bad."""
    banks, problems = _load(directory)
    if problems:
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        raise TutorError(problems[0] + more, "Invalid question bank",
                         "fix the file (quizzes/SCHEMA.md describes the format), then run "
                         "`tutor dev check` to list every problem")
    return banks


def read_banks(directory: Path) -> tuple[list[Bank], list[str]]:
    """The banks that are valid on their own, and every problem (for tools that go on)."""
    return _load(directory)


def all_questions(banks: list[Bank]) -> dict[str, tuple[Bank, Question]]:
    return {q.id: (b, q) for b in banks for q in b.questions}


def _load(directory: Path) -> tuple[list[Bank], list[str]]:
    banks: list[Bank] = []
    problems: list[str] = []
    if not directory.is_dir():
        return [], [f"{directory}: the quizzes directory does not exist"]
    seen_questions: dict[str, str] = {}
    seen_banks: dict[str, str] = {}
    for path in bank_files(directory):
        name = f"{path.parent.name}/{path.name}"
        bank, found = _load_file(path, name)
        problems.extend(found)
        if bank is None:
            continue
        if bank.id in seen_banks:
            problems.append(f"{name}: bank: field id: duplicate bank id '{bank.id}', also "
                            f"in {seen_banks[bank.id]}")
        seen_banks.setdefault(bank.id, name)
        for question in bank.questions:
            if question.id in seen_questions:
                problems.append(f"{name}: question {question.id}: field id: duplicate "
                                f"question id, also in {seen_questions[question.id]}")
            seen_questions.setdefault(question.id, name)
        banks.append(bank)
    return banks, problems


def _load_file(path: Path, name: str) -> tuple[Bank | None, list[str]]:
    try:
        raw = parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return None, [f"{name}: bank: field (file): not valid YAML{where}: {problem}"]
    except (OSError, UnicodeDecodeError) as exc:
        return None, [f"{name}: bank: field (file): cannot read it: {exc}"]
    if not isinstance(raw, dict):
        return None, [f"{name}: bank: field (file): expected a mapping with format, id, "
                      f"title, description and questions, found {type(raw).__name__}"]
    problems: list[str] = []
    header = {k: raw.get(k) for k in _BANK_FIELDS if k in raw}
    for key in raw:
        if key not in (*_BANK_FIELDS, "questions"):
            problems.append(f"{name}: bank: field {key}: unknown field (allowed: "
                            f"{', '.join(_BANK_FIELDS)}, questions)")
    items = raw.get("questions")
    if not isinstance(items, list) or not items:
        problems.append(f"{name}: bank: field questions: expected a non-empty list of "
                        "questions")
        items = []
    questions: list[Question] = []
    for index, item in enumerate(items):
        qid = item.get("id") if isinstance(item, dict) else None
        label = qid if isinstance(qid, str) and qid else f"#{index + 1}"
        try:
            question = Question.model_validate(item)
        except ValidationError as exc:
            problems.extend(f"{name}: question {label}: {line}" for line in _lines(exc))
            continue
        problems.extend(f"{name}: question {label}: {line}" for line in _scenario_lines(question))
        questions.append(question)
    try:
        Bank.model_validate(header | {"questions": [{}]})
    except ValidationError as exc:
        problems.extend(f"{name}: bank: {line}" for line in _lines(exc)
                        if not line.startswith("field questions"))
    if problems:
        return None, problems
    # Validated questions pass through as they are (pydantic does not revalidate instances).
    bank = Bank.model_validate(header | {"questions": questions})
    return bank.model_copy(update={"path": path}), []


def _lines(exc: ValidationError) -> list[str]:
    lines = []
    for err in exc.errors():
        msg = _FRIENDLY.get(err["type"]) or str(err["msg"]).removeprefix("Value error, ")
        field = _field(err["loc"])
        tagged = _FIELD_TAG.match(msg)
        if tagged:
            field, msg = tagged.group(1), msg[tagged.end():]
        lines.append(f"field {field or '(question)'}: {msg}")
    return lines


def _field(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            parts[-1:] = [f"{parts[-1] if parts else ''}[{part + 1}]"]
        elif not parts or part not in {"function-after", "union"}:
            parts.append(str(part))
    return ".".join(parts)


def _scenario_lines(question: Question) -> list[str]:
    if question.scenario is None:
        return []
    from tutor.engine.quiz.scenarios import check_scenario

    return [f"field {field}: {msg}" for field, msg in check_scenario(question)]
