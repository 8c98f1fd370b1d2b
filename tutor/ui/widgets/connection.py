"""A bar that shows the LocalStack connection: booting, ready, lost, failed, and the fix."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from tutor.cloud.connection import SHELL_HINT, ConnectionState

_ICONS = {"booting": "◌", "ready": "●", "lost": "✖", "failed": "✖"}


class ConnectionBar(Static):
    """One line; `hint=True` (home) adds the shell hint when LocalStack is ready."""

    DEFAULT_CSS = """
    ConnectionBar {
        height: auto;
        max-height: 3;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    ConnectionBar.-ready { color: $success; }
    ConnectionBar.-booting { color: $warning; }
    ConnectionBar.-lost, ConnectionBar.-failed { color: $error; background: $error 15%; }
    """

    state: reactive[ConnectionState] = reactive(
        ConnectionState("booting", "Looking for LocalStack ..."), always_update=True)

    def __init__(self, *, hint: bool = False, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.hint = hint

    def render_state(self, state: ConnectionState) -> str:
        text = f"{_ICONS.get(state.phase, '?')} {state.phase.upper()}  {state.detail}"
        if state.fix:
            text += f" — {state.fix}"
        elif self.hint and state.phase == "ready":
            text += f" · your shell: {SHELL_HINT}"
        return text

    def watch_state(self, state: ConnectionState) -> None:
        for phase in _ICONS:
            self.set_class(phase == state.phase, f"-{phase}")
        self.update(self.render_state(state))
