"""UI figures: first paint, and key-press-to-screen latency idle and during a burst, each
beside a bare Textual app measured in the same run (bench/bare_textual.py).

Run: `.venv/bin/python -m bench bench_ui`. The real `tutor` runs in a pty at 80x24 against
the benchmark's own embedded LocalStack, on lab 07 (queue-depth scaling). A key that
switches the lab screen between its README and its step is pressed BENCH_KEYS times
(default 50); the latency is the time from writing the key to the pty until the app has
written the new page's text. The baseline: a bare Textual app in its own pty of the same
size, showing the same step text and README in Markdown widgets, the same key switching
them; its presses alternate with the tutor's in blocks, so both meet the same machine. Then
both again, alternating the same way, while the learner's burst (the dashboard's `u`, the
tutor's own child process at background priority) sends to the lab's queue round after
round: the bare app's own burst / idle ratio is what the burst costs any Textual app on
this machine, beside the tutor's. The
lab screen's live dashboard (`d`) is shown in both of the tutor's runs, so it samples that
queue every second.
Prints median and p95 of each, and the ratios (tutor / bare Textual, burst / idle);
asserts nothing.
"""

from __future__ import annotations

import fcntl
import os
import pty
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

from bench.bench_foundation import RUNS, first_paint  # one first-paint measure
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.cloud.endpoint import Endpoint
from tutor.locations import PROJECT_ROOT

KEYS = int(os.environ.get("BENCH_KEYS", "50"))
BURST = int(os.environ.get("BENCH_BURST", "5000"))  # messages per burst round
LAB = "07-queue-depth-scaling"
QUEUE = "lab07-jobs"  # the lab's queue: the one its dashboard shows
ROWS, COLS = 24, 80
BLOCK = 10  # presses on one app before the other's turn
TUTOR = Path(sys.executable).parent / "tutor"
BARE = Path(__file__).with_name("bare_textual.py")
QUIZZES = PROJECT_ROOT / "tests" / "ui" / "fixtures" / "quizzes"
# Text only the README page shows, and text only the step page shows (its check count).
README_TEXT, STEP_TEXT = b"A queue turns a burst", b"check(s)"


class Terminal:
    """The real `tutor` in a pty; everything it writes is kept, read by a thread."""

    def __init__(self, env: dict[str, str], command: list[str]) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(command, stdin=slave, stdout=slave,
                                     stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.master, 65536)
            except OSError:
                data = b""
            with self.changed:
                self.output.extend(data)
                self.changed.notify_all()
            if not data:
                return

    def mark(self) -> int:
        with self.changed:
            return len(self.output)

    def wait_for(self, text: bytes, since: int = 0, seconds: float = 30.0) -> float:
        """perf_counter() when `text` appeared in the output after offset `since`."""
        deadline = time.perf_counter() + seconds
        with self.changed:
            while text not in self.output[since:]:
                left = deadline - time.perf_counter()
                if left <= 0 or self.proc.poll() is not None:
                    raise RuntimeError(f"{text!r} not shown within {seconds} s")
                self.changed.wait(left)
            return time.perf_counter()

    def press(self, key: bytes, shows: bytes) -> float:
        """Seconds from writing `key` until the app wrote `shows`."""
        since = self.mark()
        pressed = time.perf_counter()
        os.write(self.master, key)
        return self.wait_for(shows, since, seconds=10) - pressed

    def close(self) -> None:
        if self.proc.poll() is None:
            os.write(self.master, b"q")
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)
        os.close(self.master)


def toggles(term: Terminal, count: int) -> list[float]:
    """`m` opens the README from any page, and from the README goes to the step."""
    seconds = []
    for i in range(count):
        seconds.append(term.press(b"m", README_TEXT if i % 2 == 0 else STEP_TEXT))
        time.sleep(0.05)  # a person does not type faster than this on one key
    return seconds


def side_by_side(tutor: Terminal, bare: Terminal, count: int) -> tuple[list[float], list[float]]:
    """`count` presses on each, in alternating blocks of BLOCK: a spell of load on a shared
    machine falls on both, not on one."""
    mine: list[float] = []
    theirs: list[float] = []
    while len(mine) < count:
        mine += toggles(tutor, min(BLOCK, count - len(mine)))
        theirs += toggles(bare, min(BLOCK, count - len(theirs)))
    return mine, theirs


def bare_command(root: Path) -> list[str]:
    """The bare Textual app on the same step text and README the tutor's lab screen shows."""
    from tutor.engine.labs.loader import load_lab
    from tutor.ui.lab_text import step_brief

    lab = load_lab(PROJECT_ROOT / "labs" / LAB)
    (root / "step.md").write_text(step_brief(0, lab.spec.steps[0], 0, None))
    (root / "readme.md").write_text(lab.readme.read_text(encoding="utf-8"))
    return [sys.executable, str(BARE), str(root / "step.md"), str(root / "readme.md")]


class Burst:
    """The learner's burst (the dashboard's `u`) sending to the lab's queue until stopped:
    round after round of the tutor's own `burst_elsewhere`, a child process at background
    priority, as the tutor runs it. (It is not a thread of this process either: the pty
    readers that time the keys would wait for the GIL behind its sending threads.)"""

    def __init__(self, endpoint: Endpoint) -> None:
        from tutor.cloud.clients import client

        self.endpoint = endpoint
        self.url = client("sqs", endpoint).create_queue(QueueName=QUEUE)["QueueUrl"]
        self.sent = 0
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from tutor.engine.labs.burst_process import burst_elsewhere

        while not self._stop.is_set():
            result = burst_elsewhere(self.endpoint, self.url, BURST)
            self.sent += result.sent
            self.seconds += result.seconds

    def __enter__(self) -> Burst:
        self._thread.start()
        time.sleep(2.0)  # the burst is under way before the first key
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=120)


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1]


