"""Learner results export (`tutor report`) and the class summary (`tutor class-report`).

Public API:
- `build.learner_report(store=None) -> LearnerReport`: this learner over the installed
  course; `build.build_report(store, labs, banks, content_version=, learner=, now=)` for
  any content.
- `model.LearnerReport` (pydantic, `format_version` 1): `.to_json()`,
  `LearnerReport.model_validate_json(text)` to read one back.
- `junit.to_junit(report)`, `tabular.to_csv(report)`: the other two formats.
- `export.write(report, ["json", "junit", "csv"], target) -> [Path]`: atomic files.
- `content.content_version(labs_dir, quizzes_dir) -> "sha256:<16 hex>"`.
- `classroom.load_exports(folder)`, `classroom.summarize(loaded) -> ClassSummary`,
  `classroom.print_summary(summary, console)`, `classhtml.to_html(summary) -> str`.
"""
