"""`tutor class-report`: three learners, one on other content, a corrupt and a foreign file."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from tutor.commands.classtable import print_summary
from tutor.engine.labs import api
from tutor.engine.report import export
from tutor.engine.report.build import learner_report
from tutor.engine.report.classhtml import to_html
from tutor.engine.report.classroom import load_exports, summarize, to_dict
from tutor.engine.report.model import LearnerReport
from tutor.errors import TutorError

from . import helpers


def _export(report: LearnerReport, folder: Path) -> None:
    export.write(report, ["json", "junit", "csv"], folder)


@pytest.fixture(scope="module")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder as a teacher collects it: each learner's three files, plus strays."""
    root = tmp_path_factory.mktemp("class")
    folder = root / "exports"
    with pytest.MonkeyPatch.context() as mp:
        store = helpers.use_home(mp, root / "ada", "ada")
        lab = helpers.lab()
        api.start_lab(lab, store=store)
        helpers.check(lab, store, "create-dlq", [0, 0, 0, 0])
        helpers.check(lab, store, "create-dlq", [1, 1, 1, 1])
        helpers.check(lab, store, "visibility", [1, 0])
        helpers.practice(store, "dlq-redrive", right=3, wrong=1)
        helpers.exam(store, right=True)
        _export(learner_report(store), folder / "ada")

        store = helpers.use_home(mp, root / "bo", "bo")
        for _ in range(3):
            helpers.check(lab, store, "create-dlq", [1, 0, 0, 1])
        helpers.practice(store, "dlq-redrive", right=0, wrong=3)
        helpers.exam(store, right=False)
        _export(learner_report(store), folder / "bo")

        store = helpers.use_home(mp, root / "cy", "cy")
        helpers.check(lab, store, "create-dlq", [1, 1, 1, 1])
        helpers.check(lab, store, "visibility", [1, 1])
        buffer = helpers.lab("02-write-buffering")
        helpers.check(buffer, store, "buffer-queue",
                      [0.0] * len(buffer.step("buffer-queue").checks))
        helpers.practice(store, "visibility-polling", right=2, wrong=0)
        _export(learner_report(store), folder / "cy")

        # dee ran an older checkout: only lab 04, with a different README
        labs, quizzes = helpers.copy_course(root / "old-course", [helpers.RETRY_LAB])
        readme = labs / helpers.RETRY_LAB / "README.md"
        readme.write_text(readme.read_text() + "\nAn older wording.\n")
        mp.setenv("TUTOR_LABS_DIR", str(labs))
        mp.setenv("TUTOR_QUIZZES_DIR", str(quizzes))
        store = helpers.use_home(mp, root / "dee", "dee")
        helpers.check(api.get_lab("04"), store, "create-dlq", [1, 1, 1, 1])
        _export(learner_report(store), folder)
    (folder / "corrupt.json").write_text('{"format": "sqs-tutor-report", "labs": [')
    (folder / "package.json").write_text('{"name": "not-a-report"}')
    (folder / "notes.txt").write_text("collected on Monday")
    (folder / "cy" / "node_modules" / "x").mkdir(parents=True)  # a cloned repo's packages
    (folder / "cy" / "node_modules" / "x" / "package.json").write_text("{}")
    yield folder


def test_exports_are_read_and_strays_named(classroom: Path) -> None:
    loaded = load_exports(classroom)
    assert [e.name for e in loaded.exports] == ["ada", "bo", "cy", "dee"]
    assert len(loaded.warnings) == 2
    corrupt, foreign = sorted(loaded.warnings)
    assert corrupt.startswith(str(classroom / "corrupt.json")) and "not valid JSON" in corrupt
    assert foreign.startswith(str(classroom / "package.json")) and "not a tutor report" in foreign
    assert all("\n" not in w for w in loaded.warnings)


