"""The verdict on an answer: every option's explanation marked right or wrong, the docs
topic, and for a predict question what LocalStack really did (with the evidence)."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from tutor.engine.quiz.sessions import Feedback
from tutor.ui.widgets.inline import inline

EVIDENCE_LINES = 30


def render_feedback(fb: Feedback, *, heading: str = "") -> Content:
    lines: list[Content] = []
    if heading:
        lines.append(Content.from_markup("[b]$h[/]", h=heading))
    if fb.correct:
        lines.append(Content.from_markup("[b $success]✓ Correct[/]"))
    else:
        chosen = ", ".join(fb.chosen) or "nothing"
        lines.append(Content.from_markup(
            "[b $error]✗ Not quite[/] — you chose $c; the answer is [b]$e[/]",
            c=chosen, e=", ".join(fb.expected)))
    if fb.observation is not None:
        obs = fb.observation
        lines.append(Content(""))
        lines.append(Content.from_markup(
            "[b]Observed on LocalStack[/] ($s, $t s): outcome [b $text-accent]$o[/]",
            s=obs.scenario, t=f"{obs.seconds:.1f}", o=obs.outcome))
        for line in obs.evidence[-EVIDENCE_LINES:]:
            lines.append(Content.from_markup("[$text-muted]  $l[/]", l=line))
    if fb.discrepancy:
        lines.append(Content.from_markup("[$warning]⚠ $d[/]", d=fb.discrepancy))
    lines.append(Content(""))
    for option in fb.options:
        if option.correct:
            mark, colour = "✓", "$success"
        elif option.chosen:
            mark, colour = "✗", "$error"
        else:
            mark, colour = "·", "$text-muted"
        you = " (your pick)" if option.chosen else ""
        lines.append(Content.assemble(
            Content.from_markup(f"[b {colour}]{mark} $l)[/] ", l=option.letter),
            inline(option.text), Content.from_markup(f"[{colour}]$y[/]", y=you)))
        lines.append(Content.assemble("     ", inline(option.why).stylize("italic")))
    lines.append(Content(""))
    lines.append(Content.from_markup("[$text-muted]Docs: $d[/]", d=fb.docs))
    return Content("\n").join(lines)


class FeedbackView(Static):
    DEFAULT_CSS = """
    FeedbackView {
        height: auto; padding: 1 1; margin-top: 1;
        border: round $primary-darken-2; display: none;
    }
    FeedbackView.-right { border: round $success; display: block; }
    FeedbackView.-wrong { border: round $error; display: block; }
    FeedbackView.-running { border: round $warning; display: block; color: $warning; }
    """

    def _state(self, name: str) -> None:
        for state in ("-right", "-wrong", "-running"):
            self.set_class(state == name, state)

    def running(self, text: str) -> None:
        self._state("-running")
        self.update(text)

    def show(self, feedback: Feedback) -> None:
        self._state("-right" if feedback.correct else "-wrong")
        self.update(render_feedback(feedback))

    def clear(self) -> None:
        self._state("")
        self.update("")
