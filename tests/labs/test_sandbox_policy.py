"""When learner programs run sandboxed, and what a machine without a sandbox is told."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor import sandbox
from tutor.engine.labs.editing import SERVED_ENV


@pytest.mark.parametrize(("served", "setting", "available", "confined"), [
    ("public", "", True, True), ("public", "0", True, True),  # a public tab: always
    ("public", "", False, True),  # (and there it refuses to run unconfined)
    ("loopback", "", True, True), ("loopback", "", False, False),
    ("loopback", "0", True, False), (None, "", True, False), (None, "1", True, True)])
def test_who_is_sandboxed(monkeypatch: pytest.MonkeyPatch, served: str | None, setting: str,
                          available: bool, confined: bool) -> None:
    if served is None:
        monkeypatch.delenv(SERVED_ENV, raising=False)
    else:
        monkeypatch.setenv(SERVED_ENV, served)
    monkeypatch.setenv(sandbox.SANDBOX_ENV, setting)
    monkeypatch.setattr(sandbox, "problem", lambda: "" if available else "no bwrap")
    assert sandbox.wanted() is confined


def test_without_bubblewrap_the_reason_is_one_line_with_the_fix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    sandbox.problem.cache_clear()
    try:
        reason = sandbox.problem()
    finally:
        sandbox.problem.cache_clear()
    assert "bubblewrap" in reason and "apt-get install bubblewrap" in reason
    assert "\n" not in reason


def test_a_sandbox_that_cannot_be_had_refuses_to_start_a_program(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from tutor.errors import TutorError

    monkeypatch.setattr(sandbox, "problem", lambda: "bubblewrap (bwrap) is not installed")
    with pytest.raises(TutorError, match="must run sandboxed here"):
        sandbox.Confinement(tmp_path, "http://127.0.0.1:4566")
