"""A program that ended by itself says how (its code or signal), and only then."""

from __future__ import annotations

from pathlib import Path

import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.engine.labs.scenario import ScenarioRunner

PROGRAMS = {
    "done.py": "print('bye')\n",
    "fails.py": "raise SystemExit(3)\n",
    "segv.py": "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n",
    "forever.py": "import time\nprint('up', flush=True)\ntime.sleep(60)\n",
}


@pytest.fixture
def runner(tmp_path: Path):  # type: ignore[no-untyped-def]
    for name, text in PROGRAMS.items():
        (tmp_path / name).write_text(text)
    made = ScenarioRunner("95-ending", "lab95-", Endpoint("http://127.0.0.1:9", "test"),
                          tmp_path)
    yield made
    made.close()


@pytest.mark.timeout(60)
@pytest.mark.parametrize(("name", "said"), [("done.py", "exited with code 0"),
                                            ("fails.py", "exited with code 3"),
                                            ("segv.py", "was killed by SIGSEGV")])
def test_an_ending_of_its_own_is_told(runner: ScenarioRunner, name: str, said: str) -> None:
    program = runner.start(name)
    assert runner.wait_until(lambda: not program.alive, timeout=30)
    assert program.ending() == said


@pytest.mark.timeout(60)
def test_a_running_program_and_one_the_tutor_stopped_have_no_ending(
        runner: ScenarioRunner) -> None:
    program = runner.start("forever.py")
    assert runner.wait_until(lambda: "up" in program.output(), timeout=30)
    assert program.ending() == ""
    program.stop(grace=0.5)
    assert not program.alive and program.ending() == ""  # killed by the tutor, not a crash
