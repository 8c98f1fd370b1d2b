"""Problem reports, `tutor import` and the weak-spots export, through the real CLI."""

from __future__ import annotations

import csv
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from tutor import cli, locations
from tutor.engine.quiz.srs import feed_failed_check
from tutor.errors import EXIT_ERROR

from . import helpers


def _export(tmp_path: Path, name: str) -> Path:
    path = tmp_path / f"{name}.json"
    assert cli.main(["report", "-o", str(path)]) == 0
    return path


def test_a_reported_problem_reaches_the_report_and_the_class_report(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    exports = tmp_path / "exports"
    for name, items in (("ada", ["sec-001", "04/create-dlq"]), ("bob", ["sec-001"])):
        helpers.use_home(monkeypatch, tmp_path / name, name)
        for item in items:
            assert cli.main(["problem", item, f"{name} thinks", "b is right too"]) == 0
            assert "Recorded your report" in capsys.readouterr().out
        report = json.loads(_export(exports, name).read_text())
        assert {p["item"] for p in report["problems"]} == \
            {i.replace("04/", "04-retry-dlq/") for i in items}
        assert all(p["content_version"].startswith("sha256:") for p in report["problems"])
    capsys.readouterr()
    assert cli.main(["problem", "sec-0001", "typo"]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert "no question `sec-0001`" in err and "did you mean" in err and err.count("\n") == 1
    assert cli.main(["problem", "04/no-such-step", "x"]) == EXIT_ERROR
    assert "lab 04-retry-dlq has no step" in capsys.readouterr().err

    page = tmp_path / "class.html"
    assert cli.main(["class-report", str(exports), "-o", str(page)]) == 0
    out = capsys.readouterr().out
    assert "Disputed questions and checks" in out and "question sec-001" in out
    html = page.read_text()
    assert "Disputed questions and checks" in html and "bob: bob thinks b is right too" in html
    from tutor.engine.report.classroom import load_exports, summarize

    disputes = summarize(load_exports(exports)).disputes
    assert [(d.item, sorted(d.learners)) for d in disputes] == [
        ("sec-001", ["ada", "bob"]), ("04-retry-dlq/create-dlq", ["ada"])]


def test_import_merges_once_and_never_loses_local_answers(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    laptop = helpers.use_home(monkeypatch, tmp_path / "laptop", "ada")
    helpers.practice(laptop, "fifo", right=2, wrong=1)
    helpers.exam(laptop, right=True, count=4)
    lab = helpers.lab()
    helpers.check(lab, laptop, "create-dlq", [1, 1, 0, 1])
    cli.main(["problem", "fifo-001", "unclear"])
    carried = _export(tmp_path, "laptop")
    laptop.close()

    desktop = helpers.use_home(monkeypatch, tmp_path / "desktop", "ada")
    helpers.practice(desktop, "dlq-redrive", right=1, wrong=1, seed=9)
    local = desktop.answers()
    capsys.readouterr()
    assert cli.main(["import", str(carried)]) == 0
    assert "added" in capsys.readouterr().out
    merged = desktop.answers()
    assert len(merged) == len(local) + 3 + 4
    assert all(a in merged for a in local)
    assert len(desktop.step_history(lab.id)) == 1 and len(desktop.problems()) == 1
    assert any(e["finished_at"] for e in desktop.exams())
    snapshot = (desktop.answers(), desktop.cards(), desktop.exams(), desktop.problems(),
                desktop.step_history(lab.id))
    assert cli.main(["import", str(carried)]) == 0  # again: nothing changes
    assert "nothing new" in capsys.readouterr().out
    assert snapshot == (desktop.answers(), desktop.cards(), desktop.exams(),
                        desktop.problems(), desktop.step_history(lab.id))


def test_import_refuses_what_it_cannot_merge_and_changes_nothing(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    other = helpers.use_home(monkeypatch, tmp_path / "bob", "bob")
    helpers.practice(other, "fifo", right=1, wrong=0)
    bobs = _export(tmp_path, "bob")
    data = json.loads(bobs.read_text())
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(data | {"records": data["records"] | {"schema": 99}}))
    older = tmp_path / "older.json"
    older.write_text(json.dumps({k: v for k, v in data.items() if k != "records"}))
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"format": "something-else"}))
    (tmp_path / "report.csv").write_text("id,learner\n")

    mine = helpers.use_home(monkeypatch, tmp_path / "ada", "ada")
    capsys.readouterr()
    for path, words in ((bobs, "is the progress of learner `bob`"),
                        (newer, "written by a newer tutor"),
                        (older, "carries no progress records"),
                        (foreign, "not a tutor report"),
                        (tmp_path / "report.csv", "not valid JSON"),
                        (tmp_path / "missing.json", "does not exist")):
        assert cli.main(["import", str(path)]) == EXIT_ERROR, path
        err = capsys.readouterr().err
        assert words in err and err.count("\n") == 1, err
    assert mine.answers() == []
    assert cli.main(["import", "--other-learner", str(bobs)]) == 0
    assert len(mine.answers()) == 1


def test_weak_spots_go_to_anki_and_csv_with_explanations(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    store = helpers.use_home(monkeypatch, tmp_path / "home", "ada")
    assert cli.main(["quiz", "export", "--csv", str(tmp_path / "none.csv")]) == EXIT_ERROR
    assert "no weak spots" in capsys.readouterr().err
    helpers.practice(store, "fifo", right=1, wrong=2)
    made_due = feed_failed_check(store, ["redrive"], quizzes=locations.quizzes_dir(), limit=2)
    assert len(made_due) == 2
    deck, sheet = tmp_path / "weak.apkg", tmp_path / "weak.csv"
    assert cli.main(["quiz", "export", "--anki", str(deck), "--csv", str(sheet)]) == 0
    assert "(4 question(s))" in capsys.readouterr().out
    rows = list(csv.DictReader(sheet.open(encoding="utf-8")))
    assert [r["why_here"] for r in rows].count("answered wrong") == 2
    assert {r["id"] for r in rows if r["why_here"].startswith("a lab check")} == set(made_due)
    assert all(r["explanation"] and r["docs"] and r["answer"] for r in rows)
    with zipfile.ZipFile(deck) as package:
        package.extract("collection.anki2", tmp_path)
    notes = sqlite3.connect(tmp_path / "collection.anki2").execute(
        "SELECT flds, tags FROM notes").fetchall()
    assert len(notes) == 4
    fields = notes[0][0].split("\x1f")
    assert fields[0] in {r["id"] for r in rows} and "AWS documentation" in fields[5]
    assert "<li><b>right</b>" in fields[4]
