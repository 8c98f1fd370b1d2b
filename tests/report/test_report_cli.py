"""`tutor report` and `tutor class-report` through the real CLI entry point."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tutor import cli
from tutor.engine.labs import api
from tutor.errors import EXIT_ERROR

from . import helpers


@pytest.fixture
def ada(monkeypatch: pytest.MonkeyPatch, tutor_home: Path) -> Path:
    store = helpers.use_home(monkeypatch, tutor_home, "ada")
    lab = helpers.lab()
    api.start_lab(lab, store=store)
    helpers.check(lab, store, "create-dlq", [1, 1, 0, 1])
    helpers.practice(store, "fifo", right=1, wrong=1)
    store.close()
    return tutor_home


def test_one_format_goes_to_stdout(ada: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["learner"] == "ada" and data["quiz"]["answered"] == 2
    assert cli.main(["report", "--format", "junit"]) == 0
    root = ET.fromstring(capsys.readouterr().out)
    failure = root.find("testsuite[@package='labs.04-retry-dlq']/testcase/failure")
    assert failure is not None
    assert "Expected redrive-allow to be right" in failure.get("message", "")
    assert cli.main(["report", "--format", "csv"]) == 0
    rows = list(csv.DictReader(capsys.readouterr().out.splitlines()))
    assert {r["learner"] for r in rows} == {"ada"}


def test_all_formats_into_a_folder_and_one_into_a_file(
        ada: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hand-in"
    assert cli.main(["report", "--format", "all", "-o", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == [
        "tutor-report-ada.csv", "tutor-report-ada.json", "tutor-report-ada.junit.xml"]
    assert "wrote" in capsys.readouterr().err
    assert cli.main(["report", "-o", f"{tmp_path / 'new-folder'}/"]) == 0
    assert [p.name for p in (tmp_path / "new-folder").iterdir()] == ["tutor-report-ada.json"]
    single = tmp_path / "mine.xml"
    assert cli.main(["report", "--format", "junit", "-o", str(single)]) == 0
    assert ET.parse(single).getroot().tag == "testsuites"


def test_output_errors_are_one_line(ada: Path, tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    assert cli.main(["report", "-o", str(blocker / "report.json")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot write {blocker / 'report.json'}") and \
        err.count("\n") == 1
    assert cli.main(["report", "--format", "all", "-o", str(blocker)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "is a file, and several formats need a folder" in err and err.count("\n") == 1


def test_class_report_command(ada: Path, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    exports = tmp_path / "exports"
    assert cli.main(["report", "-o", str(exports / "ada.json")]) == 0
    (exports / "broken.json").write_text("{")
    page = tmp_path / "class.html"
    capsys.readouterr()
    assert cli.main(["class-report", str(exports), "-o", str(page)]) == 0
    captured = capsys.readouterr()
    assert "Where the class struggles most" in captured.out and "ada" in captured.out
    assert f"warning: {exports / 'broken.json'}: skipped, not valid JSON" in captured.err
    assert f"wrote {page} (1 learner(s))" in captured.err
    assert "<td>ada</td>" in page.read_text()

    assert cli.main(["class-report", str(tmp_path / "missing")]) == EXIT_ERROR
    assert "is not a folder" in capsys.readouterr().err
    empty = tmp_path / "empty"
    empty.mkdir()
    assert cli.main(["class-report", str(empty)]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert err.startswith(f"error: no tutor reports in {empty}") and err.count("\n") == 1
    assert cli.main(["class-report", str(exports), "-o", str(exports / "ada.json" / "x")]) \
        == EXIT_ERROR
    assert "cannot write" in capsys.readouterr().err


def test_command_module_imports_stay_light() -> None:
    code = ("import sys, tutor.commands.report; "
            "print(sorted(m for m in sys.modules if m.startswith(('tutor.engine', 'rich', "
            "'pydantic'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "[]"
    out = subprocess.run([sys.executable, "-m", "tutor", "--help"], capture_output=True,
                         text=True, timeout=60, check=True)
    assert "class-report" in out.stdout and "report" in out.stdout
