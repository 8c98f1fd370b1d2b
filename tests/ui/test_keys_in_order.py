"""Keys typed faster than the app handles them land in typing order in the editor and in
the prompts' inputs: bound keys (backspace, ctrl+k, arrows, undo) and printable keys alike.
The keys are posted all at once, as a terminal's read of a fast burst (tmux send-keys, a
paste-like macro, a browser's batch) hands them to the app."""

from __future__ import annotations

import pytest
from textual import events
from textual.app import App, ComposeResult
from textual.keys import _character_to_key
from textual.widget import Widget
from textual.widgets import Input, TextArea

from tutor.ui.widgets.in_order import InOrderInput, InOrderTextArea

from .helpers import until

LINE = 'ensure_queue(f"{PREFIX}orders", {}, {"VisibilityTimeout": "30"})'
RIGHT = 'ensure_queue(f"{PREFIX}orders.fifo", {"FifoQueue": "true"}, {"VisibilityTimeout": "30"})'


def burst(app: App[None], *keys: str) -> None:
    """Post every key at once (no waiting in between): a name like "ctrl+k", or text."""
    for key in keys:
        if len(key) > 1 and not key.startswith("text:"):
            app.post_message(events.Key(key, None))
            continue
        for char in key.removeprefix("text:"):
            app.post_message(events.Key(_character_to_key(char), char))


class One(App[None]):
    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def _settled(app: App[None], pilot, read, want: str) -> str:  # type: ignore[no-untyped-def]
    try:
        await until(lambda: read() == want, pilot, seconds=5)
    except AssertionError:
        pass
    return read()


@pytest.mark.parametrize("keys, want", [
    (("b", "a", "backspace", "c"), "bc"),
    (("ctrl+k", f"text:{RIGHT}"), RIGHT),  # the line's text goes, then the new text
    (("text:abc", "left", "left", "text:X", "end", "text:Z"), "aXbcZ"),
    (("text:abc", "ctrl+z", "text:d"), "d"),  # undo of the typed word, then more typing
])
async def test_the_editor_applies_a_burst_in_typing_order(keys: tuple[str, ...],
                                                          want: str) -> None:
    start = LINE if keys[0] == "ctrl+k" else ""
    editor = InOrderTextArea.code_editor(start, language=None)
    app = One(editor)
    async with app.run_test() as pilot:
        editor.focus()
        editor.move_cursor((0, 0))
        await pilot.pause()
        burst(app, *keys)
        assert await _settled(app, pilot, lambda: editor.text, want) == want


@pytest.mark.parametrize("keys, want", [
    (("b", "a", "backspace", "c"), "bc"),
    (("text:12", "home", "text:3"), "312"),
])
async def test_a_prompt_input_applies_a_burst_in_typing_order(keys: tuple[str, ...],
                                                              want: str) -> None:
    field = InOrderInput()
    app = One(field)
    async with app.run_test() as pilot:
        field.focus()
        await pilot.pause()
        burst(app, *keys)
        assert await _settled(app, pilot, lambda: field.value, want) == want


async def test_the_widgets_are_still_the_textual_ones() -> None:
    """CSS, messages and handlers written for TextArea and Input apply unchanged."""
    assert issubclass(InOrderTextArea, TextArea) and issubclass(InOrderInput, Input)
    assert InOrderTextArea.Changed is TextArea.Changed
    assert InOrderInput.Submitted is Input.Submitted


async def test_a_line_replaced_and_saved_in_one_burst_is_saved_as_typed(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the tmux test does at full speed: the TODO key, down to a line, ctrl+k, the new
    line and ctrl+s. The save waited for the typed keys, but ctrl+k (the editor's own
    binding) ran after it: the file was saved with the old line's text still there."""
    import shutil

    from tutor.engine.labs.loader import load_lab
    from tutor.locations import PROJECT_ROOT
    from tutor.ui.screens.workspace import WorkspaceScreen

    lab = load_lab(PROJECT_ROOT / "labs" / "09-fifo")
    workspace = tmp_path / "09-fifo"
    shutil.copytree(lab.starter, workspace)
    infra = workspace / "infra.py"
    lines = infra.read_text().splitlines()
    old = next(line for line in lines if line.startswith('ensure_queue(f"{PREFIX}orders"'))
    todo = next(i for i, line in enumerate(lines) if "TODO" in line)

    class Host(App[None]):
        def on_mount(self) -> None:
            self.push_screen(WorkspaceScreen(lab, workspace, lab.spec.steps[0]))

    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await until(lambda: isinstance(app.screen, WorkspaceScreen)
                    and app.screen.rel == "infra.py", pilot)
        app.screen.editor.move_cursor((0, 0))
        await pilot.pause()
        burst(app, "ctrl+t", *["down"] * (lines.index(old) - todo), "ctrl+k",
              f"text:{RIGHT}", "ctrl+s")
        await until(lambda: RIGHT in infra.read_text(), pilot, seconds=10)
        assert RIGHT in infra.read_text().splitlines()
        assert old not in infra.read_text()
