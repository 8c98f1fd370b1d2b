"""`tutor report` (this learner's results as JSON, JUnit XML, CSV) and `tutor class-report`."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    report = sub.add_parser(
        "report", help="export your results (labs, quizzes) as JSON, JUnit XML or CSV",
        description="Export your lab and quiz results with the tutor and content versions. "
        "One format goes to stdout unless -o names a file or folder; --format all writes "
        "tutor-report-<learner>.json, .junit.xml and .csv into a folder (default: here).")
    report.add_argument("--format", choices=["json", "junit", "csv", "all"], default="json",
                        help="json (default, the one a class report reads), junit (for CI "
                        "grading), csv (for spreadsheets) or all three")
    report.add_argument("-o", "--output", metavar="PATH",
                        help="a file (one format) or a folder (created if needed)")
    report.set_defaults(handler=_report)
    klass = sub.add_parser(
        "class-report", help="summarise a folder of learners' JSON reports (table + HTML)",
        description="Read every `tutor report` JSON file under DIR (other files are named "
        "and skipped), print a summary and write it as one self-contained HTML page.")
    klass.add_argument("folder", metavar="DIR", help="where the learners' exports are")
    klass.add_argument("-o", "--output", metavar="HTML", default="class-report.html",
                       help="the HTML page to write (default: class-report.html)")
    klass.set_defaults(handler=_class_report)


def _report(args: argparse.Namespace) -> int:
    from tutor.engine.report import export
    from tutor.engine.report.build import learner_report

    report = learner_report()
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if report.learner is None:
        print("note: no learner id in this report — set yours once with `tutor learner set "
              "ID` so your teacher can tell your results apart", file=sys.stderr)
    formats = list(export.FORMATS) if args.format == "all" else [args.format]
    if args.output is None and len(formats) == 1:
        sys.stdout.write(export.render(report, formats[0]))
        return 0
    target = Path(args.output).expanduser() if args.output else Path.cwd()
    folder = bool(args.output) and args.output.endswith(("/", os.sep))  # `-o out/`
    for path in export.write(report, formats, target, folder=folder):
        print(f"wrote {path}", file=sys.stderr)
    return 0


def _class_report(args: argparse.Namespace) -> int:
    from rich.console import Console

    from tutor.commands.classtable import print_summary
    from tutor.engine.report.classhtml import to_html
    from tutor.engine.report.classroom import load_exports, summarize
    from tutor.engine.report.export import write_text

    summary = summarize(load_exports(Path(args.folder).expanduser()))
    for warning in summary.warnings:  # one line each, on stderr, like every command
        print(f"warning: {warning}", file=sys.stderr)
    print_summary(summary, Console(), warnings=False)
    path = write_text(Path(args.output).expanduser(), to_html(summary))
    print(f"wrote {path} ({len(summary.learners)} learner(s))", file=sys.stderr)
    return 0