def _line(name: str, values: list[float]) -> tuple[float, float]:
    median, p95 = statistics.median(values), _p95(values)
    print(f"{name:<40} median {median * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms  "
          f"max {max(values) * 1000:6.0f} ms  (n={len(values)})", flush=True)
    return median, p95


def key_latency() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(PROJECT_ROOT / "labs" / LAB, root / "labs" / LAB,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        with EmbeddedLocalStack(data=root / "localstack") as embedded:
            endpoint = embedded.endpoint
            env = {**os.environ, "TUTOR_HOME": str(root / "home"),
                   "TUTOR_LABS_DIR": str(root / "labs"), "TUTOR_QUIZZES_DIR": str(QUIZZES),
                   "TERM": "xterm-256color"}
            term = Terminal(env, [str(TUTOR), "--endpoint", endpoint.url])
            bare = Terminal(env, bare_command(root))
            try:
                bare.wait_for(STEP_TEXT)
                term.wait_for(b"READY")
                since = term.mark()
                os.write(term.master, b"\r")  # the only lab
                term.wait_for(b"Not started", since)
                since = term.mark()
                os.write(term.master, b"s")  # start it: the workspace the dashboard reads
                term.wait_for(b"Workspace:", since)
                burst = Burst(endpoint)  # creates the queue: the dashboard shows it in both
                since = term.mark()
                os.write(term.master, b"d")  # the live dashboard: it samples each second
                term.wait_for(QUEUE.encode(), since)
                time.sleep(1.5)  # the toast and the first dashboard samples settle
                quiet, baseline = side_by_side(term, bare, KEYS)
                with burst:  # both apps again, alternating, under the same burst
                    loaded, loaded_bare = side_by_side(term, bare, KEYS)
                rate = burst.sent / burst.seconds if burst.seconds else 0.0
            finally:
                term.close()
                bare.close()
    print(f"lab {LAB} at {COLS}x{ROWS}, key `m` (README <-> step), {KEYS} presses each; "
          "live dashboard shown (d)")
    bare_median, bare_p95 = _line("key to screen, bare Textual", baseline)
    quiet_median, quiet_p95 = _line("key to screen, idle", quiet)
    busy_median, busy_p95 = _line("key to screen, during the burst", loaded)
    bare_busy_median, bare_busy_p95 = _line("key to screen, bare, during the burst",
                                            loaded_bare)
    for name, values in (("bare", baseline), ("idle", quiet), ("burst", loaded),
                         ("bare burst", loaded_bare)):
        print(f"{'  ' + name + ': to README / to step':<40} median "
              f"{statistics.median(values[0::2]) * 1000:6.0f} ms / "
              f"{statistics.median(values[1::2]) * 1000:6.0f} ms")
    print(f"{'burst during the presses':<40} {burst.sent} messages at {rate:,.0f} msg/s "
          f"to {QUEUE}")
    print(f"page switch p95 ratio to bare Textual: {quiet_p95 / bare_p95:.2f} "
          f"(median {quiet_median / bare_median:.2f}; goal <= 1.5)")
    print(f"{'ratio burst / idle':<40} median {busy_median / quiet_median:4.2f}  "
          f"p95 {busy_p95 / quiet_p95:4.2f}  (goal <= 1.3)")
    # The same burst costs a bare Textual app this much: what the machine itself does.
    print(f"{'ratio burst / idle, bare Textual':<40} median "
          f"{bare_busy_median / bare_median:4.2f}  p95 {bare_busy_p95 / bare_p95:4.2f}")
    print(f"page switch p95 ratio to bare Textual during the burst: "
          f"{busy_p95 / bare_busy_p95:.2f} (median {busy_median / bare_busy_median:.2f})")


def main() -> None:
    # Shared machines: the figures mean little without the load they were taken under.
    print(f"{'load average (1, 5, 15 min)':<40} "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    # One run of each in turn, RUNS pairs: a spell of load meets both alike.
    paints, bare = [], []
    for _ in range(RUNS):
        paints += first_paint(runs=1)[0]
        bare += first_paint([sys.executable, str(BARE)], shows=b"Labs", done=b"Labs",
                            runs=1)[0]
    print(f"{'tutor to first painted home':<40} median {statistics.median(paints):6.3f} s  "
          f"max {max(paints):6.3f} s  (n={len(paints)}; bench_foundation.first_paint)")
    print(f"{'bare Textual to first paint (one line)':<40} median "
          f"{statistics.median(bare):6.3f} s  max {max(bare):6.3f} s  (n={len(bare)})")
    print(f"first paint ratio to bare Textual: "
          f"{statistics.median(paints) / statistics.median(bare):.2f} (goal <= 1.5)")
    # The labs are read by a worker after the first frame: when the list is there to use.
    listed, _rss = first_paint(shows=b"Labs (1")
    print(f"{'tutor to labs listed on home':<40} median {statistics.median(listed):6.3f} s  "
          f"max {max(listed):6.3f} s  ratio to bare first paint "
          f"{statistics.median(listed) / statistics.median(bare):.2f}")
    key_latency()


if __name__ == "__main__":
    main()
