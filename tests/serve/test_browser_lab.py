"""A whole lab step done in the browser (`tutor serve` in headless Chromium): open the lab,
start it, edit infra.py in the page, save, run it from the page, check, see the step pass."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tutor.locations import PROJECT_ROOT

from .cdp import Page, chromium, received_text
from .server import Served, served
from .test_browser import HOME_TEXT, require_chromium

SOLUTION = (PROJECT_ROOT / "labs" / "01-decoupling-tiers" / "solution" / "infra.py").read_text()
STARTER = (PROJECT_ROOT / "labs" / "01-decoupling-tiers" / "starter" / "infra.py").read_text()
# Where select-all leaves the cursor in the starter: the end of its text.
STARTER_END = (f"line {STARTER.count(chr(10)) + 1}, "
               f"col {len(STARTER.rsplit(chr(10), 1)[-1]) + 1}")
KEYS = {"enter": ("Enter", "Enter", "\r", 13), "escape": ("Escape", "Escape", "", 27),
        "f7": ("F7", "F7", "", 118), "f8": ("F8", "F8", "", 119)}


async def key(page: Page, name: str, modifiers: int = 0) -> None:
    await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
    if name in KEYS:
        await page.press(*KEYS[name], modifiers=modifiers)
    else:  # a letter, or ctrl+letter with modifiers=2
        await page.press(name, f"Key{name.upper()}", "" if modifiers else name,
                         ord(name.upper()), modifiers=modifiers)


async def paste(page: Page, text: str) -> None:
    """What a learner's paste does: xterm.js turns it into a bracketed paste."""
    await page.evaluate(
        "(() => { const data = new DataTransfer(); data.setData('text/plain', "
        f"{text!r}); document.querySelector('.xterm-helper-textarea').dispatchEvent("
        "new ClipboardEvent('paste', {clipboardData: data, bubbles: true})); })()")


async def until_text(page: Page, what: str, pattern: str, timeout: float,
                     since: int = 0) -> float:
    began = time.monotonic()
    await page.wait_for(what, lambda: re.search(pattern, received_text(page)[since:]), timeout)
    return time.monotonic() - began


async def do_the_step(page: Page, server: Served, home: Path, shots: Path) -> dict[str, float]:
    await page.send("Page.enable")
    await page.send("Network.enable")
    await page.send("Page.navigate", url=server.page + "&learner=eve")
    await until_text(page, "the home screen", re.escape(HOME_TEXT), 60)
    await page.evaluate("new Promise(r => setTimeout(r, 700))")
    await key(page, "enter")  # lab 01, the first row
    await until_text(page, "the lab screen", r"Not started", 60)
    await key(page, "s")
    await until_text(page, "the starter copied", r"Starter copied", 60)
    await key(page, "e")
    mark = len(received_text(page))
    await until_text(page, "the editor on infra.py", r"infra\.py · line 1", 30, mark)
    await page.screenshot(shots / "editor.png")

    mark = len(received_text(page))
    await key(page, "f7")  # select all, then paste the fixed file over it
    # The paste only once the selection shows: a paste that overtakes the key (CI saw it
    # on a loaded machine) lands before the starter instead of replacing it.
    await until_text(page, "select-all (F7)", re.escape(f"infra.py · {STARTER_END}"), 30, mark)
    await paste(page, SOLUTION)
    await page.wait_for("the paste to reach the tutor", lambda: "● infra.py" in
                        received_text(page)[mark:], 30)
    mark = len(received_text(page))
    pressed = time.monotonic()
    await key(page, "s", modifiers=2)  # ctrl+s
    await until_text(page, "the save", r"infra\.py · line \d+, col \d+ · saved", 30, mark)
    saved = time.monotonic() - pressed
    [workspace_file] = list(home.rglob("learners/eve/**/01-decoupling-tiers/infra.py"))
    assert workspace_file.read_text() == SOLUTION

    mark = len(received_text(page))
    await key(page, "f8")  # run it from the page
    await until_text(page, "infra.py to run", r"infra\.py: exit status 0", 90, mark)
    assert "ready: lab01-orders" in received_text(page)[mark:]
    await page.screenshot(shots / "ran.png")

    mark = len(received_text(page))
    await key(page, "escape")  # alone: an escape followed at once by a key reads as alt+key
    await until_text(page, "the lab screen again", r"watch off \(w\)", 30, mark)
    await page.evaluate("new Promise(r => setTimeout(r, 500))")
    mark = len(received_text(page))
    pressed = time.monotonic()
    await key(page, "c")
    await until_text(page, "the check to finish", r"points, [1-9]\d*/\d+ steps", 240, mark)
    checked = time.monotonic() - pressed
    await page.evaluate("new Promise(r => setTimeout(r, 700))")
    await page.screenshot(shots / "checked.png")
    return {"save": saved, "check": checked}


@pytest.mark.slow
@pytest.mark.localstack
@pytest.mark.timeout(600)
async def test_a_lab_step_done_entirely_in_the_browser(localstack, tmp_path: Path,
                                                      tutor_home: Path) -> None:
    require_chromium()
    with served(tmp_path, localstack.url) as server:
        async with chromium(tmp_path / "profile", tmp_path / "chromium.log") as page:
            try:
                took = await do_the_step(page, server, tutor_home, tmp_path)
            except Exception as exc:
                raise AssertionError(
                    f"{type(exc).__name__}: {exc}\n--- tutor serve:\n{server.output()[-3000:]}"
                    f"\n--- the terminal got:\n{received_text(page)[-2500:]}") from exc
    print(f"\nin the browser: ctrl+s to 'saved' {took['save']:.2f} s; c to the check "
          f"result {took['check']:.1f} s; screenshots in {tmp_path}")
