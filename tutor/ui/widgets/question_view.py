"""One question: prompt and options (a RadioSet, or a SelectionList for "choose N").

Keys 1-6 / a-f pick an option, enter submits. The widget never grades: it posts
`Changed` when the selection changes and `Submitted` with the chosen letters.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Label, RadioButton, RadioSet, SelectionList, Static

from tutor.engine.quiz.model import LETTERS
from tutor.engine.quiz.scoring import Presented
from tutor.ui.widgets.inline import inline

_KIND = {"single": "Choose one", "predict": "Predict the outcome — then it runs for real"}


class QuestionView(Vertical):
    DEFAULT_CSS = """
    QuestionView { height: auto; }
    QuestionView .question-meta { color: $text-muted; }
    QuestionView .question-prompt { padding: 1 0; text-style: bold; }
    QuestionView .question-kind { color: $warning; text-style: italic; }
    QuestionView RadioSet, QuestionView SelectionList {
        width: 1fr; height: auto; border: round $primary-darken-2;
    }
    QuestionView RadioSet:focus, QuestionView SelectionList:focus { border: round $primary; }
    QuestionView RadioButton { width: 1fr; }
    QuestionView.-locked RadioSet, QuestionView.-locked SelectionList { opacity: 70%; }
    """
    BINDINGS = [
        *(Binding(str(i + 1), f"pick({i})", show=False) for i in range(6)),
        *(Binding(letter, f"pick({i})", show=False) for i, letter in enumerate(LETTERS)),
        Binding("enter", "submit", "Submit", priority=True),
    ]

    class Changed(Message):
        def __init__(self, letters: frozenset[str]) -> None:
            super().__init__()
            self.letters = letters

    class Submitted(Message):
        def __init__(self, letters: frozenset[str]) -> None:
            super().__init__()
            self.letters = letters

    def __init__(self, presented: Presented, meta: str = "",
                 selected: frozenset[str] = frozenset(), *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.presented = presented
        self.meta = meta
        self.initial = selected

    @property
    def question(self):  # type: ignore[no-untyped-def]
        return self.presented.question

    def compose(self) -> ComposeResult:
        q = self.question
        if self.meta:
            yield Label(self.meta, classes="question-meta", markup=False)
        yield Static(inline(q.prompt.strip()), classes="question-prompt")
        kind = _KIND.get(q.type) or f"Choose {q.picks}"
        yield Label(f"{kind} · 1-{len(q.options)} or a-{LETTERS[len(q.options) - 1]} to pick, "
                    "enter to submit", classes="question-kind")
        labels = [inline(f"{LETTERS[i]}) {o.text}") for i, o in enumerate(q.options)]
        if q.picks > 1:
            yield SelectionList[str](*((label, LETTERS[i], LETTERS[i] in self.initial)
                                      for i, label in enumerate(labels)), id="choices")
        else:
            with RadioSet(id="choices"):
                for i, label in enumerate(labels):
                    yield RadioButton(label, value=LETTERS[i] in self.initial)

    def on_mount(self) -> None:
        self.query_one("#choices").focus()

    @property
    def letters(self) -> frozenset[str]:
        choices = self.query_one("#choices")
        if isinstance(choices, SelectionList):
            return frozenset(str(v) for v in choices.selected)
        index = choices.pressed_index if isinstance(choices, RadioSet) else -1
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
        if isinstance(choices, SelectionList):
            choices.toggle(LETTERS[index])
            choices.highlighted = index
        else:
            list(choices.query(RadioButton))[index].value = True

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        event.stop()
        self.post_message(self.Changed(self.letters))

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:  # type: ignore[type-arg]
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
