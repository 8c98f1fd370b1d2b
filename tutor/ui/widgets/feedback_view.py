"""The verdict on an answer: every option explained, the docs topic, what LocalStack did."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import ProgressBar, Static

from tutor.engine.quiz.sessions import Feedback, OptionFeedback
from tutor.ui.widgets.inline import inline

EVIDENCE_LINES = 30


def verdict(fb: Feedback) -> Content:
    if fb.correct:
        return Content.from_markup("[b $success]✓ Correct[/]")
    return Content.from_markup("[b $error]✗ Not quite[/] — you chose $c; the answer is [b]$e[/]",
                               c=", ".join(fb.chosen) or "nothing", e=", ".join(fb.expected))


def observation(fb: Feedback) -> Content | None:
    if fb.observation is None and not fb.discrepancy:
        return None
    lines: list[Content] = []
    if fb.observation is not None:
        obs = fb.observation
        lines.append(Content.from_markup(
            "[b]Observed on LocalStack[/] ($s, $t s): outcome [b $text-accent]$o[/]",
            s=obs.scenario, t=f"{obs.seconds:.1f}", o=obs.outcome))
        lines += [Content.from_markup("[$text-muted]$l[/]", l=line)
                  for line in obs.evidence[-EVIDENCE_LINES:]]
    if fb.discrepancy:
        lines.append(Content.from_markup("[$warning]⚠ $d[/]", d=fb.discrepancy))
    return Content("\n").join(lines)


def _look(option: OptionFeedback) -> tuple[str, str]:
    if option.correct:
        return "✓", "$success"
    return ("✗", "$error") if option.chosen else ("·", "$text-muted")


class FeedbackBody(Vertical):
    """The verdict, the observation, and one row per option (mark | text and why)."""

    DEFAULT_CSS = """
    FeedbackBody { height: auto; }
    FeedbackBody .fb-observation { padding: 1 0 0 0; }
    FeedbackBody .fb-options { height: auto; padding: 1 0; }
    FeedbackBody .fb-option { height: auto; }
    FeedbackBody .fb-mark { width: 5; }
    FeedbackBody .fb-text { width: 1fr; }
    FeedbackBody .fb-docs { color: $text-muted; }
    """

    def __init__(self, feedback: Feedback, heading: Content | None = None) -> None:
        super().__init__()
        self.feedback = feedback
        self.heading = heading

    def compose(self) -> ComposeResult:
        fb = self.feedback
        if self.heading is not None:
            yield Static(self.heading, classes="fb-heading")
        yield Static(verdict(fb), classes="fb-verdict")
        seen = observation(fb)
        if seen is not None:
            yield Static(seen, classes="fb-observation")
        with Vertical(classes="fb-options"):
            for option in fb.options:
                mark, colour = _look(option)
                you = Content.from_markup(f"  [{colour}](your pick)[/]") if option.chosen \
                    else Content("")
                with Horizontal(classes="fb-option"):
                    yield Static(Content.from_markup(f"[b {colour}]{mark} $l)[/]",
                                                     l=option.letter), classes="fb-mark")
                    yield Static(Content("\n").join([
                        Content.assemble(inline(option.text), you),
                        inline(option.why).stylize("italic $text-muted")]),
                        classes="fb-text")
        yield Static(f"Docs: {fb.docs}", classes="fb-docs", markup=False)

    def text(self) -> str:
        """Everything shown, as plain text (for tests and screen readers)."""
        return "\n".join(str(static.render()) for static in self.query(Static))


class FeedbackView(Vertical):
    """Hidden until an answer is graded; shows a running state while a scenario runs."""

    DEFAULT_CSS = """
    FeedbackView {
        height: auto; padding: 0 1; margin-top: 1;
        border: round $primary-darken-2; display: none;
    }
    FeedbackView.-right { border: round $success; display: block; }
    FeedbackView.-wrong { border: round $error; display: block; }
    FeedbackView.-running { border: round $warning; display: block; }
    FeedbackView .fb-running { color: $warning; }
    """

    def _state(self, name: str) -> None:
        for state in ("-right", "-wrong", "-running"):
            self.set_class(state == name, state)

    def running(self, text: str, busy: bool = False) -> None:
        """A note in place of feedback; `busy` adds a moving bar (a scenario is running)."""
        self._state("-running")
        self.remove_children()
        self.mount(Static(text, classes="fb-running", markup=False))
        if busy:
            self.mount(ProgressBar(total=None, show_eta=False, show_percentage=False,
                                   classes="fb-busy"))

    def show(self, feedback: Feedback) -> None:
        self._state("-right" if feedback.correct else "-wrong")
        self.remove_children()
        self.mount(FeedbackBody(feedback))

    def clear(self) -> None:
        self._state("")
        self.remove_children()

    def text(self) -> str:
        return "\n".join(str(static.render()) for static in self.query(Static))
