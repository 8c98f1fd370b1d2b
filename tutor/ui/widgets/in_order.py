"""Text widgets that apply keys in the order they were typed.

Textual's `TextArea` and `Input` insert a printable key in their own `_on_key`, but run their
own bound keys (backspace, arrows, ctrl+k, undo ...) only once the key has bubbled up to the
app: behind every key already queued. Typed fast (a paste-like burst from tmux, a browser's
batch of keys, a loaded machine), `ctrl+k` then text deleted the wrong part of the line and
`b a backspace c` gave `ba` (Textual issue 6605). These subclasses run the widget's own
bindings where the printable keys are handled, so every key lands in typing order.
"""

from __future__ import annotations

from textual import events
from textual.widget import Widget
from textual.widgets import Input, TextArea


async def run_own_binding(widget: Widget, event: events.Key) -> bool:
    """Run `widget`'s own (non-priority) binding for `event` now, as the app would once the
    key bubbled up; True when one ran. Priority bindings ran before the key got here."""
    bindings = widget._bindings.copy()
    if widget.app._keymap:
        bindings.apply_keymap(widget.app._keymap)
    for binding in bindings.key_to_bindings.get(event.key, ()):
        if not binding.priority and await widget.app.run_action(binding.action, widget):
            event.stop()
            event.prevent_default()
            return True
    return False


class InOrderTextArea(TextArea):
    async def _on_key(self, event: events.Key) -> None:
        if not await run_own_binding(self, event):
            await super()._on_key(event)


class InOrderInput(Input):
    async def _on_key(self, event: events.Key) -> None:
        if not await run_own_binding(self, event):
            await super()._on_key(event)
