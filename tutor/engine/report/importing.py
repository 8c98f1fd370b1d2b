"""`tutor import`: merge another machine's `tutor report` JSON into this store."""

from __future__ import annotations

from pathlib import Path

from tutor.engine.progress import ProgressStore
from tutor.engine.progress_sync import Merged, check_records, merge
from tutor.engine.report.build import learner_id
from tutor.engine.report.classroom import read_export
from tutor.errors import TutorError


def import_export(path: Path, store: ProgressStore, *, other_learner: bool = False) -> Merged:
    """Merge the export at `path`; a TutorError says why a file cannot be imported
    (not a tutor export, a newer format, another learner's) and nothing is changed."""
    if not path.is_file():
        raise TutorError(f"{path} does not exist", "Nothing to import",
                         "give the JSON file `tutor report -o FILE.json` wrote")
    report = read_export(path)
    if isinstance(report, str):
        raise TutorError(f"{path} cannot be imported: {report}", "Not a tutor export",
                         "give the JSON file `tutor report -o FILE.json` wrote (not the "
                         "CSV or JUnit one)")
    check_records(report.records)  # a format it cannot merge, before whose it is
    mine = learner_id(store)
    if report.learner and mine and report.learner != mine and not other_learner:
        raise TutorError(f"{path} is the progress of learner `{report.learner}`, and this "
                         f"machine's learner is `{mine}`", "Another learner's export",
                         "import your own export, or add --other-learner to merge it anyway")
    return merge(store, report.records)
