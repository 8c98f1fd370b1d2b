"""Every lab of the course, proven against the real LocalStack (what `tutor dev check` does).

For each lab: its checks fail on the untouched starter, pass after the reference solution,
and reset leaves no resource with the lab's prefix behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tutor import locations
from tutor.engine.labs.loader import lab_dirs, load_lab
from tutor.engine.labs.selftest import selftest_lab, validate_content

if TYPE_CHECKING:
    from pathlib import Path

    from tutor.cloud.endpoint import Endpoint

LABS = [path.name for path in lab_dirs(locations.labs_dir())]


def test_all_content_is_valid() -> None:
    assert validate_content(locations.labs_dir(), locations.quizzes_dir()) == []


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("lab_id", LABS)
def test_lab_selftest(lab_id: str, localstack: Endpoint, tmp_path: Path) -> None:
    lab = load_lab(locations.labs_dir() / lab_id)
    result = selftest_lab(lab, localstack, tmp_path)
    assert result.ok, "\n".join(result.problems)
    assert result.solution is not None and result.solution.passed
    assert max(result.check_seconds, default=0.0) < 10.0