def test_aggregates_and_where_the_class_struggles(classroom: Path) -> None:
    summary = summarize(load_exports(classroom))
    data = to_dict(summary)
    learners = {r["name"]: r for r in data["learners"]}
    assert (learners["ada"]["steps_passed"], learners["ada"]["attempts"]) == (1, 3)
    assert (learners["bo"]["steps_passed"], learners["bo"]["attempts"]) == (0, 3)
    assert (learners["cy"]["steps_passed"], learners["cy"]["attempts"]) == (2, 3)
    assert learners["ada"]["best_exam"] == 1000 and learners["bo"]["best_exam"] == 100
    assert (learners["bo"]["quiz_correct"], learners["bo"]["quiz_answered"]) == (0, 3)
    assert 90 <= learners["bo"]["quiz_seconds"] < 100  # 3 answers x 30 s, and a quick exam
    assert learners["bo"]["score"] == 2.0  # 2 of 5 points on each of its three checks
    assert [n for n, r in learners.items() if r["other_content"]] == ["dee"]

    steps = {(s["lab"], s["step"]): s for s in data["steps"]}
    dlq = steps[("04-retry-dlq", "create-dlq")]
    assert (dlq["attempted"], dlq["passed"], dlq["attempts"], dlq["pass_rate"]) == \
        (4, 3, 7, 75.0)
    vis = steps[("04-retry-dlq", "visibility")]
    assert (vis["attempted"], vis["passed"], vis["pass_rate"]) == (2, 1, 50.0)
    assert steps[("04-retry-dlq", "poison")]["attempted"] == 0
    assert [(s["lab"], s["step"]) for s in data["hardest_steps"]] == [
        ("02-write-buffering", "buffer-queue"), ("04-retry-dlq", "visibility"),
        ("04-retry-dlq", "create-dlq")]

    # pointers: the sums of every learner's own tallies
    reports = [e.report for e in load_exports(classroom).exports]
    expected: dict[str, list[int]] = {}
    for report in reports:
        for tally in report.quiz.by_pointer:
            pair = expected.setdefault(tally.id, [0, 0])
            pair[0] += tally.correct
            pair[1] += tally.total
    pointers = {p["id"]: p for p in data["pointers"]}
    assert {k: [p["correct"], p["total"]] for k, p in pointers.items() if p["total"]} == expected
    assert pointers["dlq"]["lab_attempted"] == 4 and pointers["dlq"]["lab_passed"] == 3
    hardest = data["hardest_pointers"]
    rates = [p["percent"] for p in hardest]
    assert hardest and rates == sorted(rates)
    assert all(p["total"] >= 3 for p in hardest)  # one wrong answer is not a struggle
    assert rates[0] == min(p["percent"] for p in pointers.values() if p["total"] >= 3)
    assert sum(d["total"] for d in data["domains"]) == 4 + 3 + 2
    assert sum(d["total"] for d in data["exam_domains"]) == 16

    labs = {lab["lab"]: lab for lab in data["labs"]}
    assert labs["04-retry-dlq"]["started"] == 4 and labs["02-write-buffering"]["started"] == 1
    assert data["main_version"] != learners["dee"]["content_version"]
    assert len(data["versions"]) == 2
    assert any(w.startswith("mixed content versions") and "dee" in w for w in data["warnings"])


