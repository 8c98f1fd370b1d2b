"""Lab 06's measures from the function's log lines, checked without LocalStack."""

from __future__ import annotations

import sys
from pathlib import Path
from types import ModuleType

from tutor.engine.labs.loader import load_lab

LABS = Path(__file__).resolve().parents[2] / "labs"


def _checks(folder: str) -> ModuleType:
    lab = load_lab(LABS / folder)
    return sys.modules["tutor_lab_checks_" + lab.id.replace("-", "_")]


def test_peak_concurrency_counts_overlaps_only() -> None:
    lab06 = _checks("06-lambda-scaling")
    serial = [{"start": 0.0, "end": 1.0}, {"start": 1.0, "end": 2.0}]
    assert lab06.peak_concurrency(serial) == 1  # one ends as the next starts
    overlapping = [*serial, {"start": 0.5, "end": 1.5}, {"start": 0.6, "end": 0.7}]
    assert lab06.peak_concurrency(overlapping) == 3
    assert lab06.peak_concurrency([]) == 0
    assert lab06._histogram([{"size": 50}, {"size": 10}, {"size": 50}]) == {"10": 1,
                                                                             "50": 2}
