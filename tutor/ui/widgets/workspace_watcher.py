"""Watch mode: a non-visual widget that polls a lab workspace and posts `Saved`.

Polling (no extra package) runs in a thread worker, bounded in time, and stops when
the watcher is removed with its screen. While `paused` (a check is running, and its
programs write files), changes are not reported and the next look starts afresh.
"""

from __future__ import annotations

import time
from pathlib import Path

from textual import work
from textual.message import Message
from textual.widget import Widget
from textual.worker import get_current_worker

from tutor.engine.labs.watch import changed, snapshot

INTERVAL = 1.0  # seconds between two looks at the workspace
LIMIT = 4 * 3600  # a forgotten watch stops by itself


class WorkspaceWatcher(Widget):
    DEFAULT_CSS = "WorkspaceWatcher { display: none; }"

    class Saved(Message):
        """WorkspaceWatcher, when the learner saves files ->
        LabScreen.on_workspace_watcher_saved (watch mode re-checks)."""

        def __init__(self, files: list[str]) -> None:
            super().__init__()
            self.files = files

    def __init__(self, root: Path, *, interval: float = INTERVAL) -> None:
        super().__init__()
        self.root = root
        self.interval = interval
        self.paused = False

    def on_mount(self) -> None:
        self.poll()

    @work(thread=True, exclusive=True, exit_on_error=False)
    def poll(self) -> None:
        worker = get_current_worker()
        before = snapshot(self.root)
        deadline = time.monotonic() + LIMIT
        while not worker.is_cancelled and time.monotonic() < deadline:
            time.sleep(self.interval)
            if self.paused:
                before = {}
                continue
            after = snapshot(self.root)
            files = changed(before, after) if before else []
            before = after
            if files and not worker.is_cancelled:
                self.post_message(self.Saved(files))
