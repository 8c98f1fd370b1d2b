"""A one-line bar that shows the LocalStack connection: booting, ready, lost, failed."""

from __future__ import annotations

from textual.reactive import reactive
from textual.widgets import Static

from tutor.cloud.connection import ConnectionState

_ICONS = {"booting": "◌", "ready": "●", "lost": "✖", "failed": "✖"}


class ConnectionBar(Static):
    DEFAULT_CSS = """
    ConnectionBar {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $text-muted;
    }
    ConnectionBar.-ready { color: $success; }
    ConnectionBar.-booting { color: $warning; }
    ConnectionBar.-lost, ConnectionBar.-failed { color: $error; }
    """

    state: reactive[ConnectionState] = reactive(
        ConnectionState("booting", "Looking for LocalStack ..."), always_update=True)

    def render_state(self, state: ConnectionState) -> str:
        text = f"{_ICONS.get(state.phase, '?')} {state.phase.upper()}  {state.detail}"
        if state.fix:
            text += f" — {state.fix}"
        return text

    def watch_state(self, state: ConnectionState) -> None:
        for phase in _ICONS:
            self.set_class(phase == state.phase, f"-{phase}")
        self.update(self.render_state(state))
