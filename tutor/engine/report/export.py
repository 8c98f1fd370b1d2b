"""Write a LearnerReport as JSON, JUnit XML and/or CSV files (what `tutor report` does)."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path

from tutor.engine.report.junit import to_junit
from tutor.engine.report.model import LearnerReport
from tutor.engine.report.tabular import to_csv
from tutor.errors import TutorError

FORMATS: dict[str, tuple[str, Callable[[LearnerReport], str]]] = {
    "json": (".json", LearnerReport.to_json),
    "junit": (".junit.xml", to_junit),
    "csv": (".csv", to_csv),
}


def render(report: LearnerReport, fmt: str) -> str:
    if fmt not in FORMATS:
        raise TutorError(f"no report format '{fmt}'", "Unknown format",
                         "choose one of " + ", ".join(FORMATS))
    return FORMATS[fmt][1](report)


def stem(report: LearnerReport) -> str:
    """`tutor-report-<learner>`: a file name a teacher can collect without clashes."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", report.learner or "").strip(".-")
    return f"tutor-report-{name}" if name else "tutor-report"


def write_text(path: Path, text: str) -> Path:
    """Write atomically (a half-written export must never be collected); one-line errors."""
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; an export is meant to be shared
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise TutorError(f"cannot write {path}: {exc.strerror or exc}", "Cannot write",
                         "choose another place with -o, or fix the folder's permissions"
                         ) from None
    return path


def write(report: LearnerReport, formats: list[str], target: Path,
          folder: bool = False) -> list[Path]:
    """Write each format into `target`: a folder when `folder`, when several formats are
    asked for or when it is an existing folder; else the one format's file."""
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        raise TutorError(f"no report format '{(unknown or [''])[0]}'", "Unknown format",
                         "choose one of " + ", ".join(FORMATS))
    if folder or len(formats) > 1 or target.is_dir():
        if target.exists() and not target.is_dir():
            raise TutorError(f"{target} is a file, and several formats need a folder",
                             "Not a folder", "give a folder with -o, or one --format")
        return [write_text(target / (stem(report) + FORMATS[f][0]), render(report, f))
                for f in formats]
    return [write_text(target, render(report, formats[0]))]
