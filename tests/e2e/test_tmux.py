"""The real `tutor` command in tmux at 80x24: keys in, what a person would see out."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

from tutor.cloud.endpoint import Endpoint
from tutor.locations import PROJECT_ROOT

TUTOR = Path(sys.executable).parent / "tutor"  # the console script of this venv
QUIZZES = Path(__file__).parents[1] / "ui" / "fixtures" / "quizzes"
WIDTH, HEIGHT = 80, 24


class Tmux:
    """One private tmux server (its own socket), one 80x24 window running one command."""

    def __init__(self, config: Path) -> None:
        self.socket = f"tutor-e2e-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        self.config = config
        self.last = ""

    def run(self, *args: str) -> str:
        done = subprocess.run(["tmux", "-L", self.socket, "-f", str(self.config), *args],
                              capture_output=True, text=True, timeout=10)
        if done.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, command: list[str]) -> None:
        self.run("new-session", "-d", "-s", "e2e", "-x", str(WIDTH), "-y", str(HEIGHT),
                 shlex.join(command))

    def screen(self) -> str:
        self.last = self.run("capture-pane", "-p", "-t", "e2e")
        return self.last

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "e2e", *keys)

    def pane(self, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", "e2e", fmt).strip()

    def wait(self, what: str, seen: Callable[[str], bool], seconds: float = 30.0) -> str:
        """Poll the screen until `seen(screen)`; fail with the last screen if it never is."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if seen(screen := self.screen()):
                return screen
            if "Pane is dead" in screen:  # no point waiting: say how it ended
                raise AssertionError(f"the tutor exited before the screen showed {what}; "
                                     f"last screen:\n{screen}")
            time.sleep(0.1)
        raise AssertionError(f"within {seconds:.0f} s the screen never showed {what}; "
                             f"last screen:\n{self.last}")

    def text(self, *needles: str, seconds: float = 30.0) -> str:
        # Also on the screen with whitespace collapsed: a status line may wrap anywhere.
        return self.wait(" and ".join(map(repr, needles)),
                         lambda s: all(n in s or n in " ".join(s.split()) for n in needles),
                         seconds)

    def tracebacks(self) -> str:
        """SIGABRT to the tutor: Python's faulthandler prints every thread's stack."""
        self.run("resize-window", "-t", "e", "-x", "250")  # long stack lines stay whole
        pid = int(self.pane("#{pane_pid}"))
        try:
            procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        except psutil.Error:
            return f"(the pane's process {pid} is gone; the last screen was)\n{self.last}"
        for proc in procs:
            try:
                if str(TUTOR) in proc.cmdline():
                    os.kill(proc.pid, signal.SIGABRT)
                    break
            except psutil.Error:  # a zombie child (exited, not yet reaped) has no cmdline
                continue
        time.sleep(1.0)
        return self.run("capture-pane", "-p", "-t", "e", "-S", "-2000")

    def kill(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"],
                       capture_output=True, timeout=10)


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail("tmux is not installed: the end-to-end test drives the real `tutor` in "
                    "tmux — install it (Debian/Ubuntu: apt-get install tmux)")
    config = tmp_path / "tmux.conf"
    # No status line (the app gets all 24 rows); keep the pane after exit to read its code.
    config.write_text("set -g status off\nset -g remain-on-exit on\n")
    session = Tmux(config)
    try:
        yield session
    finally:
        session.kill()  # always: no tmux server or tutor outlives the test


def _start_tutor(tmux: Tmux, tmp_path: Path, tutor_home: Path,
                 localstack: Endpoint) -> tuple[Path, Path]:
    """The real `tutor` in the tmux window, on lab 09 alone and a learner of its own; its
    workspace folder and the file its exit status goes to."""
    labs = tmp_path / "labs"  # only lab 09: what is on screen does not depend on the others
    shutil.copytree(PROJECT_ROOT / "labs" / "09-fifo", labs / "09-fifo",
                    ignore=shutil.ignore_patterns("__pycache__"))
    workspace = tmp_path / "ws"
    # A learner id of its own: its own LocalStack account, so queues other tests left in
    # the session's LocalStack (lab09-orders.fifo ...) cannot make step 1 pass.
    env = {"TUTOR_LEARNER": f"e2e-{uuid.uuid4().hex[:12]}",
           "TUTOR_HOME": str(tutor_home), "TUTOR_WORKSPACE": str(workspace),
           "TUTOR_LABS_DIR": str(labs), "TUTOR_QUIZZES_DIR": str(QUIZZES),
           "TERM": "xterm-256color", "COLORTERM": "truecolor", "TMUX": "",
           "TUTOR_ACCOUNT": "", "PYTHONFAULTHANDLER": "1"}
    # A shell waits for the tutor and writes its exit status to a file: tmux's own
    # "Pane is dead" line was not a reliable signal (a run under a long pytest session
    # left the pane looking alive for more than 10 s after the tutor had exited).
    tutor = shlex.join(["env", *(f"{k}={v}" for k, v in env.items()),
                        str(TUTOR), "--endpoint", localstack.url])
    status_file = tmp_path / "tutor-exit-status"
    tmux.start(["sh", "-c", f"{tutor}; echo $? > {shlex.quote(str(status_file))}"])
    assert tmux.pane("#{pane_width}x#{pane_height}") == f"{WIDTH}x{HEIGHT}"
    return workspace, status_file


