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
    problem = sub.add_parser(
        "problem", help="report a problem with a question or a check, for your teacher",
        description="Record what looks wrong with a question (its id, e.g. sec-001) or a "
        "lab check (LAB/STEP, e.g. 04-retry-dlq/redrive, or 04/redrive/CHECK), with your "
        "note and the content version. `tutor report` carries it; the class report lists "
        "reports per item.")
    problem.add_argument("item", metavar="ITEM", help="a question id, or LAB/STEP[/CHECK]")
    problem.add_argument("note", metavar="NOTE", nargs="+", help="what looks wrong, and why")
    problem.set_defaults(handler=_problem)
    importing = sub.add_parser(
        "import", help="merge a `tutor report` JSON export from another machine",
        description="Add the answers, review cards, lab results, exams and reports of an "
        "export (`tutor report -o FILE.json`) to this machine's progress. Nothing local is "
        "lost or overwritten, and importing the same file twice changes nothing.")
    importing.add_argument("file", metavar="FILE", help="a tutor report JSON file")
    importing.add_argument("--other-learner", action="store_true",
                           help="import an export of another learner id into this store")
    importing.set_defaults(handler=_import)


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


def _problem(args: argparse.Namespace) -> int:
    from tutor import locations
    from tutor.engine.problems import report_problem
    from tutor.engine.progress import open_store

    item = report_problem(open_store(), args.item, " ".join(args.note), locations.labs_dir(),
                          locations.quizzes_dir())
    print(f"Recorded your report on {item.kind} {item.id} ({item.title}). `tutor report` "
          "carries it to your teacher.")
    return 0


def _import(args: argparse.Namespace) -> int:
    from tutor.engine.progress import open_store
    from tutor.engine.report.importing import import_export

    store = open_store()
    result = import_export(Path(args.file).expanduser(), store,
                           other_learner=args.other_learner)
    print(f"Imported {args.file}: {result.line()}.")
    return 0
