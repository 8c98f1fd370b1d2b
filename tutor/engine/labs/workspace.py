"""The learner's copy of a lab's starter: start, compare, reset, and apply the solution."""

from __future__ import annotations

import filecmp
import shutil
from pathlib import Path

from tutor.engine.labs.loader import Lab
from tutor.errors import TutorError

IGNORED = {"__pycache__", ".DS_Store", "node_modules"}


def workspace_dir(lab: Lab, root: Path | None = None) -> Path:
    from tutor import locations

    return (root or locations.workspace_root()) / lab.id


def _files(base: Path) -> dict[str, Path]:
    if not base.is_dir():
        return {}
    return {str(p.relative_to(base)): p for p in base.rglob("*")
            if p.is_file() and not IGNORED.intersection(p.relative_to(base).parts)}


def changed_files(lab: Lab, root: Path | None = None) -> list[str]:
    """Workspace files that differ from the starter: edited, added or deleted."""
    work = _files(workspace_dir(lab, root))
    starter = _files(lab.starter)
    changed = [name for name, path in work.items()
               if name not in starter or not filecmp.cmp(path, starter[name], shallow=False)]
    changed += [f"{name} (deleted)" for name in starter if name not in work]
    return sorted(changed)


def _copy_starter(lab: Lab, target: Path) -> None:
    shutil.copytree(lab.starter, target, dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns(*IGNORED))


def start_lab(lab: Lab, force: bool = False, root: Path | None = None) -> Path:
    """Copy the starter into the workspace; refuse to overwrite the learner's changes.

    With `force`, the learner's folder is kept as `<lab-id>.bak` (replacing an older one).
    """
    target = workspace_dir(lab, root)
    if target.exists() and any(target.iterdir()):
        changed = changed_files(lab, root)
        if not changed:
            return target  # already started and untouched
        if not force:
            shown = ", ".join(changed[:5]) + (" ..." if len(changed) > 5 else "")
            raise TutorError(
                f"Your workspace {target} already has work in it ({shown})",
                "Workspace in use",
                f"keep working there, or start over with `tutor lab start {lab.id} --force` "
                f"(your files are kept in {target.name}.bak)")
        _backup(target)
    target.mkdir(parents=True, exist_ok=True)
    _copy_starter(lab, target)
    return target


def _backup(target: Path) -> Path:
    backup = target.with_name(target.name + ".bak")
    if backup.exists():
        shutil.rmtree(backup)
    target.rename(backup)
    return backup


def reset_workspace(lab: Lab, root: Path | None = None) -> Path:
    """Restore the pristine starter (the learner's folder is kept once as `.bak`)."""
    target = workspace_dir(lab, root)
    if target.exists() and changed_files(lab, root):
        _backup(target)
    elif target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True, exist_ok=True)
    _copy_starter(lab, target)
    return target


def copy_solution_files(lab: Lab, files: list[str], target: Path) -> list[str]:
    """Copy `files` (paths under solution/) over the workspace; returns what was copied."""
    copied: list[str] = []
    for rel in files:
        source = lab.solution / rel
        dest = target / rel
        if source.is_dir():
            shutil.copytree(source, dest, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns(*IGNORED))
        else:
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest)
        copied.append(rel)
    return copied


def solution_files(lab: Lab) -> dict[str, str]:
    """The text of every solution file, for showing to the learner."""
    return {name: path.read_text(errors="replace") for name, path in _files(lab.solution).items()}