def test_html_is_self_contained_and_escapes_learner_text(classroom: Path,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "with-evil"
    folder.mkdir()
    for path in classroom.rglob("*.json"):
        (folder / f"{path.parent.name}-{path.name}").write_bytes(path.read_bytes())
    ada = json.loads((classroom / "ada" / "tutor-report-ada.json").read_text())
    ada["learner"] = "<script>alert(1)</script>"
    ada["labs"][3]["title"] = 'Retry "&" <b>bold</b>'
    (folder / "evil.json").write_text(json.dumps(ada))
    page = to_html(summarize(load_exports(folder)))
    for name in ("ada", "bo", "cy", "dee"):
        assert f"<td>{name}</td>" in page
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>bold" not in page and "Retry &quot;&amp;&quot; &lt;b&gt;bold&lt;/b&gt;" in page
    assert "http://" not in page and "https://" not in page and "<link" not in page
    assert "@media print" in page and page.count("<table>") == 6
    assert "corrupt.json: skipped, not valid JSON" in page


def test_terminal_table_names_learners_and_struggles(classroom: Path) -> None:
    console = Console(record=True, width=160, color_system=None)
    print_summary(summarize(load_exports(classroom)), console)
    text = console.export_text()
    assert "Where the class struggles most" in text
    assert "step 02-write-buffering / buffer-queue" in text
    for name in ("ada", "bo", "cy", "dee"):
        assert name in text
    assert "(other)" in text and "warning: mixed content versions" in text


def test_newer_export_of_the_same_learner_wins(classroom: Path, tmp_path: Path) -> None:
    folder = tmp_path / "twice"
    folder.mkdir()
    newer = (classroom / "bo" / "tutor-report-bo.json").read_text()
    older = json.loads(newer)
    older["generated_at"] = "2026-01-01T00:00:00"  # no zone: read as UTC, still comparable
    older["quiz"]["answered"] = 99
    (folder / "a-older.json").write_text(json.dumps(older))
    (folder / "b-newer.json").write_text(newer)
    loaded = load_exports(folder)
    [only] = loaded.exports
    assert only.path.name == "b-newer.json" and only.report.quiz.answered == 3
    assert loaded.warnings == [f"{folder / 'a-older.json'}: skipped, 'bo' has a newer "
                               f"export {folder / 'b-newer.json'}"]


def test_missing_and_empty_folders_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(TutorError, match="is not a folder"):
        load_exports(tmp_path / "nope")
    (tmp_path / "junk.json").write_text("[]")
    with pytest.raises(TutorError, match="no tutor reports in") as err:
        load_exports(tmp_path)
    assert "junk.json" in err.value.one_line() and "\n" not in err.value.one_line()


def _mutations() -> st.SearchStrategy[tuple[list[str | int], object]]:
    paths: list[list[str | int]] = [
        [], ["format_version"], ["learner"], ["generated_at"], ["labs"], ["labs", 0],
        ["labs", 3, "steps"], ["labs", 3, "steps", 0, "attempts"], ["labs", 3, "time"],
        ["quiz"], ["quiz", "by_pointer"], ["quiz", "exams", 0, "domains"],
        ["labs", 3, "steps", 0, "status"], ["content_version"]]
    values = st.one_of(st.none(), st.integers(-3, 10**12), st.floats(allow_nan=True),
                       st.text(max_size=20), st.lists(st.integers(), max_size=3),
                       st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
    return st.tuples(st.sampled_from(paths), values)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mutation=_mutations(), cut=st.integers(0, 4000))
def test_mutated_exports_are_skipped_or_read_never_a_traceback(
        classroom: Path, tmp_path: Path, mutation: tuple[list[str | int], object],
        cut: int) -> None:
    """A hand-edited or truncated export: one warning naming it, the rest of the class counts."""
    folder = Path(tempfile.mkdtemp(dir=tmp_path))  # one per example: tmp_path is shared
    (folder / "bo.json").write_bytes((classroom / "bo" / "tutor-report-bo.json").read_bytes())
    data = json.loads((classroom / "ada" / "tutor-report-ada.json").read_text())
    path, value = mutation
    if path:
        node = data
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    else:
        data = value
    text = json.dumps(data)
    if cut % 3 == 0:
        text = text[:cut]
    (folder / "ada.json").write_text(text)
    loaded = load_exports(folder)
    names = [e.name for e in loaded.exports]
    assert "bo" in names
    assert len(loaded.exports) + len(loaded.warnings) == 2
    for warning in loaded.warnings:
        assert warning.startswith(str(folder / "ada.json")) and "\n" not in warning
    summary = summarize(loaded)
    assert "<td>bo</td>" in to_html(summary)
