"""The class summary as Rich tables for the terminal (`tutor class-report`)."""

from __future__ import annotations

from rich.console import Console, Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from tutor.engine.report.classroom import ClassSummary, duration, percent


def _learners(summary: ClassSummary) -> Table:
    table = Table(title=f"Learners ({len(summary.learners)})", title_justify="left")
    for name, justify in (("learner", "left"), ("labs done/started", "right"),
                          ("steps passed", "right"), ("lab score", "right"),
                          ("checks run", "right"), ("active time", "right"),
                          ("quiz correct", "right"), ("best exam", "right"),
                          ("content", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in summary.learners:
        table.add_row(
            Text(r.name), f"{r.labs_completed}/{r.labs_started}",
            f"{r.steps_passed}/{r.steps_total}", percent(r.percent), str(r.attempts),
            duration(r.active_seconds),
            f"{r.quiz_correct}/{r.quiz_answered}" if r.quiz_answered else "-",
            str(r.best_exam) if r.best_exam is not None else "-",
            Text(r.content_version.removeprefix("sha256:")[:8]
                 + (" (other)" if r.other_content else ""),
                 style="bold yellow" if r.other_content else ""))
    return table


def _matrix(summary: ClassSummary) -> Table:
    table = Table(title="Learners and labs (score, * = done)", title_justify="left")
    table.add_column("learner")
    for lab in summary.labs:
        table.add_column(lab.lab_id[:2], justify="right")
    for r in summary.learners:
        cells = []
        for lab in summary.labs:
            status, pct = r.labs.get(lab.lab_id, ("not_started", 0.0))
            cells.append("-" if status == "not_started" else
                         f"{pct:g}%" + ("*" if status == "completed" else ""))
        table.add_row(Text(r.name), *cells)
    return table


def _struggles(summary: ClassSummary) -> Table:
    table = Table(title="Where the class struggles most", title_justify="left")
    table.add_column("what")
    table.add_column("pass / correct", justify="right")
    table.add_column("evidence")
    for s in summary.hardest_steps:
        table.add_row(Text(f"step {s.lab_id} / {s.step_id}: {s.title}"), percent(s.pass_rate),
                      f"{s.passed}/{s.attempted} learners passed, "
                      f"{s.mean_attempts:g} checks each")
    for p in summary.hardest_pointers:
        lab = f", lab steps {percent(p.lab_rate)}" if p.lab_attempted else ""
        table.add_row(Text(f"pointer {p.id}"), percent(p.percent),
                      f"{p.correct}/{p.total} answers by {p.learners} learner(s){lab}")
    return table


def _disputes(summary: ClassSummary) -> Table:
    table = Table(title="Disputed questions and checks", title_justify="left")
    table.add_column("item")
    table.add_column("learners", justify="right")
    table.add_column("what they reported")
    for d in summary.disputes:
        table.add_row(Text(f"{d.kind} {d.item}"), str(len(d.learners)),
                      Text(" · ".join(d.notes)))
    return table


def _labs(summary: ClassSummary) -> Table:
    table = Table(title="Labs and steps", title_justify="left")
    table.add_column("lab / step")
    table.add_column("started / done", justify="right")
    table.add_column("pass rate", justify="right")
    table.add_column("checks each", justify="right")
    table.add_column("median time", justify="right")
    for lab in summary.labs:
        table.add_row(Text(f"{lab.lab_id} {lab.title}", style="bold"),
                      f"{lab.started}/{lab.completed}", percent(lab.mean_percent) + " avg",
                      "", duration(lab.median_active_seconds))
        steps = [s for s in summary.steps if s.lab_id == lab.lab_id]
        if not any(s.attempted for s in steps):  # nobody checked it: one line is enough
            continue
        for s in steps:
            table.add_row(Text(f"  {s.step_id}"), f"{s.attempted} tried",
                          percent(s.pass_rate), f"{s.mean_attempts:g}", "")
    return table


def _pointers(summary: ClassSummary) -> Table:
    table = Table(title="Exam pointers and domains", title_justify="left")
    table.add_column("pointer / domain")
    table.add_column("quiz correct", justify="right")
    table.add_column("learners", justify="right")
    table.add_column("lab steps passed", justify="right")
    for p in summary.pointers:
        table.add_row(Text(p.id), f"{percent(p.percent)} of {p.total}", str(p.learners),
                      f"{p.lab_passed}/{p.lab_attempted}" if p.lab_attempted else "-")
    for d in summary.domains:
        table.add_row(Text(d.name, style="bold"), f"{percent(d.percent)} of {d.total}",
                      str(d.learners), "")
    return table


def renderable(summary: ClassSummary, warnings: bool = True) -> Group:
    parts: list[Table | Text] = [
        Text.from_markup(f"[yellow]warning:[/] {escape(w)}")
        for w in (summary.warnings if warnings else [])]
    parts += [_struggles(summary), *([_disputes(summary)] if summary.disputes else []),
              _learners(summary), _matrix(summary), _labs(summary), _pointers(summary)]
    return Group(*parts)


def print_summary(summary: ClassSummary, console: Console | None = None,
                  warnings: bool = True) -> None:
    (console or Console()).print(renderable(summary, warnings))
