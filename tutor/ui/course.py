"""What the app reads and writes: labs, question banks and the progress store (blocking).

Every method may touch the disk or import a lab's checks.py: call them from thread
workers, never from an event handler.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tutor.engine.labs.loader import Lab
    from tutor.engine.progress import ProgressStore
    from tutor.engine.quiz.model import Bank


class Course:
    def __init__(self, labs_dir: Path, quizzes_dir: Path,
                 store_path: Path | None = None) -> None:
        self.labs_dir = labs_dir
        self.quizzes_dir = quizzes_dir
        self.store_path = store_path
        self._lock = threading.Lock()
        self._store: ProgressStore | None = None
        self._banks: list[Bank] | None = None

    def store(self) -> ProgressStore:
        """The learner's progress store, opened once (its connections are per thread)."""
        from tutor.engine.progress import open_store

        with self._lock:
            if self._store is None:
                self._store = open_store(self.store_path)
            return self._store

    def banks(self) -> list[Bank]:
        """Every question bank, validated once; a TutorError names a bad file."""
        from tutor.engine.quiz.bank import load_banks

        with self._lock:
            if self._banks is None:
                self._banks = load_banks(self.quizzes_dir)
            return self._banks

    def forget_banks(self) -> None:
        """Read the banks again next time (after the learner edited one)."""
        with self._lock:
            self._banks = None

    def lab(self, lab_id: str) -> Lab:
        """One lab, validated, with its checks imported (fresh each time: content may change)."""
        from tutor.engine.labs.api import get_lab

        return get_lab(lab_id, self.labs_dir)

    def close(self) -> None:
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None
