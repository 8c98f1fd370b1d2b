"""Fixtures of the lab tests."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from tutor import locations
from tutor.engine.labs.loader import load_lab
from tutor.engine.labs.selftest import SelfTestResult, selftest_lab

if TYPE_CHECKING:
    from pathlib import Path

    from tutor.cloud.endpoint import Endpoint


@dataclass(frozen=True)
class SelfTest:
    result: SelfTestResult
    seconds: float
    scratch: Path  # the workspace the run used


@pytest.fixture(scope="session")
def lab_selftest(localstack: Endpoint, tmp_path_factory: pytest.TempPathFactory
                 ) -> Callable[[str], SelfTest]:
    """A lab's self-test (starter fails, solution passes, reset is clean), run once per
    session: test_selftest proves every lab with it, and a lab's own test reads more
    evidence from the same run instead of running the whole lab again."""
    done: dict[str, SelfTest] = {}

    def run(lab_id: str) -> SelfTest:
        if lab_id not in done:
            lab = load_lab(locations.labs_dir() / lab_id)
            scratch = tmp_path_factory.mktemp(f"selftest-{lab_id}")
            start = time.monotonic()
            result = selftest_lab(lab, localstack, scratch)
            done[lab_id] = SelfTest(result, time.monotonic() - start, scratch)
            print(f"{lab_id} self-test {done[lab_id].seconds:.1f} s, phases "
                  f"{ {k: round(v, 1) for k, v in result.phases.items()} }")
        return done[lab_id]

    return run
