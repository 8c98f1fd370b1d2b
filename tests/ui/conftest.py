"""Fixtures for the TUI tests: small content on disk (the real content stays read-only)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tutor.locations import PROJECT_ROOT

from .helpers import FIXTURES


@pytest.fixture
def quizzes() -> Path:
    return FIXTURES / "quizzes"


@pytest.fixture
def labs(tmp_path: Path) -> Path:
    """A copy of the real lab 09 (FIFO), so other labs being written do not matter."""
    root = tmp_path / "labs"
    shutil.copytree(PROJECT_ROOT / "labs" / "09-fifo", root / "09-fifo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    return root
