"""The steps of a lab, each with its state: not checked, checking, passed, partial, failed..."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import TYPE_CHECKING

from textual.content import Content
from textual.widgets import OptionList
from textual.widgets.option_list import Option, OptionDoesNotExist

if TYPE_CHECKING:
    from tutor.engine.labs.runner import StepReport


@dataclass(frozen=True)
class StepState:
    status: str  # not checked | queued | checking | passed | partial | failed | skipped | blocked
    fraction: float = 0.0

    @classmethod
    def of(cls, status: str, score: float, max_score: float) -> StepState:
        fraction = score / max_score if max_score else 0.0
        if status == "failed" and fraction > 0:
            return cls("partial", fraction)
        return cls(status, fraction)

    @property
    def label(self) -> str:
        return f"partial {self.fraction:.0%}" if self.status == "partial" else self.status


_LOOK = {"not checked": ("·", "$text-muted"), "checking": ("◌", "$warning"),
         "queued": ("…", "$text-muted"),
         "passed": ("✓", "$success"), "partial": ("◐", "$warning"),
         "failed": ("✗", "$error"), "skipped": ("–", "$text-muted"),
         "blocked": ("■", "$text-muted")}


class StepList(OptionList):
    """Attributes down: the screen sets titles and states; highlighting posts the usual
    OptionList.OptionHighlighted message."""

    DEFAULT_CSS = """
    StepList, StepList:focus { height: 1fr; border: none; padding: 0; }
    StepList > .option-list--option { padding: 0 0 1 0; }
    """
    WRAP = 29  # title characters per line; the continuation lines are indented

    def __init__(self, steps: list[tuple[str, str]], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.titles = dict(steps)
        self.states = {step_id: StepState("not checked") for step_id, _t in steps}
        self.hints: dict[str, str] = {}  # e.g. "hints 2/5", once the learner asked

    def on_mount(self) -> None:
        self.add_options(Option(self._prompt(step_id), id=step_id) for step_id in self.titles)
        if self.option_count:
            self.highlighted = 0

    def _prompt(self, step_id: str) -> Content:
        state = self.states[step_id]
        icon, colour = _LOOK.get(state.status, ("?", "$text"))
        number = list(self.titles).index(step_id) + 1
        wrap = max(12, self.size.width - 9) if self.size.width else self.WRAP
        title = "\n    ".join(textwrap.wrap(self.titles[step_id], wrap)) or step_id
        hints = f" · {self.hints[step_id]}" if step_id in self.hints else ""
        return Content.from_markup(
            f"[{colour}]{icon}[/] {number}. [b]$title[/]\n    [{colour}]{state.label}[/]"
            "[$text-muted]$hints[/]", title=title, hints=hints)

    def _redraw(self, step_id: str) -> None:
        try:
            self.replace_option_prompt(step_id, self._prompt(step_id))
        except OptionDoesNotExist:  # not mounted yet: on_mount draws from self.states
            pass

    def on_resize(self) -> None:
        for step_id in self.titles:  # wrap the titles again, indented, at the new width
            self._redraw(step_id)

    def set_state(self, step_id: str, state: StepState) -> None:
        if step_id in self.states:
            self.states[step_id] = state
            self._redraw(step_id)

    def set_hints(self, step_id: str, shown: int, total: int) -> None:
        if step_id in self.states and shown:
            self.hints[step_id] = f"hints {shown}/{total}"
            self._redraw(step_id)

    def set_all(self, state: StepState) -> None:
        for step_id in self.titles:
            self.set_state(step_id, state)

    def start_check(self) -> None:
        """Every step waits its turn; the first one is being checked."""
        for index, step_id in enumerate(self.titles):
            self.set_state(step_id, StepState("checking" if index == 0 else "queued"))

    def checked(self, report: StepReport) -> None:
        """One step's result streamed in: show it, and move "checking" to the next step."""
        self.set_state(report.step_id, StepState.of(report.status, report.score,
                                                    report.max_score))
        waiting = [s for s, state in self.states.items() if state.status == "queued"]
        if waiting:
            self.set_state(waiting[0], StepState("checking"))

    def settle(self, reports: dict[str, StepReport]) -> None:
        """After a check ended (or failed): no step stays "checking" or "queued"."""
        for step_id, state in self.states.items():
            if state.status in ("checking", "queued"):
                report = reports.get(step_id)
                self.set_state(step_id, StepState.of(report.status, report.score,
                                                     report.max_score)
                               if report else StepState("not checked"))

    def select_first_failed(self) -> None:
        for index, state in enumerate(self.states.values()):
            if state.status in ("failed", "partial"):
                self.highlighted = index
                return

    @property
    def selected_step(self) -> str | None:
        option = self.highlighted_option
        return option.id if option is not None else None
