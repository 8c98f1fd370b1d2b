"""The bank validator: every bad fixture is rejected with file, question id and field named."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutor import locations
from tutor.engine.quiz.bank import load_banks, validate_banks
from tutor.errors import TutorError

from .helpers import FIXTURES

# fixture -> (question id named, field named, words the message must contain)
BAD = {
    "duplicate_id": ("dup-001", "field id", "duplicate question id"),
    "single_with_two_correct": ("two-correct", "field options", "exactly one"),
    "multiple_choose_mismatch": ("mult-choose", "field options", "`choose: 2` but 3"),
    "option_without_why": ("no-why", "field options[3].why", "must not be empty"),
    "unknown_tag": ("bad-tag", "field tags", "did you mean 'visibility-timeout'"),
    "unknown_domain": ("bad-domain", "field domain", "did you mean 'saa-resilient'"),
    "unknown_pattern": ("bad-pattern", "field patterns", "did you mean 'retry-dlq'"),
    "too_few_options": ("few-options", "field options", "at least 3"),
    "missing_docs": ("no-docs", "field docs", "required"),
    "predict_unknown_scenario": ("pred-bad-name", "field scenario.name",
                                 "did you mean 'visibility_counts'"),
    "predict_unknown_param": ("pred-bad-param", "field scenario.params.messages",
                              "takes no parameter 'messages'"),
    "predict_option_without_outcome": ("pred-no-outcome", "field options", "outcome"),
}


def _alone(name: str, tmp_path: Path) -> Path:
    directory = tmp_path / "quizzes"
    directory.mkdir()
    shutil.copy(FIXTURES / f"{name}.yaml", directory)
    return directory


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_bank_is_rejected_naming_file_question_and_field(name: str, tmp_path: Path
                                                             ) -> None:
    qid, field, words = BAD[name]
    problems = validate_banks(_alone(name, tmp_path))
    assert len(problems) == 1, problems
    line = problems[0]
    assert line.startswith(f"quizzes/{name}.yaml: question {qid}: {field}: "), line
    assert words in line


def test_malformed_yaml_names_file_and_line(tmp_path: Path) -> None:
    problems = validate_banks(_alone("malformed_yaml", tmp_path))
    assert len(problems) == 1
    assert problems[0].startswith("quizzes/malformed_yaml.yaml: bank: field (file): "
                                  "not valid YAML at line 10")


def test_load_banks_raises_a_tutor_error_with_the_first_problem(tmp_path: Path) -> None:
    with pytest.raises(TutorError) as caught:
        load_banks(_alone("unknown_tag", tmp_path))
    assert "unknown_tag.yaml: question bad-tag: field tags" in caught.value.message
    assert "tutor dev check" in caught.value.fix


def test_duplicate_ids_across_files_name_both_files(tmp_path: Path) -> None:
    directory = tmp_path / "quizzes"
    directory.mkdir()
    text = (FIXTURES / "good" / "50-good.yaml").read_text()
    (directory / "a.yaml").write_text(text)
    (directory / "b.yaml").write_text(text.replace("id: good\n", "id: good-copy\n"))
    problems = validate_banks(directory)
    assert len(problems) == 6  # the six questions of the copy
    assert all(p.startswith("quizzes/b.yaml: question good-") and "also in quizzes/a.yaml"
               in p for p in problems)


def test_every_problem_of_a_file_is_reported_not_just_the_first(tmp_path: Path) -> None:
    directory = tmp_path / "quizzes"
    directory.mkdir()
    text = (FIXTURES / "unknown_tag.yaml").read_text()
    text = text.replace("domain: dva-development", "domain: dva-develop")
    (directory / "two.yaml").write_text(text)
    problems = validate_banks(directory)
    assert {p.split(": ")[2] for p in problems} == {"field tags", "field domain"}


def test_the_good_fixture_banks_load() -> None:
    banks = load_banks(FIXTURES / "good")
    assert sorted(b.id for b in banks) == ["good", "good-predict"]


def test_all_shipped_banks_are_valid() -> None:
    """Every bank in quizzes/ (ours and the content writers') passes the validator."""
    assert validate_banks(locations.quizzes_dir()) == []
    banks = load_banks(locations.quizzes_dir())
    predict = [q for b in banks for q in b.questions if q.type == "predict"]
    assert len(predict) >= 12
