"""Browser figure: key-press-to-screen through `tutor serve` in headless Chromium, beside
the same key in a terminal (a pty), measured in the same run against one LocalStack.

Run: `.venv/bin/python -m bench bench_browser` (from the project root: it drives Chromium
with the tests' own DevTools client, tests/serve/cdp.py). Lab 07's screen, key `m`
(README <-> step) pressed BENCH_KEYS times (default 50) in each, in alternating blocks. In
the browser a press is a real key event (Input.dispatchKeyEvent) and the time runs until
the page has received, over its WebSocket, the frame that holds the new page's text; new
frames are read every 2 ms. Prints median and p95 of both and their ratio; then, in watch
mode, the time from ctrl+s in the page's editor to the re-check's result on the page
(BENCH_SAVES times, default 5). Asserts nothing.
Without Chromium (/usr/bin/chromium; `make browser`) it says so and measures nothing.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from bench.bench_ui import (
    BLOCK,
    KEYS,
    LAB,
    QUIZZES,
    README_TEXT,
    STEP_TEXT,
    TUTOR,
    Terminal,
    _line,
    toggles,
)
from tutor.cloud.embedded import EmbeddedLocalStack
from tutor.locations import PROJECT_ROOT

if TYPE_CHECKING:
    from tests.serve.cdp import Page

POLL = 0.002  # seconds between looks at the frames received
SAVES = int(os.environ.get("BENCH_SAVES", "5"))  # saves timed to their check result
_ESCAPES = re.compile(r"\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b[@-_][0-?]*[ -/]*[@-~]?")


class BrowserTab:
    """One tab of `tutor serve` in Chromium, read frame by frame (only the new ones)."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def mark(self) -> int:
        return len(self.page.frames("Received"))

    def text_since(self, mark: int) -> str:
        chunks = []
        for payload in self.page.frames("Received")[mark:]:
            try:
                chunks.append(base64.b64decode(payload, validate=True).decode("utf-8",
                                                                              "replace"))
            except ValueError:
                chunks.append(payload)
        return _ESCAPES.sub("", "".join(chunks))

    async def wait_for(self, text: str, mark: int, seconds: float = 60.0) -> float:
        deadline = time.perf_counter() + seconds
        while text not in self.text_since(mark):
            if time.perf_counter() > deadline:
                seen = self.text_since(mark)[-1500:]
                raise RuntimeError(f"{text!r} not shown in the browser within {seconds} s; "
                                   f"it showed:\n{seen}")
            await asyncio.sleep(POLL)
        return time.perf_counter()

    async def key(self, name: str) -> None:
        await self.page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        if name == "enter":
            await self.page.press("Enter", "Enter", "\r", 13)
        else:
            await self.page.press(name, f"Key{name.upper()}", name, ord(name.upper()))

    async def press(self, name: str, shows: str) -> float:
        mark = self.mark()
        pressed = time.perf_counter()
        await self.key(name)
        return await self.wait_for(shows, mark, seconds=10) - pressed

    async def toggles(self, count: int) -> list[float]:
        seconds = []
        for i in range(count):
            want = README_TEXT if i % 2 == 0 else STEP_TEXT
            seconds.append(await self.press("m", want.decode()))
            await asyncio.sleep(0.05)  # as in bench_ui: a person's pace on one key
        return seconds


    async def saves_to_check(self, count: int) -> list[float]:
        """Watch mode on, the editor on the step's file, then ctrl+s `count` times: from
        each key event until the page has the re-check's result (its toast's text)."""
        mark = self.mark()
        await self.key("w")
        await self.wait_for("watching", mark)
        mark = self.mark()
        await self.key("e")
        await self.wait_for(" · line 1", mark)
        seconds = []
        for _ in range(count):
            await asyncio.sleep(3.0)  # the last toast gone, the watcher's look due
            mark = self.mark()
            pressed = time.perf_counter()
            await self.page.press("s", "KeyS", "", ord("S"), modifiers=2)  # ctrl+s
            seconds.append(await self.wait_for(" points, ", mark, seconds=180) - pressed)
        return seconds


async def _browser_side(url: str, root: Path, term: Terminal
                        ) -> tuple[list[float], list[float], list[float]]:
    from tests.serve.cdp import chromium
    from tests.serve.server import served

    async with chromium(root / "profile", root / "chromium.log") as page:
        with served(root, url) as server:
            await page.send("Page.enable")
            await page.send("Network.enable")
            tab = BrowserTab(page)
            mark = tab.mark()
            await page.send("Page.navigate", url=server.page)
            await tab.wait_for("READY", mark)
            await asyncio.sleep(0.7)  # the home screen takes keys once it is mounted
            mark = tab.mark()
            await tab.key("enter")  # the only lab
            await tab.wait_for("Not started", mark)
            mark = tab.mark()
            await tab.key("s")
            await tab.wait_for("Workspace:", mark)
            await asyncio.sleep(1.5)  # the toast settles
            browser: list[float] = []
            terminal: list[float] = []
            while len(browser) < KEYS:
                browser += await tab.toggles(min(BLOCK, KEYS - len(browser)))
                terminal += toggles(term, min(BLOCK, KEYS - len(terminal)))
            return browser, terminal, await tab.saves_to_check(SAVES)


def main() -> None:
    from tests.serve.cdp import CHROMIUM, INSTALL

    print(f"{'load average (1, 5, 15 min)':<40} "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    if not CHROMIUM.exists():
        print(f"no browser figure: Chromium is not at {CHROMIUM} ({INSTALL})")
        return
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copytree(PROJECT_ROOT / "labs" / LAB, root / "labs" / LAB,
                        ignore=shutil.ignore_patterns("__pycache__", "node_modules"))
        saved = dict(os.environ)
        os.environ.update({"TUTOR_HOME": str(root / "home"),
                           "TUTOR_LABS_DIR": str(root / "labs"),
                           "TUTOR_QUIZZES_DIR": str(QUIZZES), "TERM": "xterm-256color"})
        try:
            with EmbeddedLocalStack(data=root / "localstack") as embedded:
                url = embedded.endpoint.url
                term = Terminal(dict(os.environ, TUTOR_HOME=str(root / "home-pty")),
                                [str(TUTOR), "--endpoint", url])
                try:
                    term.wait_for(b"READY")
                    since = term.mark()
                    os.write(term.master, b"\r")
                    term.wait_for(b"Not started", since)
                    since = term.mark()
                    os.write(term.master, b"s")
                    term.wait_for(b"Workspace:", since)
                    time.sleep(1.5)
                    browser, terminal, saves = asyncio.run(_browser_side(url, root, term))
                finally:
                    term.close()
        finally:
            os.environ.clear()
            os.environ.update(saved)
    print(f"lab {LAB}, key `m` (README <-> step), {KEYS} presses each, in blocks of {BLOCK}")
    browser_median, browser_p95 = _line("key to screen, browser (tutor serve)", browser)
    terminal_median, terminal_p95 = _line("key to screen, terminal (pty 80x24)", terminal)
    print(f"{'  browser: to README / to step':<40} median "
          f"{statistics.median(browser[0::2]) * 1000:6.0f} ms / "
          f"{statistics.median(browser[1::2]) * 1000:6.0f} ms")
    print(f"{'ratio browser / terminal':<40} median {browser_median / terminal_median:4.2f}  "
          f"p95 {browser_p95 / terminal_p95:4.2f}")
    _line("save (ctrl+s) to check result, browser", saves)
    print(f"{'':<40} (watch mode; {SAVES} saves of the step's file; includes the "
          f"watcher's 1 s look and the check itself)")


if __name__ == "__main__":
    main()
