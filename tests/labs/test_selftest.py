"""Every lab of the course, proven against the real LocalStack (what `tutor dev check` does).

For each lab: its checks fail on the untouched starter, pass after the reference solution,
and reset leaves no resource with the lab's prefix behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tutor import locations
from tutor.engine.labs.loader import lab_dirs
from tutor.engine.labs.selftest import validate_content

if TYPE_CHECKING:
    from collections.abc import Callable

    from tests.labs.conftest import SelfTest

LABS = [path.name for path in lab_dirs(locations.labs_dir())]


def test_all_content_is_valid() -> None:
    assert validate_content(locations.labs_dir(), locations.quizzes_dir()) == []


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(480)  # lab 05 waits out a 90 s visibility timeout
@pytest.mark.parametrize("lab_id", LABS)
def test_lab_selftest(lab_id: str, lab_selftest: Callable[[str], SelfTest]) -> None:
    result = lab_selftest(lab_id).result
    assert result.ok, "\n".join(result.problems)
    assert result.solution is not None and result.solution.passed
    assert max(result.check_seconds, default=0.0) < 10.0
