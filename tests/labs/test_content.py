"""Lab content validation: bad fixtures, named after their failure, name file, step and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor import locations
from tutor.engine.labs.builtins import BUILTINS
from tutor.engine.labs.loader import LabContentError, get_lab, load_lab, validate_labs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "labs"

# fixture -> fragments every problem list must contain (file, step, field, fix)
EXPECTED: dict[str, list[str]] = {
    "missing_field": ["lab.yaml", "field `title`", "required field is missing", "add `title:`"],
    "unknown_field": ["lab.yaml", "step `make-queue` (steps[0])", "field `hintz`",
                      "did you mean `hints`?"],
    "unknown_check": ["lab.yaml", "step `make-queue` (steps[0])", "field `checks[0].check`",
                      "unknown check `queue_exist`", "did you mean `queue_exists`?"],
    "duplicate_step_id": ["lab.yaml", "field `steps`", "step id `make-queue` is used twice"],
    "duplicate_check_id": ["lab.yaml", "step `make-queue`", "field `checks`",
                           "check id `queue-exists` is used twice"],
    "bad_weight": ["lab.yaml", "step `make-queue` (steps[0])", "field `checks[0].weight`",
                   "greater than 0", "got -1"],
    "malformed_yaml": ["lab.yaml line 4 column", "malformed YAML", "indentation"],
    "unknown_tag": ["lab.yaml", "field `exam.pointers`", "unknown tag `decoupleing`",
                    "did you mean `decoupling`?"],
    "missing_readme": ["README.md", "missing"],
    "no_todo": ["starter", "no TODO marker"],
    "bad_format_version": ["lab.yaml", "field `format`", "format 7 is not supported"],
    "unknown_scenario": ["lab.yaml", "step `measure` (steps[1])", "field `scenarios[0]`",
                         "did you mean `run_calls`?"],
    "missing_solution_file": ["lab.yaml", "step `measure` (steps[1])",
                              "field `solution.files`", "`calls.py` is not in solution/"],
    "checks_import_error": ["checks.py", "importing it failed", "no_such_module_here"],
    "no_hints": ["lab.yaml", "step `measure` (steps[1])", "field `hints`", "at least 1"],
}


def test_every_bad_fixture_is_covered() -> None:
    names = {p.name for p in FIXTURES.iterdir() if p.is_dir()} - {"valid", "engine"}
    assert names == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_fixture_names_file_step_field(name: str) -> None:
    with pytest.raises(LabContentError) as caught:
        load_lab(FIXTURES / name)
    text = "\n".join(caught.value.problems)
    for fragment in EXPECTED[name]:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    assert str(FIXTURES / name) in text  # the file is named with its full path
    # One-line error for the CLI, with a fix.
    assert caught.value.fix and caught.value.message


def test_valid_fixture_loads_with_its_functions() -> None:
    lab = load_lab(FIXTURES / "valid")
    assert lab.id == "99-valid" and lab.prefix == "lab99-"
    assert set(lab.checks) == {"queue_exists", "visibility_is", "calls_counted",
                               "connections_counted"} | set(BUILTINS)  # builtins.py
    assert set(lab.scenarios) == {"run_calls"}
    assert lab.step("measure").max_score == 2
    assert lab.tags(lab.step("measure")) == ["decoupling"]
    assert lab.clock.explain("visibility_timeout") == (
        "visibility timeout: 6 s here = 6 min in production (compressed sixty times)")


def test_folder_name_must_equal_id(tmp_path: Path) -> None:
    import shutil

    target = tmp_path / "42-other-name"
    shutil.copytree(FIXTURES / "valid", target)
    with pytest.raises(LabContentError) as caught:
        load_lab(target)
    assert "differs from the folder name `42-other-name`" in caught.value.problems[0]


def test_get_lab_by_number_slug_and_did_you_mean(monkeypatch: pytest.MonkeyPatch) -> None:
    from tutor.errors import TutorError

    assert get_lab("4").id == "04-retry-dlq"
    assert get_lab("retry-dlq").id == "04-retry-dlq"
    with pytest.raises(TutorError) as caught:
        get_lab("04-retry-dql")
    assert "did you mean `04-retry-dlq`?" in caught.value.fix


def test_the_course_labs_are_valid() -> None:
    assert validate_labs(locations.labs_dir()) == []
