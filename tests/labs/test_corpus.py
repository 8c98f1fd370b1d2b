"""Every lab's mistakes corpus against the real LocalStack (what `tutor dev check` runs).

Each mistake must fail the step it targets with the words that name it; each variant (a
right solution written differently) must pass. The cases of all labs run in one pool,
with the labs' self-tests, TUTOR_CORPUS_PARALLEL (default 3) at a time, each slot in a
LocalStack account of its own (the `proven` fixture).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tutor import locations
from tutor.engine.labs.corpus import load_cases
from tutor.engine.labs.loader import lab_dirs, load_lab

if TYPE_CHECKING:
    from tutor.engine.labs.corpus import CorpusResult

LABS = [path.name for path in lab_dirs(locations.labs_dir())]


@pytest.mark.parametrize("lab_id", LABS)
def test_corpus_is_readable_and_big_enough(lab_id: str) -> None:
    lab = load_lab(locations.labs_dir() / lab_id)
    cases, problems = load_cases(lab)
    assert problems == []
    kinds = [c.spec.kind for c in cases]
    assert kinds.count("mistake") >= 8, f"{lab_id}: {kinds.count('mistake')} mistakes"
    assert kinds.count("variant") >= 4, f"{lab_id}: {kinds.count('variant')} variants"
    steps_with_work = {s.id for s in lab.spec.steps if s.solution.files or s.solution.run}
    targeted = {c.spec.step for c in cases if c.spec.kind == "mistake"}
    assert steps_with_work <= targeted, f"steps no mistake targets: {steps_with_work - targeted}"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(3000)  # the first test that reads `proven` waits for the pool
@pytest.mark.parametrize("lab_id", LABS)
def test_lab_corpus(lab_id: str, proven: dict[str, CorpusResult]) -> None:
    result = proven[lab_id]
    print(f"\n{lab_id}: {result.counts()}, {sum(r.seconds for r in result.results):.0f} s "
          "of case time")
    for case in result.results:
        print(f"  {'ok ' if case.ok else 'BAD'} {case.case.spec.kind:8} {case.case.id:40} "
              f"{case.seconds:5.1f} s (account {case.account})")
    assert result.ok, "\n".join(result.failures())
