"""Quiz test fixtures: a fixed clock, a fresh progress store, synthetic banks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tutor.engine.progress import ProgressStore
from tutor.engine.quiz.model import Bank

from .helpers import FixedClock, make_bank, make_question


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture
def store(tmp_path: Path) -> ProgressStore:
    return ProgressStore(tmp_path / "progress.db")


@pytest.fixture
def bank_factory() -> Callable[..., Bank]:
    def build(per_domain: dict[str, int], bank_id: str = "synthetic") -> Bank:
        qs = [make_question(f"{d}-{i:03d}", d) for d, n in per_domain.items()
              for i in range(n)]
        return make_bank(qs, bank_id)
    return build
