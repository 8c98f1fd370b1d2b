"""Every lab's mistakes corpus against the real LocalStack (what `tutor dev check` runs).

Each mistake must fail the step it targets with the words that name it; each variant (a
right solution written differently) must pass. Cases run three at a time, each in a
LocalStack account of its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from tutor import locations
from tutor.engine.labs.corpus import load_cases, run_corpus
from tutor.engine.labs.loader import lab_dirs, load_lab

if TYPE_CHECKING:
    from tutor.cloud.endpoint import Endpoint

LABS = [path.name for path in lab_dirs(locations.labs_dir())]


@pytest.mark.parametrize("lab_id", LABS)
def test_corpus_is_readable_and_big_enough(lab_id: str) -> None:
    lab = load_lab(locations.labs_dir() / lab_id)
    cases, problems = load_cases(lab)
    assert problems == []
    kinds = [c.spec.kind for c in cases]
    assert kinds.count("mistake") >= 8, f"{lab_id}: {kinds.count('mistake')} mistakes"
    assert kinds.count("variant") >= 4, f"{lab_id}: {kinds.count('variant')} variants"


@pytest.mark.localstack
@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize("lab_id", LABS)
def test_lab_corpus(lab_id: str, localstack: Endpoint) -> None:
    lab = load_lab(locations.labs_dir() / lab_id)
    result = run_corpus(lab, localstack, parallel=3)
    print(f"\n{lab_id}: {result.counts()} in {result.seconds:.1f} s")
    for case in result.results:
        print(f"  {'ok ' if case.ok else 'BAD'} {case.case.spec.kind:8} {case.case.id:40} "
              f"{case.seconds:5.1f} s")
    assert result.ok, "\n".join(result.failures())
