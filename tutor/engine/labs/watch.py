"""Watch a lab workspace for saved files by polling modification times (portable, bounded)."""

from __future__ import annotations

import time
from pathlib import Path

from tutor.engine.labs.loader import Lab
from tutor.engine.labs.workspace import IGNORED, workspace_dir

# Files the learner edits; program outputs (ledgers, SQLite files) must not trigger a
# check. The one list for `tutor lab watch` and the TUI's lab screen.
WATCHED_SUFFIXES = {".py", ".js", ".mjs", ".cjs", ".ts", ".json", ".yaml", ".yml", ".sql",
                    ".sh", ".txt", ".toml", ".md"}
MAX_FILES = 2000  # bounded: a huge folder in the workspace stays cheap to poll


def snapshot(root: Path) -> dict[str, float]:
    """mtime of every watched file under `root`, by relative path."""
    found: dict[str, float] = {}
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        if len(found) >= MAX_FILES:
            break
        rel = path.relative_to(root)
        if IGNORED.intersection(rel.parts) or path.suffix not in WATCHED_SUFFIXES:
            continue
        try:
            if path.is_file():
                found[str(rel)] = path.stat().st_mtime
        except OSError:  # deleted between listing and stat
            continue
    return found


def changed(before: dict[str, float], after: dict[str, float]) -> list[str]:
    """Files added, changed or removed between two snapshots."""
    return sorted(name for name in before.keys() | after.keys()
                  if before.get(name) != after.get(name))


class Watcher:
    def __init__(self, lab: Lab, root: Path | None = None) -> None:
        self.lab = lab
        self.root = root or workspace_dir(lab)
        self._seen = self.snapshot()

    def snapshot(self) -> dict[str, float]:
        return snapshot(self.root)

    def changes(self) -> list[str]:
        """Files added, changed or removed since the last call."""
        now = self.snapshot()
        found = changed(self._seen, now)
        self._seen = now
        return found

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
