"""One-line progress figures for the home screen, read from the store (blocking)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

if TYPE_CHECKING:
    from tutor.engine.catalog import Entry
    from tutor.engine.progress import ProgressStore
    from tutor.engine.quiz.model import Bank


@dataclass(frozen=True)
class BankFigures:
    answered: int
    correct: int
    due: int

    @property
    def accuracy(self) -> str:
        return f"{100 * self.correct / self.answered:.0f}% of {self.answered}" \
            if self.answered else "—"


def _step_ids(lab_dir: Path) -> list[str]:
    try:
        data = yaml.safe_load((lab_dir / "lab.yaml").read_text(encoding="utf-8"))
        return [str(s["id"]) for s in data.get("steps", []) if isinstance(s, dict)]
    except (OSError, yaml.YAMLError, KeyError, AttributeError, TypeError):
        return []


def lab_line(store: ProgressStore, entry: Entry) -> str:
    """e.g. `2/5 steps · best 64%` (passed; mean best score), `✓ complete`, `not started`."""
    state = store.lab_state(entry.id)
    if state["completed_at"]:
        return "✓ complete"
    best = store.best_steps(entry.id)
    steps = _step_ids(entry.path) or list(best)
    if not best:
        return "started" if state["started_at"] else "not started"
    passed = sum(1 for s in steps if best.get(s, 0.0) >= 1.0)
    mean = sum(best.get(s, 0.0) for s in steps) / max(1, len(steps))
    return f"{passed}/{len(steps)} steps · best {mean:.0%}"


def bank_figures(store: ProgressStore, banks: list[Bank]) -> dict[str, BankFigures]:
    tally: dict[str, list[int]] = {b.id: [0, 0, 0] for b in banks}
    for answer in store.answers():
        if answer["bank"] in tally:
            tally[answer["bank"]][0] += 1
            tally[answer["bank"]][1] += int(answer["correct"])
    bank_of = {q.id: b.id for b in banks for q in b.questions}
    for qid in store.due_cards(time.time()):
        if qid in bank_of:
            tally[bank_of[qid]][2] += 1
    return {bid: BankFigures(*t) for bid, t in tally.items()}
