"""Watch a lab workspace for saved files by polling modification times (portable, bounded)."""

from __future__ import annotations

import time
from pathlib import Path

from tutor.engine.labs.loader import Lab
from tutor.engine.labs.workspace import IGNORED, workspace_dir

# Files the learner edits; program outputs (ledgers, SQLite files) must not trigger a check.
WATCHED_SUFFIXES = {".py", ".js", ".mjs", ".cjs", ".json", ".yaml", ".yml", ".sql", ".txt",
                    ".md"}


class Watcher:
    def __init__(self, lab: Lab, root: Path | None = None) -> None:
        self.lab = lab
        self.root = root or workspace_dir(lab)
        self._seen = self.snapshot()

    def snapshot(self) -> dict[str, float]:
        found: dict[str, float] = {}
        if not self.root.is_dir():
            return found
        for path in self.root.rglob("*"):
            rel = path.relative_to(self.root)
            if IGNORED.intersection(rel.parts) or path.suffix not in WATCHED_SUFFIXES:
                continue
            try:
                found[str(rel)] = path.stat().st_mtime
            except OSError:  # deleted between listing and stat
                continue
        return found

    def changes(self) -> list[str]:
        """Files added, changed or removed since the last call."""
        now = self.snapshot()
        changed = sorted(name for name in now.keys() | self._seen.keys()
                         if now.get(name) != self._seen.get(name))
        self._seen = now
        return changed

    def wait(self, interval: float = 1.0, timeout: float | None = None) -> list[str]:
        """Block until a file changes (or `timeout` s pass: then an empty list)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            changed = self.changes()
            if changed:
                time.sleep(0.2)  # editors write in several steps; let the save finish
                self.changes()
                return changed
            if deadline is not None and time.monotonic() >= deadline:
                return []
            time.sleep(interval)
