"""The quiz engine: banks, grading, FSRS review, practice/review/exam sessions (no UI).

Public API (other parts of the tutor call these):
- `bank.load_banks(directory) -> list[Bank]`: TutorError naming file/question/field.
- `bank.validate_banks(directory) -> list[str]`: every problem, one line each
  (`tutor dev check`).
- `sessions.PracticeSession`, `sessions.ReviewSession`, `sessions.ExamSession`: headless
  sessions for the CLI and the TUI; their methods are documented in `sessions`.
- `scenarios.run_scenario(question, endpoint) -> Observation`: run a predict question's
  scenario against LocalStack (blocking, < 15 s: call it from a worker thread).
- `srs.feed_failed_check(store, tags)`: a failed lab check makes the questions on the
  same exam pointers (tags) due for review now.
- `srs.Schedule(store, clock)`: FSRS cards, exam date (`set_exam_date`), due cards.
- `stats.quiz_stats(store, banks)`: history for `tutor quiz stats` and the TUI.
- `taxonomy`: DOMAINS, EXAMS, PATTERNS, TAGS.
"""
