"""Every lab of the course, proven against the real LocalStack (what `tutor dev check` does).

For each lab: its checks fail on the untouched starter, pass after the reference solution,
and reset leaves no resource with the lab's prefix behind. Run once per session in the
`proven` pool, in a classroom learner's kind of account (not LocalStack's default one:
every ARN and bucket name must come from the account); the corpus's slot 0 works in the
default account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tutor import locations
from tutor.engine.labs.loader import lab_dirs
from tutor.engine.labs.selftest import validate_content

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint
    from tutor.engine.labs.corpus import CorpusResult

LABS = [path.name for path in lab_dirs(locations.labs_dir())]


def test_all_content_is_valid() -> None:
    assert validate_content(locations.labs_dir(), locations.quizzes_dir()) == []


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(3000)  # the first test that reads `proven` waits for the pool
@pytest.mark.parametrize("lab_id", LABS)
def test_lab_selftest(lab_id: str, localstack: Endpoint,
                      proven: dict[str, CorpusResult]) -> None:
    result = proven[lab_id].selftests["learner"]
    assert result.account not in ("", localstack.account)
    assert result.ok, "\n".join(result.problems)
    assert result.solution is not None and result.solution.passed
    assert max(result.check_seconds, default=0.0) < 10.0
