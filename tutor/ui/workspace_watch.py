"""Noticing when the learner saves a file in a lab's workspace (polling, no extra package)."""

from __future__ import annotations

from pathlib import Path

# Files the learner edits; outputs the checks' programs write (ledgers, databases) are not.
WATCHED = {".py", ".js", ".mjs", ".ts", ".json", ".yaml", ".yml", ".sh", ".txt", ".toml"}
IGNORED_DIRS = {"__pycache__", "node_modules", ".git"}
MAX_FILES = 2000


def snapshot(root: Path) -> dict[str, float]:
    """mtime of every watched file under `root` (bounded, so a huge folder stays cheap)."""
    found: dict[str, float] = {}
    if not root.is_dir():
        return found
    for path in root.rglob("*"):
        if len(found) >= MAX_FILES:
            break
        if IGNORED_DIRS.intersection(path.relative_to(root).parts):
            continue
        if path.suffix in WATCHED and path.is_file():
            try:
                found[str(path.relative_to(root))] = path.stat().st_mtime
            except OSError:  # deleted between listing and stat
                continue
    return found


def changed(before: dict[str, float], after: dict[str, float]) -> list[str]:
    names = {n for n in after if before.get(n) != after[n]}
    names |= {n for n in before if n not in after}
    return sorted(names)
