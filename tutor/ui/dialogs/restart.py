"""The offer to restart a lost embedded LocalStack: what is kept, what is gone, one key."""

from __future__ import annotations

from tutor.cloud.connection import ConnectionState
from tutor.ui.dialogs.confirm import ConfirmDialog


class RestartOffer(ConfirmDialog):
    """Dismisses with True when the learner wants a fresh embedded LocalStack."""

    def __init__(self, state: ConnectionState) -> None:
        super().__init__(
            "LocalStack was lost",
            f"{state.detail}.\n\n"
            "Restart it now? Your progress and your workspace files are kept. What was "
            "inside LocalStack (queues, functions) is gone: run the lab's infra script "
            "again before checking.\n\nLater: ctrl+r from any screen.",
            "Restart", "Not now")
