"""Idioms a lab's checks must not use, because each one races or lies (found in labs)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tutor.locations import PROJECT_ROOT

# Each lab's own check code (checks.py and its helper modules next to it).
CHECKS = sorted((PROJECT_ROOT / "labs").glob("*/*.py"))


def _restart_comparisons(path: Path) -> list[str]:
    """`program.restarts >= N` (and the like) decides whether a supervised program is down
    for good; read apart from `alive`, it races with the supervisor's restart (the count
    is up before the new process exists). `Program.finished` answers under its lock."""
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(isinstance(n, ast.Attribute) and n.attr in ("restarts", "max_restarts")
                   for n in sides):
                found.append(f"{path.parent.name}/{path.name}:{node.lineno}")
    return found


@pytest.mark.parametrize("path", CHECKS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_check_compares_a_restart_count(path: Path) -> None:
    found = _restart_comparisons(path)
    assert not found, ("compare no restart count to decide a program is down; read "
                       f"`program.finished` (it cannot race with a restart): {found}")


def test_the_idiom_test_finds_what_it_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "checks.py"
    bad.write_text("x = 1\ndone = not w.alive and w.restarts >= 3\n")
    assert _restart_comparisons(bad) == [f"{tmp_path.name}/checks.py:2"]
