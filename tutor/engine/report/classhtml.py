"""The class summary as one self-contained HTML page: inline CSS, no scripts, prints well."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC
from html import escape

from tutor import __version__
from tutor.engine.report.classroom import ClassSummary, duration, percent

CSS = """
:root { color-scheme: light; --ink: #1d2330; --muted: #5b6475; --line: #d8dce4;
  --bad: #b42318; --warn: #8a5a00; --good: #1a7f37; --bar: #2f6fde; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--ink); margin: 2rem auto; max-width: 72rem; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .25rem; }
h2 { font-size: 1.15rem; margin: 2rem 0 .5rem; border-bottom: 2px solid var(--line); }
.meta, .note { color: var(--muted); }
table { border-collapse: collapse; width: 100%; margin: .5rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line);
  vertical-align: top; overflow-wrap: anywhere; }
th { font-weight: 600; background: #f3f5f9; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.lab td { font-weight: 600; background: #fafbfd; }
tr.step td:first-child { padding-left: 1.5rem; }
.bar { display: inline-block; height: .6rem; background: var(--bar); border-radius: 2px;
  vertical-align: middle; margin-right: .4rem; }
.low { color: var(--bad); font-weight: 600; }
.other { color: var(--warn); font-weight: 600; }
ul.warnings { color: var(--warn); padding-left: 1.2rem; }
code { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: .92em; }
@media print {
  body { margin: 0; max-width: none; font-size: 11px; }
  h2 { break-after: avoid; }
  tr { break-inside: avoid; }
  thead { display: table-header-group; }
  .bar { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
}
"""
LOW = 50.0  # a pass or correct rate below this is shown in red


def _cell(value: object, numeric: bool = False, css: str = "") -> str:
    classes = " ".join(c for c in ("n" if numeric else "", css) if c)
    attr = f' class="{classes}"' if classes else ""
    return f"<td{attr}>{escape(str(value))}</td>"


def _rate(value: float | None) -> str:
    if value is None:
        return '<td class="n">-</td>'
    width = max(1, round(value))  # a number we computed, never learner text
    low = " low" if value < LOW else ""
    return (f'<td class="n{low}"><span class="bar" style="width:{width / 2:.0f}px"></span>'
            f"{escape(percent(value))}</td>")


def _table(headers: Sequence[str], rows: Iterable[str], text: Sequence[int] = (0,)) -> str:
    """A table; the columns not in `text` hold numbers (right-aligned)."""
    head = "".join(f'<th{"" if i in text else " class=\"n\""}>{escape(h)}</th>'
                   for i, h in enumerate(headers))
    body = "\n".join(rows) or f'<tr><td colspan="{len(headers)}">nothing yet</td></tr>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"


def _learners(s: ClassSummary) -> str:
    rows = []
    for r in s.learners:
        version = r.content_version.removeprefix("sha256:")[:8] + (
            " (other content)" if r.other_content else "")
        rows.append("<tr>" + _cell(r.name) + _cell(f"{r.labs_completed} / {r.labs_started}", True)
                    + _cell(f"{r.steps_passed} / {r.steps_total}", True) + _rate(r.percent)
                    + _cell(duration(r.active_seconds), True) + _cell(r.attempts, True)
                    + _cell(f"{r.quiz_correct} / {r.quiz_answered}", True)
                    + _cell(duration(r.quiz_seconds), True)
                    + _cell("-" if r.best_exam is None else r.best_exam, True)
                    + _cell(r.due_cards, True)
                    + _cell(version, css="other" if r.other_content else "") + "</tr>")
    return _table(["Learner", "Labs done / started", "Steps passed", "Lab score",
                   "Lab time", "Checks run", "Quiz correct", "Quiz time", "Best exam",
                   "Due cards", "Content"], rows, text=(0, 10))


def _struggles(s: ClassSummary) -> str:
    rows = [("<tr>" + _cell(f"Step {x.lab_id} / {x.step_id}: {x.title}") + _rate(x.pass_rate)
             + _cell(f"{x.passed} of {x.attempted} learners passed; "
                     f"{x.mean_attempts:g} checks each on average") + "</tr>")
            for x in s.hardest_steps]
    rows += [("<tr>" + _cell(f"Pointer {p.id}") + _rate(p.percent)
              + _cell(f"{p.correct} of {p.total} answers correct, {p.learners} learner(s)"
                      + (f"; lab steps on it passed {p.lab_passed} of {p.lab_attempted}"
                         if p.lab_attempted else "")) + "</tr>")
             for p in s.hardest_pointers]
    return _table(["What", "Pass / correct", "Evidence"], rows, text=(0, 2))


def _disputes(s: ClassSummary) -> str:
    rows = [("<tr>" + _cell(f"{d.kind} {d.item}") + _cell(len(d.learners), True)
             + _cell(" · ".join(d.notes)) + "</tr>") for d in s.disputes]
    return _table(["Item", "Learners", "What they reported (content version)"], rows,
                  text=(0, 2))


MARK = {"completed": "done", "in_progress": "", "not_started": "-"}


def _matrix(s: ClassSummary) -> str:
    """Learners x labs: each lab's score, `done` when completed."""
    rows = []
    for r in s.learners:
        cells = []
        for lab in s.labs:
            status, pct = r.labs.get(lab.lab_id, ("not_started", 0.0))
            text = "-" if status == "not_started" else f"{pct:g}% {MARK[status]}".strip()
            cells.append(_cell(text, True, "low" if status == "in_progress" and pct < LOW
                               else ""))
        rows.append("<tr>" + _cell(r.name) + "".join(cells) + "</tr>")
    return _table(["Learner", *(lab.lab_id[:2] for lab in s.labs)], rows)


def _labs(s: ClassSummary) -> str:
    rows = []
    for lab in s.labs:
        rows.append('<tr class="lab">' + _cell(f"{lab.lab_id} {lab.title}")
                    + _cell(f"{lab.started} / {lab.completed}", True) + _rate(lab.mean_percent)
                    + _cell("", True) + _cell(duration(lab.median_active_seconds), True) + "</tr>")
        steps = [x for x in s.steps if x.lab_id == lab.lab_id]
        if not any(x.attempted for x in steps):  # nobody checked it: the lab row says so
            continue
        for x in steps:
            rows.append('<tr class="step">' + _cell(f"{x.step_id}: {x.title}")
                        + _cell(f"{x.attempted} tried", True) + _rate(x.pass_rate)
                        + _cell(f"{x.mean_attempts:g}", True) + _cell("", True) + "</tr>")
    return _table(["Lab / step", "Started / done (tried)", "Score / pass rate",
                   "Checks each", "Median active time"], rows)


def _pointers(s: ClassSummary) -> str:
    rows = [("<tr>" + _cell(p.id) + _rate(p.percent) + _cell(p.total, True)
             + _cell(p.learners, True) + _rate(p.lab_rate)
             + _cell(f"{p.lab_passed} / {p.lab_attempted}", True) + "</tr>")
            for p in s.pointers]
    return _table(["Exam pointer", "Quiz correct", "Answers", "Learners", "Lab steps passed",
                   "Passed / tried"], rows)


def _domains(s: ClassSummary) -> str:
    exam = {d.id: d for d in s.exam_domains}
    rows = []
    for d in s.domains:
        e = exam.get(d.id)
        rows.append("<tr>" + _cell(d.name) + _rate(d.percent) + _cell(d.total, True)
                    + _rate(e.percent if e else None) + _cell(e.total if e else 0, True) + "</tr>")
    return _table(["Domain", "Practice correct", "Answers", "Exam correct", "Exam answers"],
                  rows)


def to_html(summary: ClassSummary) -> str:
    """The whole page; every piece of learner-supplied text is HTML-escaped."""
    when = summary.generated_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    warnings = "".join(f"<li>{escape(w)}</li>" for w in summary.warnings)
    versions = ", ".join(f"<code>{escape(v)}</code> ({len(n)})"
                         for v, n in summary.versions.items())
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Class report: {escape(summary.folder)}</title>
<style>{CSS}</style>
</head>
<body>
<h1>Class report</h1>
<p class="meta">{len(summary.learners)} learner(s) from <code>{escape(summary.folder)}</code>,
generated {escape(when)} by sqs-tutor {escape(__version__)}. Content versions: {versions}.</p>
{f'<h2>Warnings</h2><ul class="warnings">{warnings}</ul>' if warnings else ""}
<h2>Where the class struggles most</h2>
<p class="note">Steps with the lowest pass rate among the learners who checked them (ties:
more checks per learner first), and exam pointers with the lowest share of correct quiz
answers (among pointers with at least 3 answers, when there are any).</p>
{_struggles(summary)}
{'<h2>Disputed questions and checks</h2>' + _disputes(summary) if summary.disputes else ""}
<h2>Learners</h2>
<p class="note">Lab time: the gaps of at most 30 minutes between a learner's recorded lab
events (start or reset, each check, completion), summed: a lower bound. Quiz time: the time
on each practice answer (at most 30 minutes each) plus the submitted exams' durations.</p>
{_learners(summary)}
<h2>Learners and labs</h2>
<p class="note">Each lab's score (latest check of every step); <q>done</q> when every step
passed; - when not started.</p>
{_matrix(summary)}
<h2>Labs and steps</h2>
{_labs(summary)}
<h2>Exam pointers</h2>
{_pointers(summary)}
<h2>Exam domains</h2>
{_domains(summary)}
</body>
</html>
"""