@pytest.mark.localstack
@pytest.mark.slow
def test_tutor_in_tmux_lab_check_help_quit(tmux: Tmux, tmp_path: Path, tutor_home: Path,
                                           localstack: Endpoint) -> None:
    from tutor.engine.progress import open_store

    workspace, status_file = _start_tutor(tmux, tmp_path, tutor_home, localstack)

    home = tmux.text("SQS Patterns Tutor", "Labs (1)", "FIFO queues", "not started",
                     "UI fixture bank", "READY")
    assert localstack.url in home  # the learner sees which LocalStack the tutor uses
    assert "q Quit" in home and "? Help" in home  # the keys are in the footer

    tmux.keys("Enter")  # the only lab is selected
    tmux.text("Not started — press s", "Overview", "esc Back", "c Check")

    tmux.keys("s")
    tmux.text("Workspace:", "Create the FIFO queue", "not checked")
    assert (workspace / "09-fifo" / "infra.py").is_file()

    tmux.keys("c")  # the starter creates nothing yet: step 1 fails, the rest wait for it
    lab = tmux.text("✗ 1. Create the FIFO queue", "failed", "blocked", "0/5 steps",
                    seconds=90)
    assert "Checked" in lab or "last" in lab
    store = open_store()
    try:
        latest = store.latest_steps("09-fifo")
    finally:
        store.close()
    assert latest["fifo-queue"].passed is False  # the check was recorded, not just drawn

    tmux.keys("Escape")
    tmux.text("Labs (1)", "0/5 steps · best 0%")  # home shows the new progress

    tmux.keys("?")
    help_screen = tmux.text("Help", "this help", "Key")
    assert "Your lab files live in" in help_screen
    tmux.keys("Escape")
    tmux.wait("the help closed", lambda s: "this help" not in s and "Labs (1)" in s)

    tmux.keys("q")
    pressed = time.monotonic()
    while not status_file.exists() and time.monotonic() - pressed < 10:
        time.sleep(0.05)
    if not status_file.exists():
        raise AssertionError(f"`q` did not end the tutor within 10 s; its threads:\n"
                             f"{tmux.tracebacks()}")
    quit_seconds = time.monotonic() - pressed
    time.sleep(0.1)  # the shell's echo has been written (it creates the file first)
    status = status_file.read_text().strip()
    assert status == "0", f"the tutor exited with status {status}:\n{tmux.screen()}"
    assert "SQS Patterns Tutor" not in tmux.screen()  # the app left the alternate screen
    # How fast it quits is a benchmark figure (bench_ui); here only that it does, bounded
    # by the 10 s above. The figure goes to the log.
    print(f"quit took {quit_seconds:.2f} s")


@pytest.mark.localstack
@pytest.mark.slow
def test_a_step_done_with_the_tutors_editor_and_run_pane_alone(
        tmux: Tmux, tmp_path: Path, tutor_home: Path, localstack: Endpoint) -> None:
    """Lab 09's first step without leaving the tutor: edit infra.py in its editor, save,
    run it in the run pane, check, and the step passes. (Keys sent while a dialog closes
    can go to the dialog, as they can for a person typing ahead: the test moves with the
    TODO key and the arrows, and looks at the screen between steps.)"""
    workspace, _ = _start_tutor(tmux, tmp_path, tutor_home, localstack)
    tmux.text("Labs (1)", "FIFO queues")
    tmux.keys("Enter")
    tmux.text("Not started — press s")
    tmux.keys("s")
    tmux.text("Workspace:", "Create the FIFO queue")
    tmux.keys("e")
    tmux.text("infra.py", "TODO")
    infra = workspace / "09-fifo" / "infra.py"
    wrong = 'ensure_queue(f"{PREFIX}orders", {}, {"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})'
    row = infra.read_text().splitlines().index(wrong) + 1

    # To the line that creates a standard queue, as a person would: the next TODO, then
    # down, each time looking where the cursor is (the status line) before the next key.
    tmux.keys("C-t")
    todo = infra.read_text().splitlines().index(next(
        line for line in infra.read_text().splitlines() if "TODO" in line)) + 1
    tmux.text(f"line {todo}, col 1")
    for _ in range(row - todo):
        tmux.keys("Down")
    tmux.text(f"line {row}, col 1")
    tmux.keys("C-k")  # the line's text goes
    right = ('ensure_queue(f"{PREFIX}orders.fifo", {"FifoQueue": "true"}, '
             '{"ContentBasedDeduplication": "true", '
             '"VisibilityTimeout": str(VISIBILITY_TIMEOUT)})')
    tmux.run("send-keys", "-t", "e2e", "-l", right)
    tmux.keys("C-s")
    deadline = time.monotonic() + 15
    while right not in infra.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert right in infra.read_text().splitlines(), tmux.screen()  # saved, as typed
    assert wrong not in infra.read_text()

    tmux.keys("F8")  # the step's program, in the run pane below the editor
    ran = tmux.text("infra.py: exit status 0", seconds=90)
    assert "Traceback" not in ran

    tmux.keys("Escape")  # saved: back on the lab screen at once
    tmux.text("Create the FIFO queue", "c Check")
    tmux.keys("c")
    tmux.text("✓ 1. Create the FIFO queue", seconds=90)
