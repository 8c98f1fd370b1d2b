"""The lab commands end to end through `tutor.cli.main`, on the fixture lab."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tutor.cli import main

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "labs"


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "labs"
    root.mkdir()
    shutil.copytree(FIXTURES / "valid", root / "99-valid")
    monkeypatch.setenv("TUTOR_LABS_DIR", str(root))
    monkeypatch.setenv("TUTOR_WORKSPACE", str(tmp_path / "work"))
    return root


def _json(capsys: pytest.CaptureFixture[str], argv: list[str], code: int = 0) -> object:
    assert main(argv) == code
    return json.loads(capsys.readouterr().out)


def test_labs_show_start_hint(course: Path, capsys: pytest.CaptureFixture[str],
                              tmp_path: Path) -> None:
    rows = _json(capsys, ["labs", "--json"])
    assert rows == [{"id": "99-valid", "title": "A small valid lab for the engine's tests",
                     "minutes": 5, "steps": 2, "steps_passed": 0, "started": False,
                     "completed": False}]
    shown = _json(capsys, ["lab", "show", "99", "--json"])
    assert isinstance(shown, dict) and shown["prefix"] == "lab99-"
    assert shown["clock_explained"] == [
        "visibility timeout: 6 s here = 6 min in production (compressed sixty times)"]
    started = _json(capsys, ["lab", "start", "99", "--json"])
    assert isinstance(started, dict)
    assert Path(started["workspace"]) == tmp_path / "work" / "99-valid"
    hint = _json(capsys, ["lab", "hint", "99", "--json"])
    assert isinstance(hint, dict) and hint["step"] == "make-queue" and hint["index"] == 0
    assert main(["lab", "solution", "99", "--step", "make-queue"]) == 2  # not yet
    assert "last hint" in capsys.readouterr().err


def test_unknown_lab_is_a_one_line_error(course: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lab", "show", "99-vaild"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: No lab `99-vaild`") and "did you mean `99-valid`?" in err


@pytest.mark.localstack
def test_check_solution_reset_and_watch(course: Path, localstack: Endpoint,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    ep = ["--endpoint", localstack.url]
    assert main(["lab", "start", "99"]) == 0
    capsys.readouterr()
    report = _json(capsys, [*ep, "lab", "check", "99", "--json"], code=1)
    assert isinstance(report, dict) and report["passed"] is False
    assert [s["status"] for s in report["steps"]] == ["failed", "blocked"]
    applied = _json(capsys, [*ep, "lab", "solution", "99", "--apply", "--force", "--json"])
    assert isinstance(applied, dict) and "make-queue: ran make_queue.py" in applied["applied"]
    assert main([*ep, "lab", "check", "99"]) == 0
    out = capsys.readouterr().out
    assert "All steps pass" in out and "Score 5/5" in out
    assert main([*ep, "lab", "watch", "99", "--max-runs", "1"]) == 0  # one check, then exit
    assert "Score 5/5" in capsys.readouterr().out
    reset = _json(capsys, [*ep, "lab", "reset", "99", "--json"])
    assert isinstance(reset, dict) and reset["left"] == {}
    assert [u.rsplit("/", 1)[-1] for u in reset["deleted"]["sqs"]] == ["lab99-things"]
