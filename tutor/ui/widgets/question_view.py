"""One question: prompt and options (a RadioSet, or checkboxes for "choose N").

Keys 1-6 / a-f pick an option, enter submits. The widget never grades: it posts
`Changed` when the selection changes and `Submitted` with the chosen letters.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.geometry import Size
from textual.message import Message
from textual.widgets import Checkbox, RadioButton, RadioSet, Static

from tutor.engine.quiz.model import LETTERS, Question
from tutor.engine.quiz.scoring import Presented
from tutor.ui.widgets.inline import inline, reflow

_KIND = {"single": "Choose one", "predict": "Predict the outcome — then it runs for real"}


class OptionButton(RadioButton):
    """A radio button whose long label wraps instead of being cut with an ellipsis."""

    DEFAULT_CSS = """
    OptionButton { text-wrap: wrap; text-overflow: fold; height: auto; }
    """

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.render().wrap(max(1, width))))


class OptionSet(RadioSet, inherit_bindings=False):
    """RadioSet without its enter binding: enter submits the answer (QuestionView)."""

    BINDINGS = [
        Binding("down,right", "next_button", "Next option", show=False),
        Binding("space", "toggle_button", "Toggle", show=False),
        Binding("up,left", "previous_button", "Previous option", show=False),
    ]


class OptionBox(Checkbox, inherit_bindings=False):
    """A checkbox for "choose N" whose long label wraps, like OptionButton."""

    DEFAULT_CSS = """
    OptionBox {
        text-wrap: wrap; text-overflow: fold; height: auto; width: 1fr;
        border: none; padding: 0; background: transparent;
    }
    OptionBox:focus { border: none; }
    """
    BINDINGS = [Binding("space", "toggle_button", "Toggle", show=False)]  # enter submits

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return max(1, len(self.render().wrap(max(1, width))))


class ChoiceBoxes(Vertical):
    """The checkboxes of a "choose N" question; up/down move between them."""

    DEFAULT_CSS = """
    ChoiceBoxes { height: auto; padding: 0 1; }
    """
    BINDINGS = [Binding("down", "app.focus_next", show=False),
                Binding("up", "app.focus_previous", show=False)]


class QuestionView(Vertical):
    DEFAULT_CSS = """
    QuestionView { height: auto; }
    QuestionView .question-meta { color: $text-muted; }
    QuestionView .question-prompt { padding: 1 0; text-style: bold; }
    QuestionView .question-kind { color: $warning; text-style: italic; }
    QuestionView RadioSet, QuestionView ChoiceBoxes {
        width: 1fr; height: auto; border: round $primary-darken-2;
    }
    QuestionView RadioSet:focus, QuestionView ChoiceBoxes:focus-within {
        border: round $primary;
    }
    QuestionView RadioButton { width: 1fr; }
    QuestionView.-locked RadioSet, QuestionView.-locked ChoiceBoxes { opacity: 70%; }
    """
    BINDINGS = [
        *(Binding(str(i + 1), f"pick({i})", show=False) for i in range(6)),
        *(Binding(letter, f"pick({i})", show=False) for i, letter in enumerate(LETTERS)),
        # Not a priority binding: the app runs those as keys arrive, the others after the
        # key went round the focused widget's queue, so a fast "b" then enter would submit
        # before "b" was picked. The option widgets leave enter to this binding instead.
        Binding("enter", "submit", "Submit"),
    ]

    class Changed(Message):
        """QuestionView, when the selection changes -> ExamScreen.on_question_view_changed
        (records the answer)."""

        def __init__(self, letters: frozenset[str]) -> None:
            super().__init__()
            self.letters = letters

    class Submitted(Message):
        """QuestionView, on enter -> PracticeScreen/ExamScreen.on_question_view_submitted."""

        def __init__(self, letters: frozenset[str]) -> None:
            super().__init__()
            self.letters = letters

    def __init__(self, presented: Presented, meta: str = "",
                 selected: frozenset[str] = frozenset(), *, observed: bool = True,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.presented = presented
        self.meta = meta
        self.initial = selected
        self.observed = observed  # predict questions run for real (not in an exam)
        self._picked: int | None = None  # the radio option picked last, by key or click

    @property
    def question(self) -> Question:
        return self.presented.question

    def compose(self) -> ComposeResult:
        q = self.question
        if self.meta:
            yield Static(self.meta, classes="question-meta", markup=False)
        yield Static(inline(reflow(q.prompt)), classes="question-prompt")
        kind = _KIND.get(q.type) or f"Choose {q.picks}"
        if q.type == "predict" and not self.observed:
            kind = "Predict the outcome (graded on the documented behaviour)"
        yield Static(f"{kind} · 1-{len(q.options)} or a-{LETTERS[len(q.options) - 1]} to "
                     "pick, enter to submit", classes="question-kind", markup=False)
        labels = [inline(f"{LETTERS[i]}) {o.text}") for i, o in enumerate(q.options)]
        if q.picks > 1:
            with ChoiceBoxes(id="choices"):
                for i, label in enumerate(labels):
                    yield OptionBox(label, value=LETTERS[i] in self.initial)
        else:
            with OptionSet(id="choices"):
                for i, label in enumerate(labels):
                    yield OptionButton(label, value=LETTERS[i] in self.initial)

    def on_mount(self) -> None:
        choices = self.query_one("#choices")
        (choices.query(OptionBox).first() if isinstance(choices, ChoiceBoxes)
         else choices).focus()

    @property
    def letters(self) -> frozenset[str]:
        choices = self.query_one("#choices")
        if isinstance(choices, ChoiceBoxes):
            return frozenset(LETTERS[i] for i, box in enumerate(choices.query(OptionBox))
                             if box.value)
        # The key just pressed, before RadioSet has processed its message (a fast
        # "b" + enter reads a stale pressed_index).
        index = self._picked if self._picked is not None else \
            choices.pressed_index if isinstance(choices, RadioSet) else -1
        return frozenset({LETTERS[index]}) if index >= 0 else frozenset()

    def lock_choices(self) -> None:
        """After grading: the choices stay visible but cannot change."""
        self.add_class("-locked")
        self.query_one("#choices").disabled = True

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A locked view or a letter beyond the options passes the key on (e.g. enter
        # to "next question" on the screen).
        if self.has_class("-locked") and action in {"pick", "submit"}:
            return False
        beyond = action == "pick" and int(str(parameters[0])) >= len(self.question.options)
        return not beyond

    def action_pick(self, index: int) -> None:
        choices = self.query_one("#choices")
        if isinstance(choices, ChoiceBoxes):
            box = list(choices.query(OptionBox))[index]
            box.toggle()
            box.focus()
        else:
            list(choices.query(RadioButton))[index].value = True
            self._picked = index

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self._picked = event.index
        self.post_message(self.Changed(self.letters))

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self.letters))

    def action_submit(self) -> None:
        letters = self.letters
        if len(letters) != self.question.picks:
            need = self.question.picks
            self.notify(f"Choose {need} option{'s' if need > 1 else ''} "
                        f"(you have {len(letters)})", severity="warning")
            return
        self.post_message(self.Submitted(letters))


class ExamQuestionView(QuestionView):
    """In an exam enter only moves on (as `n` does): its key stays out of the footer."""

    BINDINGS = [Binding("enter", "submit", "Next", show=False)]
